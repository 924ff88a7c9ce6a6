// Exact-byte tests of the protocol control and user control message builders and parsers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ChunkStreamError } from '#protocol/errors.ts';
import {
  abortMessage,
  acknowledgementMessage,
  parseSetPeerBandwidth,
  parseUint32Control,
  parseUserControl,
  pingRequestMessage,
  pingResponseMessage,
  setBufferLengthMessage,
  setChunkSizeMessage,
  setPeerBandwidthMessage,
  streamBeginMessage,
  streamDryMessage,
  streamEofMessage,
  streamIsRecordedMessage,
  userControlMessage,
  windowAckSizeMessage,
} from '#protocol/rtmp/control.ts';
import { BandwidthLimit, type RtmpMessage } from '#protocol/rtmp/message.ts';

function assertMessage(message: RtmpMessage, type: number, hex: string): void {
  assert.equal(message.type, type);
  assert.equal(message.streamId, 0);
  assert.equal(message.timestamp, 0);
  assert.equal(message.payload.toString('hex'), hex);
}

function assertBadControl(fn: () => unknown): void {
  assert.throws(fn, (err: unknown) => err instanceof ChunkStreamError && err.code === 'chunk.bad_control');
}

test('protocol control builders produce exact bytes', () => {
  assertMessage(setChunkSizeMessage(4096), 1, '00001000');
  assertMessage(setChunkSizeMessage(0x7fffffff), 1, '7fffffff');
  assertMessage(abortMessage(6), 2, '00000006');
  assertMessage(acknowledgementMessage(0xfffffffe), 3, 'fffffffe');
  assertMessage(acknowledgementMessage(2 ** 32 + 5), 3, '00000005');
  assertMessage(windowAckSizeMessage(2_500_000), 5, '002625a0');
  assertMessage(setPeerBandwidthMessage(2_500_000, BandwidthLimit.Dynamic), 6, '002625a002');
  assertMessage(setPeerBandwidthMessage(5000, BandwidthLimit.Hard), 6, '0000138800');
});

test('setChunkSizeMessage rejects sizes outside 1..2^31-1', () => {
  for (const size of [0, -1, 0x80000000, 1.5, Number.NaN]) {
    assert.throws(() => setChunkSizeMessage(size), (e: unknown) => e instanceof ChunkStreamError && e.code === 'chunk.bad_chunk_size');
  }
});

test('user control builders produce exact bytes', () => {
  assertMessage(streamBeginMessage(1), 4, '000000000001');
  assertMessage(streamEofMessage(1), 4, '000100000001');
  assertMessage(streamDryMessage(2), 4, '000200000002');
  assertMessage(setBufferLengthMessage(1, 3000), 4, '00030000000100000bb8');
  assertMessage(streamIsRecordedMessage(1), 4, '000400000001');
  assertMessage(pingRequestMessage(0x01020304), 4, '000601020304');
  assertMessage(pingResponseMessage(0xffffffff), 4, '0007ffffffff');
  assertMessage(userControlMessage(0x1a), 4, '001a');
});

test('parseUint32Control reads types 1, 2, 3, 5 and rejects short payloads', () => {
  assert.equal(parseUint32Control(setChunkSizeMessage(60000).payload), 60000);
  assert.equal(parseUint32Control(acknowledgementMessage(0xfffffffe).payload), 0xfffffffe);
  assert.equal(parseUint32Control(Buffer.from('0000008000', 'hex')), 128, 'trailing bytes are ignored');
  assertBadControl(() => parseUint32Control(Buffer.alloc(0)));
  assertBadControl(() => parseUint32Control(Buffer.from('000080', 'hex')));
});

test('parseSetPeerBandwidth', () => {
  assert.deepEqual(parseSetPeerBandwidth(setPeerBandwidthMessage(2_500_000, BandwidthLimit.Soft).payload), {
    size: 2_500_000,
    limitType: 1,
  });
  assertBadControl(() => parseSetPeerBandwidth(Buffer.from('00262500', 'hex')));
  assertBadControl(() => parseSetPeerBandwidth(Buffer.from('002625a0', 'hex')));
});

test('parseUserControl decodes every known event', () => {
  assert.deepEqual(parseUserControl(streamBeginMessage(7).payload), { event: 0, streamId: 7 });
  assert.deepEqual(parseUserControl(streamEofMessage(7).payload), { event: 1, streamId: 7 });
  assert.deepEqual(parseUserControl(streamDryMessage(7).payload), { event: 2, streamId: 7 });
  assert.deepEqual(parseUserControl(setBufferLengthMessage(1, 3000).payload), { event: 3, streamId: 1, bufferLength: 3000 });
  assert.deepEqual(parseUserControl(streamIsRecordedMessage(7).payload), { event: 4, streamId: 7 });
  assert.deepEqual(parseUserControl(pingRequestMessage(123456).payload), { event: 6, timestamp: 123456 });
  assert.deepEqual(parseUserControl(pingResponseMessage(123456).payload), { event: 7, timestamp: 123456 });
  // SWF verification request (26) and unknown events: only the event type.
  assert.deepEqual(parseUserControl(Buffer.from('001a', 'hex')), { event: 26 });
  assert.deepEqual(parseUserControl(Buffer.from('ffff00000000', 'hex')), { event: 0xffff });
});

test('parseUserControl rejects short payloads with chunk.bad_control', () => {
  assertBadControl(() => parseUserControl(Buffer.alloc(0)));
  assertBadControl(() => parseUserControl(Buffer.from('00', 'hex')));
  assertBadControl(() => parseUserControl(Buffer.from('0000', 'hex')));
  assertBadControl(() => parseUserControl(Buffer.from('0000000001', 'hex')));
  assertBadControl(() => parseUserControl(Buffer.from('000300000001', 'hex')));
  assertBadControl(() => parseUserControl(Buffer.from('00030000000100000b', 'hex')));
  assertBadControl(() => parseUserControl(Buffer.from('0006000000', 'hex')));
});
