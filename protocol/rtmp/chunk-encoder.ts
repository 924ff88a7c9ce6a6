/**
 * RTMP chunk stream encoder: splits messages into chunks. `encodeChunks` is the stateless
 * form used for buffers shared by every player of a live stream; `ChunkEncoder` compresses
 * headers against the previous message per chunk stream for a single connection.
 */

import { ChunkStreamError } from '../errors.ts';
import { isValidChunkSize } from './control.ts';
import type { RtmpMessage } from './message.ts';

/** Chunk size every RTMP connection starts with (spec 5.4.1). */
export const DEFAULT_CHUNK_SIZE = 128;
/** A 24-bit timestamp field with this value means "see the 4-byte extended timestamp". */
export const EXTENDED_TIMESTAMP = 0xffffff;
/** The message length field is 24 bits. */
export const MAX_MESSAGE_LENGTH = 0xffffff;
/** Chunk stream ids 0 and 1 are basic-header escapes; 3-byte basic headers reach 65599. */
export const MIN_CHUNK_STREAM_ID = 2;
export const MAX_CHUNK_STREAM_ID = 65599;
/** Message header size by chunk type (fmt) 0..3. */
export const MESSAGE_HEADER_SIZE = [11, 7, 3, 0] as const;

function checkChunkStreamId(csid: number): void {
  if (!Number.isInteger(csid) || csid < MIN_CHUNK_STREAM_ID || csid > MAX_CHUNK_STREAM_ID) {
    throw new ChunkStreamError('chunk.bad_chunk_stream_id', `chunk stream id ${csid} outside 2..65599`);
  }
}

function checkChunkSize(size: number): void {
  if (!isValidChunkSize(size)) throw new ChunkStreamError('chunk.bad_chunk_size', `invalid chunk size ${size}`);
}

function basicHeaderSize(csid: number): number {
  return csid < 64 ? 1 : csid < 320 ? 2 : 3;
}

function writeBasicHeader(buf: Buffer, pos: number, fmt: number, csid: number): number {
  if (csid < 64) {
    buf[pos] = (fmt << 6) | csid;
    return pos + 1;
  }
  if (csid < 320) {
    buf[pos] = fmt << 6;
    buf[pos + 1] = csid - 64;
    return pos + 2;
  }
  buf[pos] = (fmt << 6) | 1;
  buf[pos + 1] = (csid - 64) & 0xff;
  buf[pos + 2] = (csid - 64) >> 8;
  return pos + 3;
}

/**
 * Encodes `message` into one buffer: a header of chunk type `fmt` whose timestamp field is
 * `timestampField` (absolute for type 0, a delta otherwise), then type-3 continuations that
 * repeat the extended timestamp when the first header needed one.
 */
function writeChunks(message: RtmpMessage, csid: number, chunkSize: number, fmt: number, timestampField: number): Buffer {
  const payload = message.payload;
  const length = payload.length;
  if (length > MAX_MESSAGE_LENGTH) {
    throw new ChunkStreamError('chunk.message_too_large', `message of ${length} bytes exceeds the 24-bit length field`);
  }
  const extended = timestampField >= EXTENDED_TIMESTAMP;
  const extendedSize = extended ? 4 : 0;
  const basicSize = basicHeaderSize(csid);
  const chunks = length === 0 ? 1 : Math.ceil(length / chunkSize);
  const total =
    basicSize + MESSAGE_HEADER_SIZE[fmt as 0 | 1 | 2 | 3] + extendedSize + length + (chunks - 1) * (basicSize + extendedSize);
  const buf = Buffer.allocUnsafe(total);
  let pos = writeBasicHeader(buf, 0, fmt, csid);
  if (fmt <= 2) {
    buf.writeUIntBE(extended ? EXTENDED_TIMESTAMP : timestampField, pos, 3);
    pos += 3;
  }
  if (fmt <= 1) {
    buf.writeUIntBE(length, pos, 3);
    buf[pos + 3] = message.type;
    pos += 4;
  }
  if (fmt === 0) {
    buf.writeUInt32LE(message.streamId >>> 0, pos);
    pos += 4;
  }
  if (extended) pos = buf.writeUInt32BE(timestampField, pos);
  let offset = 0;
  for (;;) {
    const end = Math.min(length, offset + chunkSize);
    pos += payload.copy(buf, pos, offset, end);
    offset = end;
    if (offset >= length) break;
    pos = writeBasicHeader(buf, pos, 3, csid);
    if (extended) pos = buf.writeUInt32BE(timestampField, pos);
  }
  return buf;
}

/** Stateless encoding with a full (type 0) header: safe to write to any connection whose chunk size matches. */
export function encodeChunks(message: RtmpMessage, chunkStreamId: number, chunkSize: number): Buffer {
  checkChunkStreamId(chunkStreamId);
  checkChunkSize(chunkSize);
  return writeChunks(message, chunkStreamId, chunkSize, 0, message.timestamp >>> 0);
}

/** What the peer's decoder remembers about a chunk stream after our last message on it. */
interface SentHeader {
  type: number;
  streamId: number;
  length: number;
  timestamp: number;
  /** Timestamp delta of the last header, or null after a type 0 header (whose field is absolute). */
  delta: number | null;
}

/** Per-connection encoder with header compression. */
export class ChunkEncoder {
  private size = DEFAULT_CHUNK_SIZE;
  /** By chunk stream id. An array, not a Map: forget() runs for every media packet of every player. */
  private readonly sent: (SentHeader | undefined)[] = [];

  /** Outgoing chunk size; set it right after queueing the Set Chunk Size message that announces it. */
  get chunkSize(): number {
    return this.size;
  }

  set chunkSize(size: number) {
    checkChunkSize(size);
    this.size = size;
  }

  encode(message: RtmpMessage, chunkStreamId: number): Buffer {
    checkChunkStreamId(chunkStreamId);
    const timestamp = message.timestamp >>> 0;
    const length = message.payload.length;
    const prev = this.sent[chunkStreamId];
    let fmt = 0;
    let delta: number | null = null;
    if (prev && prev.streamId === message.streamId) {
      const forward = (timestamp - prev.timestamp) >>> 0;
      // A backwards jump needs an absolute timestamp; forward deltas may cross the 32-bit wrap.
      if (forward < 0x80000000) {
        delta = forward;
        if (prev.type !== message.type || prev.length !== length) fmt = 1;
        // A new message in a type 3 chunk reuses the last delta. Only after a real delta
        // (not a type 0 absolute) and without an extended field: peers disagree on those cases.
        else if (prev.delta === forward && forward < EXTENDED_TIMESTAMP) fmt = 3;
        else fmt = 2;
      }
    }
    const buf = writeChunks(message, chunkStreamId, this.size, fmt, delta ?? timestamp);
    this.sent[chunkStreamId] = { type: message.type, streamId: message.streamId, length, timestamp, delta };
    return buf;
  }

  /** Next message on this chunk stream gets a type 0 header: call after writing bytes this encoder did not make. */
  forget(chunkStreamId: number): void {
    if (this.sent[chunkStreamId] !== undefined) this.sent[chunkStreamId] = undefined;
  }
}
