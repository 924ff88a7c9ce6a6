/**
 * The RTCP packets of RFC 3550 6.4-6.6: sender reports (the NTP/RTP timestamp pair that syncs
 * audio and video, packet and octet counts), receiver reports (loss and jitter per source),
 * source descriptions (CNAME) and BYE. These read and write the body after the 4-byte common
 * header; rtcp.ts frames them into compound packets.
 */

import { requireBytes, requireInteger, requireUint } from './bounds.ts';
import type { NtpTimestamp } from './ntp-time.ts';

/** A reception report about one source (RFC 3550 6.4.1). */
export interface ReportBlock {
  ssrc: number;
  /** Fraction of packets lost since the last report, in 1/256 units. */
  fractionLost: number;
  /** Packets lost in all (24 bits, signed: duplicates can make it negative). */
  cumulativeLost: number;
  /** Highest extended sequence number received. */
  highestSequence: number;
  /** Interarrival jitter in RTP timestamp units. */
  jitter: number;
  /** Compact NTP of the last sender report received from the source, 0 if none. */
  lastSenderReport: number;
  /** Since that sender report, in 1/65536 s. */
  delaySinceLastSenderReport: number;
}

export interface SenderReport {
  type: 'sr';
  ssrc: number;
  ntpTimestamp: NtpTimestamp;
  /** The RTP timestamp that corresponds to ntpTimestamp, on the media clock. */
  rtpTimestamp: number;
  packetCount: number;
  octetCount: number;
  reports: ReportBlock[];
}

export interface ReceiverReport {
  type: 'rr';
  ssrc: number;
  reports: ReportBlock[];
}

/** SDES item types (RFC 3550 6.5); WebRTC sends only CNAME. */
export const SdesItemType = { Cname: 1, Name: 2, Email: 3, Phone: 4, Location: 5, Tool: 6, Note: 7, Private: 8 } as const;

export interface SdesItem {
  type: number;
  /** UTF-8 text (PRIV items keep their prefix length byte and prefix at the start). */
  text: string;
}

export interface SdesChunk {
  ssrc: number;
  items: SdesItem[];
}

export interface SourceDescription {
  type: 'sdes';
  chunks: SdesChunk[];
}

export interface Goodbye {
  type: 'bye';
  ssrcs: number[];
  reason: string | null;
}

/** An RTCP body and the 5-bit count for its header. */
export interface RtcpBody {
  count: number;
  body: Buffer;
}

const REPORT_BLOCK_SIZE = 24;
/** NTP timestamp, RTP timestamp, packet count, octet count. */
const SENDER_INFO_SIZE = 20;
/** Report counts, SDES chunk counts and BYE source counts are 5 bits. */
const MAX_COUNT = 31;
const MAX_TEXT_LENGTH = 255;
const SDES_END = 0;

function readReportBlocks(body: Buffer, offset: number, count: number): ReportBlock[] {
  requireBytes(body, offset, count * REPORT_BLOCK_SIZE, 'rtcp.truncated', `${count} report blocks`);
  const reports: ReportBlock[] = [];
  for (let i = 0; i < count; i++, offset += REPORT_BLOCK_SIZE) {
    reports.push({
      ssrc: body.readUInt32BE(offset),
      fractionLost: body[offset + 4]!,
      cumulativeLost: body.readIntBE(offset + 5, 3),
      highestSequence: body.readUInt32BE(offset + 8),
      jitter: body.readUInt32BE(offset + 12),
      lastSenderReport: body.readUInt32BE(offset + 16),
      delaySinceLastSenderReport: body.readUInt32BE(offset + 20),
    });
  }
  return reports;
}

function writeReportBlocks(reports: readonly ReportBlock[], out: Buffer, offset: number): void {
  for (const r of reports) {
    requireUint(r.ssrc, 32, 'report block SSRC');
    requireUint(r.fractionLost, 8, 'fraction lost');
    requireInteger(r.cumulativeLost, -(2 ** 23), 2 ** 23 - 1, 'cumulative lost');
    requireUint(r.highestSequence, 32, 'highest sequence number');
    requireUint(r.jitter, 32, 'jitter');
    requireUint(r.lastSenderReport, 32, 'LSR');
    requireUint(r.delaySinceLastSenderReport, 32, 'DLSR');
    offset = out.writeUInt32BE(r.ssrc, offset);
    offset = out.writeUInt8(r.fractionLost, offset);
    offset = out.writeIntBE(r.cumulativeLost, offset, 3);
    offset = out.writeUInt32BE(r.highestSequence, offset);
    offset = out.writeUInt32BE(r.jitter, offset);
    offset = out.writeUInt32BE(r.lastSenderReport, offset);
    offset = out.writeUInt32BE(r.delaySinceLastSenderReport, offset);
  }
}

/** Bytes after the report blocks (profile-specific extensions) are ignored. */
export function parseSenderReport(count: number, body: Buffer): SenderReport {
  requireBytes(body, 0, 4 + SENDER_INFO_SIZE, 'rtcp.truncated', 'sender report');
  return {
    type: 'sr',
    ssrc: body.readUInt32BE(0),
    ntpTimestamp: { seconds: body.readUInt32BE(4), fraction: body.readUInt32BE(8) },
    rtpTimestamp: body.readUInt32BE(12),
    packetCount: body.readUInt32BE(16),
    octetCount: body.readUInt32BE(20),
    reports: readReportBlocks(body, 4 + SENDER_INFO_SIZE, count),
  };
}

export function serializeSenderReport(sr: SenderReport): RtcpBody {
  requireInteger(sr.reports.length, 0, MAX_COUNT, 'report block count');
  for (const [value, what] of [
    [sr.ssrc, 'SSRC'],
    [sr.ntpTimestamp.seconds, 'NTP seconds'],
    [sr.ntpTimestamp.fraction, 'NTP fraction'],
    [sr.rtpTimestamp, 'RTP timestamp'],
    [sr.packetCount, 'packet count'],
    [sr.octetCount, 'octet count'],
  ] as const) {
    requireUint(value, 32, what);
  }
  const body = Buffer.alloc(4 + SENDER_INFO_SIZE + sr.reports.length * REPORT_BLOCK_SIZE);
  body.writeUInt32BE(sr.ssrc, 0);
  body.writeUInt32BE(sr.ntpTimestamp.seconds, 4);
  body.writeUInt32BE(sr.ntpTimestamp.fraction, 8);
  body.writeUInt32BE(sr.rtpTimestamp, 12);
  body.writeUInt32BE(sr.packetCount, 16);
  body.writeUInt32BE(sr.octetCount, 20);
  writeReportBlocks(sr.reports, body, 4 + SENDER_INFO_SIZE);
  return { count: sr.reports.length, body };
}

export function parseReceiverReport(count: number, body: Buffer): ReceiverReport {
  requireBytes(body, 0, 4, 'rtcp.truncated', 'receiver report');
  return { type: 'rr', ssrc: body.readUInt32BE(0), reports: readReportBlocks(body, 4, count) };
}

export function serializeReceiverReport(rr: ReceiverReport): RtcpBody {
  requireInteger(rr.reports.length, 0, MAX_COUNT, 'report block count');
  requireUint(rr.ssrc, 32, 'SSRC');
  const body = Buffer.alloc(4 + rr.reports.length * REPORT_BLOCK_SIZE);
  body.writeUInt32BE(rr.ssrc, 0);
  writeReportBlocks(rr.reports, body, 4);
  return { count: rr.reports.length, body };
}

/** Reads one chunk at `offset` (4-aligned); returns it and the offset of the next. */
function readSdesChunk(body: Buffer, offset: number): [SdesChunk, number] {
  requireBytes(body, offset, 4, 'rtcp.truncated', 'SDES chunk SSRC');
  const chunk: SdesChunk = { ssrc: body.readUInt32BE(offset), items: [] };
  offset += 4;
  for (;;) {
    requireBytes(body, offset, 1, 'rtcp.bad_sdes', 'SDES item list end');
    const type = body[offset]!;
    if (type === SDES_END) break;
    requireBytes(body, offset, 2, 'rtcp.bad_sdes', 'SDES item header');
    const length = body[offset + 1]!;
    requireBytes(body, offset + 2, length, 'rtcp.bad_sdes', `SDES item ${type}`);
    chunk.items.push({ type, text: body.toString('utf8', offset + 2, offset + 2 + length) });
    offset += 2 + length;
  }
  // The end item and the zero bytes up to the next 32-bit boundary.
  const next = (Math.floor(offset / 4) + 1) * 4;
  requireBytes(body, offset, next - offset, 'rtcp.bad_sdes', 'SDES chunk padding');
  return [chunk, next];
}

export function parseSourceDescription(count: number, body: Buffer): SourceDescription {
  const chunks: SdesChunk[] = [];
  let offset = 0;
  for (let i = 0; i < count; i++) {
    const [chunk, next] = readSdesChunk(body, offset);
    chunks.push(chunk);
    offset = next;
  }
  return { type: 'sdes', chunks };
}

/** `text` as UTF-8 after an 8-bit length: an SDES item's value or a BYE reason. */
function lengthPrefixedText(text: string, what: string): Buffer {
  const bytes = Buffer.from(text, 'utf8');
  requireInteger(bytes.length, 0, MAX_TEXT_LENGTH, `${what} length in bytes`);
  return Buffer.concat([Buffer.from([bytes.length]), bytes]);
}

/** Zero bytes that bring `length` to a 32-bit boundary; `atLeastOne` for SDES, whose chunks end with a zero item. */
function zeroPadding(length: number, atLeastOne: boolean): Buffer {
  const padded = atLeastOne ? (Math.floor(length / 4) + 1) * 4 : Math.ceil(length / 4) * 4;
  return Buffer.alloc(padded - length);
}

function uint32(value: number, what: string): Buffer {
  requireUint(value, 32, what);
  const out = Buffer.alloc(4);
  out.writeUInt32BE(value);
  return out;
}

export function serializeSourceDescription(sdes: SourceDescription): RtcpBody {
  requireInteger(sdes.chunks.length, 0, MAX_COUNT, 'SDES chunk count');
  const chunks = sdes.chunks.map((chunk) => {
    const items = chunk.items.map((item) => {
      requireInteger(item.type, 1, 255, 'SDES item type');
      return Buffer.concat([Buffer.from([item.type]), lengthPrefixedText(item.text, 'SDES item')]);
    });
    const bytes = Buffer.concat([uint32(chunk.ssrc, 'SDES SSRC'), ...items]);
    return Buffer.concat([bytes, zeroPadding(bytes.length, true)]);
  });
  return { count: sdes.chunks.length, body: Buffer.concat(chunks) };
}

export function parseGoodbye(count: number, body: Buffer): Goodbye {
  requireBytes(body, 0, count * 4, 'rtcp.truncated', `BYE with ${count} sources`);
  const ssrcs: number[] = [];
  for (let i = 0; i < count; i++) ssrcs.push(body.readUInt32BE(i * 4));
  let reason: string | null = null;
  const offset = count * 4;
  if (offset < body.length) {
    const length = body[offset]!;
    requireBytes(body, offset + 1, length, 'rtcp.truncated', 'BYE reason');
    reason = body.toString('utf8', offset + 1, offset + 1 + length);
  }
  return { type: 'bye', ssrcs, reason };
}

export function serializeGoodbye(bye: Goodbye): RtcpBody {
  requireInteger(bye.ssrcs.length, 0, MAX_COUNT, 'BYE source count');
  const bytes = Buffer.concat([...bye.ssrcs.map((s) => uint32(s, 'BYE SSRC')), ...(bye.reason === null ? [] : [lengthPrefixedText(bye.reason, 'BYE reason')])]);
  return { count: bye.ssrcs.length, body: Buffer.concat([bytes, zeroPadding(bytes.length, false)]) };
}

/** The CNAME of an SDES chunk, if it has one. */
export function cnameOf(chunk: SdesChunk): string | undefined {
  return chunk.items.find((item) => item.type === SdesItemType.Cname)?.text;
}
