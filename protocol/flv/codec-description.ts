/**
 * What a dashboard shows of a stream's codecs, read from one FLV/RTMP tag payload: the codec's
 * name (`h264`, `aac`, `opus`, or the Flash-era names of codecs.ts: `sorenson-h263`, `nellymoser`,
 * ...) and, from a sequence header (AVC decoder configuration, AAC AudioSpecificConfig, an Enhanced
 * RTMP audio track's FourCC), the picture size, profile and level or the sample rate and channels.
 * A payload without a sequence header (Flash-era codecs have none) still names its codec; the tag
 * header's own rate and channel flags are given for those. Pure: bytes in, values out, null for a
 * payload it cannot read.
 */
import { AudioFormat, AudioFormatName, parseAacConfig, parseAudioTag, parseAvcDecoderConfig, parseVideoTag, VideoCodec, VideoCodecName } from './codecs.ts';
import { AudioFourCc, parseEnhancedAudioTag } from './enhanced-audio.ts';

export interface VideoDescription {
  codec: string;
  /** FLV CodecID (7 H.264, 2 Sorenson Spark, 4 VP6, ...). */
  codecId: number;
  /** From the AVC sequence header; null for other codecs and for a frame that is not the header. */
  width: number | null;
  height: number | null;
  profile: number | null;
  level: number | null;
}

export interface AudioDescription {
  codec: string;
  /** FLV SoundFormat (10 AAC, 6 Nellymoser, 9 Enhanced RTMP, ...). */
  codecId: number;
  sampleRate: number | null;
  channels: number | null;
}

/** Enhanced RTMP audio FourCCs as codec names. */
const FOURCC_NAMES: Readonly<Record<string, string>> = {
  [AudioFourCc.Opus]: 'opus', [AudioFourCc.Aac]: 'aac', [AudioFourCc.Mp3]: 'mp3', [AudioFourCc.Flac]: 'flac', [AudioFourCc.Ac3]: 'ac3', [AudioFourCc.Eac3]: 'eac3',
};

/** The codec of a video tag payload, with the picture size, profile and level when it is an AVC sequence header. */
export function describeVideo(payload: Buffer): VideoDescription | null {
  const info = parseVideoTag(payload);
  if (!info) return null;
  const config = info.isSequenceHeader ? parseAvcDecoderConfig(payload) : null;
  return {
    codec: info.codecId === VideoCodec.AVC ? 'h264' : VideoCodecName[info.codecId] ?? `unknown-${info.codecId}`,
    codecId: info.codecId,
    width: config?.width ?? null,
    height: config?.height ?? null,
    profile: config?.profile ?? null,
    level: config?.level ?? null,
  };
}

/**
 * The codec of an audio tag payload: rate and channels from an AAC sequence header, the tag
 * header's flags for codecs without one; an Enhanced RTMP tag names its FourCC's codec.
 */
export function describeAudio(payload: Buffer): AudioDescription | null {
  const info = parseAudioTag(payload);
  if (!info) return null;
  if (info.format === AudioFormat.ExHeader) {
    const fourCc = parseEnhancedAudioTag(payload)?.tracks[0]?.fourCc;
    if (fourCc === undefined) return null;
    return { codec: FOURCC_NAMES[fourCc] ?? `fourcc-${fourCc.replace(/[^\w.-]/g, '_')}`, codecId: info.format, sampleRate: null, channels: null };
  }
  if (info.format === AudioFormat.Aac) {
    const config = info.isSequenceHeader ? parseAacConfig(payload) : null;
    // An AAC frame's header flags always say 44.1 kHz stereo: only the sequence header knows.
    return { codec: 'aac', codecId: info.format, sampleRate: config?.sampleRate ?? null, channels: config?.channels ?? null };
  }
  return { codec: AudioFormatName[info.format] ?? `unknown-${info.format}`, codecId: info.format, sampleRate: info.sampleRate, channels: info.channels };
}
