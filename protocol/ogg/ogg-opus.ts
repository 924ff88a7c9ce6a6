/**
 * Ogg Opus (RFC 7845): the identification header (OpusHead), the comment header (OpusTags),
 * and a writer that puts a live stream of Opus packets into Ogg pages: the two header pages,
 * then the packets with granule positions counted in 48 kHz samples from the position the caller
 * gives, so that a gap in the source's timestamps stays a gap in the granule. This is how the
 * edge hands browser audio (Opus over RTP) to ffmpeg. Pure: no I/O.
 */

import { CodedError, OggError } from '../errors.ts';
import { opusPacketSamples } from '../rtp/opus.ts';
import { OggReader, OggStreamWriter } from './ogg-page.ts';

const OPUS_HEAD_MAGIC = 'OpusHead';
const OPUS_TAGS_MAGIC = 'OpusTags';
const OPUS_HEAD_SIZE = 19;
const OPUS_HEAD_VERSION = 1;
/** RFC 7845 5.1: versions 0-15 share the layout a version-1 reader understands. */
const MAX_COMPATIBLE_VERSION = 15;
/** RFC 7845 5.1.1.1: mapping family 0, mono or stereo, no channel mapping table. */
const MAPPING_FAMILY_RTP = 0;
/** RFC 6716 3.4 [R5] bounds a frame at 1275 bytes and a packet at 120 ms, so a packet stays well below this. */
const MAX_OPUS_PACKET_SIZE = 65536;
/** Refuse comment headers that would take a page sequence of their own to hold. */
const MAX_OPUS_TAGS_SIZE = 65536;
const MAX_COMMENTS = 256;

export interface OpusHead {
  channels: number;
  /** Samples (48 kHz) the decoder discards at the start. */
  preSkip: number;
  /** The encoder's input rate, for information only: Opus always decodes at 48 kHz here. */
  inputSampleRate: number;
  /** Q7.8 dB gain to apply on output. */
  outputGain: number;
  mappingFamily: number;
}

export interface OpusTags {
  vendor: string;
  comments: string[];
}

/** The 19-byte OpusHead packet of a mono or stereo stream (mapping family 0). */
export function encodeOpusHead(head: Omit<OpusHead, 'mappingFamily'>): Buffer {
  if (head.channels !== 1 && head.channels !== 2) {
    throw new OggError('ogg.bad_opus_head', `mapping family 0 carries 1 or 2 channels, not ${head.channels}`);
  }
  const out = Buffer.alloc(OPUS_HEAD_SIZE);
  out.write(OPUS_HEAD_MAGIC, 0, 'latin1');
  out[8] = OPUS_HEAD_VERSION;
  out[9] = head.channels;
  out.writeUInt16LE(head.preSkip, 10);
  out.writeUInt32LE(head.inputSampleRate, 12);
  out.writeInt16LE(head.outputGain, 16);
  out[18] = MAPPING_FAMILY_RTP;
  return out;
}

/** Reads an OpusHead packet; throws OggError 'ogg.bad_opus_head' when it is not one. */
export function parseOpusHead(packet: Buffer): OpusHead {
  if (packet.length < OPUS_HEAD_SIZE || packet.toString('latin1', 0, 8) !== OPUS_HEAD_MAGIC) {
    throw new OggError('ogg.bad_opus_head', 'the first packet of an Ogg Opus stream must be a 19-byte (or longer) OpusHead');
  }
  const version = packet[8]!;
  if (version > MAX_COMPATIBLE_VERSION) throw new OggError('ogg.bad_opus_head', `OpusHead version ${version} is not supported`);
  const channels = packet[9]!;
  if (channels === 0) throw new OggError('ogg.bad_opus_head', 'OpusHead with zero channels');
  return {
    channels,
    preSkip: packet.readUInt16LE(10),
    inputSampleRate: packet.readUInt32LE(12),
    outputGain: packet.readInt16LE(16),
    mappingFamily: packet[18]!,
  };
}

/** An OpusTags packet: the vendor string and user comments ("TAG=value"). */
export function encodeOpusTags(tags: OpusTags): Buffer {
  const strings = [tags.vendor, ...tags.comments].map((text) => Buffer.from(text, 'utf8'));
  const out = Buffer.concat([
    Buffer.from(OPUS_TAGS_MAGIC, 'latin1'),
    lengthPrefixed(strings[0]!),
    uint32(tags.comments.length),
    ...strings.slice(1).map(lengthPrefixed),
  ]);
  if (out.length > MAX_OPUS_TAGS_SIZE) throw new OggError('ogg.bad_opus_tags', `OpusTags of ${out.length} bytes exceeds ${MAX_OPUS_TAGS_SIZE}`);
  return out;
}

/** Reads an OpusTags packet; throws OggError 'ogg.bad_opus_tags' when it is not one or lies about its lengths. */
export function parseOpusTags(packet: Buffer): OpusTags {
  if (packet.length < 16 || packet.toString('latin1', 0, 8) !== OPUS_TAGS_MAGIC) {
    throw new OggError('ogg.bad_opus_tags', 'the second packet of an Ogg Opus stream must be OpusTags');
  }
  let offset = 8;
  const readString = (): string => {
    const length = readUint32(packet, offset);
    if (offset + 4 + length > packet.length) throw new OggError('ogg.bad_opus_tags', `OpusTags string of ${length} bytes runs past the packet`);
    const text = packet.toString('utf8', offset + 4, offset + 4 + length);
    offset += 4 + length;
    return text;
  };
  const vendor = readString();
  const count = readUint32(packet, offset);
  offset += 4;
  if (count > MAX_COMMENTS) throw new OggError('ogg.bad_opus_tags', `${count} comments exceeds the limit of ${MAX_COMMENTS}`);
  const comments: string[] = [];
  for (let i = 0; i < count; i++) comments.push(readString());
  return { vendor, comments };
}

export interface OggOpusWriterOptions {
  /** The logical stream's serial number (any 32-bit value; random in a multiplexed file). */
  serialNumber: number;
  channels: 1 | 2;
  /** Samples the decoder discards at the start; default 0 (a live source has no encoder priming to hide). */
  preSkip?: number;
  inputSampleRate?: number;
  vendor?: string;
  comments?: string[];
}

/**
 * An Opus packet and the 48 kHz sample position of its first sample, counted from the first sample
 * played: the pre-skipped samples sit before 0, so a stream with pre-skip starts at -preSkip.
 */
export interface PositionedOpusPacket {
  packet: Buffer;
  samplePosition: number;
}

/**
 * Writes one Ogg Opus logical stream. `headerPages()` first (OpusHead alone on the first page,
 * then OpusTags, as RFC 7845 3 requires), then `writePackets()` as audio arrives: every call
 * returns complete pages, so nothing waits for a page to fill. `end()` closes the stream.
 */
export class OggOpusWriter {
  readonly #pages: OggStreamWriter;
  readonly #head: Omit<OpusHead, 'mappingFamily'>;
  readonly #tags: OpusTags;
  #headersWritten = false;
  /** The granule position at the end of the last packet written (pre-skip included). */
  #endPosition = 0n;

  constructor(options: OggOpusWriterOptions) {
    this.#pages = new OggStreamWriter(options.serialNumber);
    this.#head = { channels: options.channels, preSkip: options.preSkip ?? 0, inputSampleRate: options.inputSampleRate ?? 48000, outputGain: 0 };
    this.#tags = { vendor: options.vendor ?? 'classroom-gateway', comments: options.comments ?? [] };
    this.#endPosition = 0n;
  }

  /** Where the audio written so far ends, as a sample position (-preSkip before any packet). */
  get endSamplePosition(): number {
    return Number(this.#endPosition) - this.#head.preSkip;
  }

  /** The OpusHead and OpusTags pages (granule position 0), once. */
  headerPages(): Buffer {
    if (this.#headersWritten) throw new OggError('ogg.headers_written', 'the Ogg Opus header pages were already written');
    this.#headersWritten = true;
    // Each header packet on a page of its own (RFC 7845 3); the audio starts on a fresh page.
    return Buffer.concat([
      this.#pages.writePackets([{ data: encodeOpusHead(this.#head), granulePosition: 0n }]),
      this.#pages.writePackets([{ data: encodeOpusTags(this.#tags), granulePosition: 0n }]),
    ]);
  }

  /**
   * Pages holding the packets. The granule position after each packet is pre-skip plus its sample
   * position plus its duration (from its TOC). With `endOfStream` the last page is flagged and, when
   * `endSamplePosition` is given, the audio is trimmed to end there (RFC 7845 4.4: the decoder drops
   * what the last packet holds beyond it). Throws OggError: 'ogg.bad_opus_packet' for an empty,
   * oversized or malformed packet, 'ogg.position_backwards' for a packet starting before the end of
   * the one before it (the caller drops late or repeated packets first), 'ogg.bad_end_trim' for an
   * end outside the last packet.
   */
  writePackets(packets: readonly PositionedOpusPacket[], options: { endOfStream?: boolean; endSamplePosition?: number } = {}): Buffer {
    if (!this.#headersWritten) throw new OggError('ogg.headers_missing', 'write the Ogg Opus header pages first');
    const preSkip = BigInt(this.#head.preSkip);
    let endPosition = this.#endPosition;
    const positioned = packets.map(({ packet, samplePosition }) => {
      // Pre-skipped samples come before position 0, so a position down to -preSkip is granule 0 or later.
      if (!Number.isSafeInteger(samplePosition) || samplePosition < -this.#head.preSkip) {
        throw new RangeError(`samplePosition must be an integer from ${-this.#head.preSkip}, got ${samplePosition}`);
      }
      const start = preSkip + BigInt(samplePosition);
      if (start < endPosition) {
        throw new OggError('ogg.position_backwards', `an Opus packet at sample ${samplePosition} overlaps the one before it (ends at ${endPosition - preSkip})`);
      }
      endPosition = start + BigInt(opusSamples(packet));
      return { data: packet, granulePosition: endPosition };
    });
    const last = positioned.at(-1);
    if (options.endOfStream && options.endSamplePosition !== undefined && last) {
      const trimmedEnd = preSkip + BigInt(options.endSamplePosition);
      const lastStart = last.granulePosition - BigInt(opusSamples(last.data));
      if (trimmedEnd > last.granulePosition || trimmedEnd <= lastStart) {
        throw new OggError('ogg.bad_end_trim', `end sample ${options.endSamplePosition} is not inside the last packet`);
      }
      last.granulePosition = endPosition = trimmedEnd;
    }
    const pages = this.#pages.writePackets(positioned, options);
    this.#endPosition = endPosition;
    return pages;
  }

  /** An end-of-stream page; the stream takes nothing more. */
  end(): Buffer {
    return this.#pages.endOfStream();
  }
}

/** An Opus packet's duration in 48 kHz samples, its malformations reported as OggError. */
function opusSamples(packet: Buffer): number {
  if (packet.length > MAX_OPUS_PACKET_SIZE) throw new OggError('ogg.bad_opus_packet', `an Opus packet of ${packet.length} bytes exceeds ${MAX_OPUS_PACKET_SIZE}`);
  try {
    return opusPacketSamples(packet);
  } catch (error) {
    if (error instanceof CodedError) throw new OggError('ogg.bad_opus_packet', error.message);
    throw error;
  }
}

function uint32(value: number): Buffer {
  const out = Buffer.alloc(4);
  out.writeUInt32LE(value);
  return out;
}

function lengthPrefixed(bytes: Buffer): Buffer {
  return Buffer.concat([uint32(bytes.length), bytes]);
}

function readUint32(packet: Buffer, offset: number): number {
  if (offset + 4 > packet.length) throw new OggError('ogg.bad_opus_tags', `OpusTags ends inside a length field at offset ${offset}`);
  return packet.readUInt32LE(offset);
}

export interface OggOpusStream {
  head: OpusHead;
  tags: OpusTags;
  /** The audio packets, each at the sample position (after pre-skip) its page's granule implies. */
  packets: PositionedOpusPacket[];
  /** Where the audio ends: the last granule position less pre-skip (end trimming included). */
  endSamplePosition: number;
}

/**
 * Reads a whole single-stream Ogg Opus file (what this writer or ffmpeg makes). A packet's position
 * is worked back from the granule of the page it ends on, minus the durations of the packets after
 * it on that page. Throws OggError on malformed pages or headers.
 */
export function parseOggOpus(file: Buffer, reader = new OggReader()): OggOpusStream {
  const pages = reader.push(file);
  reader.end();
  const [headPacket, tagsPacket] = pages.flatMap((page) => page.packets);
  if (!headPacket || !tagsPacket) throw new OggError('ogg.headers_missing', 'an Ogg Opus stream needs OpusHead and OpusTags packets');
  const head = parseOpusHead(headPacket);
  const packets: PositionedOpusPacket[] = [];
  let headerPacketsLeft = 2;
  /** The end of the audio so far, in samples after pre-skip. */
  let previousEnd: number | null = null;
  for (const page of pages) {
    const skipped = Math.min(headerPacketsLeft, page.packets.length);
    headerPacketsLeft -= skipped;
    const audio = page.packets.slice(skipped);
    if (audio.length === 0) continue;
    const durations = audio.map(opusSamples);
    const total = durations.reduce((sum, samples) => sum + samples, 0);
    // The last page may trim the end (RFC 7845 4.4): its packets follow on from the page before.
    // Elsewhere the granule fixes where the page's packets end, gaps included.
    let position: number = page.endOfStream && previousEnd !== null ? previousEnd : Number(page.granulePosition) - head.preSkip - total;
    audio.forEach((packet, i) => {
      packets.push({ packet, samplePosition: position });
      position += durations[i]!;
    });
    previousEnd = position;
  }
  const lastGranule = pages.findLast((page) => page.packets.length > 0)?.granulePosition ?? 0n;
  return { head, tags: parseOpusTags(tagsPacket), packets, endSamplePosition: Number(lastGranule) - head.preSkip };
}
