/**
 * An FLV file as a VOD source. Seeking uses the keyframe index of the file's onMetaData
 * (times and filepositions, which our recordings always carry) and falls back to a scan of the
 * file when there is none. Tags are read through a 256 KiB read-ahead buffer, so a player costs
 * one small read per buffer, not one per tag.
 */
import { open, type FileHandle } from 'node:fs/promises';
import type { AmfValue } from '#protocol/amf/types.ts';
import { FlvTagType, type FlvTag } from '#protocol/flv/flv.ts';
import { decodeOnMetaData, type Keyframe } from '#protocol/flv/flv-index.ts';
import { parseAudioTag, parseVideoTag } from '#protocol/flv/codecs.ts';
import { FlvError } from '#protocol/errors.ts';
import { scanFlv } from '../recording/flv-file.ts';
import type { VodSource } from './vod-source.ts';

const TAG_HEADER_SIZE = 11;
const READ_AHEAD = 256 * 1024;
/** Tags read from the start to find the codec headers (they come first in any sane file). */
const HEADER_SEARCH_TAGS = 16;

function isSequenceHeader(tag: FlvTag): boolean {
  if (tag.type === FlvTagType.Video) return parseVideoTag(tag.data)?.isSequenceHeader ?? false;
  if (tag.type === FlvTagType.Audio) return parseAudioTag(tag.data)?.isSequenceHeader ?? false;
  return false;
}

export class FlvFileSource implements VodSource {
  readonly #handle: FileHandle;
  readonly #size: number;
  durationMs = 0;
  metadata: Record<string, AmfValue> | null = null;
  headers: FlvTag[] = [];
  #keyframes: Keyframe[] = [];
  #firstTag = 13;
  #position = 13;
  #buffer = Buffer.alloc(0);
  #bufferStart = 0;

  private constructor(handle: FileHandle, size: number) {
    this.#handle = handle;
    this.#size = size;
  }

  static async open(path: string): Promise<FlvFileSource> {
    const handle = await open(path, 'r');
    try {
      const source = new FlvFileSource(handle, (await handle.stat()).size);
      await source.#init();
      return source;
    } catch (error) {
      await handle.close();
      throw error;
    }
  }

  async #init(): Promise<void> {
    const head = await this.#bytes(0, 13);
    if (head.length < 13 || head.toString('latin1', 0, 3) !== 'FLV') throw new FlvError('flv.bad_signature', 'not an FLV file');
    this.#firstTag = this.#position = head.readUInt32BE(5) + 4;
    for (let i = 0; i < HEADER_SEARCH_TAGS; i++) {
      const at = this.#position;
      const tag = await this.read();
      if (!tag) break;
      if (tag.type === FlvTagType.Script && !this.metadata) {
        this.metadata = decodeOnMetaData(tag.data);
        if (this.metadata) this.#firstTag = this.#position; // never send it twice
      } else if (isSequenceHeader(tag)) {
        this.headers.push(tag);
      } else if (tag.type !== FlvTagType.Script) {
        this.#position = at;
        break;
      }
    }
    const keyframes = this.metadata?.keyframes as { times?: unknown; filepositions?: unknown } | undefined;
    if (Array.isArray(keyframes?.times) && Array.isArray(keyframes.filepositions) && keyframes.times.length === keyframes.filepositions.length) {
      const positions = keyframes.filepositions;
      this.#keyframes = keyframes.times.map((t, i) => ({ time: Number(t) * 1000, position: Number(positions[i]) }));
      const duration = this.metadata?.duration;
      this.durationMs = typeof duration === 'number' ? duration * 1000 : 0;
    } else {
      // No index (a file from elsewhere): scan once for keyframes and the real duration.
      const scan = await scanFlv(this.#handle);
      this.#keyframes = scan.index.keyframes;
      this.durationMs = scan.index.durationMs;
    }
    this.#position = this.#firstTag;
  }

  async seek(ms: number): Promise<number> {
    let target: Keyframe | undefined;
    for (const keyframe of this.#keyframes) {
      if (keyframe.time <= ms) target = keyframe;
      else break;
    }
    if (target) {
      this.#position = target.position;
      return target.time;
    }
    // Before the first keyframe, or audio only: the first tag at or after `ms`.
    this.#position = this.#firstTag;
    for (;;) {
      const at = this.#position;
      const tag = await this.read();
      if (!tag) return ms;
      if (tag.type !== FlvTagType.Script && !isSequenceHeader(tag) && tag.timestamp >= ms) {
        this.#position = at;
        return tag.timestamp;
      }
    }
  }

  async read(): Promise<FlvTag | null> {
    const header = await this.#bytes(this.#position, TAG_HEADER_SIZE);
    if (header.length < TAG_HEADER_SIZE) return null;
    const size = header.readUIntBE(1, 3);
    const data = await this.#bytes(this.#position + TAG_HEADER_SIZE, size);
    if (data.length < size) return null; // a cut-off last tag
    const timestamp = (header.readUIntBE(4, 3) | (header[7]! << 24)) >>> 0;
    this.#position += TAG_HEADER_SIZE + size + 4;
    return { type: header[0]!, timestamp, data };
  }

  /** `length` bytes at `offset` (fewer at the end of the file), through the read-ahead buffer. */
  async #bytes(offset: number, length: number): Promise<Buffer> {
    const end = offset + length;
    if (offset < this.#bufferStart || end > this.#bufferStart + this.#buffer.length) {
      const size = Math.min(Math.max(READ_AHEAD, length), Math.max(0, this.#size - offset));
      const buffer = Buffer.allocUnsafe(size);
      const { bytesRead } = await this.#handle.read(buffer, 0, size, offset);
      this.#buffer = buffer.subarray(0, bytesRead);
      this.#bufferStart = offset;
    }
    // No copy needed: a refill allocates a new buffer, so tags still queued on a socket stay intact.
    return this.#buffer.subarray(offset - this.#bufferStart, end - this.#bufferStart);
  }

  async close(): Promise<void> {
    await this.#handle.close();
  }
}
