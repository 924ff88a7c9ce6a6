/**
 * An MP3 file as a VOD source (Red5 played `mp3:name` this way): each MPEG frame becomes one
 * FLV audio tag (codec 2) stamped with its start time. MP3 files are small, so the file is read
 * whole (up to a limit) and indexed by frame at open.
 */
import { readFile, stat } from 'node:fs/promises';
import { FlvTagType, type FlvTag } from '#protocol/flv/flv.ts';
import { parseMp3Frames, type Mp3Frame } from '#protocol/mp3/mp3.ts';
import { OriginError } from '../core/errors.ts';
import type { VodSource } from './vod-source.ts';

const FLV_MP3 = 2;
/** FLV's sound rate field: 5.5, 11, 22, 44 kHz; MP3 decoders read the real rate from the frame. */
function flvRateBits(sampleRate: number): number {
  return sampleRate >= 44100 ? 3 : sampleRate >= 22050 ? 2 : sampleRate >= 11025 ? 1 : 0;
}

export class Mp3FileSource implements VodSource {
  readonly durationMs: number;
  readonly metadata: Record<string, number | boolean>;
  readonly headers: FlvTag[] = [];
  readonly #data: Buffer;
  readonly #frames: Mp3Frame[];
  readonly #times: number[];
  #next = 0;

  private constructor(data: Buffer) {
    this.#data = data;
    this.#frames = parseMp3Frames(data);
    this.#times = [];
    let samples = 0;
    for (const frame of this.#frames) {
      this.#times.push(Math.round((samples * 1000) / frame.sampleRate));
      samples += frame.samples;
    }
    const first = this.#frames[0];
    this.durationMs = first ? (samples * 1000) / first.sampleRate : 0;
    this.metadata = {
      duration: this.durationMs / 1000, audiocodecid: FLV_MP3, hasAudio: true, hasVideo: false,
      audiosamplerate: first?.sampleRate ?? 0, stereo: first?.channels === 2,
    };
  }

  /** Reads the whole file, which must be at most `maxBytes` long (OriginConfig.maxVodMp3Bytes). */
  static async open(path: string, maxBytes: number): Promise<Mp3FileSource> {
    const size = (await stat(path)).size;
    if (size > maxBytes) throw new OriginError('vod.mp3_too_large', `MP3 file of ${size} bytes exceeds maxVodMp3Bytes (${maxBytes})`);
    return new Mp3FileSource(await readFile(path));
  }

  async seek(ms: number): Promise<number> {
    let i = 0;
    while (i < this.#times.length - 1 && this.#times[i + 1]! <= ms) i++;
    this.#next = i;
    return this.#times[i] ?? 0;
  }

  async read(): Promise<FlvTag | null> {
    const frame = this.#frames[this.#next];
    if (!frame) return null;
    const timestamp = this.#times[this.#next++]!;
    const header = (FLV_MP3 << 4) | (flvRateBits(frame.sampleRate) << 2) | 2 | (frame.channels === 2 ? 1 : 0);
    const data = Buffer.concat([Buffer.of(header), this.#data.subarray(frame.offset, frame.offset + frame.length)]);
    return { type: FlvTagType.Audio, timestamp, data };
  }

  async close(): Promise<void> {}
}
