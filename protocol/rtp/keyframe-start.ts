/**
 * Whether an RTP payload is where a decoder can start: the first packet of a keyframe. A
 * forwarding unit starts a new receiver there (it cannot make a keyframe, only wait for one), by
 * reading the payload's first bytes without depacketizing. H.264 (RFC 6184): a single NAL unit,
 * STAP-A or FU-A start carrying an SPS or an IDR slice (browsers send SPS and PPS first in a
 * keyframe, so its first packet carries the SPS). VP8 (RFC 7741): the start of partition 0 of a
 * frame whose header says key frame.
 */

import { h264PacketType, H264PacketType, parseStapA } from './h264-payload.ts';
import { NalUnitType, nalUnitType } from './nal-units.ts';
import { RtpError } from '../errors.ts';
import { isVp8Keyframe, parseVp8PayloadDescriptor } from './vp8-depacketizer.ts';

const FU_START = 0x80;
const TYPE_MASK = 0x1f;

function startsPicture(type: number): boolean {
  return type === NalUnitType.Sps || type === NalUnitType.Idr;
}

/** True for the packet a decoder can start an H.264 stream at (SPS or IDR, alone, aggregated, or a fragment's start). */
export function isH264KeyframeStart(payload: Buffer): boolean {
  if (payload.length === 0) return false;
  const type = h264PacketType(payload);
  if (type === H264PacketType.FuA) return payload.length >= 2 && (payload[1]! & FU_START) !== 0 && startsPicture(payload[1]! & TYPE_MASK);
  if (type === H264PacketType.StapA) {
    try {
      return parseStapA(payload).some((nal) => startsPicture(nalUnitType(nal)));
    } catch (error) {
      if (error instanceof RtpError) return false;
      throw error;
    }
  }
  return startsPicture(type);
}

/** True for the first packet of a VP8 key frame (the start of partition 0, its frame tag saying key frame). */
export function isVp8KeyframeStart(payload: Buffer): boolean {
  try {
    const descriptor = parseVp8PayloadDescriptor(payload);
    return descriptor.startOfPartition && descriptor.partitionIndex === 0 && isVp8Keyframe(payload.subarray(descriptor.size));
  } catch (error) {
    if (error instanceof RtpError) return false;
    throw error;
  }
}
