/**
 * A live packet's media at codec level, for outputs that do not speak FLV/RTMP (WebRTC): which
 * codec, the timing (decode timestamp and composition offset), whether it is a keyframe or the
 * codec configuration, and the codec's own bytes without the FLV tag header (H.264: the AVCC
 * length-prefixed NAL units, or the AVCDecoderConfigurationRecord; AAC: the raw frame, or the
 * AudioSpecificConfig). MediaPacket derives it once, on first use, and keeps it, so any number
 * of viewers read the same frame without parsing the RTMP payload again.
 */
import {
  audioTagHeaderSize,
  AudioFormat,
  isVideoCommandFrame,
  parseAudioTag,
  parseVideoTag,
  videoTagHeaderSize,
  VideoCodec,
} from '#protocol/flv/codecs.ts';
import { AudioFourCc, AudioPacketType, parseEnhancedAudioTag } from '#protocol/flv/enhanced-audio.ts';

/**
 * The codecs a browser plays as they are (Opus: an Enhanced RTMP track, see enhanced-audio.ts);
 * every other FLV codec (Spark, VP6, Nellymoser, MP3, E-RTMP's others...) is `flash`.
 */
export type MediaFrameCodec = 'h264' | 'aac' | 'opus' | 'flash';

export interface MediaFrame {
  readonly kind: 'audio' | 'video';
  readonly codec: MediaFrameCodec;
  /** The FLV codec id: video CodecID (7 H.264, 2 Sorenson Spark, 4 VP6...) or audio SoundFormat (10 AAC, 4-6 Nellymoser...). */
  readonly codecId: number;
  /** The Enhanced RTMP track id (MediaPacket.trackId): 0 but for an additional track. */
  readonly trackId: number;
  /** Decode timestamp, ms (the RTMP message's). */
  readonly timestamp: number;
  /** Presentation minus decode time, ms, signed (H.264 B-frames); 0 for the other codecs. */
  readonly compositionTimeOffset: number;
  /** A picture decodable on its own; false for codec configuration and audio. */
  readonly isKeyframe: boolean;
  /** The decoder configuration (AVC sequence header, AAC AudioSpecificConfig) rather than media. */
  readonly isCodecConfig: boolean;
  /** The codec's bytes after the FLV tag header; a view of the packet's payload, not a copy. */
  readonly payload: Buffer;
}

/**
 * The frame inside an RTMP audio or video payload; null for data messages, unparsable payloads,
 * video info/command frames and AVC end-of-sequence markers (none of which carry media).
 */
export function parseMediaFrame(kind: 'audio' | 'video' | 'data', timestamp: number, payload: Buffer): MediaFrame | null {
  if (kind === 'video') {
    const info = parseVideoTag(payload);
    if (!info || isVideoCommandFrame(info) || info.isEndOfSequence) return null;
    return {
      kind,
      codec: info.codecId === VideoCodec.AVC ? 'h264' : 'flash',
      codecId: info.codecId,
      trackId: 0,
      timestamp,
      compositionTimeOffset: info.compositionTime,
      isKeyframe: info.isKeyframe && !info.isSequenceHeader,
      isCodecConfig: info.isSequenceHeader,
      payload: payload.subarray(videoTagHeaderSize(info)),
    };
  }
  if (kind === 'audio') {
    const info = parseAudioTag(payload);
    if (!info) return null;
    if (info.format === AudioFormat.ExHeader) return parseEnhancedAudioFrame(timestamp, payload);
    return {
      kind,
      codec: info.format === AudioFormat.Aac ? 'aac' : 'flash',
      codecId: info.format,
      trackId: 0,
      timestamp,
      compositionTimeOffset: 0,
      isKeyframe: false,
      isCodecConfig: info.isSequenceHeader,
      payload: payload.subarray(audioTagHeaderSize(info)),
    };
  }
  return null;
}

/**
 * An E-RTMP audio message with one track: its configuration (SequenceStart) or packet
 * (CodedFrames). Null for the other packet types (SequenceEnd, MultichannelConfig), which carry
 * no media, and for messages with several tracks, which nothing here sends.
 */
function parseEnhancedAudioFrame(timestamp: number, payload: Buffer): MediaFrame | null {
  const tag = parseEnhancedAudioTag(payload);
  const track = tag?.tracks.length === 1 ? tag.tracks[0]! : null;
  if (!tag || !track || (tag.packetType !== AudioPacketType.SequenceStart && tag.packetType !== AudioPacketType.CodedFrames)) return null;
  return {
    kind: 'audio',
    codec: track.fourCc === AudioFourCc.Opus ? 'opus' : 'flash',
    codecId: AudioFormat.ExHeader,
    trackId: track.trackId,
    timestamp,
    compositionTimeOffset: 0,
    isKeyframe: false,
    isCodecConfig: tag.packetType === AudioPacketType.SequenceStart,
    payload: track.data,
  };
}
