/**
 * What an FLV file's onMetaData must say about its content (duration, size, codecs, picture
 * size, the keyframe index Flash players seek with), gathered tag by tag as a recording is
 * written or a file is scanned, and encoded into a script tag of an exact, reserved size so a
 * recorder can rewrite it in place at the start of the file. Pure: no I/O.
 */
import { amf0Decode, amf0Encode } from '../amf/amf0.ts';
import { AmfEcmaArray, type AmfValue } from '../amf/types.ts';
import { FlvTagType } from './flv.ts';
import { parseAacConfig, parseAudioTag, parseAvcDecoderConfig, parseVideoTag } from './codecs.ts';

/** A keyframe as the index holds it: stream time (ms) and the file offset of its tag header. */
export interface Keyframe {
  time: number;
  position: number;
}

/**
 * The member that lets a rewritten onMetaData keep exactly the size reserved for it: a strict
 * array of nulls, one byte each, so any gap is filled exactly. (Not a string: ffmpeg's FLV
 * demuxer refuses metadata strings of 1024 bytes or more, and AMF0 long strings altogether.)
 */
const PADDING_KEY = 'metadatapadding';

export class FlvIndex {
  videoCodecId: number | null = null;
  audioCodecId: number | null = null;
  width = 0;
  height = 0;
  audioSampleRate = 0;
  audioSampleSize = 0;
  stereo = false;
  videoFrames = 0;
  audioFrames = 0;
  videoBytes = 0;
  audioBytes = 0;
  firstTimestamp: number | null = null;
  lastTimestamp = 0;
  #firstVideoTimestamp: number | null = null;
  #lastVideoTimestamp = 0;
  readonly keyframes: Keyframe[] = [];

  /** Accounts for one tag written (or found) at `position` with the file's own timestamp. */
  add(type: number, timestamp: number, data: Buffer, position: number): void {
    if (type === FlvTagType.Script) return;
    this.firstTimestamp ??= timestamp;
    if (timestamp > this.lastTimestamp) this.lastTimestamp = timestamp;
    if (type === FlvTagType.Video) this.#addVideo(timestamp, data, position);
    else if (type === FlvTagType.Audio) this.#addAudio(data);
  }

  #addVideo(timestamp: number, data: Buffer, position: number): void {
    const info = parseVideoTag(data);
    if (!info) return;
    this.videoCodecId = info.codecId;
    if (info.isSequenceHeader) {
      const config = parseAvcDecoderConfig(data);
      if (config) {
        this.width = config.width;
        this.height = config.height;
      }
      return;
    }
    if (info.frameType === 5 || info.isEndOfSequence) return; // command frame or end-of-sequence marker: not a picture
    this.videoFrames++;
    this.videoBytes += data.length;
    this.#firstVideoTimestamp ??= timestamp;
    this.#lastVideoTimestamp = timestamp;
    if (info.isKeyframe) this.keyframes.push({ time: timestamp, position });
  }

  #addAudio(data: Buffer): void {
    const info = parseAudioTag(data);
    if (!info) return;
    this.audioCodecId = info.format;
    if (info.isSequenceHeader) {
      const config = parseAacConfig(data);
      if (config) {
        this.audioSampleRate = config.sampleRate;
        this.stereo = config.channels >= 2;
      }
      return;
    }
    if (this.audioSampleRate === 0 || info.format !== 10) {
      this.audioSampleRate = info.sampleRate;
      this.stereo = info.channels === 2;
    }
    this.audioSampleSize = info.sampleSize;
    this.audioFrames++;
    this.audioBytes += data.length;
  }

  /** Average video frame interval (ms), 0 without at least two frames. */
  get videoFrameInterval(): number {
    if (this.videoFrames < 2 || this.#firstVideoTimestamp === null) return 0;
    return (this.#lastVideoTimestamp - this.#firstVideoTimestamp) / (this.videoFrames - 1);
  }

  /**
   * Duration in ms: the last timestamp, as FMS and Red5 report it (rtmpdump checks a download
   * for completeness against exactly this).
   */
  get durationMs(): number {
    return this.firstTimestamp === null ? 0 : this.lastTimestamp;
  }

  /**
   * The onMetaData members for a file of `fileSize` bytes. `base` (the publisher's own
   * metadata) is kept for anything not computed here; `keyframes` may be a thinned index.
   */
  metadata(fileSize: number, base: Record<string, AmfValue> = {}, keyframes: Keyframe[] = this.keyframes): AmfEcmaArray {
    const seconds = this.durationMs / 1000;
    const hasVideo = this.videoCodecId !== null;
    const hasAudio = this.audioCodecId !== null;
    const computed: Record<string, AmfValue> = {
      duration: seconds,
      filesize: fileSize,
      hasVideo,
      hasAudio,
      hasMetadata: true,
      hasKeyframes: keyframes.length > 0,
      canSeekToEnd: false,
      lasttimestamp: this.lastTimestamp / 1000,
      metadatacreator: 'classroom-gateway',
    };
    if (hasVideo) {
      Object.assign(computed, {
        videocodecid: this.videoCodecId,
        videodatarate: seconds > 0 ? (this.videoBytes * 8) / 1000 / seconds : 0,
        framerate: this.videoFrameInterval > 0 ? 1000 / this.videoFrameInterval : 0,
      });
      if (this.width > 0) Object.assign(computed, { width: this.width, height: this.height });
      const last = keyframes.at(-1);
      if (last) Object.assign(computed, { lastkeyframetimestamp: last.time / 1000, lastkeyframelocation: last.position });
    }
    if (hasAudio) {
      Object.assign(computed, {
        audiocodecid: this.audioCodecId,
        audiosamplerate: this.audioSampleRate,
        audiosamplesize: this.audioSampleSize || 16,
        stereo: this.stereo,
        audiodatarate: seconds > 0 ? (this.audioBytes * 8) / 1000 / seconds : 0,
      });
    }
    computed.keyframes = { times: keyframes.map((k) => k.time / 1000), filepositions: keyframes.map((k) => k.position) };
    const members: Record<string, AmfValue> = {};
    for (const [key, value] of Object.entries(base)) {
      if (key !== PADDING_KEY && !(key in computed)) members[key] = value;
    }
    return AmfEcmaArray.from({ ...members, ...computed });
  }
}

export interface MetadataTagResult {
  /** The script tag data, exactly `size` bytes. */
  data: Buffer;
  /** Keyframes left in the index (fewer than recorded when the reserved space was too small). */
  indexedKeyframes: number;
}

function encodeOnMetaData(members: AmfEcmaArray, padding: number): Buffer {
  members[PADDING_KEY] = new Array<null>(padding).fill(null);
  return amf0Encode(['onMetaData', members]);
}

/**
 * onMetaData script data of exactly `size` bytes (padded with a string member). When the full
 * keyframe index does not fit, every other keyframe is dropped until it does: the index gets
 * coarser, seeking still works. Null when even an empty index does not fit.
 */
export function encodeMetadataTag(index: FlvIndex, fileSize: number, size: number, base: Record<string, AmfValue> = {}): MetadataTagResult | null {
  let keyframes = index.keyframes;
  for (;;) {
    const members = index.metadata(fileSize, base, keyframes);
    const gap = size - encodeOnMetaData(members, 0).length;
    if (gap >= 0) {
      const data = encodeOnMetaData(members, gap);
      if (data.length === size) return { data, indexedKeyframes: keyframes.length };
    }
    if (keyframes.length === 0) return null;
    keyframes = keyframes.length === 1 ? [] : keyframes.filter((_, i) => i % 2 === 0);
  }
}

/** Script data size to reserve so that an index of `keyframes` entries fits (plus room for base fields). */
export function metadataReserveSize(keyframes: number, baseAllowance = 2048): number {
  // Each entry costs two AMF0 numbers (9 bytes each); the fixed members stay well under 1 KiB.
  return 1024 + baseAllowance + keyframes * 18;
}

/** The members of an onMetaData script tag, or null when `data` is some other script tag. */
export function decodeOnMetaData(data: Buffer): Record<string, AmfValue> | null {
  try {
    const [name, value] = amf0Decode(data);
    if (name !== 'onMetaData' || typeof value !== 'object' || value === null) return null;
    return { ...(value as Record<string, AmfValue>) };
  } catch {
    return null;
  }
}
