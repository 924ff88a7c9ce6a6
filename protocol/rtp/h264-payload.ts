/**
 * The H.264 RTP payload structures of packetization-mode 1 (RFC 6184 5.6-5.8): a single NAL
 * unit as it is, STAP-A (several small NAL units of one access unit, each after a 16-bit
 * size) and FU-A (one large NAL unit cut into fragments). The packetizer and depacketizer
 * build on these; the interleaved-mode types (STAP-B, MTAP, FU-B) are refused.
 */

import { RtpError } from '../errors.ts';
import { requireBytes } from './bounds.ts';
import { nalRefIdc } from './nal-units.ts';

/** The payload header's type field: 1-23 is a single NAL unit of that type. */
export const H264PacketType = { StapA: 24, StapB: 25, Mtap16: 26, Mtap24: 27, FuA: 28, FuB: 29 } as const;

const FORBIDDEN_BIT = 0x80;
const NRI_MASK = 0x60;
const TYPE_MASK = 0x1f;
const FU_START = 0x80;
const FU_END = 0x40;
export const STAP_A_HEADER_SIZE = 1;
const STAP_A_SIZE_FIELD = 2;
/** FU indicator and FU header. */
export const FU_A_HEADER_SIZE = 2;

/** Bytes one NAL unit takes inside a STAP-A: its 16-bit size, then itself. */
export function stapAUnitSize(nal: Uint8Array): number {
  return STAP_A_SIZE_FIELD + nal.length;
}

function stapASize(nalUnits: readonly Uint8Array[]): number {
  return nalUnits.reduce((sum, nal) => sum + stapAUnitSize(nal), STAP_A_HEADER_SIZE);
}

/** The type field of an RTP H.264 payload (its first byte); throws 'h264.empty_payload' for an empty one. */
export function h264PacketType(payload: Uint8Array): number {
  if (payload.length === 0) throw new RtpError('h264.empty_payload', 'empty H.264 RTP payload');
  return payload[0]! & TYPE_MASK;
}

/**
 * The NAL units of a STAP-A payload, sharing memory with it. Throws RtpError 'h264.bad_stap_a'
 * when a size runs past the payload or is zero, or the payload aggregates nothing.
 */
export function parseStapA(payload: Buffer): Buffer[] {
  const nalUnits: Buffer[] = [];
  let offset = STAP_A_HEADER_SIZE;
  while (offset < payload.length) {
    requireBytes(payload, offset, STAP_A_SIZE_FIELD, 'h264.bad_stap_a', 'STAP-A NAL unit size');
    const size = payload.readUInt16BE(offset);
    offset += STAP_A_SIZE_FIELD;
    if (size === 0) throw new RtpError('h264.bad_stap_a', 'STAP-A NAL unit of size 0');
    requireBytes(payload, offset, size, 'h264.bad_stap_a', 'STAP-A NAL unit');
    nalUnits.push(payload.subarray(offset, offset + size));
    offset += size;
  }
  if (nalUnits.length === 0) throw new RtpError('h264.bad_stap_a', 'STAP-A without NAL units');
  return nalUnits;
}

/**
 * A STAP-A of NAL units. Its header takes the highest NRI of the units and F if any has it
 * (RFC 6184 5.7).
 */
export function buildStapA(nalUnits: readonly Uint8Array[]): Buffer {
  const out = Buffer.alloc(stapASize(nalUnits));
  const forbidden = nalUnits.some((nal) => nal[0]! & FORBIDDEN_BIT) ? FORBIDDEN_BIT : 0;
  out[0] = forbidden | (Math.max(...nalUnits.map(nalRefIdc)) << 5) | H264PacketType.StapA;
  let offset = STAP_A_HEADER_SIZE;
  for (const nal of nalUnits) {
    offset = out.writeUInt16BE(nal.length, offset);
    out.set(nal, offset);
    offset += nal.length;
  }
  return out;
}

export interface FuAFragment {
  start: boolean;
  end: boolean;
  /** The header byte of the fragmented NAL unit: F and NRI from the FU indicator, type from the FU header. */
  nalHeader: number;
  /** This fragment of the NAL unit's bytes after its header (shares memory with the payload). */
  data: Buffer;
}

/** Reads an FU-A payload; throws RtpError 'h264.bad_fu_a' when it is too short or marks both start and end. */
export function parseFuA(payload: Buffer): FuAFragment {
  requireBytes(payload, 0, FU_A_HEADER_SIZE, 'h264.bad_fu_a', 'FU-A header');
  const indicator = payload[0]!;
  const header = payload[1]!;
  const start = (header & FU_START) !== 0;
  const end = (header & FU_END) !== 0;
  // A NAL unit that fits one fragment must not be fragmented (RFC 6184 5.8).
  if (start && end) throw new RtpError('h264.bad_fu_a', 'FU-A with both start and end bits');
  return { start, end, nalHeader: (indicator & (FORBIDDEN_BIT | NRI_MASK)) | (header & TYPE_MASK), data: payload.subarray(FU_A_HEADER_SIZE) };
}

/** One FU-A payload: a fragment of the NAL unit whose header byte is `nalHeader`. */
export function buildFuA(nalHeader: number, start: boolean, end: boolean, data: Uint8Array): Buffer {
  const out = Buffer.alloc(FU_A_HEADER_SIZE + data.length);
  out[0] = (nalHeader & (FORBIDDEN_BIT | NRI_MASK)) | H264PacketType.FuA;
  out[1] = (start ? FU_START : 0) | (end ? FU_END : 0) | (nalHeader & TYPE_MASK);
  out.set(data, FU_A_HEADER_SIZE);
  return out;
}
