/**
 * RTMP chunk stream decoder: reassembles messages from arbitrarily split input, with
 * limits so that a hostile peer cannot make it hold unbounded memory.
 */

import { ChunkStreamError } from '../errors.ts';
import { DEFAULT_CHUNK_SIZE, EXTENDED_TIMESTAMP, MESSAGE_HEADER_SIZE } from './chunk-encoder.ts';
import { isValidChunkSize, parseUint32Control } from './control.ts';
import { MessageType, type RtmpMessage } from './message.ts';

export interface ChunkDecoderLimits {
  /** Largest declared message length accepted (default 8 MiB). */
  maxMessageSize: number;
  /** Distinct chunk stream ids with state (default 64). */
  maxChunkStreams: number;
  /** Sum of the bytes of all partially received messages (default 16 MiB). */
  maxBufferedBytes: number;
}

const DEFAULT_LIMITS: ChunkDecoderLimits = {
  maxMessageSize: 8 * 1024 * 1024,
  maxChunkStreams: 64,
  maxBufferedBytes: 16 * 1024 * 1024,
};

/** Basic header (up to 3) + type 0 message header (11) + extended timestamp (4). */
const MAX_HEADER_SIZE = 18;
const EMPTY = Buffer.alloc(0);

/** What the decoder remembers per chunk stream id: the last header, and the message being received. */
interface ChunkStream {
  type: number;
  streamId: number;
  length: number;
  /** Absolute timestamp of the current (or last) message. */
  timestamp: number;
  /** Last timestamp field (a delta, or the absolute value of a type 0 header), which a type 3 new message adds. */
  timestampField: number;
  /** The last header carried an extended timestamp, so type 3 chunks carry one too. */
  extended: boolean;
  /** Received slices of the partial message; empty between messages. */
  parts: Buffer[];
  received: number;
}

export class ChunkDecoder {
  private readonly limits: ChunkDecoderLimits;
  private readonly streams = new Map<number, ChunkStream>();
  private size = DEFAULT_CHUNK_SIZE;
  private total = 0;
  private buffered = 0;
  /** Start of a header that arrived incomplete (at most MAX_HEADER_SIZE - 1 bytes). */
  private pending: Buffer = EMPTY;
  /** The chunk whose payload is being read, and how many of its bytes are still to come. */
  private current: ChunkStream | null = null;
  private currentRemaining = 0;

  constructor(limits?: Partial<ChunkDecoderLimits>) {
    this.limits = { ...DEFAULT_LIMITS, ...limits };
  }

  /** Incoming chunk size, as last set by the peer's Set Chunk Size. */
  get chunkSize(): number {
    return this.size;
  }

  /** All bytes pushed so far (for acknowledgements; not wrapped). */
  get bytesReceived(): number {
    return this.total;
  }

  /**
   * Decodes as much as possible. Returned payloads may share memory with `data`: do not
   * reuse pushed buffers. Throws ChunkStreamError on a protocol violation or exceeded limit;
   * the decoder is unusable afterwards.
   */
  push(data: Buffer): RtmpMessage[] {
    this.total += data.length;
    const out: RtmpMessage[] = [];
    let pos = 0;
    if (this.pending.length > 0) {
      // Finish the split header from a small joined copy, then go on in `data` itself.
      const had = this.pending.length;
      const joined = Buffer.concat([this.pending, data.subarray(0, MAX_HEADER_SIZE - had)]);
      const used = this.readHeader(joined, 0, out);
      if (used < 0) {
        this.pending = joined;
        return out;
      }
      this.pending = EMPTY;
      pos = used - had;
    }
    while (pos < data.length) {
      if (this.current) {
        pos = this.readPayload(data, pos, out);
        continue;
      }
      const used = this.readHeader(data, pos, out);
      if (used < 0) {
        this.pending = Buffer.from(data.subarray(pos));
        break;
      }
      pos += used;
    }
    return out;
  }

  /** Parses one chunk header at `pos`; returns its size, or -1 if incomplete (state untouched). */
  private readHeader(buf: Buffer, pos: number, out: RtmpMessage[]): number {
    const available = buf.length - pos;
    const first = buf[pos]!;
    const fmt = first >> 6;
    let csid = first & 0x3f;
    let p = pos + 1;
    if (csid === 0) {
      if (available < 2) return -1;
      csid = buf[p]! + 64;
      p += 1;
    } else if (csid === 1) {
      if (available < 3) return -1;
      csid = buf[p]! + buf[p + 1]! * 256 + 64;
      p += 2;
    }
    let stream = this.streams.get(csid);
    // librtmp sends its first ping response and acknowledgement on chunk stream 2 with a type 1
    // header; SRS, nginx-rtmp and Red5 accept a type 1 or 2 header on a fresh chunk stream and take
    // the missing fields (message stream id, and for type 2 length and type) as zero. A type 3 chunk
    // has nothing to continue and stays an error.
    if (!stream && fmt === 3) {
      throw new ChunkStreamError('chunk.no_previous_header', `type 3 chunk on chunk stream ${csid} without a previous header`);
    }
    if (!stream && this.streams.size >= this.limits.maxChunkStreams) {
      throw new ChunkStreamError('chunk.too_many_streams', `more than ${this.limits.maxChunkStreams} chunk streams`);
    }
    const headerEnd = p + MESSAGE_HEADER_SIZE[fmt as 0 | 1 | 2 | 3];
    if (headerEnd > buf.length) return -1;
    const timestampField = fmt <= 2 ? buf.readUIntBE(p, 3) : 0;
    const extended = fmt <= 2 ? timestampField === EXTENDED_TIMESTAMP : stream!.extended;
    const end = headerEnd + (extended ? 4 : 0);
    if (end > buf.length) return -1;
    const extendedValue = extended ? buf.readUInt32BE(headerEnd) : 0;
    const field = extended ? extendedValue : timestampField;

    let length = stream?.length ?? 0;
    if (fmt <= 1) {
      length = buf.readUIntBE(p + 3, 3);
      if (length > this.limits.maxMessageSize) {
        throw new ChunkStreamError(
          'chunk.message_too_large',
          `message of ${length} bytes on chunk stream ${csid} exceeds ${this.limits.maxMessageSize}`,
        );
      }
    }

    // The header is complete: commit it.
    if (!stream) {
      stream = { type: 0, streamId: 0, length: 0, timestamp: 0, timestampField: 0, extended: false, parts: [], received: 0 };
      this.streams.set(csid, stream);
    }
    const continuation = fmt === 3 && stream.received > 0;
    if (!continuation) {
      // A full header in the middle of a message replaces it, as ffmpeg does.
      this.discard(stream);
      if (fmt <= 1) {
        stream.length = length;
        stream.type = buf[p + 6]!;
      }
      if (fmt === 0) {
        stream.streamId = buf.readUInt32LE(p + 7);
        stream.timestamp = field;
      } else {
        // A type 3 header without an extended field repeats the previous delta.
        const delta = fmt === 3 && !extended ? stream.timestampField : field;
        stream.timestamp = (stream.timestamp + delta) >>> 0;
      }
      if (fmt <= 2 || extended) stream.timestampField = field;
      stream.extended = extended;
    }
    this.current = stream;
    this.currentRemaining = Math.min(this.size, stream.length - stream.received);
    // A zero-length message completes here, without payload bytes.
    if (this.currentRemaining === 0) this.readPayload(EMPTY, 0, out);
    return end - pos;
  }

  /** Reads the current chunk's payload from `buf` at `pos`; returns the new position. */
  private readPayload(buf: Buffer, pos: number, out: RtmpMessage[]): number {
    const stream = this.current!;
    const take = Math.min(this.currentRemaining, buf.length - pos);
    const completes = take === this.currentRemaining && stream.received + take === stream.length;
    if (take > 0) {
      if (completes && stream.parts.length === 0) {
        // Whole message in one slice: no copy.
        stream.parts.push(buf.subarray(pos, pos + take));
      } else {
        if (this.buffered + take > this.limits.maxBufferedBytes) {
          throw new ChunkStreamError('chunk.buffer_limit', `more than ${this.limits.maxBufferedBytes} bytes of partial messages`);
        }
        this.buffered += take;
        stream.parts.push(buf.subarray(pos, pos + take));
      }
      stream.received += take;
      this.currentRemaining -= take;
    }
    if (this.currentRemaining > 0) return pos + take;
    this.current = null;
    if (completes) this.complete(stream, out);
    return pos + take;
  }

  private complete(stream: ChunkStream, out: RtmpMessage[]): void {
    // A single part is the uncounted one-slice case of readPayload; several parts were counted.
    const single = stream.parts.length === 1;
    const payload = single ? stream.parts[0]! : Buffer.concat(stream.parts, stream.length);
    if (!single) this.buffered -= stream.received;
    stream.parts = [];
    stream.received = 0;
    const message: RtmpMessage = { type: stream.type, streamId: stream.streamId, timestamp: stream.timestamp, payload };
    out.push(message);
    // Control messages that change how the following chunks are read take effect at once.
    if (message.type === MessageType.SetChunkSize) {
      const size = parseUint32Control(payload);
      if (!isValidChunkSize(size)) throw new ChunkStreamError('chunk.bad_chunk_size', `peer set invalid chunk size ${size}`);
      this.size = size;
    } else if (message.type === MessageType.Abort) {
      const target = this.streams.get(parseUint32Control(payload));
      if (target) this.discard(target);
    }
  }

  private discard(stream: ChunkStream): void {
    if (stream.received > 0) {
      this.buffered -= stream.received;
      stream.parts = [];
      stream.received = 0;
    }
  }
}
