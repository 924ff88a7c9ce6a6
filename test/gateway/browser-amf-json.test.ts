/**
 * The browser protocol's AMF <-> JSON mapping (gateway/browser/amf-json.ts): every AMF kind maps to
 * JSON and back, through real AMF0/AMF3 encoding too, and malformed tagged values are refused.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { amfToJson, jsonToAmf, JsonAmfError } from '../../gateway/browser/amf-json.ts';
import { AmfDictionary, AmfEcmaArray, AmfTypedObject, AmfVector, AmfXml, type AmfValue } from '#protocol/amf/types.ts';
import { amf0Decode, amfEncodeForPeer } from '#protocol/amf/amf0.ts';

/** JSON text -> AMF -> JSON text must be the identity. */
function jsonRoundTrip(value: unknown): void {
  const text = JSON.stringify(value);
  assert.equal(JSON.stringify(amfToJson(jsonToAmf(JSON.parse(text)))), text);
}

test('plain JSON values map to themselves', () => {
  for (const value of [null, true, false, 0, -1.5, 'text', 'ünïcødé ✓', [], [1, 'a', null], {}, { a: 1, b: { c: [true] } }]) jsonRoundTrip(value);
});

test('dates, typed objects, byte arrays and the other AMF kinds use tagged objects', () => {
  const date = new Date('2026-11-25T12:00:00.123Z');
  assert.deepEqual(amfToJson(date), { $date: '2026-11-25T12:00:00.123Z' });
  assert.deepEqual(jsonToAmf({ $date: '2026-11-25T12:00:00.123Z' }), date);
  const typed = new AmfTypedObject('com.example.Stroke', { x: 1, at: date });
  assert.deepEqual(amfToJson(typed), { $class: 'com.example.Stroke', x: 1, at: { $date: date.toISOString() } });
  assert.deepEqual(jsonToAmf(amfToJson(typed)), typed);
  const bytes = Buffer.from([0, 1, 2, 250, 255]);
  assert.deepEqual(amfToJson(bytes), { $bytes: 'AAEC+v8=' });
  assert.deepEqual(jsonToAmf({ $bytes: 'AAEC+v8=' }), bytes);
  assert.equal(amfToJson(undefined), null);
  assert.equal(amfToJson(Number.NaN), null);
  const ecma = AmfEcmaArray.from({ width: 640, height: 360 });
  assert.deepEqual(jsonToAmf(amfToJson(ecma)), ecma);
  const xml = new AmfXml('<a/>', false);
  assert.deepEqual(jsonToAmf(amfToJson(xml)), xml);
  const vector = new AmfVector('int', [1, -2, 3], true);
  assert.deepEqual(jsonToAmf(amfToJson(vector)), vector);
  const dict = new AmfDictionary([['k', 1], [2, 'two']]);
  assert.deepEqual(jsonToAmf(amfToJson(dict)), dict);
});

test("keys starting with '$' in plain objects are escaped and round-trip", () => {
  const value = { $date: 'not a tag', $$x: 1, plain: 2 } as unknown as AmfValue;
  const json = amfToJson(value);
  assert.deepEqual(json, { $$date: 'not a tag', $$$x: 1, plain: 2 });
  assert.deepEqual(jsonToAmf(json), value);
});

test('values survive AMF0 and AMF3 encoding between JSON and JSON', () => {
  const json = { name: 'ann', at: { $date: '2026-01-02T03:04:05.000Z' }, blob: { $bytes: 'aGVsbG8=' }, stroke: { $class: 'Stroke', points: [1, 2, 3] }, list: [1, 'x', null] };
  for (const amf3 of [false, true]) {
    const decoded = amf0Decode(amfEncodeForPeer([jsonToAmf(json)], amf3));
    assert.deepEqual(amfToJson(decoded[0]), json, `amf3=${amf3}`);
  }
});

test('malformed tagged values and non-JSON values are refused', () => {
  for (const bad of [{ $date: 'yesterday' }, { $date: 5 }, { $bytes: '!!' }, { $class: '' }, { $unknown: 1 }, { $vector: 'float', items: [] },
    { $dict: [[1]] }, { $ecma: 3 }, Number.POSITIVE_INFINITY, () => 1]) {
    assert.throws(() => jsonToAmf(bad), JsonAmfError, JSON.stringify(bad) ?? String(bad));
  }
  let deep: unknown = 1;
  for (let i = 0; i < 100; i++) deep = [deep];
  assert.throws(() => jsonToAmf(deep), /deeper/);
});
