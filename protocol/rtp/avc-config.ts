/**
 * AVCDecoderConfigurationRecord (ISO 14496-15 5.2.4.1), the body of an FLV/RTMP AVC sequence
 * header: built from the SPS and PPS a WebRTC sender puts in band before its keyframes, and
 * taken apart to send an RTMP publisher's parameter sets to browsers ahead of its keyframes.
 * Picture size and profile come from protocol/flv/codecs.ts, which already parses the SPS.
 */

import { RtpError } from '../errors.ts';
import { parseAvcDecoderConfig, VideoCodec } from '../flv/codecs.ts';
import { requireBytes } from './bounds.ts';
import { NalUnitType, nalUnitType, type NalLengthSize } from './nal-units.ts';

const CONFIGURATION_VERSION = 1;
/** configurationVersion, AVCProfileIndication, profile_compatibility, AVCLevelIndication, lengthSizeMinusOne. */
const RECORD_HEADER_SIZE = 5;
const MAX_SPS_COUNT = 31;
const MAX_PPS_COUNT = 255;
const MAX_PARAMETER_SET_SIZE = 0xffff;
/** profile_idc, constraint flags and level_idc follow the SPS NAL header byte. */
const SPS_MIN_SIZE = 4;
/** The reserved bits set around lengthSizeMinusOne and numOfSequenceParameterSets. */
const RESERVED_LENGTH_SIZE_BITS = 0xfc;
const RESERVED_SPS_COUNT_BITS = 0xe0;
/** An FLV video tag header for a keyframe AVC sequence header (frame type 1, AVCPacketType 0, composition time 0). */
const FLV_AVC_SEQUENCE_HEADER = Buffer.from([(1 << 4) | VideoCodec.AVC, 0, 0, 0, 0]);

export interface AvcDecoderConfig {
  profile: number;
  profileCompatibility: number;
  level: number;
  /** Bytes of each NAL unit length in the AVCC data that goes with this record. */
  nalLengthSize: NalLengthSize;
  sps: Buffer[];
  pps: Buffer[];
}

function requireParameterSets(list: readonly Buffer[], type: number, max: number, name: string): void {
  if (list.length === 0 || list.length > max) throw new RtpError('h264.bad_parameter_sets', `${list.length} ${name}s, expected 1 to ${max}`);
  for (const nal of list) {
    if (nal.length === 0 || nalUnitType(nal) !== type || nal.length > MAX_PARAMETER_SET_SIZE) {
      throw new RtpError('h264.bad_parameter_sets', `a ${name} of ${nal.length} bytes with NAL unit type ${nal.length ? nalUnitType(nal) : '-'}`);
    }
  }
}

/**
 * Builds the record from SPS and PPS NAL units (with their NAL header byte); profile and level
 * come from the first SPS. Throws RtpError 'h264.bad_parameter_sets' for missing, mistyped or
 * oversized parameter sets. The High-profile extension fields (chroma format, bit depths) are
 * not written: FLV players do not need them and WebRTC sends Baseline and Main.
 */
export function buildAvcDecoderConfigurationRecord(sps: readonly Buffer[], pps: readonly Buffer[], nalLengthSize: NalLengthSize = 4): Buffer {
  requireParameterSets(sps, NalUnitType.Sps, MAX_SPS_COUNT, 'SPS');
  requireParameterSets(pps, NalUnitType.Pps, MAX_PPS_COUNT, 'PPS');
  if (sps[0]!.length < SPS_MIN_SIZE) throw new RtpError('h264.bad_parameter_sets', `an SPS of ${sps[0]!.length} bytes has no profile and level`);
  const withLengths = (list: readonly Buffer[]) => list.flatMap((nal) => [Buffer.from([nal.length >> 8, nal.length & 0xff]), nal]);
  return Buffer.concat([
    Buffer.from([CONFIGURATION_VERSION, sps[0]![1]!, sps[0]![2]!, sps[0]![3]!, RESERVED_LENGTH_SIZE_BITS | (nalLengthSize - 1)]),
    Buffer.from([RESERVED_SPS_COUNT_BITS | sps.length]),
    ...withLengths(sps),
    Buffer.from([pps.length]),
    ...withLengths(pps),
  ]);
}

/** Reads `count` parameter sets, each after a 16-bit length, from `offset`; returns them and the offset after. */
function readParameterSets(record: Buffer, offset: number, count: number, name: string): [Buffer[], number] {
  const sets: Buffer[] = [];
  for (let i = 0; i < count; i++) {
    requireBytes(record, offset, 2, 'h264.bad_avc_config', `${name} length`);
    const length = record.readUInt16BE(offset);
    offset += 2;
    requireBytes(record, offset, length, 'h264.bad_avc_config', name);
    sets.push(record.subarray(offset, offset + length));
    offset += length;
  }
  return [sets, offset];
}

/**
 * Parses a record (the FLV sequence header payload after its 5-byte tag header); the parameter
 * sets share memory with `record`. Bytes after the PPS list (High-profile fields) are ignored.
 * Throws RtpError 'h264.bad_avc_config' on a wrong version, a reserved length size or a
 * parameter set running past the record.
 */
export function parseAvcDecoderConfigurationRecord(record: Buffer): AvcDecoderConfig {
  requireBytes(record, 0, RECORD_HEADER_SIZE + 1, 'h264.bad_avc_config', 'AVCDecoderConfigurationRecord header');
  if (record[0] !== CONFIGURATION_VERSION) throw new RtpError('h264.bad_avc_config', `configurationVersion ${record[0]}, expected 1`);
  const nalLengthSize = (record[4]! & 0x03) + 1;
  if (nalLengthSize === 3) throw new RtpError('h264.bad_avc_config', 'lengthSizeMinusOne 2 is reserved');
  const [sps, ppsCountOffset] = readParameterSets(record, RECORD_HEADER_SIZE + 1, record[5]! & 0x1f, 'SPS');
  requireBytes(record, ppsCountOffset, 1, 'h264.bad_avc_config', 'PPS count');
  const [pps] = readParameterSets(record, ppsCountOffset + 1, record[ppsCountOffset]!, 'PPS');
  return { profile: record[1]!, profileCompatibility: record[2]!, level: record[3]!, nalLengthSize: nalLengthSize as NalLengthSize, sps, pps };
}

/** Profile, level and cropped picture size from the record's first SPS (codecs.ts's SPS parser); null if it cannot be read. */
export function describeAvcDecoderConfigurationRecord(record: Buffer): { profile: number; level: number; width: number; height: number } | null {
  return parseAvcDecoderConfig(Buffer.concat([FLV_AVC_SEQUENCE_HEADER, record]));
}
