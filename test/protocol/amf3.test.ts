// AMF3 codec tests: U29 boundaries, string/object/traits references byte for byte, every marker,
// cyclic graphs, limits against hostile input, and a cross-check with amf3-ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { AmfError } from '#protocol/errors.ts';
import { Amf3Reader, Amf3Writer, amf3Decode, amf3Encode } from '#protocol/amf/amf3.ts';
import { AmfDictionary, AmfEcmaArray, AmfTypedObject, AmfVector, AmfXml, type AmfValue } from '#protocol/amf/types.ts';
import { ascii, hex, prng } from '../support/bytes.ts';


function throwsAmf(fn: () => unknown, code: string, message?: RegExp): void {
  assert.throws(fn, (e: unknown) => e instanceof AmfError && e.code === code && (!message || message.test(e.message)));
}


test('integers at every U29 length boundary have their exact bytes', () => {
  const cases: Array<[number, string]> = [
    [0, '04 00'],
    [0x7f, '04 7f'],
    [0x80, '04 81 00'],
    [0x3fff, '04 ff 7f'],
    [0x4000, '04 81 80 00'],
    [0x1fffff, '04 ff ff 7f'],
    [0x200000, '04 80 c0 80 00'],
    [0x0fffffff, '04 bf ff ff ff'],
    [-1, '04 ff ff ff ff'],
    [-(2 ** 28), '04 c0 80 80 00'],
  ];
  for (const [value, bytes] of cases) {
    assert.deepEqual(amf3Encode([value]), hex(bytes), `encoding ${value}`);
    assert.deepEqual(amf3Decode(hex(bytes)), [value]);
  }
});

test('numbers outside the 29-bit range, fractions and -0 are doubles', () => {
  const cases: Array<[number, string]> = [
    [2 ** 28, '05 41b0000000000000'],
    [-(2 ** 28) - 1, '05 c1b0000001000000'],
    [1.5, '05 3ff8000000000000'],
    [-0, '05 8000000000000000'],
  ];
  for (const [value, bytes] of cases) {
    assert.deepEqual(amf3Encode([value]), hex(bytes), `encoding ${value}`);
    assert.deepEqual(amf3Decode(hex(bytes)), [value]);
  }
  assert.deepEqual(amf3Decode(hex('05 7ff8000000000000')), [NaN]);
});

test('strings: references reuse, the empty string is never a reference', () => {
  assert.deepEqual(amf3Encode(['a', 'a', 'b', 'a']), hex('06 03 61 06 00 06 03 62 06 00'));
  assert.deepEqual(amf3Encode(['', '', 'x', '']), hex('06 01 06 01 06 03 78 06 01'));
  assert.deepEqual(amf3Decode(hex('06 03 61 06 03 62 06 02 06 00')), ['a', 'b', 'b', 'a']);
  assert.deepEqual(amf3Encode(['é']), hex('06 05 c3a9')); // the length counts UTF-8 bytes
  // Values, member names and class names share one table: "Mike" comes back as reference 1.
  const mike = hex(`0a 0b 01 09 ${ascii('name')} 06 09 ${ascii('Mike')} 07 ${ascii('age')} 04 1e 0b ${ascii('alias')} 06 02 01`);
  assert.deepEqual(amf3Encode([{ name: 'Mike', age: 30, alias: 'Mike' }]), mike);
  assert.deepEqual(amf3Decode(mike), [{ name: 'Mike', age: 30, alias: 'Mike' }]);
  throwsAmf(() => amf3Decode(hex('06 03 61 06 02')), 'amf.bad_reference');
});

test('traits references: anonymous and typed objects of one shape send their traits once', () => {
  assert.deepEqual(amf3Encode([[{ a: 1 }, { a: 2 }]]), hex('09 05 01 0a 0b 01 03 61 04 01 01 0a 01 00 04 02 01'));
  const points = [new AmfTypedObject('P', { x: 1 }), new AmfTypedObject('P', { x: 2 })];
  const bytes = hex('09 05 01 0a 13 03 50 03 78 04 01 0a 01 04 02');
  assert.deepEqual(amf3Encode([points]), bytes);
  assert.deepEqual(amf3Decode(bytes), [points]);
  // Same class, other members: new traits; class name and member name come by string reference.
  assert.deepEqual(amf3Encode([[new AmfTypedObject('P', { x: 1 }), new AmfTypedObject('P', { x: 1, y: 2 })]]),
    hex('09 05 01 0a 13 03 50 03 78 04 01 0a 23 00 02 03 79 04 01 04 02'));
  throwsAmf(() => amf3Decode(hex('0a 05')), 'amf.bad_reference');
});

test('sealed plus dynamic members decode; typed objects keep their class name', () => {
  // traits: 1 sealed member, dynamic, class "C"; sealed x=1, dynamic y=2
  const [obj] = amf3Decode(hex('0a 1b 03 43 03 78 04 01 03 79 04 02 01'));
  assert.deepEqual(obj, new AmfTypedObject('C', { x: 1, y: 2 }));
  // an anonymous object with a sealed member is still a plain object
  assert.deepEqual(amf3Decode(hex('0a 13 01 03 78 04 05')), [{ x: 5 }]);
});

test('object references: one object twice decodes to one JS object; cycles round-trip', () => {
  const o = {};
  const bytes = hex('09 05 01 0a 0b 01 01 0a 02'); // the outer array is object 0, so o is object 1
  assert.deepEqual(amf3Encode([[o, o]]), bytes);
  const [pair] = amf3Decode(bytes) as [AmfValue[]];
  assert.equal(pair[0], pair[1]);
  const [self] = amf3Decode(hex(`0a 0b 01 03 ${ascii('a')} 0a 00 01`)) as [Record<string, unknown>];
  assert.equal(self.a, self);
  const graph: Record<string, AmfValue> = { list: [] };
  (graph.list as AmfValue[]).push(graph, new Date(7));
  graph.date = (graph.list as AmfValue[])[1];
  const [back] = amf3Decode(amf3Encode([graph])) as [Record<string, AmfValue>];
  const list = back.list as AmfValue[];
  assert.equal(list[0], back);
  assert.equal(back.date, list[1]);
  assert.deepEqual(back.date, new Date(7));
  throwsAmf(() => amf3Decode(hex('0a 02')), 'amf.bad_reference');
});

test('dates, XML, XMLDocument and ByteArray use the object table', () => {
  const date = new Date(1e12);
  assert.deepEqual(amf3Encode([[date, date]]), hex('09 05 01 08 01 426d1a94a2000000 08 02'));
  const [dates] = amf3Decode(hex('09 05 01 08 01 426d1a94a2000000 08 02')) as [Date[]];
  assert.equal(dates[0], dates[1]);
  assert.deepEqual(amf3Encode([new AmfXml('<a/>', true)]), hex(`07 09 ${ascii('<a/>')}`));
  assert.deepEqual(amf3Encode([new AmfXml('<a/>', false)]), hex(`0b 09 ${ascii('<a/>')}`));
  assert.deepEqual(amf3Decode(hex(`0b 09 ${ascii('<a/>')} 07 00`)), [new AmfXml('<a/>', false), new AmfXml('<a/>', false)]);
  // XML text does not enter the string table: the following string is reference 0 = 'b'.
  assert.deepEqual(amf3Decode(hex(`07 03 ${ascii('a')} 06 03 62 06 00`)), [new AmfXml('a'), 'b', 'b']);
  const bytes = Buffer.from([0, 1, 0xff]);
  assert.deepEqual(amf3Encode([[bytes, bytes]]), hex('09 05 01 0c 07 0001ff 0c 02'));
  const [decoded] = amf3Decode(hex('0c 07 0001ff')) as [Buffer];
  assert.deepEqual(decoded, bytes);
});

test('arrays: dense, associative (AmfEcmaArray), and both', () => {
  assert.deepEqual(amf3Encode([[1, 'a']]), hex('09 05 01 04 01 06 03 61'));
  const mixed = AmfEcmaArray.from({ '0': 1, '1': 2, k: 'v' });
  const bytes = hex('09 05 03 6b 06 03 76 01 04 01 04 02');
  assert.deepEqual(amf3Encode([mixed]), bytes);
  const [back] = amf3Decode(bytes);
  assert.ok(back instanceof AmfEcmaArray);
  assert.deepEqual(back, mixed);
  // keys that are not a dense prefix go to the associative part
  assert.deepEqual(amf3Decode(amf3Encode([AmfEcmaArray.from({ '1': 'x', '-1': 'y' })])), [AmfEcmaArray.from({ '1': 'x', '-1': 'y' })]);
  throwsAmf(() => amf3Encode([{ '': 1 }]), 'amf.unsupported_type');
});

test('vectors of int, uint, double and object', () => {
  const cases: Array<[AmfVector, string]> = [
    [new AmfVector('int', [1, -1]), '0d 05 00 00000001 ffffffff'],
    [new AmfVector('uint', [0xffffffff], true), '0e 03 01 ffffffff'],
    [new AmfVector('double', [0.5]), '0f 03 00 3fe0000000000000'],
    [new AmfVector('object', ['s', null], false, 'String'), `10 05 00 0d ${ascii('String')} 06 03 73 01`],
  ];
  for (const [vector, bytes] of cases) {
    assert.deepEqual(amf3Encode([vector]), hex(bytes), `Vector.<${vector.kind}>`);
    assert.deepEqual(amf3Decode(hex(bytes)), [vector]);
  }
  throwsAmf(() => amf3Encode([new AmfVector('int', [2 ** 31])]), 'amf.unsupported_type');
  throwsAmf(() => amf3Encode([new AmfVector('uint', [-1])]), 'amf.unsupported_type');
  throwsAmf(() => amf3Encode([new AmfVector('double', ['x'])]), 'amf.unsupported_type');
});

test('dictionaries keep any keys and the weak-keys flag', () => {
  const key = { id: 1 };
  const dict = new AmfDictionary([[key, 'obj'], [1, 'one'], ['k', key]], true);
  const bytes = hex(`11 07 01 0a 0b 01 05 ${ascii('id')} 04 01 01 06 07 ${ascii('obj')} 04 01 06 07 ${ascii('one')} 06 03 6b 0a 02`);
  assert.deepEqual(amf3Encode([dict]), bytes);
  const [back] = amf3Decode(bytes) as [AmfDictionary];
  assert.deepEqual(back, dict);
  assert.equal(back.entries[0]![0], back.entries[2]![1]);
});

test('externalizable objects fail with amf.externalizable naming the class', () => {
  throwsAmf(() => amf3Decode(hex(`0a 07 43 ${ascii('flex.messaging.io.ArrayCollection')} 09 01 01`)), 'amf.externalizable', /flex\.messaging\.io\.ArrayCollection/);
});

test('unknown markers and undecodable values fail cleanly', () => {
  throwsAmf(() => amf3Decode(hex('12')), 'amf.unknown_marker');
  throwsAmf(() => amf3Decode(hex('ff')), 'amf.unknown_marker');
  for (const bad of [new Map(), () => 1, 1n, Symbol('s'), new (class Foo {})(), new Float32Array(1)]) {
    throwsAmf(() => amf3Encode([bad as unknown as AmfValue]), 'amf.unsupported_type');
  }
  let deep: AmfValue = 1;
  for (let i = 0; i < 5000; i++) deep = { d: deep };
  throwsAmf(() => amf3Encode([deep]), 'amf.too_deep');
});

test('round trip of every AMF3 type through one writer and one reader', () => {
  const shared = { s: 'shared' };
  const values: AmfValue[] = [
    undefined, null, true, false, 0, -1, 2 ** 28, 1e-300, NaN, -Infinity, '', 'hello', 'é✓😀', 'x'.repeat(70000),
    new Date(-1), [1, [2, [3, undefined]]], { a: shared, b: [shared], c: {} }, AmfEcmaArray.from({ '0': 'z', q: null }),
    new AmfTypedObject('com.example.User', { name: 'n', tags: ['t'] }), new AmfXml('<x/>'), new AmfXml('<y/>', false),
    Buffer.from('bytes'), Buffer.alloc(0), new AmfVector('int', [-(2 ** 31), 2 ** 31 - 1]), new AmfVector('uint', []),
    new AmfVector('double', [Math.PI]), new AmfVector('object', [shared, 'x'], true, 'Object'),
    new AmfDictionary([[shared, shared]]), 'hello', shared,
  ];
  const decoded = amf3Decode(amf3Encode(values));
  assert.deepEqual(decoded, values);
  // 'shared' decoded at the end is the very object met first inside value 16
  assert.equal(decoded.at(-1), (decoded[16] as Record<string, AmfValue>).a);
  const writer = new Amf3Writer();
  writer.writeValue('x');
  writer.writeValue('x');
  const reader = new Amf3Reader(writer.finish());
  assert.equal(reader.readValue(), 'x');
  assert.equal(reader.remaining, 2);
  assert.equal(reader.readValue(), 'x');
});

test('nesting bombs of 100,000 levels fail with amf.too_deep, not a stack overflow', () => {
  const bombs = [
    hex('090301'.repeat(100_000)), // dense array in array
    hex('0a0b010361' + '0a0100'.repeat(100_000)), // object via traits reference
    hex('10030001'.repeat(100_000)), // object vector
    hex('11030001'.repeat(100_000)), // dictionary key
  ];
  for (const bomb of bombs) throwsAmf(() => amf3Decode(bomb), 'amf.too_deep');
  assert.deepEqual(amf3Decode(hex('09 03 01 09 03 01 09 01 01'), { maxDepth: 3 }), [[[[]]]]);
  throwsAmf(() => amf3Decode(hex('09 03 01 09 03 01 09 01 01'), { maxDepth: 2 }), 'amf.too_deep');
});

test('declared counts beyond the data fail before anything is allocated', () => {
  const max = 'bf ff ff ff'; // U29 0x0FFFFFFF: inline, count 2^27 - 1
  for (const marker of ['06', '07', '09', '0b', '0c', '0d', '0e', '0f', '10', '11']) {
    // the error names the declared size: the check came before reading (or allocating) elements
    throwsAmf(() => amf3Decode(hex(`${marker} ${max} 01`)), 'amf.truncated', /needs \d{9,} bytes/);
  }
  throwsAmf(() => amf3Decode(hex('0a ff ff ff f3 01')), 'amf.truncated', /needs \d{7,} bytes/); // 2^25 - 1 sealed names announced
  throwsAmf(() => amf3Decode(hex('04 ff ff')), 'amf.truncated');
  throwsAmf(() => amf3Decode(hex('05 00')), 'amf.truncated');
});

test('maxItems counts elements of numeric vectors too', () => {
  const vector = amf3Encode([new AmfVector('double', Array.from({ length: 100 }, (_, i) => i))]);
  assert.equal((amf3Decode(vector, { maxItems: 101 })[0] as AmfVector).items.length, 100);
  throwsAmf(() => amf3Decode(vector, { maxItems: 100 }), 'amf.too_large');
});

test('truncation at every offset of a rich value throws AmfError', () => {
  const rich = amf3Encode([{
    a: [1, 0x200000, -1, 1.5, 'é', 'é', null, undefined, true, new Date(5)], m: AmfEcmaArray.from({ '0': 1, k: 2 }),
    t: [new AmfTypedObject('T', { s: 'x'.repeat(300) }), new AmfTypedObject('T', { s: 'y' })], x: new AmfXml('<a/>', false),
    b: Buffer.from([9, 8]), v: new AmfVector('int', [1]), o: new AmfVector('object', [{}], false, 'O'),
    d: new AmfDictionary([['k', 'v']]),
  }]);
  for (let cut = 1; cut < rich.length; cut++) assert.throws(() => amf3Decode(rich.subarray(0, cut)), AmfError, `cut at ${cut}`);
});

test('random and mutated input: only success or AmfError (fixed seed)', () => {
  const random = prng(0xa3f3);
  const byte = () => (random() < 0.5 ? Math.floor(random() * 0x12) : Math.floor(random() * 256));
  const sample = amf3Encode([{ list: [1, 'a', 'a', { list: null }], when: new Date(3), v: new AmfVector('uint', [3]) }]);
  const check = (data: Buffer) => {
    try {
      amf3Decode(data);
    } catch (e) {
      if (!(e instanceof AmfError)) assert.fail(`${String(e)} for input ${data.toString('hex')}`);
    }
  };
  for (let i = 0; i < 4000; i++) check(Buffer.from(Array.from({ length: Math.floor(random() * 48) }, byte)));
  for (let i = 0; i < 4000; i++) {
    const mutated = Buffer.from(sample);
    for (let k = 0; k < 1 + Math.floor(random() * 3); k++) mutated[Math.floor(random() * mutated.length)] = byte();
    check(mutated);
  }
});

test('cross-check with amf3-ts, an independent AMF3 implementation', () => {
  const require = createRequire(import.meta.url);
  const { AMF3 } = require('amf3-ts') as { AMF3: { stringify(v: unknown): number[]; parse(b: Uint8Array): [number, unknown] } };
  const theirs = (value: unknown) => Buffer.from(AMF3.stringify(value));
  const o = { id: 7 };
  // [our value, the same value as amf3-ts represents it]
  const pairs: Array<[AmfValue, unknown]> = [
    ...[0, 0x3fff, 0x4000, 0x0fffffff, -1, -(2 ** 28), 2 ** 28, 1.5, -2.25e-10, true, false, null, undefined,
      '', 'hello', 'é✓😀', 'x'.repeat(300), new Date(1e12), ['x', 'x', { x: 'x' }],
      { a: 1, b: 'b', c: [1, 2, 3], d: { e: null } }, { p: o, q: o, r: [o] }].map((v): [AmfValue, unknown] => [v, v]),
    [AmfEcmaArray.from({ '0': 1, '1': 2, k: 'v' }), Object.assign([], [1, 2], { k: 'v' })],
    [new AmfVector('int', [1, 2, 2 ** 31 - 1]), Int32Array.from([1, 2, 2 ** 31 - 1])],
    [new AmfVector('uint', [0, 0xffffffff]), Uint32Array.from([0, 0xffffffff])],
    [new AmfVector('double', [0.25, -8]), Float64Array.from([0.25, -8])],
  ];
  for (const [ours, peer] of pairs) {
    const label = JSON.stringify(ours)?.slice(0, 40);
    assert.deepEqual(amf3Encode([ours]), theirs(peer), `same bytes for ${label}`);
    assert.deepEqual(amf3Decode(theirs(peer)), [ours], `we read theirs: ${label}`);
    assert.deepEqual(AMF3.parse(amf3Encode([ours]))[1], peer, `they read ours: ${label}`);
  }
  const [shared] = amf3Decode(theirs({ p: o, q: o })) as [Record<string, unknown>];
  assert.equal(shared.p, shared.q);
});
