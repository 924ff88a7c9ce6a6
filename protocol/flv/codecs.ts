/**
 * Reads the codec headers inside FLV/RTMP audio and video payloads (FLV spec annex E.4):
 * which codec, keyframes and sequence headers (what a live server needs for its GOP cache
 * and late joiners), and the stream parameters in AVC and AAC decoder configurations
 * (what a dashboard shows). Pure functions; they return null rather than throw on data
 * they cannot make sense of, because payloads are opaque to the server and a strange one
 * must never cost the connection.
 */
import { AudioPacketType, parseEnhancedAudioTag } from './enhanced-audio.ts';

export const VideoCodec = { SorensonH263: 2, ScreenVideo: 3, VP6: 4, VP6Alpha: 5, ScreenVideo2: 6, AVC: 7 } as const;

export const AudioFormat = {
  LinearPcmPlatform: 0,
  Adpcm: 1,
  Mp3: 2,
  LinearPcmLe: 3,
  Nellymoser16k: 4,
  Nellymoser8k: 5,
  Nellymoser: 6,
  G711ALaw: 7,
  G711MuLaw: 8,
  /** Enhanced RTMP: a FourCC codec id follows (enhanced-audio.ts). */
  ExHeader: 9,
  Aac: 10,
  Speex: 11,
  Mp38k: 14,
  DeviceSpecific: 15,
} as const;

export const VideoCodecName: Readonly<Record<number, string>> = {
  [VideoCodec.SorensonH263]: 'sorenson-h263',
  [VideoCodec.ScreenVideo]: 'screen-video',
  [VideoCodec.VP6]: 'vp6',
  [VideoCodec.VP6Alpha]: 'vp6-alpha',
  [VideoCodec.ScreenVideo2]: 'screen-video-2',
  [VideoCodec.AVC]: 'avc',
};

export const AudioFormatName: Readonly<Record<number, string>> = {
  [AudioFormat.LinearPcmPlatform]: 'pcm-platform-endian',
  [AudioFormat.Adpcm]: 'adpcm',
  [AudioFormat.Mp3]: 'mp3',
  [AudioFormat.LinearPcmLe]: 'pcm-le',
  [AudioFormat.Nellymoser16k]: 'nellymoser-16k',
  [AudioFormat.Nellymoser8k]: 'nellymoser-8k',
  [AudioFormat.Nellymoser]: 'nellymoser',
  [AudioFormat.G711ALaw]: 'g711-alaw',
  [AudioFormat.G711MuLaw]: 'g711-mulaw',
  [AudioFormat.ExHeader]: 'enhanced',
  [AudioFormat.Aac]: 'aac',
  [AudioFormat.Speex]: 'speex',
  [AudioFormat.Mp38k]: 'mp3-8k',
  [AudioFormat.DeviceSpecific]: 'device-specific',
};

/** Video tag frame types (upper nibble of the first byte). */
const FrameType = { Key: 1, Inter: 2, DisposableInter: 3, GeneratedKey: 4, InfoCommand: 5 } as const;
/** AVCPacketType, the byte after the first for AVC. */
const AvcPacketType = { SequenceHeader: 0, Nalu: 1, EndOfSequence: 2 } as const;
const AAC_SEQUENCE_HEADER = 0;
const AVC_TAG_HEADER_SIZE = 5;

export interface VideoTagInfo {
  codecId: number;
  codec: string;
  frameType: number;
  /** Frame type 1 (key) or 4 (server-generated key). True for AVC sequence headers too. */
  isKeyframe: boolean;
  isSequenceHeader: boolean;
  isEndOfSequence: boolean;
  /** AVC composition time offset (pts - dts) in ms, signed; 0 for other codecs. */
  compositionTime: number;
}

export interface AudioTagInfo {
  format: number;
  codec: string;
  /** From the tag header's flags, or the codec's only rate. For AAC the header always says 44100: read parseAacConfig for the real one. */
  sampleRate: number;
  sampleSize: 8 | 16;
  channels: 1 | 2;
  isSequenceHeader: boolean;
}

function codecName(table: Readonly<Record<number, string>>, id: number): string {
  return table[id] ?? `unknown-${id}`;
}

/**
 * Parses the video tag header. Null for an empty payload, and for an AVC payload too short
 * to hold its packet type and composition time (nothing about it can be trusted).
 */
export function parseVideoTag(data: Buffer): VideoTagInfo | null {
  if (data.length === 0) return null;
  const frameType = data[0]! >> 4;
  const codecId = data[0]! & 0x0f;
  // An info/command frame carries a one-byte command instead of a picture (or AVC header).
  const isCommand = frameType === FrameType.InfoCommand;
  let isSequenceHeader = false;
  let isEndOfSequence = false;
  let compositionTime = 0;
  if (codecId === VideoCodec.AVC && !isCommand) {
    if (data.length < AVC_TAG_HEADER_SIZE) return null;
    isSequenceHeader = data[1] === AvcPacketType.SequenceHeader;
    isEndOfSequence = data[1] === AvcPacketType.EndOfSequence;
    compositionTime = data.readIntBE(2, 3);
  }
  return {
    codecId,
    codec: codecName(VideoCodecName, codecId),
    frameType,
    isKeyframe: frameType === FrameType.Key || frameType === FrameType.GeneratedKey,
    isSequenceHeader,
    isEndOfSequence,
    compositionTime,
  };
}

/**
 * Bytes of FLV header before a video tag's codec data: 5 for AVC (frame type and codec, packet
 * type, composition time), 1 for the Flash codecs (VP6's adjustment byte belongs to its data).
 */
export function videoTagHeaderSize(info: VideoTagInfo): number {
  return info.codecId === VideoCodec.AVC && info.frameType !== FrameType.InfoCommand ? AVC_TAG_HEADER_SIZE : 1;
}

/** Bytes of FLV header before an audio tag's codec data: 2 for AAC (its packet type byte), 1 otherwise. */
export function audioTagHeaderSize(info: AudioTagInfo): number {
  return info.format === AudioFormat.Aac ? 2 : 1;
}

/** True for a video info/command frame: a one-byte command (seek start/end), not a picture. */
export function isVideoCommandFrame(info: VideoTagInfo): boolean {
  return info.frameType === FrameType.InfoCommand;
}

const FLV_SAMPLE_RATES = [5512, 11025, 22050, 44100] as const;

/** Parses the audio tag header; null for an empty payload. */
export function parseAudioTag(data: Buffer): AudioTagInfo | null {
  if (data.length === 0) return null;
  const b = data[0]!;
  const format = b >> 4;
  let sampleRate: number = FLV_SAMPLE_RATES[(b >> 2) & 3]!;
  let channels: 1 | 2 = b & 1 ? 2 : 1;
  // These codecs have one rate (some also one channel) whatever the flag bits say.
  switch (format) {
    case AudioFormat.Nellymoser8k:
      sampleRate = 8000;
      channels = 1;
      break;
    case AudioFormat.G711ALaw:
    case AudioFormat.G711MuLaw:
    case AudioFormat.Mp38k:
      sampleRate = 8000;
      break;
    case AudioFormat.Nellymoser16k:
    case AudioFormat.Speex:
      sampleRate = 16000;
      channels = 1;
      break;
  }
  return {
    format,
    codec: codecName(AudioFormatName, format),
    sampleRate,
    sampleSize: b & 2 ? 16 : 8,
    channels,
    isSequenceHeader: format === AudioFormat.Aac
      ? data.length >= 2 && data[1] === AAC_SEQUENCE_HEADER
      : format === AudioFormat.ExHeader && parseEnhancedAudioTag(data)?.packetType === AudioPacketType.SequenceStart,
  };
}

/** Thrown by BitReader past the end of its data; the parsers turn it into null. */
class OutOfBits extends Error {}

/** MSB-first bit reader with the Exp-Golomb codes of H.264 (spec 9.1). */
class BitReader {
  readonly #data: Uint8Array;
  #bit = 0;
  constructor(data: Uint8Array) {
    this.#data = data;
  }

  readBit(): number {
    const byte = this.#bit >> 3;
    if (byte >= this.#data.length) throw new OutOfBits();
    const value = (this.#data[byte]! >> (7 - (this.#bit & 7))) & 1;
    this.#bit++;
    return value;
  }

  /** Up to 32 bits, as a non-negative number (arithmetic, not 32-bit signed bit operations). */
  readBits(n: number): number {
    let value = 0;
    for (let i = 0; i < n; i++) value = value * 2 + this.readBit();
    return value;
  }

  readUe(): number {
    let zeros = 0;
    while (this.readBit() === 0) {
      // ue(v) values are at most 32 bits; more leading zeros is corrupt data.
      if (++zeros > 31) throw new OutOfBits();
    }
    return 2 ** zeros - 1 + this.readBits(zeros);
  }

  readSe(): number {
    const k = this.readUe();
    return k % 2 === 1 ? (k + 1) / 2 : -(k / 2);
  }
}

/** NAL unit payload without emulation prevention bytes (00 00 03 -> 00 00). */
function unescapeRbsp(nal: Buffer): Uint8Array {
  const out = new Uint8Array(nal.length);
  let n = 0;
  let zeros = 0;
  for (const b of nal) {
    if (zeros >= 2 && b === 3) {
      zeros = 0;
      continue;
    }
    zeros = b === 0 ? zeros + 1 : 0;
    out[n++] = b;
  }
  return out.subarray(0, n);
}

/** profile_idc values whose SPS carries chroma format, bit depth and scaling lists (H.264 7.3.2.1.1). */
const HIGH_PROFILES = new Set([100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135]);

function skipScalingList(r: BitReader, size: number): void {
  let last = 8;
  let next = 8;
  for (let j = 0; j < size; j++) {
    if (next !== 0) next = (last + r.readSe() + 256) % 256;
    last = next === 0 ? last : next;
  }
}

/** Picture size from an H.264 sequence parameter set NAL unit (with its 1-byte NAL header). */
function parseSps(nal: Buffer): { profile: number; level: number; width: number; height: number } | null {
  if (nal.length < 4 || (nal[0]! & 0x1f) !== 7) return null;
  const r = new BitReader(unescapeRbsp(nal.subarray(1)));
  const profile = r.readBits(8);
  r.readBits(8); // constraint_set flags
  const level = r.readBits(8);
  r.readUe(); // seq_parameter_set_id
  let chromaFormatIdc = 1;
  let separateColourPlane = 0;
  if (HIGH_PROFILES.has(profile)) {
    chromaFormatIdc = r.readUe();
    if (chromaFormatIdc > 3) return null;
    if (chromaFormatIdc === 3) separateColourPlane = r.readBit();
    r.readUe(); // bit_depth_luma_minus8
    r.readUe(); // bit_depth_chroma_minus8
    r.readBit(); // qpprime_y_zero_transform_bypass_flag
    if (r.readBit()) {
      const lists = chromaFormatIdc === 3 ? 12 : 8;
      for (let i = 0; i < lists; i++) {
        if (r.readBit()) skipScalingList(r, i < 6 ? 16 : 64);
      }
    }
  }
  r.readUe(); // log2_max_frame_num_minus4
  const pocType = r.readUe();
  if (pocType === 0) {
    r.readUe(); // log2_max_pic_order_cnt_lsb_minus4
  } else if (pocType === 1) {
    r.readBit(); // delta_pic_order_always_zero_flag
    r.readSe(); // offset_for_non_ref_pic
    r.readSe(); // offset_for_top_to_bottom_field
    const cycle = r.readUe();
    for (let i = 0; i < cycle; i++) r.readSe(); // ends by OutOfBits on a hostile count
  }
  r.readUe(); // max_num_ref_frames
  r.readBit(); // gaps_in_frame_num_value_allowed_flag
  const widthMbs = r.readUe() + 1;
  const heightMapUnits = r.readUe() + 1;
  const frameMbsOnly = r.readBit();
  if (!frameMbsOnly) r.readBit(); // mb_adaptive_frame_field_flag
  r.readBit(); // direct_8x8_inference_flag
  let width = widthMbs * 16;
  let height = (2 - frameMbsOnly) * heightMapUnits * 16;
  if (r.readBit()) {
    const left = r.readUe();
    const right = r.readUe();
    const top = r.readUe();
    const bottom = r.readUe();
    // Crop offsets count chroma samples (H.264 7.4.2.1.1, CropUnitX/CropUnitY).
    const chromaArrayType = separateColourPlane ? 0 : chromaFormatIdc;
    const subWidthC = chromaArrayType === 1 || chromaArrayType === 2 ? 2 : 1;
    const subHeightC = chromaArrayType === 1 ? 2 : 1;
    width -= (left + right) * subWidthC;
    height -= (top + bottom) * subHeightC * (2 - frameMbsOnly);
  }
  if (width <= 0 || height <= 0) return null;
  return { profile, level, width, height };
}

/**
 * Takes a whole AVC sequence-header video payload (5-byte video tag header, then the
 * AVCDecoderConfigurationRecord) and returns profile, level and the cropped picture size
 * of its first SPS. Null when the payload is not an AVC sequence header or is malformed.
 */
export function parseAvcDecoderConfig(data: Buffer): { profile: number; level: number; width: number; height: number } | null {
  if (data.length < AVC_TAG_HEADER_SIZE || (data[0]! & 0x0f) !== VideoCodec.AVC) return null;
  if (data[1] !== AvcPacketType.SequenceHeader) return null;
  const record = data.subarray(AVC_TAG_HEADER_SIZE);
  // configurationVersion, profile, compatibility, level, lengthSizeMinusOne, numOfSequenceParameterSets, spsLength:u16
  if (record.length < 8 || record[0] !== 1) return null;
  if ((record[5]! & 0x1f) === 0) return null;
  const spsLength = record.readUInt16BE(6);
  if (8 + spsLength > record.length) return null;
  try {
    return parseSps(record.subarray(8, 8 + spsLength));
  } catch (err) {
    if (err instanceof OutOfBits) return null;
    throw err;
  }
}

const AAC_SAMPLE_RATES = [96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000, 7350] as const;
/** channelConfiguration -> channel count (ISO 14496-3 1.6.3.4); 0 means "in a program config element". */
const AAC_CHANNELS: Readonly<Record<number, number>> = { 0: 0, 1: 1, 2: 2, 3: 3, 4: 4, 5: 5, 6: 6, 7: 8, 11: 7, 12: 8, 13: 24 };
const AacObjectType = { Escape: 31, Sbr: 5, Ps: 29 } as const;

function readAacObjectType(r: BitReader): number {
  const t = r.readBits(5);
  return t === AacObjectType.Escape ? 32 + r.readBits(6) : t;
}

function readAacSampleRate(r: BitReader): number | null {
  const index = r.readBits(4);
  if (index === 15) return r.readBits(24);
  return AAC_SAMPLE_RATES[index] ?? null;
}

/**
 * Takes a whole AAC sequence-header audio payload (2-byte audio tag header, then the
 * AudioSpecificConfig) and returns the audio object type (2 = AAC-LC, 5 = HE-AAC,
 * 29 = HE-AACv2), the output sample rate and the channel count. Null when the payload
 * is not an AAC sequence header or is malformed.
 */
export function parseAacConfig(data: Buffer): { objectType: number; sampleRate: number; channels: number } | null {
  if (data.length < 4 || data[0]! >> 4 !== AudioFormat.Aac || data[1] !== AAC_SEQUENCE_HEADER) return null;
  const r = new BitReader(data.subarray(2));
  try {
    const objectType = readAacObjectType(r);
    let sampleRate = readAacSampleRate(r);
    const channels = AAC_CHANNELS[r.readBits(4)];
    if (sampleRate === null || channels === undefined) return null;
    // Explicit (hierarchical) SBR/PS signalling: the extension rate is what the decoder outputs.
    if (objectType === AacObjectType.Sbr || objectType === AacObjectType.Ps) {
      sampleRate = readAacSampleRate(r);
      if (sampleRate === null) return null;
    }
    // Parametric stereo turns a mono core into stereo output.
    return { objectType, sampleRate, channels: objectType === AacObjectType.Ps && channels === 1 ? 2 : channels };
  } catch (err) {
    if (err instanceof OutOfBits) return null;
    throw err;
  }
}
