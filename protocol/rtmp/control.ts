/**
 * Builders and parsers for RTMP protocol control messages (types 1, 2, 3, 5, 6) and
 * user control messages (type 4): the bookkeeping a session exchanges besides media.
 */

import { ChunkStreamError } from '../errors.ts';
import { MessageType, UserControlEvent, type RtmpMessage } from './message.ts';

/** Largest valid chunk size: the top bit of Set Chunk Size must be zero (spec 5.4.1). */
export const MAX_CHUNK_SIZE = 0x7fffffff;

/** Control messages always travel on message stream 0 with timestamp 0. */
function controlMessage(type: number, payload: Buffer): RtmpMessage {
  return { type, streamId: 0, timestamp: 0, payload };
}

function uint32Message(type: number, value: number): RtmpMessage {
  const payload = Buffer.allocUnsafe(4);
  payload.writeUInt32BE(value >>> 0, 0);
  return controlMessage(type, payload);
}

export function isValidChunkSize(size: number): boolean {
  return Number.isInteger(size) && size >= 1 && size <= MAX_CHUNK_SIZE;
}

export function setChunkSizeMessage(size: number): RtmpMessage {
  if (!isValidChunkSize(size)) throw new ChunkStreamError('chunk.bad_chunk_size', `invalid chunk size ${size}`);
  return uint32Message(MessageType.SetChunkSize, size);
}

export function abortMessage(chunkStreamId: number): RtmpMessage {
  return uint32Message(MessageType.Abort, chunkStreamId);
}

/** `sequence`: total bytes received so far (wraps at 2^32). */
export function acknowledgementMessage(sequence: number): RtmpMessage {
  return uint32Message(MessageType.Acknowledgement, sequence);
}

export function windowAckSizeMessage(size: number): RtmpMessage {
  return uint32Message(MessageType.WindowAckSize, size);
}

/** `limitType`: one of BandwidthLimit (0 hard, 1 soft, 2 dynamic). */
export function setPeerBandwidthMessage(size: number, limitType: number): RtmpMessage {
  const payload = Buffer.allocUnsafe(5);
  payload.writeUInt32BE(size >>> 0, 0);
  payload.writeUInt8(limitType & 0xff, 4);
  return controlMessage(MessageType.SetPeerBandwidth, payload);
}

/** A user control message: 16-bit event type followed by 32-bit event data fields. */
export function userControlMessage(event: number, ...data: number[]): RtmpMessage {
  const payload = Buffer.allocUnsafe(2 + 4 * data.length);
  payload.writeUInt16BE(event & 0xffff, 0);
  data.forEach((value, i) => payload.writeUInt32BE(value >>> 0, 2 + 4 * i));
  return controlMessage(MessageType.UserControl, payload);
}

export function streamBeginMessage(streamId: number): RtmpMessage {
  return userControlMessage(UserControlEvent.StreamBegin, streamId);
}

export function streamEofMessage(streamId: number): RtmpMessage {
  return userControlMessage(UserControlEvent.StreamEof, streamId);
}

export function streamDryMessage(streamId: number): RtmpMessage {
  return userControlMessage(UserControlEvent.StreamDry, streamId);
}

export function streamIsRecordedMessage(streamId: number): RtmpMessage {
  return userControlMessage(UserControlEvent.StreamIsRecorded, streamId);
}

export function setBufferLengthMessage(streamId: number, bufferLengthMs: number): RtmpMessage {
  return userControlMessage(UserControlEvent.SetBufferLength, streamId, bufferLengthMs);
}

export function pingRequestMessage(timestamp: number): RtmpMessage {
  return userControlMessage(UserControlEvent.PingRequest, timestamp);
}

export function pingResponseMessage(timestamp: number): RtmpMessage {
  return userControlMessage(UserControlEvent.PingResponse, timestamp);
}

function requireLength(payload: Buffer, length: number, what: string): void {
  if (payload.length < length) {
    throw new ChunkStreamError('chunk.bad_control', `${what} needs ${length} bytes, got ${payload.length}`);
  }
}

/** The 32-bit value of Set Chunk Size, Abort, Acknowledgement or Window Acknowledgement Size. */
export function parseUint32Control(payload: Buffer): number {
  requireLength(payload, 4, 'control message');
  return payload.readUInt32BE(0);
}

export function parseSetPeerBandwidth(payload: Buffer): { size: number; limitType: number } {
  requireLength(payload, 5, 'Set Peer Bandwidth');
  return { size: payload.readUInt32BE(0), limitType: payload[4]! };
}

export interface UserControl {
  event: number;
  streamId?: number;
  /** SetBufferLength: the client's buffer in milliseconds. */
  bufferLength?: number;
  /** PingRequest/PingResponse. */
  timestamp?: number;
}

/** Parses the known events; unknown ones (e.g. SWF verification 26/27) come back as `{ event }` only. */
export function parseUserControl(payload: Buffer): UserControl {
  requireLength(payload, 2, 'user control message');
  const event = payload.readUInt16BE(0);
  switch (event) {
    case UserControlEvent.StreamBegin:
    case UserControlEvent.StreamEof:
    case UserControlEvent.StreamDry:
    case UserControlEvent.StreamIsRecorded:
      requireLength(payload, 6, `user control event ${event}`);
      return { event, streamId: payload.readUInt32BE(2) };
    case UserControlEvent.SetBufferLength:
      requireLength(payload, 10, 'SetBufferLength');
      return { event, streamId: payload.readUInt32BE(2), bufferLength: payload.readUInt32BE(6) };
    case UserControlEvent.PingRequest:
    case UserControlEvent.PingResponse:
      requireLength(payload, 6, `user control event ${event}`);
      return { event, timestamp: payload.readUInt32BE(2) };
    default:
      return { event };
  }
}
