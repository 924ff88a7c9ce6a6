/**
 * Hand-made FLV media payloads with exact flags and sizes, for tests that must know precisely
 * what the publisher sent (keyframes, sequence headers) without an encoder's timing.
 */
import { MessageType, type RtmpMessage } from '#protocol/rtmp/message.ts';

/** AVC video tag: frame type 1 (key) or 2 (inter), codec 7, packet type 0 (sequence header) or 1 (NALU). */
export function avcVideo(kind: 'header' | 'key' | 'inter', timestamp: number, streamId: number, size = 64, marker = 0): RtmpMessage {
  const payload = Buffer.alloc(Math.max(size, 9), marker & 0xff);
  payload[0] = (kind === 'inter' ? 0x20 : 0x10) | 7;
  payload[1] = kind === 'header' ? 0 : 1;
  payload.writeUIntBE(0, 2, 3);
  return { type: MessageType.Video, streamId, timestamp, payload };
}

/** AAC audio tag: 0xAF then packet type 0 (AudioSpecificConfig) or 1 (raw frame). */
export function aacAudio(kind: 'header' | 'frame', timestamp: number, streamId: number): RtmpMessage {
  const payload = kind === 'header' ? Buffer.from([0xaf, 0x00, 0x12, 0x10]) : Buffer.concat([Buffer.from([0xaf, 0x01]), Buffer.alloc(32, 7)]);
  return { type: MessageType.Audio, streamId, timestamp, payload };
}

export function isKeyframe(message: RtmpMessage): boolean {
  return message.type === MessageType.Video && message.payload[0]! >> 4 === 1 && message.payload[1] === 1;
}

export function isVideoHeader(message: RtmpMessage): boolean {
  return message.type === MessageType.Video && message.payload[1] === 0;
}
