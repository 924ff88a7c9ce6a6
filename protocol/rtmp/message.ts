/**
 * RTMP message model shared by every layer: the unit the chunk stream carries
 * (after reassembly) and the sessions, hub and edge link exchange.
 */

/** RTMP message type ids (RTMP spec 5.4, 7.1). */
export const MessageType = {
  SetChunkSize: 1,
  Abort: 2,
  Acknowledgement: 3,
  UserControl: 4,
  WindowAckSize: 5,
  SetPeerBandwidth: 6,
  Audio: 8,
  Video: 9,
  DataAmf3: 15,
  SharedObjectAmf3: 16,
  CommandAmf3: 17,
  DataAmf0: 18,
  SharedObjectAmf0: 19,
  CommandAmf0: 20,
  Aggregate: 22,
} as const;
export type MessageTypeId = (typeof MessageType)[keyof typeof MessageType];

/** One complete RTMP message. `timestamp` is absolute (deltas already resolved), in milliseconds, 32-bit wrapping. */
export interface RtmpMessage {
  type: number;
  /** Message stream id (0 for NetConnection-level and protocol control messages). */
  streamId: number;
  timestamp: number;
  payload: Buffer;
}

/**
 * The message with a payload of its own. A decoded payload is a slice of the bytes the socket read
 * (ChunkDecoder shares memory with its input), and Node reads into 64 KiB buffers: a few hundred bytes
 * kept for a client's whole life (its connect, for a replay) would hold that whole buffer. Copy what
 * is kept; what is used at once needs no copy.
 */
export function retainedMessage(message: RtmpMessage): RtmpMessage {
  const payload = Buffer.allocUnsafeSlow(message.payload.length);
  message.payload.copy(payload);
  return { ...message, payload };
}

/** Chunk stream ids the server uses for what it sends; the spec leaves the choice to the sender. */
export const ChunkStreamId = {
  Control: 2,
  Command: 3,
  Audio: 4,
  Video: 6,
  Data: 5,
} as const;

/** User control event types (RTMP spec 7.1.7). */
export const UserControlEvent = {
  StreamBegin: 0,
  StreamEof: 1,
  StreamDry: 2,
  SetBufferLength: 3,
  StreamIsRecorded: 4,
  PingRequest: 6,
  PingResponse: 7,
} as const;

/** Set Peer Bandwidth limit types (RTMP spec 5.4.5). */
export const BandwidthLimit = { Hard: 0, Soft: 1, Dynamic: 2 } as const;
