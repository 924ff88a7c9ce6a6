/**
 * A MediaOutput that writes FLV instead of RTMP chunks: the file header once, then one tag per
 * packet, timestamps rebased to start near zero. The bytes go to a sink (an HTTP response, a
 * WebSocket, ffmpeg's stdin) whose backlog LiveDelivery reads to drop a slow reader to keyframes.
 */
import { encodeFlvHeader, encodeFlvTag, FlvTagType } from '#protocol/flv/flv.ts';
import { MessageType } from '#protocol/rtmp/message.ts';
import type { MediaOutput } from '#common/media/live-delivery.ts';
import type { MediaPacket } from '#common/media/media-packet.ts';

/** Where the FLV bytes go. */
export interface ByteSink {
  /** Bytes written but not yet taken by the reader. */
  readonly backlogBytes: number;
  write(bytes: Buffer): void;
}

const TAG_TYPES: Readonly<Record<number, number>> = {
  [MessageType.Audio]: FlvTagType.Audio,
  [MessageType.Video]: FlvTagType.Video,
  [MessageType.DataAmf0]: FlvTagType.Script,
};

export class FlvMediaOutput implements MediaOutput {
  readonly #sink: ByteSink;
  #headerSent = false;
  #base: number | null = null;
  #bytes = 0;

  constructor(sink: ByteSink) {
    this.#sink = sink;
  }

  get backlogBytes(): number { return this.#sink.backlogBytes; }
  /** FLV bytes written so far. */
  get bytes(): number { return this.#bytes; }

  sendMedia(packet: MediaPacket, _streamId: number): void {
    const type = TAG_TYPES[packet.type];
    if (type === undefined) return; // AMF3 data has no FLV form
    if (!this.#headerSent) {
      this.#headerSent = true;
      this.#write(encodeFlvHeader({ audio: true, video: true }));
    }
    if (packet.kind !== 'data') this.#base ??= packet.timestamp;
    const timestamp = Math.max(0, packet.timestamp - (this.#base ?? packet.timestamp));
    this.#write(encodeFlvTag({ type, timestamp, data: packet.payload }));
  }

  #write(bytes: Buffer): void {
    this.#bytes += bytes.length;
    this.#sink.write(bytes);
  }
}
