/**
 * Ogg pages (RFC 3533): framing packets of one logical stream into pages (lacing values,
 * continuation across pages, granule positions, page sequence numbers, the CRC), and a
 * streaming reader that turns bytes split anywhere back into pages and packets. Codec-neutral;
 * `ogg-opus.ts` adds what Ogg Opus needs on top. Pure: no I/O, no timers.
 *
 * Page layout (RFC 3533 6), little-endian:
 *   'OggS' version:u8(=0) flags:u8 granule:i64 serial:u32 sequence:u32 crc:u32 segments:u8
 *   segment table (one lacing value per segment) | body (the sum of the lacing values)
 * A packet is a run of 255-valued lacing values closed by one below 255 (0 when its length is a
 * multiple of 255); a run still open at the page's end continues on the next page.
 */

import { OggError } from '../errors.ts';
import { oggCrc32 } from './ogg-crc.ts';

export const OggPageFlag = { Continued: 0x01, BeginOfStream: 0x02, EndOfStream: 0x04 } as const;

/** RFC 3533 6: a page whose granule position is -1 completes no packet. */
export const NO_GRANULE_POSITION = -1n;

const CAPTURE_PATTERN = Buffer.from('OggS', 'latin1');
const HEADER_SIZE = 27;
const CRC_OFFSET = 22;
const MAX_SEGMENTS = 255;
const MAX_LACING_VALUE = 255;
/** The largest page: a full header, 255 lacing values and 255 segments of 255 bytes. */
export const MAX_PAGE_SIZE = HEADER_SIZE + MAX_SEGMENTS + MAX_SEGMENTS * MAX_LACING_VALUE;
/** Default bound on one packet gathered across pages by the reader. */
const DEFAULT_MAX_PACKET_SIZE = 1024 * 1024;
/** The reader follows this many interleaved logical streams at most. */
const MAX_STREAMS = 16;

export interface OggPageHeader {
  continued: boolean;
  beginOfStream: boolean;
  endOfStream: boolean;
  /** Codec-defined position at the end of the last packet completed on this page; -1n when none is. */
  granulePosition: bigint;
  serialNumber: number;
  sequenceNumber: number;
}

/** Serializes one page: its header fields, lacing values and body, with the CRC filled in. */
export function encodeOggPage(header: OggPageHeader, lacingValues: readonly number[], body: readonly Buffer[]): Buffer {
  if (lacingValues.length > MAX_SEGMENTS) {
    throw new OggError('ogg.too_many_segments', `an Ogg page holds at most ${MAX_SEGMENTS} segments, got ${lacingValues.length}`);
  }
  const bodySize = body.reduce((sum, piece) => sum + piece.length, 0);
  const out = Buffer.alloc(HEADER_SIZE + lacingValues.length + bodySize);
  CAPTURE_PATTERN.copy(out, 0);
  out[5] = (header.continued ? OggPageFlag.Continued : 0)
    | (header.beginOfStream ? OggPageFlag.BeginOfStream : 0)
    | (header.endOfStream ? OggPageFlag.EndOfStream : 0);
  out.writeBigInt64LE(header.granulePosition, 6);
  out.writeUInt32LE(header.serialNumber >>> 0, 14);
  out.writeUInt32LE(header.sequenceNumber >>> 0, 18);
  out[26] = lacingValues.length;
  Buffer.from(lacingValues).copy(out, HEADER_SIZE);
  let offset = HEADER_SIZE + lacingValues.length;
  for (const piece of body) offset += piece.copy(out, offset);
  // The CRC is computed over the whole page with its own field zero (it still is: alloc).
  out.writeUInt32LE(oggCrc32(out), CRC_OFFSET);
  return out;
}

/** A packet to frame, with the granule position at its end (what a page completing it carries). */
export interface OggPacketToWrite {
  data: Buffer;
  granulePosition: bigint;
}

/** One segment of a packet: its lacing value and bytes, and whether the packet ends with it. */
interface Segment {
  lacingValue: number;
  data: Buffer;
  endsPacket: boolean;
  granulePosition: bigint;
}

/**
 * Frames the packets of one logical stream into pages. Every call flushes: the pages it returns
 * hold all the packets given, nothing is kept for later, so a live stream adds no delay here.
 */
export class OggStreamWriter {
  readonly serialNumber: number;
  #sequenceNumber = 0;
  #lastGranulePosition = 0n;
  #ended = false;

  constructor(serialNumber: number) {
    if (!Number.isInteger(serialNumber) || serialNumber < 0 || serialNumber > 0xffffffff) {
      throw new RangeError(`serialNumber must be a 32-bit unsigned integer, got ${serialNumber}`);
    }
    this.serialNumber = serialNumber;
  }

  /** Pages written so far (the next page's sequence number). */
  get pagesWritten(): number { return this.#sequenceNumber; }
  get ended(): boolean { return this.#ended; }

  /**
   * The pages holding `packets`, in order, as one buffer; as many packets per page as fit in 255
   * segments. The first page ever written is flagged beginning-of-stream; with `endOfStream`
   * the last page is flagged end-of-stream and the stream takes no more packets.
   */
  writePackets(packets: readonly OggPacketToWrite[], options: { endOfStream?: boolean } = {}): Buffer {
    this.#requireOpen();
    if (packets.length === 0) throw new RangeError('writePackets needs at least one packet');
    const pages: Buffer[] = [];
    let lacing: number[] = [];
    let body: Buffer[] = [];
    let continued = false;
    let granulePosition = NO_GRANULE_POSITION;
    const segments = packets.flatMap((packet) => this.#segments(packet));
    segments.forEach((segment, index) => {
      lacing.push(segment.lacingValue);
      body.push(segment.data);
      if (segment.endsPacket) granulePosition = segment.granulePosition;
      const last = index === segments.length - 1;
      if (lacing.length === MAX_SEGMENTS || last) {
        pages.push(this.#page(lacing, body, continued, granulePosition, last && options.endOfStream === true));
        // The next page starts inside a packet when this one did not end with a packet's end.
        continued = !segment.endsPacket;
        lacing = [];
        body = [];
        granulePosition = NO_GRANULE_POSITION;
      }
    });
    return Buffer.concat(pages);
  }

  /** An empty page flagged end-of-stream, for closing a live stream whose last page is already out. */
  endOfStream(): Buffer {
    this.#requireOpen();
    return this.#page([], [], false, this.#lastGranulePosition, true);
  }

  /** A packet's segments: full ones of 255 bytes, then the closing one (empty when the length is a multiple of 255). */
  #segments(packet: OggPacketToWrite): Segment[] {
    if (packet.granulePosition < this.#lastGranulePosition) {
      throw new OggError('ogg.granule_backwards', `granule position ${packet.granulePosition} is before ${this.#lastGranulePosition}`);
    }
    this.#lastGranulePosition = packet.granulePosition;
    const segments: Segment[] = [];
    for (let start = 0; ; start += MAX_LACING_VALUE) {
      const data = packet.data.subarray(start, start + MAX_LACING_VALUE);
      const endsPacket = data.length < MAX_LACING_VALUE;
      segments.push({ lacingValue: data.length, data, endsPacket, granulePosition: packet.granulePosition });
      if (endsPacket) return segments;
    }
  }

  #page(lacing: number[], body: Buffer[], continued: boolean, granulePosition: bigint, endOfStream: boolean): Buffer {
    const sequenceNumber = this.#sequenceNumber++;
    if (endOfStream) this.#ended = true;
    return encodeOggPage(
      { continued, beginOfStream: sequenceNumber === 0, endOfStream, granulePosition, serialNumber: this.serialNumber, sequenceNumber },
      lacing,
      body,
    );
  }

  #requireOpen(): void {
    if (this.#ended) throw new OggError('ogg.stream_ended', `Ogg stream ${this.serialNumber} has ended`);
  }
}

export interface OggPage extends OggPageHeader {
  lacingValues: number[];
  body: Buffer;
  /** The packets that end on this page, whole (a packet begun on earlier pages is joined). */
  packets: Buffer[];
}

export interface OggReaderLimits {
  /** Largest packet gathered across pages, in bytes; default 1 MiB. */
  maxPacketSize?: number;
}

/** Partial packet and expected next page of one logical stream. */
interface StreamState {
  nextSequenceNumber: number;
  partial: Buffer[];
  partialSize: number;
  ended: boolean;
}

/**
 * Streaming Ogg reader: `push` returns the pages completed by the new bytes, each with the
 * packets that end on it. Checks the capture pattern, version, CRC, page sequence and
 * continuation flags; throws OggError on anything else, after which the reader stays failed.
 */
export class OggReader {
  readonly #maxPacketSize: number;
  readonly #streams = new Map<number, StreamState>();
  #pending: Buffer = Buffer.alloc(0);
  #failed: OggError | null = null;

  constructor(limits: OggReaderLimits = {}) {
    this.#maxPacketSize = limits.maxPacketSize ?? DEFAULT_MAX_PACKET_SIZE;
  }

  push(data: Buffer): OggPage[] {
    if (this.#failed) throw this.#failed;
    // Bounded: less than one page (at most MAX_PAGE_SIZE bytes) is ever kept between pushes.
    this.#pending = this.#pending.length === 0 ? data : Buffer.concat([this.#pending, data]);
    const pages: OggPage[] = [];
    try {
      for (;;) {
        const size = this.#completePageSize();
        if (size === null) break;
        pages.push(this.#readPage(Buffer.from(this.#pending.subarray(0, size))));
        this.#pending = this.#pending.subarray(size);
      }
    } catch (error) {
      if (error instanceof OggError) this.#failed = error;
      throw error;
    }
    return pages;
  }

  /** Throws 'ogg.truncated' when bytes of an unfinished page are left over at the end of input. */
  end(): void {
    if (this.#pending.length > 0) {
      throw new OggError('ogg.truncated', `the input ends inside a page (${this.#pending.length} bytes left over)`);
    }
  }

  /** The size of the page at the front of the pending bytes once it is all there, else null. */
  #completePageSize(): number | null {
    const bytes = this.#pending;
    const checked = Math.min(bytes.length, CAPTURE_PATTERN.length);
    if (!bytes.subarray(0, checked).equals(CAPTURE_PATTERN.subarray(0, checked))) {
      throw new OggError('ogg.bad_capture_pattern', 'an Ogg page must start with "OggS"');
    }
    if (bytes.length < HEADER_SIZE) return null;
    if (bytes[4] !== 0) throw new OggError('ogg.bad_version', `Ogg stream structure version ${bytes[4]} is not 0`);
    const segments = bytes[26]!;
    if (bytes.length < HEADER_SIZE + segments) return null;
    let bodySize = 0;
    for (let i = 0; i < segments; i++) bodySize += bytes[HEADER_SIZE + i]!;
    const size = HEADER_SIZE + segments + bodySize;
    return bytes.length < size ? null : size;
  }

  #readPage(page: Buffer): OggPage {
    const flags = page[5]!;
    const header: OggPageHeader = {
      continued: (flags & OggPageFlag.Continued) !== 0,
      beginOfStream: (flags & OggPageFlag.BeginOfStream) !== 0,
      endOfStream: (flags & OggPageFlag.EndOfStream) !== 0,
      granulePosition: page.readBigInt64LE(6),
      serialNumber: page.readUInt32LE(14),
      sequenceNumber: page.readUInt32LE(18),
    };
    const crc = page.readUInt32LE(CRC_OFFSET);
    page.writeUInt32LE(0, CRC_OFFSET);
    const computed = oggCrc32(page);
    page.writeUInt32LE(crc, CRC_OFFSET);
    if (computed !== crc) {
      throw new OggError('ogg.bad_crc', `page ${header.sequenceNumber} of stream ${header.serialNumber}: CRC ${hex(crc)}, computed ${hex(computed)}`);
    }
    const segments = page[26]!;
    const lacingValues = [...page.subarray(HEADER_SIZE, HEADER_SIZE + segments)];
    const body = page.subarray(HEADER_SIZE + segments);
    return { ...header, lacingValues, body, packets: this.#packets(header, lacingValues, body) };
  }

  /** Cuts the body into packets, joining the one continued from earlier pages of the stream. */
  #packets(header: OggPageHeader, lacingValues: number[], body: Buffer): Buffer[] {
    const stream = this.#stream(header);
    if (header.continued !== stream.partial.length > 0) {
      throw new OggError(
        'ogg.bad_continuation',
        header.continued ? `page ${header.sequenceNumber} continues a packet that was never begun` : `page ${header.sequenceNumber} drops a packet begun on the page before`,
      );
    }
    const packets: Buffer[] = [];
    let offset = 0;
    for (const value of lacingValues) {
      const segment = body.subarray(offset, offset + value);
      offset += value;
      stream.partialSize += value;
      if (stream.partialSize > this.#maxPacketSize) {
        throw new OggError('ogg.packet_too_large', `a packet of stream ${header.serialNumber} exceeds the limit of ${this.#maxPacketSize} bytes`);
      }
      stream.partial.push(segment);
      if (value < MAX_LACING_VALUE) {
        packets.push(Buffer.concat(stream.partial));
        stream.partial = [];
        stream.partialSize = 0;
      }
    }
    if (packets.length === 0 && header.granulePosition !== NO_GRANULE_POSITION && lacingValues.length > 0) {
      throw new OggError('ogg.bad_granule', `page ${header.sequenceNumber} completes no packet yet has granule position ${header.granulePosition}`);
    }
    stream.ended = header.endOfStream;
    return packets;
  }

  /** The state of the page's stream, checking that the page is the next one it expects. */
  #stream(header: OggPageHeader): StreamState {
    let stream = this.#streams.get(header.serialNumber);
    if (!stream) {
      if (!header.beginOfStream) throw new OggError('ogg.missing_bos', `stream ${header.serialNumber} starts without a beginning-of-stream page`);
      if (this.#streams.size >= MAX_STREAMS) throw new OggError('ogg.too_many_streams', `more than ${MAX_STREAMS} logical streams`);
      stream = { nextSequenceNumber: header.sequenceNumber, partial: [], partialSize: 0, ended: false };
      this.#streams.set(header.serialNumber, stream);
    } else if (header.beginOfStream) {
      throw new OggError('ogg.repeated_bos', `stream ${header.serialNumber} begins twice`);
    }
    if (stream.ended) throw new OggError('ogg.after_eos', `stream ${header.serialNumber} has a page after its end`);
    if (header.sequenceNumber !== stream.nextSequenceNumber) {
      throw new OggError('ogg.sequence_gap', `stream ${header.serialNumber}: page ${header.sequenceNumber} where ${stream.nextSequenceNumber} was expected`);
    }
    stream.nextSequenceNumber = (stream.nextSequenceNumber + 1) >>> 0;
    return stream;
  }
}

function hex(value: number): string {
  return `0x${value.toString(16).padStart(8, '0')}`;
}
