/**
 * RTCP feedback messages (RFC 4585 6.1 frame, RTPFB and PSFB): the generic NACK that asks for
 * lost packets again (a 16-bit PID and a bitmask of the 16 after it), the picture loss
 * indication and full intra request (RFC 5104) that ask a sender for a keyframe, and REMB,
 * the receiver's bandwidth estimate browsers send. Bodies only; rtcp.ts frames them.
 */

import { RtpError } from '../errors.ts';
import { requireBytes, requireInteger, requireUint } from './bounds.ts';
import type { RtcpBody } from './rtcp-reports.ts';
import { sequenceNumberDistance } from './wraparound.ts';

/** FMT values of the transport layer feedback packet type (205). */
export const TransportFeedbackFormat = { GenericNack: 1 } as const;
/** FMT values of the payload-specific feedback packet type (206). */
export const PayloadFeedbackFormat = { PictureLossIndication: 1, FullIntraRequest: 4, ApplicationLayer: 15 } as const;

export interface GenericNack {
  type: 'nack';
  senderSsrc: number;
  mediaSsrc: number;
  /** The 16-bit sequence numbers asked for, in the order the message lists them. */
  lostSequenceNumbers: number[];
}

export interface PictureLossIndication {
  type: 'pli';
  senderSsrc: number;
  mediaSsrc: number;
}

export interface FullIntraRequest {
  type: 'fir';
  senderSsrc: number;
  /** Each asks one media sender (ssrc) for a keyframe; the sequence number goes up by one per new request. */
  entries: { ssrc: number; sequenceNumber: number }[];
}

export interface ReceiverEstimatedMaxBitrate {
  type: 'remb';
  senderSsrc: number;
  /** Bits per second (mantissa * 2^exponent on the wire, so large values are rounded down). */
  bitrate: number;
  ssrcs: number[];
}

export type FeedbackMessage = GenericNack | PictureLossIndication | FullIntraRequest | ReceiverEstimatedMaxBitrate;

/** One generic NACK entry: packet `pid` and, for bit i of `blp`, packet pid + i + 1 (RFC 4585 6.2.1). */
export interface NackEntry {
  pid: number;
  blp: number;
}

/** Sender SSRC and media source SSRC. */
const FEEDBACK_HEADER_SIZE = 8;
const NACK_ENTRY_SIZE = 4;
const FIR_ENTRY_SIZE = 8;
const BITMASK_BITS = 16;
const REMB_IDENTIFIER = Buffer.from('REMB', 'latin1');
/** 'REMB', SSRC count, 6-bit exponent and 18-bit mantissa. */
const REMB_FIXED_SIZE = 8;
const REMB_MAX_MANTISSA = 0x3ffff;
const REMB_MAX_EXPONENT = 63;

/**
 * Packs lost sequence numbers into NACK entries, fewest for a list spanning less than half the
 * sequence space: ordered from the first one given, across the 16-bit wrap, each entry takes
 * the 16 numbers after its PID.
 */
export function nackEntriesFromSequenceNumbers(sequenceNumbers: readonly number[]): NackEntry[] {
  for (const s of sequenceNumbers) requireUint(s, 16, 'NACK sequence number');
  if (sequenceNumbers.length === 0) return [];
  const first = sequenceNumbers[0]!;
  const ordered = [...new Set(sequenceNumbers)].sort((a, b) => sequenceNumberDistance(first, a) - sequenceNumberDistance(first, b));
  const entries: NackEntry[] = [];
  for (const s of ordered) {
    const last = entries.at(-1);
    const distance = last ? sequenceNumberDistance(last.pid, s) : 0;
    if (last && distance >= 1 && distance <= BITMASK_BITS) last.blp |= 1 << (distance - 1);
    else entries.push({ pid: s, blp: 0 });
  }
  return entries;
}

/** The sequence numbers NACK entries ask for, each once, in entry order. */
export function sequenceNumbersFromNackEntries(entries: readonly NackEntry[]): number[] {
  const out = new Set<number>();
  for (const { pid, blp } of entries) {
    out.add(pid);
    for (let bit = 0; bit < BITMASK_BITS; bit++) if ((blp >> bit) & 1) out.add((pid + bit + 1) & 0xffff);
  }
  return [...out];
}

function readSsrcs(body: Buffer, offset: number, count: number): number[] {
  const ssrcs: number[] = [];
  for (let i = 0; i < count; i++) ssrcs.push(body.readUInt32BE(offset + i * 4));
  return ssrcs;
}

/** The feedback control information after the two SSRCs, which must be whole `entrySize`-byte entries, at least one. */
function entriesOf(body: Buffer, entrySize: number, what: string): number {
  const length = body.length - FEEDBACK_HEADER_SIZE;
  if (length < entrySize || length % entrySize !== 0) throw new RtpError('rtcp.bad_feedback', `${what} with ${length} bytes of entries`);
  return length / entrySize;
}

/** Reads a transport layer feedback body (packet type 205); null for an FMT not known here (transport-cc, ...). */
export function parseTransportFeedback(format: number, body: Buffer): GenericNack | null {
  requireBytes(body, 0, FEEDBACK_HEADER_SIZE, 'rtcp.truncated', 'feedback message');
  if (format !== TransportFeedbackFormat.GenericNack) return null;
  const count = entriesOf(body, NACK_ENTRY_SIZE, 'generic NACK');
  const entries: NackEntry[] = [];
  for (let i = 0, offset = FEEDBACK_HEADER_SIZE; i < count; i++, offset += NACK_ENTRY_SIZE) {
    entries.push({ pid: body.readUInt16BE(offset), blp: body.readUInt16BE(offset + 2) });
  }
  return { type: 'nack', senderSsrc: body.readUInt32BE(0), mediaSsrc: body.readUInt32BE(4), lostSequenceNumbers: sequenceNumbersFromNackEntries(entries) };
}

/**
 * Reads a payload-specific feedback body (packet type 206): PLI, FIR, or REMB among the
 * application layer messages; null for anything else.
 */
export function parsePayloadSpecificFeedback(format: number, body: Buffer): PictureLossIndication | FullIntraRequest | ReceiverEstimatedMaxBitrate | null {
  requireBytes(body, 0, FEEDBACK_HEADER_SIZE, 'rtcp.truncated', 'feedback message');
  const senderSsrc = body.readUInt32BE(0);
  switch (format) {
    case PayloadFeedbackFormat.PictureLossIndication:
      return { type: 'pli', senderSsrc, mediaSsrc: body.readUInt32BE(4) };
    case PayloadFeedbackFormat.FullIntraRequest: {
      const count = entriesOf(body, FIR_ENTRY_SIZE, 'FIR');
      const entries = [];
      for (let i = 0, offset = FEEDBACK_HEADER_SIZE; i < count; i++, offset += FIR_ENTRY_SIZE) {
        entries.push({ ssrc: body.readUInt32BE(offset), sequenceNumber: body[offset + 4]! });
      }
      return { type: 'fir', senderSsrc, entries };
    }
    case PayloadFeedbackFormat.ApplicationLayer:
      return parseRemb(senderSsrc, body.subarray(FEEDBACK_HEADER_SIZE));
    default:
      return null;
  }
}

function parseRemb(senderSsrc: number, fci: Buffer): ReceiverEstimatedMaxBitrate | null {
  if (fci.length < REMB_FIXED_SIZE || !fci.subarray(0, 4).equals(REMB_IDENTIFIER)) return null;
  const count = fci[4]!;
  requireBytes(fci, REMB_FIXED_SIZE, count * 4, 'rtcp.bad_feedback', `REMB with ${count} SSRCs`);
  const exponent = fci[5]! >> 2;
  const mantissa = fci.readUIntBE(5, 3) & REMB_MAX_MANTISSA;
  return { type: 'remb', senderSsrc, bitrate: mantissa * 2 ** exponent, ssrcs: readSsrcs(fci, REMB_FIXED_SIZE, count) };
}

/** The two SSRCs every feedback message starts with, then `fciSize` zero bytes for the caller to fill. */
function feedbackBody(senderSsrc: number, mediaSsrc: number, fciSize: number): Buffer {
  requireUint(senderSsrc, 32, 'sender SSRC');
  requireUint(mediaSsrc, 32, 'media source SSRC');
  const body = Buffer.alloc(FEEDBACK_HEADER_SIZE + fciSize);
  body.writeUInt32BE(senderSsrc, 0);
  body.writeUInt32BE(mediaSsrc, 4);
  return body;
}

/** The body and FMT (as the header's count) of a feedback message. Media SSRC is 0 for FIR and REMB, as RFC 5104 and the REMB draft say. */
export function serializeFeedback(message: FeedbackMessage): RtcpBody {
  switch (message.type) {
    case 'nack': {
      const entries = nackEntriesFromSequenceNumbers(message.lostSequenceNumbers);
      if (entries.length === 0) throw new RtpError('rtp.bad_field', 'a generic NACK needs at least one sequence number');
      const body = feedbackBody(message.senderSsrc, message.mediaSsrc, entries.length * NACK_ENTRY_SIZE);
      entries.forEach(({ pid, blp }, i) => body.writeUInt32BE(((pid << 16) | blp) >>> 0, FEEDBACK_HEADER_SIZE + i * NACK_ENTRY_SIZE));
      return { count: TransportFeedbackFormat.GenericNack, body };
    }
    case 'pli':
      return { count: PayloadFeedbackFormat.PictureLossIndication, body: feedbackBody(message.senderSsrc, message.mediaSsrc, 0) };
    case 'fir': {
      if (message.entries.length === 0) throw new RtpError('rtp.bad_field', 'a FIR needs at least one entry');
      const body = feedbackBody(message.senderSsrc, 0, message.entries.length * FIR_ENTRY_SIZE);
      message.entries.forEach(({ ssrc, sequenceNumber }, i) => {
        requireUint(ssrc, 32, 'FIR SSRC');
        requireUint(sequenceNumber, 8, 'FIR sequence number');
        body.writeUInt32BE(ssrc, FEEDBACK_HEADER_SIZE + i * FIR_ENTRY_SIZE);
        body[FEEDBACK_HEADER_SIZE + i * FIR_ENTRY_SIZE + 4] = sequenceNumber;
      });
      return { count: PayloadFeedbackFormat.FullIntraRequest, body };
    }
    case 'remb':
      return { count: PayloadFeedbackFormat.ApplicationLayer, body: serializeRemb(message) };
  }
}

function serializeRemb(remb: ReceiverEstimatedMaxBitrate): Buffer {
  requireInteger(remb.ssrcs.length, 0, 255, 'REMB SSRC count');
  if (!Number.isFinite(remb.bitrate) || remb.bitrate < 0) throw new RtpError('rtp.bad_field', `REMB bitrate ${remb.bitrate}`);
  let exponent = 0;
  while (remb.bitrate / 2 ** exponent > REMB_MAX_MANTISSA) exponent++;
  requireInteger(exponent, 0, REMB_MAX_EXPONENT, 'REMB bitrate exponent');
  const mantissa = Math.floor(remb.bitrate / 2 ** exponent);
  const body = feedbackBody(remb.senderSsrc, 0, REMB_FIXED_SIZE + remb.ssrcs.length * 4);
  let offset = FEEDBACK_HEADER_SIZE;
  offset += REMB_IDENTIFIER.copy(body, offset);
  offset = body.writeUInt8(remb.ssrcs.length, offset);
  offset = body.writeUIntBE(exponent * 2 ** 18 + mantissa, offset, 3);
  for (const ssrc of remb.ssrcs) {
    requireUint(ssrc, 32, 'REMB SSRC');
    offset = body.writeUInt32BE(ssrc, offset);
  }
  return body;
}
