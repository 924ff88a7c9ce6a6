/**
 * Short property-based fuzz run of every decoder that takes outside bytes (issue 14, "Fuzzing"):
 * arbitrary and damaged inputs give a result or the decoder's typed error, within a bounded
 * allocation. The long run is `npm run bench:fuzz`. Below, each input the fuzzing found as a fixture.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { amf0Decode, amfEncodeForPeer } from '#protocol/amf/amf0.ts';
import { AmfError, CodedError } from '#protocol/errors.ts';
import { MessageType } from '#protocol/rtmp/message.ts';
import { decodeSharedObject, SharedObjectError } from '#protocol/rtmp/shared-object.ts';
import { amfToJson, JsonAmfError } from '../../gateway/browser/amf-json.ts';
import { fuzzProperty, fuzzTargets } from '../support/fuzz-targets.ts';

/** Inputs per decoder in the suite; a fixed seed keeps the run the same from one CI run to the next. */
const RUNS_PER_TARGET = 2000;

describe('fuzzed decoders give a result or their typed error', () => {
  for (const target of fuzzTargets) {
    test(target.name, () => {
      fc.assert(fuzzProperty(target), { numRuns: RUNS_PER_TARGET, seed: 14 });
    });
  }
});

describe('fuzz findings stay fixed', () => {
  test('a shared object change event with many slots is refused by the event limit, not by the stack', () => {
    // One requestChange event whose body holds 200,000 slots "" = null: 3 bytes each.
    const slots = Buffer.alloc(200_000 * 3);
    for (let i = 0; i < 200_000; i++) slots[i * 3 + 2] = 0x05;
    const header = Buffer.from([0, 4, 0x72, 0x6f, 0x6f, 0x6d, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0]);
    const event = Buffer.alloc(5);
    event[0] = 3;
    event.writeUInt32BE(slots.length, 1);
    const payload = Buffer.concat([header, event, slots]);
    assert.throws(
      () => decodeSharedObject({ type: MessageType.SharedObjectAmf0, streamId: 0, timestamp: 0, payload }),
      (error: unknown) => error instanceof SharedObjectError && error.code === 'so.too_many_events' && error.objectName === 'room',
    );
  });

  test('an AMF0 object that refers to itself becomes a typed error as JSON, not a hang', () => {
    // { a: <ref 0>, b: <ref 0> }: 16 bytes whose JSON expansion doubles on every level.
    const bytes = Buffer.from('03 0001 61 07 0000 0001 62 07 0000 0000 09'.replaceAll(' ', ''), 'hex');
    const [value] = amf0Decode(bytes);
    assert.throws(() => amfToJson(value), JsonAmfError);
    assert.throws(() => amfEncodeForPeer([value], false), (error: unknown) => error instanceof AmfError && error.code === 'amf.cyclic');
  });

  test('shared references cannot make a small AMF0 value expand without bound when relayed', { timeout: 60_000 }, () => {
    // Each level holds the next one twice (once inline, once by reference): 30 levels decode from
    // ~600 bytes to a value that is 2^30 objects when written out in full.
    const levels = 30;
    const object = (level: number): Buffer => {
      if (level === levels) return Buffer.from([0x05]); // null
      const reference = Buffer.from([0x07, 0, 0]);
      reference.writeUInt16BE(level + 1, 1); // objects are numbered in the order they start: outside in
      const b = level === levels - 1 ? Buffer.from([0x05]) : reference;
      return Buffer.concat([Buffer.from('03000161', 'hex'), object(level + 1), Buffer.from('000162', 'hex'), b, Buffer.from('000009', 'hex')]);
    };
    const parts = [object(0)];
    const bytes = Buffer.concat(parts);
    let values: ReturnType<typeof amf0Decode>;
    try {
      values = amf0Decode(bytes);
    } catch (error) {
      assert.ok(error instanceof CodedError, String(error));
      return;
    }
    for (const relay of [() => amfEncodeForPeer(values, false), () => values.map((v) => amfToJson(v))]) {
      try {
        const out = relay();
        assert.ok(JSON.stringify(out === undefined ? null : Buffer.isBuffer(out) ? out.length : out).length < 16 * 1024 * 1024);
      } catch (error) {
        assert.ok(error instanceof CodedError || error instanceof JsonAmfError, String(error));
      }
    }
  });
});
