/**
 * H.264 NAL units and their two framings: Annex-B (start codes, what encoders and .h264 files
 * write) and AVCC (a big-endian length before each NAL unit, what FLV/RTMP and MP4 carry,
 * ISO 14496-15). RTP carries bare NAL units, so the WebRTC <-> RTMP bridge converts between
 * a list of NAL units and these. Also which NAL units make an access unit a keyframe.
 */

import { RtpError } from '../errors.ts';
import { requireBytes } from './bounds.ts';

/** nal_unit_type values (H.264 table 7-1) that the bridge looks at. */
export const NalUnitType = {
  Slice: 1,
  Idr: 5,
  Sei: 6,
  Sps: 7,
  Pps: 8,
  AccessUnitDelimiter: 9,
} as const;

const START_CODE = Buffer.from([0, 0, 1]);
const FOUR_BYTE_START_CODE = Buffer.from([0, 0, 0, 1]);

export type NalLengthSize = 1 | 2 | 4;

export function nalUnitType(nal: Uint8Array): number {
  return nal[0]! & 0x1f;
}

/** nal_ref_idc, the 2-bit importance of a NAL unit (0 = not used for reference). */
export function nalRefIdc(nal: Uint8Array): number {
  return (nal[0]! >> 5) & 0x03;
}

/** True when the access unit holds an IDR slice, i.e. it can be decoded without earlier pictures. */
export function isKeyframe(nalUnits: readonly Uint8Array[]): boolean {
  return nalUnits.some((nal) => nalUnitType(nal) === NalUnitType.Idr);
}

/** The SPS and PPS NAL units in an access unit, in order. */
export function findParameterSets(nalUnits: readonly Buffer[]): { sps: Buffer[]; pps: Buffer[] } {
  return {
    sps: nalUnits.filter((nal) => nalUnitType(nal) === NalUnitType.Sps),
    pps: nalUnits.filter((nal) => nalUnitType(nal) === NalUnitType.Pps),
  };
}

/** Where `data[start, end)` ends without its trailing zero bytes (trailing_zero_8bits, or the first 0 of a 4-byte start code). */
function trimTrailingZeros(data: Buffer, start: number, end: number): number {
  while (end > start && data[end - 1] === 0) end--;
  return end;
}

/**
 * Splits an Annex-B byte stream into NAL units (sharing memory with `data`). Leading zero
 * bytes are allowed; anything else before the first start code throws RtpError
 * 'h264.bad_annexb'. Empty NAL units (start codes back to back) are left out.
 */
export function splitAnnexB(data: Buffer): Buffer[] {
  const nalUnits: Buffer[] = [];
  let start = data.indexOf(START_CODE);
  if (start < 0) start = data.length;
  if (data.subarray(0, start).some((b) => b !== 0)) {
    throw new RtpError('h264.bad_annexb', 'Annex-B data does not begin with a start code');
  }
  while (start < data.length) {
    const nalStart = start + START_CODE.length;
    const next = data.indexOf(START_CODE, nalStart);
    const nalEnd = next < 0 ? data.length : next;
    const end = trimTrailingZeros(data, nalStart, nalEnd);
    if (end > nalStart) nalUnits.push(data.subarray(nalStart, end));
    start = nalEnd;
  }
  return nalUnits;
}

/** NAL units as Annex-B, each after a 4-byte start code. */
export function joinAnnexB(nalUnits: readonly Uint8Array[]): Buffer {
  return Buffer.concat(nalUnits.flatMap((nal) => [FOUR_BYTE_START_CODE, nal]));
}

function requireLengthSize(lengthSize: number): asserts lengthSize is NalLengthSize {
  if (lengthSize !== 1 && lengthSize !== 2 && lengthSize !== 4) {
    throw new RtpError('h264.bad_length_size', `NAL unit length size ${lengthSize}, expected 1, 2 or 4`);
  }
}

/**
 * Splits AVCC data (each NAL unit after a `lengthSize`-byte big-endian length, as in an FLV
 * AVC NALU tag after its 5-byte header) into NAL units sharing memory with `data`. A length
 * running past the data throws RtpError 'h264.truncated_avcc'; zero lengths are skipped.
 */
export function splitAvcc(data: Buffer, lengthSize: number = 4): Buffer[] {
  requireLengthSize(lengthSize);
  const nalUnits: Buffer[] = [];
  let offset = 0;
  while (offset < data.length) {
    requireBytes(data, offset, lengthSize, 'h264.truncated_avcc', 'AVCC NAL unit length');
    const length = data.readUIntBE(offset, lengthSize);
    offset += lengthSize;
    requireBytes(data, offset, length, 'h264.truncated_avcc', 'AVCC NAL unit');
    if (length > 0) nalUnits.push(data.subarray(offset, offset + length));
    offset += length;
  }
  return nalUnits;
}

/** NAL units as AVCC; a NAL unit too long for `lengthSize` throws RtpError 'h264.nal_unit_too_large'. */
export function joinAvcc(nalUnits: readonly Uint8Array[], lengthSize: number = 4): Buffer {
  requireLengthSize(lengthSize);
  const out = Buffer.alloc(nalUnits.reduce((sum, nal) => sum + lengthSize + nal.length, 0));
  let offset = 0;
  for (const nal of nalUnits) {
    if (nal.length >= 2 ** (8 * lengthSize)) {
      throw new RtpError('h264.nal_unit_too_large', `NAL unit of ${nal.length} bytes does not fit a ${lengthSize}-byte length`);
    }
    offset = out.writeUIntBE(nal.length, offset, lengthSize);
    out.set(nal, offset);
    offset += nal.length;
  }
  return out;
}

/** AVCC to Annex-B in one step. */
export function avccToAnnexB(data: Buffer, lengthSize: number = 4): Buffer {
  return joinAnnexB(splitAvcc(data, lengthSize));
}

/** Annex-B to AVCC in one step. */
export function annexBToAvcc(data: Buffer, lengthSize: number = 4): Buffer {
  return joinAvcc(splitAnnexB(data), lengthSize);
}
