/**
 * Shared object codec (types 19 and 16): byte-exact against fixtures written by an independent
 * encoder (npm rtmp-client, test/fixtures/rtmp/generate-so.cjs) and against the layout Red5's
 * RTMPProtocolEncoder writes, AMF3 values through 0x11 for type 16, and hostile input
 * (truncated, huge lengths, bad AMF, bad format byte) failing with SharedObjectError.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { AmfTypedObject } from '#protocol/amf/types.ts';
import { ProtocolError } from '#protocol/errors.ts';
import { MessageType } from '#protocol/rtmp/message.ts';
import { decodeSharedObject, encodeSharedObject, SharedObjectError, type SharedObjectMessage } from '#protocol/rtmp/shared-object.ts';
import { ascii, hex, randomBytes } from '../support/bytes.ts';

const fixture = (name: string) => readFileSync(join(import.meta.dirname, '../fixtures/rtmp', name));
const amf0 = (payload: Buffer) => ({ type: MessageType.SharedObjectAmf0, streamId: 0, timestamp: 0, payload });
const amf3 = (payload: Buffer) => ({ type: MessageType.SharedObjectAmf3, streamId: 0, timestamp: 0, payload });

describe('decoding what rtmp-client (npm) encodes', () => {
  test('use', () => {
    assert.deepEqual(decodeSharedObject(amf0(fixture('rtmp-client-so-use.bin'))),
      { name: 'notes', version: 0, persistent: false, events: [{ kind: 'use' }] });
  });

  test('request change with an object value, then request remove', () => {
    assert.deepEqual(decodeSharedObject(amf0(fixture('rtmp-client-so-change.bin'))), {
      name: 'notes', version: 3, persistent: false, events: [
        { kind: 'requestChange', key: 'topic', value: { title: 'Fractions', page: 3 } },
        { kind: 'requestRemove', key: 'old' },
      ],
    });
  });
});

describe('encoding, byte for byte (Red5 layout)', () => {
  const message: SharedObjectMessage = {
    name: 'so', version: 7, persistent: true, events: [
      { kind: 'useSuccess' }, { kind: 'clear' },
      { kind: 'change', key: 'k', value: 'v' },
      { kind: 'success', key: 'k' },
      { kind: 'remove', key: 'x' },
      { kind: 'send', handler: 'go', args: [1] },
      { kind: 'status', code: 'SharedObject.RateLimit', level: 'error' },
    ],
  };
  const expected = hex(`
    0002 ${ascii('so')} 00000007 00000002 00000000
    0b 00000000
    08 00000000
    04 00000007 0001 ${ascii('k')} 02 0001 ${ascii('v')}
    05 00000003 0001 ${ascii('k')}
    09 00000003 0001 ${ascii('x')}
    06 0000000e 02 0002 ${ascii('go')} 00 3ff0000000000000
    07 0000001f 0016 ${ascii('SharedObject.RateLimit')} 0005 ${ascii('error')}`);

  test('type 19 (AMF0)', () => {
    assert.deepEqual(encodeSharedObject(message), expected);
    assert.deepEqual(decodeSharedObject(amf0(expected)), message);
  });

  test('type 16: a format byte, then objects through the 0x11 switch to AMF3', () => {
    const value = { point: new AmfTypedObject('flash.geom.Point', { x: 1, y: 2 }) };
    const bytes = encodeSharedObject({ name: 'so', version: 1, persistent: false, events: [{ kind: 'change', key: 'p', value }] }, true);
    assert.equal(bytes[0], 0, 'format byte');
    const body = bytes.subarray(1 + 2 + 2 + 12 + 5 + 3);
    assert.equal(body[0], 0x11, 'AMF3 switch');
    assert.deepEqual(decodeSharedObject(amf3(bytes)).events, [{ kind: 'change', key: 'p', value }]);
  });

  test('a request with several pairs in one event decodes to one event per slot', () => {
    const bytes = hex(`0001 ${ascii('a')} 00000000 00000000 00000000 03 0000000a 0001 ${ascii('x')} 0101 0001 ${ascii('y')} 0100 06`);
    // the trailing 06 is outside the event (length 10) and starts an event that is truncated
    assert.throws(() => decodeSharedObject(amf0(bytes)), (e: SharedObjectError) => e.code === 'so.truncated');
    const ok = decodeSharedObject(amf0(bytes.subarray(0, bytes.length - 1)));
    assert.deepEqual(ok.events, [{ kind: 'requestChange', key: 'x', value: true }, { kind: 'requestChange', key: 'y', value: false }]);
  });

  test('an unknown event type is kept as unknown (rtmp-client sends 14 for clear)', () => {
    const bytes = hex(`0001 ${ascii('a')} 00000000 00000010 00000000 0e 00000000`);
    assert.deepEqual(decodeSharedObject(amf0(bytes)).events, [{ kind: 'unknown', type: 14, body: Buffer.alloc(0) }]);
  });
});

describe('hostile input', () => {
  const header = `0005 ${ascii('notes')} 00000000 00000000 00000000`;
  const cases: Array<[string, Buffer, string, string | null]> = [
    ['empty', Buffer.alloc(0), 'so.truncated', null],
    ['name longer than the message', hex('ffff 6161'), 'so.truncated', null],
    ['header cut short', hex(`0005 ${ascii('notes')} 0000`), 'so.truncated', 'notes'],
    ['event length beyond the message', hex(`${header} 03 ffffffff 00`), 'so.truncated', 'notes'],
    ['event header cut short', hex(`${header} 03 0000`), 'so.truncated', 'notes'],
    ['value truncated inside the event', hex(`${header} 03 00000006 0001 ${ascii('k')} 0200ff`), 'so.bad_amf', 'notes'],
    ['unknown AMF marker', hex(`${header} 03 00000004 0001 ${ascii('k')} 42`), 'so.bad_amf', 'notes'],
    ['send without a handler name', hex(`${header} 06 00000009 00 3ff0000000000000`), 'so.bad_amf', 'notes'],
  ];
  for (const [what, bytes, code, name] of cases) {
    test(what, () => {
      assert.throws(() => decodeSharedObject(amf0(bytes)), (e: unknown) => {
        assert.ok(e instanceof SharedObjectError && e instanceof ProtocolError, String(e));
        assert.equal(e.code, code, e.message);
        assert.equal(e.objectName, name);
        return true;
      });
    });
  }

  test('type 16 with a format byte other than 0', () => {
    assert.throws(() => decodeSharedObject(amf3(hex(`03 ${header}`))), (e: SharedObjectError) => e.code === 'so.bad_format');
  });

  test('too many events', () => {
    const bytes = Buffer.concat([hex(header), Buffer.alloc(5 * 20, hex('0100000000'))]);
    assert.throws(() => decodeSharedObject(amf0(bytes), { maxEvents: 10 }), (e: SharedObjectError) => e.code === 'so.too_many_events');
  });

  test('random bytes never throw anything but SharedObjectError', () => {
    for (let seed = 1; seed <= 2000; seed++) {
      const bytes = Buffer.concat([hex(header), randomBytes(1 + (seed % 40), seed)]);
      try {
        decodeSharedObject(amf0(bytes));
      } catch (error) {
        assert.ok(error instanceof SharedObjectError, `seed ${seed}: ${String(error)}`);
      }
    }
  });
});
