/**
 * A media or data packet of a live stream as the hub keeps it: the publisher's message plus
 * what fan-out needs to know (keyframe, sequence header) and its chunk encoding, made once and
 * shared by every player that uses the same chunk size and message stream id. Outputs that need
 * the codec's own bytes (WebRTC) read `frame`, likewise made once and shared.
 */
import { parseAudioTag, parseVideoTag } from '#protocol/flv/codecs.ts';
import { additionalTrackOf } from '#protocol/flv/enhanced-audio.ts';
import { parseMediaFrame, type MediaFrame } from './media-frame.ts';
import { encodeChunks } from '#protocol/rtmp/chunk-encoder.ts';
import { EncodingCache } from './encoding-cache.ts';
import { ChunkStreamId, MessageType, type RtmpMessage } from '#protocol/rtmp/message.ts';

export type MediaKind = 'audio' | 'video' | 'data';

export class MediaPacket {
  readonly kind: MediaKind;
  readonly type: number;
  readonly timestamp: number;
  readonly payload: Buffer;
  readonly isKeyframe: boolean;
  readonly isSequenceHeader: boolean;
  /**
   * 0 for what every client plays; the track id of an Enhanced RTMP additional track (the
   * browser's Opus beside the AAC), which only consumers that take such tracks are given.
   */
  readonly trackId: number;
  readonly chunkStreamId: number;
  readonly #encodings = new EncodingCache<MediaPacket>();
  /** undefined until first asked for; null when the packet carries no media frame. */
  #frame: MediaFrame | null | undefined = undefined;

  constructor(type: number, timestamp: number, payload: Buffer) {
    this.type = type;
    this.timestamp = timestamp >>> 0;
    this.payload = payload;
    if (type === MessageType.Video) {
      const info = parseVideoTag(payload);
      this.kind = 'video';
      this.isKeyframe = info?.isKeyframe ?? false;
      this.isSequenceHeader = info?.isSequenceHeader ?? false;
      this.trackId = 0;
      this.chunkStreamId = ChunkStreamId.Video;
    } else if (type === MessageType.Audio) {
      this.kind = 'audio';
      this.isKeyframe = false;
      this.isSequenceHeader = parseAudioTag(payload)?.isSequenceHeader ?? false;
      this.trackId = additionalTrackOf(payload);
      this.chunkStreamId = ChunkStreamId.Audio;
    } else {
      this.kind = 'data';
      this.isKeyframe = false;
      this.isSequenceHeader = false;
      this.trackId = 0;
      this.chunkStreamId = ChunkStreamId.Data;
    }
  }

  static fromMessage(message: RtmpMessage): MediaPacket {
    return new MediaPacket(message.type, message.timestamp, message.payload);
  }

  /** The same packet with another timestamp (sequence headers and metadata sent to a late joiner). */
  restamped(timestamp: number): MediaPacket {
    return timestamp === this.timestamp ? this : new MediaPacket(this.type, timestamp, this.payload);
  }

  /** The codec-level frame (see MediaFrame), parsed on first use and kept; null for data and non-media tags. */
  get frame(): MediaFrame | null {
    if (this.#frame === undefined) this.#frame = parseMediaFrame(this.kind, this.timestamp, this.payload);
    return this.#frame;
  }

  /** Chunked bytes for a connection with this chunk size, on this message stream id. */
  chunks(streamId: number, chunkSize: number): Buffer {
    return this.#encodings.get(this, streamId, chunkSize, encodePacket);
  }
}

function encodePacket(packet: MediaPacket, streamId: number, chunkSize: number): Buffer {
  return encodeChunks({ type: packet.type, streamId, timestamp: packet.timestamp, payload: packet.payload }, packet.chunkStreamId, chunkSize);
}
