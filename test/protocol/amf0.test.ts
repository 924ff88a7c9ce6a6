// AMF0 codec tests: hand-checked spec encodings (a real RTMP connect, onMetaData), every marker,
// the 0x11 switch to AMF3, limits against hostile input, and a cross-check with amf-codec.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { AmfError } from '#protocol/errors.ts';
import { Amf0Reader, amf0Decode, amf0Encode } from '#protocol/amf/amf0.ts';
import { AmfDictionary, AmfEcmaArray, AmfTypedObject, AmfVector, AmfXml, type AmfValue } from '#protocol/amf/types.ts';
import { ascii, hex, prng } from '../support/bytes.ts';

const repeat = (unit: string, n: number): Buffer => hex(unit.replace(/\s+/g, '').repeat(n));

function throwsAmf(fn: () => unknown, code: string, message?: RegExp): void {
  assert.throws(fn, (e: unknown) => e instanceof AmfError && e.code === code && (!message || message.test(e.message)));
}


/** Decoding must either succeed or throw AmfError; anything else is a bug. */
function decodeOrAmfError(data: Buffer): void {
  try {
    amf0Decode(data);
  } catch (e) {
    if (!(e instanceof AmfError)) assert.fail(`${String(e)} for input ${data.toString('hex')}`);
  }
}

// connect as ffmpeg/FMLE sends it (fields reduced to the ones named in the task).
const connectValues: AmfValue[] = [
  'connect',
  1,
  { app: 'live', type: 'nonprivate', flashVer: 'FMLE/3.0 (compatible; FMSc/1.0)', tcUrl: 'rtmp://127.0.0.1:1935/live' },
];
const connectBytes = hex(`
  02 0007 ${ascii('connect')}
  00 3ff0000000000000
  03
    0003 ${ascii('app')} 02 0004 ${ascii('live')}
    0004 ${ascii('type')} 02 000a ${ascii('nonprivate')}
    0008 ${ascii('flashVer')} 02 001f ${ascii('FMLE/3.0 (compatible; FMSc/1.0)')}
    0005 ${ascii('tcUrl')} 02 001a ${ascii('rtmp://127.0.0.1:1935/live')}
  0000 09`);

test('connect command encodes to the exact bytes and decodes back', () => {
  assert.deepEqual(amf0Encode(connectValues), connectBytes);
  assert.deepEqual(amf0Decode(connectBytes), connectValues);
  const result = ['_result', 1, { fmsVer: 'FMS/3,0,1,123' }];
  assert.deepEqual(amf0Encode(result).subarray(0, 10), hex(`02 0007 ${ascii('_result')}`));
});

test('spec object example: {name:"Mike", age:30, alias:"Mike"}', () => {
  const bytes = hex(`03 0004 ${ascii('name')} 02 0004 ${ascii('Mike')} 0003 ${ascii('age')} 00 403e000000000000
    0005 ${ascii('alias')} 02 0004 ${ascii('Mike')} 0000 09`);
  assert.deepEqual(amf0Encode([{ name: 'Mike', age: 30, alias: 'Mike' }]), bytes);
});

test('scalars and dates have their spec encodings', () => {
  const cases: Array<[AmfValue, string]> = [
    [0, '00 0000000000000000'],
    [-1.5, '00 bff8000000000000'],
    [0x7fffffff + 1, '00 41e0000000000000'], // integers stay doubles in AMF0
    [true, '01 01'],
    [false, '01 00'],
    ['', '02 0000'],
    ['é', '02 0002 c3a9'],
    [null, '05'],
    [undefined, '06'],
    [new Date(1e12), '0b 426d1a94a2000000 0000'],
    [[1, 'a'], '0a 00000002 00 3ff0000000000000 02 0001 61'],
    [new AmfTypedObject('a.B', { x: true }), `10 0003 ${ascii('a.B')} 0001 78 01 01 0000 09`],
    [new AmfXml('<a/>'), `0f 00000004 ${ascii('<a/>')}`],
  ];
  for (const [value, bytes] of cases) {
    assert.deepEqual(amf0Encode([value]), hex(bytes), `encoding ${String(value)}`);
    assert.deepEqual(amf0Decode(hex(bytes)), [value]);
  }
});

test('strings switch to long string above 65535 UTF-8 bytes', () => {
  const short = 'x'.repeat(0xffff);
  const long = 'x'.repeat(0x10000);
  assert.deepEqual(amf0Encode([short]).subarray(0, 3), hex('02 ffff'));
  assert.deepEqual(amf0Encode([long]).subarray(0, 5), hex('0c 00010000'));
  // 'é' is two bytes: 32768 of them exceed 65535 bytes though the string has 32768 chars
  assert.equal(amf0Encode(['é'.repeat(32768)])[0], 0x0c);
  assert.deepEqual(amf0Decode(amf0Encode([short, long, 'é'.repeat(32768)])), [short, long, 'é'.repeat(32768)]);
});

test('ECMA array (onMetaData) decodes to AmfEcmaArray and re-encodes to the same bytes', () => {
  const bytes = hex(`02 000a ${ascii('onMetaData')}
    08 00000004
      0008 ${ascii('duration')} 00 0000000000000000
      0005 ${ascii('width')} 00 4094000000000000
      0006 ${ascii('height')} 00 4086800000000000
      0007 ${ascii('encoder')} 02 000c ${ascii('Lavf61.7.100')}
    0000 09`);
  const [name, meta] = amf0Decode(bytes);
  assert.equal(name, 'onMetaData');
  assert.ok(meta instanceof AmfEcmaArray);
  assert.equal(meta.width, 1280);
  assert.equal(meta.height, 720);
  assert.equal(meta.encoder, 'Lavf61.7.100');
  assert.deepEqual(amf0Encode([name, meta]), bytes);
  assert.deepEqual(amf0Encode([name, AmfEcmaArray.from({ duration: 0, width: 1280, height: 720, encoder: 'Lavf61.7.100' })]), bytes);
  // The count is only a hint: some muxers write 0.
  const zeroCount = Buffer.from(bytes);
  zeroCount.writeUInt32BE(0, 14);
  assert.deepEqual(amf0Decode(zeroCount), [name, meta]);
});

test('references (0x07) resolve, including to the object being decoded', () => {
  const [self] = amf0Decode(hex(`03 0004 ${ascii('self')} 07 0000 0000 09`)) as [Record<string, unknown>];
  assert.equal(self.self, self);
  const [array] = amf0Decode(hex('0a 00000002 07 0000 03 0001 61 07 0001 0000 09')) as [unknown[]];
  assert.equal(array[0], array);
  assert.equal((array[1] as Record<string, unknown>).a, array[1]);
  const [shared] = amf0Decode(hex(`03 0001 61 03 0000 09 0001 62 07 0001 0000 09`)) as [Record<string, unknown>];
  assert.equal(shared.a, shared.b);
  throwsAmf(() => amf0Decode(hex('07 0000')), 'amf.bad_reference');
  throwsAmf(() => amf0Decode(hex('03 0001 61 07 0001 0000 09')), 'amf.bad_reference');
});

test('every reserved, misplaced or unknown marker has its error; unsupported reads as undefined', () => {
  assert.deepEqual(amf0Decode(hex('0d')), [undefined]);
  throwsAmf(() => amf0Decode(hex('04')), 'amf.reserved_marker');
  throwsAmf(() => amf0Decode(hex('0e')), 'amf.reserved_marker');
  throwsAmf(() => amf0Decode(hex('09')), 'amf.unexpected_marker');
  throwsAmf(() => amf0Decode(hex('03 0001 61 09')), 'amf.unexpected_marker');
  throwsAmf(() => amf0Decode(hex('12')), 'amf.unknown_marker');
  throwsAmf(() => amf0Decode(hex('ff')), 'amf.unknown_marker');
});

test('an empty member name not followed by object-end is an ordinary member', () => {
  const [object] = amf0Decode(hex('03 0000 01 01 0000 09'));
  assert.deepEqual(object, { '': true });
  assert.deepEqual(amf0Encode([{ '': true }]), hex('03 0000 01 01 0000 09'));
});

test('a "__proto__" member becomes an own property, never the prototype', () => {
  const [object] = amf0Decode(hex(`03 0009 ${ascii('__proto__')} 03 0001 78 01 01 0000 09 0000 09`)) as [Record<string, AmfValue>];
  assert.equal(Object.getPrototypeOf(object), Object.prototype);
  assert.deepEqual(Object.keys(object), ['__proto__']);
  assert.equal((object as { x?: unknown }).x, undefined);
  assert.deepEqual(amf0Decode(amf0Encode([object])), [object]);
});

test('AVM+ switch: avmPlus encoding, shared AMF3 tables for the whole message, mixing with AMF0', () => {
  assert.deepEqual(
    amf0Encode(['connect', 1, { app: 'live' }], { avmPlus: true }),
    hex(`11 06 0f ${ascii('connect')} 11 04 01 11 0a 0b 01 07 ${ascii('app')} 06 09 ${ascii('live')} 01`),
  );
  // The second value refers to the first value's string: the tables span the message.
  const shared = hex(`11 06 09 ${ascii('live')} 11 0a 0b 01 07 ${ascii('app')} 06 00 01`);
  assert.deepEqual(amf0Encode(['live', { app: 'live' }], { avmPlus: true }), shared);
  assert.deepEqual(amf0Decode(shared), ['live', { app: 'live' }]);
  assert.deepEqual(amf0Decode(hex('02 0001 61 11 06 03 62 00 3ff0000000000000 11 06 00')), ['a', 'b', 1, 'b']);
  // AMF0 has no marker for these, so they go through the switch even without avmPlus.
  assert.deepEqual(amf0Encode([Buffer.from([1, 2, 3])]), hex('11 0c 07 010203'));
  assert.deepEqual(amf0Encode([new AmfXml('<a/>', false)]), hex(`11 0b 09 ${ascii('<a/>')}`));
  const viaSwitch: AmfValue[] = [
    { bytes: Buffer.from('hi'), v: new AmfVector('int', [1, -1]), d: new AmfDictionary([[1, 'one']]) },
  ];
  assert.deepEqual(amf0Decode(amf0Encode(viaSwitch)), viaSwitch);
});

test('round trip of every AMF0 type, both plain and avmPlus', () => {
  const values: AmfValue[] = [
    0, -0, 1, -1.5, Number.MAX_VALUE, Number.MIN_VALUE, Infinity, -Infinity, NaN, 2 ** 53,
    true, false, '', 'hello', 'é✓😀', 'x'.repeat(70000), null, undefined,
    new Date(0), new Date(-1e12), new Date(NaN),
    [], [1, [2, [3]], undefined, null], { a: { b: { c: [] } }, 'ключ': 'значение' },
    AmfEcmaArray.from({ '0': 'zero', a: 1 }), new AmfTypedObject('com.example.Point', { x: 1, y: 2 }),
    new AmfXml('<doc><a b="1"/></doc>'),
  ];
  assert.deepEqual(amf0Decode(amf0Encode(values)), values);
  assert.deepEqual(amf0Decode(amf0Encode(values, { avmPlus: true })), values);
  // AMF0 can carry an empty member name; AMF3 cannot (it ends the dynamic members).
  assert.deepEqual(amf0Decode(amf0Encode([{ '': 1 }])), [{ '': 1 }]);
  throwsAmf(() => amf0Encode([{ '': 1 }], { avmPlus: true }), 'amf.unsupported_type');
});

test('the encoder writes shared objects in full but rejects cycles and unencodable values', () => {
  const shared = { n: 1 };
  const [decoded] = amf0Decode(amf0Encode([[shared, shared]])) as [unknown[]];
  assert.deepEqual(decoded, [shared, shared]);
  const cyclic: Record<string, AmfValue> = {};
  cyclic.me = { back: cyclic };
  throwsAmf(() => amf0Encode([cyclic]), 'amf.cyclic');
  const cyclicArray: AmfValue[] = [];
  cyclicArray.push(cyclicArray);
  throwsAmf(() => amf0Encode([cyclicArray]), 'amf.cyclic');
  let deep: AmfValue = 1;
  for (let i = 0; i < 5000; i++) deep = [deep];
  throwsAmf(() => amf0Encode([deep]), 'amf.too_deep');
  throwsAmf(() => amf0Encode([{ ['k'.repeat(0x10000)]: 1 }]), 'amf.too_large');
  for (const bad of [new Map(), () => 1, 1n, Symbol('s'), new (class Foo {})(), new Int32Array(1)]) {
    throwsAmf(() => amf0Encode([bad as unknown as AmfValue]), 'amf.unsupported_type');
  }
});

test('nesting bombs of 100,000 levels fail with amf.too_deep, not a stack overflow', () => {
  const bombs = [
    repeat('03 0001 61', 100_000), // object
    repeat('0a 00000001', 100_000), // strict array
    repeat('08 00000001 0001 61', 100_000), // ECMA array
    hex('11' + '090301'.repeat(100_000)), // AMF3 array after the switch
  ];
  for (const bomb of bombs) throwsAmf(() => amf0Decode(bomb), 'amf.too_deep');
  // The limit is exact and configurable.
  const three = hex('0a 00000001 0a 00000001 0a 00000000');
  assert.deepEqual(amf0Decode(three, { maxDepth: 3 }), [[[[]]]]);
  throwsAmf(() => amf0Decode(three, { maxDepth: 2 }), 'amf.too_deep');
});

test('declared lengths beyond the data fail before anything is allocated', () => {
  // The error names the declared size: the check came before reading (or allocating) elements.
  throwsAmf(() => amf0Decode(hex('0a ffffffff 05')), 'amf.truncated', /needs 4294967295 bytes/);
  throwsAmf(() => amf0Decode(hex('0c ffffffff 41')), 'amf.truncated', /needs 4294967295 bytes/);
  throwsAmf(() => amf0Decode(hex('0f ffffffff 41')), 'amf.truncated', /needs 4294967295 bytes/);
  throwsAmf(() => amf0Decode(hex('02 ffff 41')), 'amf.truncated', /needs 65535 bytes/);
  throwsAmf(() => amf0Decode(hex('10 ffff')), 'amf.truncated', /needs 65535 bytes/);
});

test('maxItems bounds the values one message may produce', () => {
  const tenNumbers = amf0Encode([Array.from({ length: 10 }, (_, i) => i)]);
  assert.equal((amf0Decode(tenNumbers, { maxItems: 11 })[0] as number[]).length, 10);
  throwsAmf(() => amf0Decode(tenNumbers, { maxItems: 10 }), 'amf.too_large');
  // references count too, so a small message cannot fan out without limit
  const refs = hex(`0a 00000005 03 0000 09 07 0001 07 0001 07 0001 07 0001`);
  throwsAmf(() => amf0Decode(refs, { maxItems: 5 }), 'amf.too_large');
});

test('Amf0Reader reads value by value and reports what is left', () => {
  const reader = new Amf0Reader(connectBytes);
  assert.equal(reader.readValue(), 'connect');
  assert.equal(reader.remaining, connectBytes.length - 10);
  assert.equal(reader.readValue(), 1);
  assert.deepEqual(reader.readValue(), connectValues[2]);
  assert.equal(reader.remaining, 0);
  throwsAmf(() => reader.readValue(), 'amf.truncated');
});

test('truncation at every offset: a prefix of the values at value boundaries, AmfError elsewhere', () => {
  const boundaries = new Map<number, number>();
  let offset = 0;
  connectValues.forEach((value, i) => {
    boundaries.set(offset, i);
    offset += amf0Encode([value]).length;
  });
  for (let cut = 0; cut < connectBytes.length; cut++) {
    const prefix = connectBytes.subarray(0, cut);
    const count = boundaries.get(cut);
    if (count !== undefined) assert.deepEqual(amf0Decode(prefix), connectValues.slice(0, count));
    else assert.throws(() => amf0Decode(prefix), AmfError, `cut at ${cut}`);
  }
  // one value holding every type: every strict prefix but the empty one must fail
  const rich = amf0Encode([{
    a: [1, true, 'é', null, undefined, new Date(5)], e: AmfEcmaArray.from({ w: 1 }),
    t: new AmfTypedObject('T', { s: 'x'.repeat(300) }), x: new AmfXml('<a/>'), b: Buffer.from([9]),
  }]);
  for (let cut = 1; cut < rich.length; cut++) assert.throws(() => amf0Decode(rich.subarray(0, cut)), AmfError, `cut at ${cut}`);
});

test('random and mutated input: only success or AmfError (fixed seed)', () => {
  const random = prng(0x5eed);
  const byte = () => (random() < 0.5 ? Math.floor(random() * 0x13) : Math.floor(random() * 256));
  for (let i = 0; i < 4000; i++) {
    decodeOrAmfError(Buffer.from(Array.from({ length: Math.floor(random() * 48) }, byte)));
  }
  for (let i = 0; i < 4000; i++) {
    const mutated = Buffer.from(connectBytes);
    for (let k = 0; k < 1 + Math.floor(random() * 3); k++) mutated[Math.floor(random() * mutated.length)] = byte();
    decodeOrAmfError(mutated);
  }
});

test('cross-check with amf-codec, an independent AMF0 implementation', () => {
  const require = createRequire(import.meta.url);
  const peer = require('amf-codec') as { toAMF(v: unknown): Buffer; fromAMF(b: Buffer): unknown };
  const values: AmfValue[] = [
    0, 1, -1.5, 1e300, NaN, true, false, '', 'hello', 'é✓😀', 'x'.repeat(70000), null, undefined,
    new Date(1e12), [1, 'a', [null]], { a: 1, b: { c: 'd' }, e: [true, { f: new Date(0) }] }, connectValues[2]!,
  ];
  for (const value of values) {
    const ours = amf0Encode([value]);
    assert.deepEqual(ours, peer.toAMF(value), `same bytes for ${JSON.stringify(value)?.slice(0, 40)}`);
    assert.deepEqual(peer.fromAMF(ours), value);
    assert.deepEqual(amf0Decode(peer.toAMF(value)), [value]);
  }
  // amf-codec reads ECMA arrays into JS arrays carrying the entries as properties.
  const meta = AmfEcmaArray.from({ width: 640, codec: 'avc1' });
  assert.deepEqual({ ...(peer.fromAMF(amf0Encode([meta])) as object) }, { width: 640, codec: 'avc1' });
  // and it resolves our typed objects' members like anonymous ones
  assert.deepEqual(peer.fromAMF(amf0Encode([new AmfTypedObject('C', { k: 'v' })])), { k: 'v' });
});
