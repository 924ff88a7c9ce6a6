/**
 * H.264 packetizer (RFC 6184, packetization-mode 1): turns the NAL units of one access unit
 * into RTP payloads no larger than the room left in a packet after the RTP header (and SRTP's
 * tag). Small neighbours share a STAP-A (SPS + PPS before a keyframe), a NAL unit that fits
 * goes alone, a larger one is cut into FU-A fragments; the marker goes on the last payload.
 * Aggregation and fragmentation are greedy, as ffmpeg's RTP muxer does them.
 */

import { RtpError } from '../errors.ts';
import { requireInteger } from './bounds.ts';
import { buildFuA, buildStapA, FU_A_HEADER_SIZE, STAP_A_HEADER_SIZE, stapAUnitSize } from './h264-payload.ts';

export interface H264RtpPayload {
  payload: Buffer;
  /** Set on the last payload of the access unit (the RTP marker bit). */
  marker: boolean;
}

/** FU-A needs its two header bytes and at least one byte of the NAL unit. */
const MIN_PAYLOAD_SIZE = FU_A_HEADER_SIZE + 1;
const MAX_PAYLOAD_SIZE = 0xffff;

/** The FU-A payloads of one NAL unit larger than `maxPayloadSize`. */
function fragment(nal: Buffer, maxPayloadSize: number): Buffer[] {
  const room = maxPayloadSize - FU_A_HEADER_SIZE;
  const payloads: Buffer[] = [];
  for (let offset = 1; offset < nal.length; offset += room) {
    const end = Math.min(offset + room, nal.length);
    payloads.push(buildFuA(nal[0]!, offset === 1, end === nal.length, nal.subarray(offset, end)));
  }
  return payloads;
}

/**
 * The RTP payloads of one access unit, in sending order. All share the access unit's RTP
 * timestamp. Throws RtpError 'h264.bad_payload_size' for a size below 3 or above 65535, and
 * 'h264.empty_nal_unit' for an empty NAL unit.
 */
export function packetizeH264(nalUnits: readonly Buffer[], maxPayloadSize: number): H264RtpPayload[] {
  requireInteger(maxPayloadSize, MIN_PAYLOAD_SIZE, MAX_PAYLOAD_SIZE, 'H.264 RTP payload size', 'h264.bad_payload_size');
  const payloads: Buffer[] = [];
  // NAL units waiting to go out together: alone if just one, else as a STAP-A.
  let group: Buffer[] = [];
  let groupStapASize = STAP_A_HEADER_SIZE;
  const flushGroup = () => {
    if (group.length === 1) payloads.push(group[0]!);
    else if (group.length > 1) payloads.push(buildStapA(group));
    group = [];
    groupStapASize = STAP_A_HEADER_SIZE;
  };
  for (const nal of nalUnits) {
    if (nal.length === 0) throw new RtpError('h264.empty_nal_unit', 'empty NAL unit in an access unit');
    if (nal.length > maxPayloadSize) {
      flushGroup();
      payloads.push(...fragment(nal, maxPayloadSize));
      continue;
    }
    if (group.length > 0 && groupStapASize + stapAUnitSize(nal) > maxPayloadSize) flushGroup();
    group.push(nal);
    groupStapASize += stapAUnitSize(nal);
  }
  flushGroup();
  return payloads.map((payload, i) => ({ payload, marker: i === payloads.length - 1 }));
}
