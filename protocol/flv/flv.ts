/**
 * FLV container codec: the file header, tag encoding, and a streaming reader that
 * accepts bytes split anywhere (socket chunks, file reads, a recording cut off by a
 * crash) and hands back complete tags. Pure: no I/O, no timers.
 *
 * Layout (Adobe FLV spec 10.1, annex E):
 *   header      'FLV' version=1 flags(audio=4, video=1) dataOffset:u32 (=9)
 *   PreviousTagSize0 u32 = 0
 *   repeated:   tag header (11 bytes) | data | PreviousTagSize u32 (= 11 + data size)
 *   tag header  type:u8 dataSize:u24 timestamp:u24 timestampExtended:u8 streamId:u24 (=0)
 */

import { FlvError } from '../errors.ts';

export const FlvTagType = { Audio: 8, Video: 9, Script: 18 } as const;

export interface FlvTag {
  type: number;
  /** Milliseconds, 32-bit (the extended byte is the top 8 bits). */
  timestamp: number;
  data: Buffer;
}

export interface FlvReaderLimits {
  /** Largest accepted tag data size in bytes; default 16 MiB (the 24-bit field's own ceiling). */
  maxTagSize?: number;
}

const HEADER_SIZE = 9;
const TAG_HEADER_SIZE = 11;
const PREVIOUS_TAG_SIZE_SIZE = 4;
/** The data size field is 24 bits wide, so no tag can be larger than this. */
const MAX_DATA_SIZE = 0xffffff;
const DEFAULT_MAX_TAG_SIZE = 16 * 1024 * 1024;
/** A header may announce a longer header than 9 bytes (future versions); refuse absurd ones. */
const MAX_HEADER_SIZE = 1024;
const FLAG_AUDIO = 0x04;
const FLAG_VIDEO = 0x01;
/** The "Filter" bit of the tag type byte marks encrypted (DRM) tags, which we cannot serve. */
const TAG_FILTER_BIT = 0x20;

function isKnownTagType(type: number): boolean {
  return type === FlvTagType.Audio || type === FlvTagType.Video || type === FlvTagType.Script;
}

/** The 9-byte file header followed by PreviousTagSize0 (always 0): 13 bytes. */
export function encodeFlvHeader(opts: { audio: boolean; video: boolean }): Buffer {
  const out = Buffer.alloc(HEADER_SIZE + PREVIOUS_TAG_SIZE_SIZE);
  out.write('FLV', 0, 'latin1');
  out[3] = 1;
  out[4] = (opts.audio ? FLAG_AUDIO : 0) | (opts.video ? FLAG_VIDEO : 0);
  out.writeUInt32BE(HEADER_SIZE, 5);
  // PreviousTagSize0 is already zero.
  return out;
}

/** Tag header, data and the trailing PreviousTagSize in a single allocation. */
export function encodeFlvTag(tag: FlvTag): Buffer {
  if (!isKnownTagType(tag.type)) {
    throw new FlvError('flv.bad_tag_type', `cannot encode FLV tag type ${tag.type}`);
  }
  const size = tag.data.length;
  if (size > MAX_DATA_SIZE) {
    throw new FlvError('flv.tag_too_large', `FLV tag data of ${size} bytes exceeds the 24-bit size field`);
  }
  // RTMP timestamps wrap at 32 bits; FLV stores the low 24 bits then the high 8.
  const ts = tag.timestamp >>> 0;
  const out = Buffer.allocUnsafe(TAG_HEADER_SIZE + size + PREVIOUS_TAG_SIZE_SIZE);
  out[0] = tag.type;
  out.writeUIntBE(size, 1, 3);
  out.writeUIntBE(ts & 0xffffff, 4, 3);
  out[7] = ts >>> 24;
  out.writeUIntBE(0, 8, 3);
  tag.data.copy(out, TAG_HEADER_SIZE);
  out.writeUInt32BE(TAG_HEADER_SIZE + size, TAG_HEADER_SIZE + size);
  return out;
}

/**
 * What the reader waits for next. Each step needs a fixed number of bytes, known
 * before they arrive, so a body is gathered into one buffer of exactly its size
 * instead of re-concatenating a growing remainder on every push.
 */
type Step =
  | { kind: 'header' }
  | { kind: 'header-rest'; audio: boolean; video: boolean }
  | { kind: 'tag-header' }
  | { kind: 'tag-body'; type: number; timestamp: number; size: number };

/**
 * Streaming FLV reader. `push` returns the tags completed by the new bytes and keeps any
 * partial remainder. Tag data may share memory with the pushed buffers (no copy when a tag
 * arrives in one piece). Throws FlvError on malformed input; after a throw the reader is
 * unusable, like the connection or file that fed it.
 */
export class FlvReader {
  readonly #maxTagSize: number;
  #step: Step = { kind: 'header' };
  /** Bytes the current step needs in total. */
  #need = HEADER_SIZE;
  /** Gathering buffer for a step whose bytes arrived in more than one push. */
  #partial: Buffer | null = null;
  #partialLength = 0;
  #header: { audio: boolean; video: boolean } | null = null;
  #consumed = 0;
  /** Bytes of completed steps since the last tag boundary; folded into #consumed at the boundary. */
  #pendingConsumed = 0;
  #failed: FlvError | null = null;

  constructor(limits?: FlvReaderLimits) {
    const max = limits?.maxTagSize ?? DEFAULT_MAX_TAG_SIZE;
    if (!Number.isInteger(max) || max < 0) throw new RangeError(`maxTagSize must be a non-negative integer, got ${max}`);
    this.#maxTagSize = max;
  }

  /** The file header's audio/video flags once the header has been read, otherwise null. */
  get header(): { audio: boolean; video: boolean } | null {
    return this.#header;
  }

  /**
   * File offset just after the last complete tag (including its PreviousTagSize), or after
   * the header and PreviousTagSize0. Truncating a damaged recording here leaves a valid FLV.
   */
  get bytesConsumed(): number {
    return this.#consumed;
  }

  push(data: Buffer): FlvTag[] {
    if (this.#failed) throw this.#failed;
    const tags: FlvTag[] = [];
    let offset = 0;
    try {
      while (offset < data.length) {
        let chunk: Buffer;
        if (this.#partial === null && data.length - offset >= this.#need) {
          // Whole step available in this push: use it in place.
          chunk = data.subarray(offset, offset + this.#need);
          offset += this.#need;
        } else {
          this.#partial ??= Buffer.allocUnsafe(this.#need);
          const n = Math.min(this.#need - this.#partialLength, data.length - offset);
          data.copy(this.#partial, this.#partialLength, offset, offset + n);
          this.#partialLength += n;
          offset += n;
          if (this.#partialLength < this.#need) break;
          chunk = this.#partial;
          this.#partial = null;
          this.#partialLength = 0;
        }
        const tag = this.#completeStep(chunk);
        if (tag) tags.push(tag);
      }
    } catch (err) {
      if (err instanceof FlvError) this.#failed = err;
      throw err;
    }
    return tags;
  }

  /** Handles the bytes of one finished step, chooses the next step; returns a tag when one completed. */
  #completeStep(chunk: Buffer): FlvTag | null {
    const step = this.#step;
    this.#pendingConsumed += chunk.length;
    switch (step.kind) {
      case 'header': {
        if (chunk[0] !== 0x46 || chunk[1] !== 0x4c || chunk[2] !== 0x56) {
          throw new FlvError('flv.bad_signature', 'not an FLV file: missing "FLV" signature');
        }
        if (chunk[3] !== 1) throw new FlvError('flv.bad_signature', `unsupported FLV version ${chunk[3]}`);
        const dataOffset = chunk.readUInt32BE(5);
        if (dataOffset < HEADER_SIZE || dataOffset > MAX_HEADER_SIZE) {
          throw new FlvError('flv.bad_signature', `implausible FLV header size ${dataOffset}`);
        }
        // Whatever a longer header holds, then PreviousTagSize0.
        this.#setStep(
          { kind: 'header-rest', audio: (chunk[4]! & FLAG_AUDIO) !== 0, video: (chunk[4]! & FLAG_VIDEO) !== 0 },
          dataOffset - HEADER_SIZE + PREVIOUS_TAG_SIZE_SIZE,
        );
        return null;
      }
      case 'header-rest': {
        const previous = chunk.readUInt32BE(chunk.length - PREVIOUS_TAG_SIZE_SIZE);
        if (previous !== 0) {
          throw new FlvError('flv.bad_previous_size', `PreviousTagSize0 must be 0, found ${previous}`);
        }
        this.#header = { audio: step.audio, video: step.video };
        this.#commitBoundary();
        this.#setStep({ kind: 'tag-header' }, TAG_HEADER_SIZE);
        return null;
      }
      case 'tag-header': {
        const type = chunk[0]!;
        if (!isKnownTagType(type)) {
          const why = type & TAG_FILTER_BIT ? ' (encrypted tags are not supported)' : '';
          throw new FlvError('flv.bad_tag_type', `unknown FLV tag type ${type} at offset ${this.#consumed}${why}`);
        }
        const size = chunk.readUIntBE(1, 3);
        if (size > this.#maxTagSize) {
          throw new FlvError(
            'flv.tag_too_large',
            `FLV tag of ${size} bytes at offset ${this.#consumed} exceeds the limit of ${this.#maxTagSize}`,
          );
        }
        const timestamp = (chunk.readUIntBE(4, 3) | (chunk[7]! << 24)) >>> 0;
        this.#setStep({ kind: 'tag-body', type, timestamp, size }, size + PREVIOUS_TAG_SIZE_SIZE);
        return null;
      }
      case 'tag-body': {
        const previous = chunk.readUInt32BE(step.size);
        if (previous !== TAG_HEADER_SIZE + step.size) {
          // Writers we know (ffmpeg, nginx-rtmp, Flash Media Server) keep this exact; a mismatch
          // means the stream lost sync, and guessing would turn garbage into "tags".
          throw new FlvError(
            'flv.bad_previous_size',
            `PreviousTagSize ${previous} after the tag at offset ${this.#consumed} should be ${TAG_HEADER_SIZE + step.size}`,
          );
        }
        const tag: FlvTag = { type: step.type, timestamp: step.timestamp, data: chunk.subarray(0, step.size) };
        this.#commitBoundary();
        this.#setStep({ kind: 'tag-header' }, TAG_HEADER_SIZE);
        return tag;
      }
    }
  }

  #setStep(step: Step, need: number): void {
    this.#step = step;
    this.#need = need;
  }

  #commitBoundary(): void {
    this.#consumed += this.#pendingConsumed;
    this.#pendingConsumed = 0;
  }
}
