/**
 * RTP packets (RFC 3550 section 5.1): the fixed header, CSRC list, header extension and
 * padding around a payload. Parsing checks every declared length against the datagram; the
 * header extension is kept as its profile and raw words here, and header-extensions.ts reads
 * the RFC 8285 elements inside it.
 */

import { RtpError } from '../errors.ts';
import { requireBytes, requireInteger, requireUint } from './bounds.ts';

export const RTP_VERSION = 2;
/** Version/flags, payload type, sequence number, timestamp, SSRC. */
export const RTP_FIXED_HEADER_SIZE = 12;
const MAX_CSRCS = 15;
const EXTENSION_HEADER_SIZE = 4;
/** The extension length field counts 32-bit words in 16 bits. */
const MAX_EXTENSION_DATA_SIZE = 0xffff * 4;

const FLAG_PADDING = 0x20;
const FLAG_EXTENSION = 0x10;
const MARKER = 0x80;

/** The header extension: a 16-bit profile (0xBEDE and 0x100x are RFC 8285's) and its data, a multiple of 4 bytes. */
export interface RtpHeaderExtension {
  profile: number;
  data: Buffer;
}

export interface RtpPacket {
  payloadType: number;
  marker: boolean;
  sequenceNumber: number;
  timestamp: number;
  ssrc: number;
  csrcs: number[];
  extension: RtpHeaderExtension | null;
  payload: Buffer;
  /** Padding bytes after the payload, counting the final count byte; 0 for none. */
  paddingLength: number;
}

/**
 * Parses one RTP packet (one datagram, or one SRTP packet after decryption). The payload and
 * the extension data share memory with `data`. Throws RtpError ('rtp.truncated',
 * 'rtp.bad_version', 'rtp.bad_padding') on anything that is not a whole RTP packet.
 */
export function parseRtpPacket(data: Buffer): RtpPacket {
  requireBytes(data, 0, RTP_FIXED_HEADER_SIZE, 'rtp.truncated', 'RTP fixed header');
  const first = data[0]!;
  if (first >> 6 !== RTP_VERSION) throw new RtpError('rtp.bad_version', `RTP version ${first >> 6}, expected ${RTP_VERSION}`);
  const csrcCount = first & 0x0f;
  let offset = RTP_FIXED_HEADER_SIZE;
  requireBytes(data, offset, csrcCount * 4, 'rtp.truncated', 'RTP CSRC list');
  const csrcs: number[] = [];
  for (let i = 0; i < csrcCount; i++, offset += 4) csrcs.push(data.readUInt32BE(offset));
  let extension: RtpHeaderExtension | null = null;
  if (first & FLAG_EXTENSION) {
    requireBytes(data, offset, EXTENSION_HEADER_SIZE, 'rtp.truncated', 'RTP header extension header');
    const profile = data.readUInt16BE(offset);
    const length = data.readUInt16BE(offset + 2) * 4;
    offset += EXTENSION_HEADER_SIZE;
    requireBytes(data, offset, length, 'rtp.truncated', 'RTP header extension');
    extension = { profile, data: data.subarray(offset, offset + length) };
    offset += length;
  }
  let end = data.length;
  let paddingLength = 0;
  if (first & FLAG_PADDING) {
    // The last byte counts the padding, itself included (RFC 3550 5.1).
    paddingLength = data[data.length - 1]!;
    if (paddingLength === 0 || paddingLength > data.length - offset) {
      throw new RtpError('rtp.bad_padding', `padding of ${paddingLength} bytes with ${data.length - offset} bytes after the header`);
    }
    end -= paddingLength;
  }
  return {
    payloadType: data[1]! & 0x7f,
    marker: (data[1]! & MARKER) !== 0,
    sequenceNumber: data.readUInt16BE(2),
    timestamp: data.readUInt32BE(4),
    ssrc: data.readUInt32BE(8),
    csrcs,
    extension,
    payload: data.subarray(offset, end),
    paddingLength,
  };
}

/** Size of the serialized packet, after checking that every field fits its bits (RtpError 'rtp.bad_field'). */
function serializedSize(packet: RtpPacket): number {
  requireUint(packet.payloadType, 7, 'payload type');
  requireUint(packet.sequenceNumber, 16, 'sequence number');
  requireUint(packet.timestamp, 32, 'timestamp');
  requireUint(packet.ssrc, 32, 'SSRC');
  requireInteger(packet.csrcs.length, 0, MAX_CSRCS, 'CSRC count');
  for (const csrc of packet.csrcs) requireUint(csrc, 32, 'CSRC');
  requireInteger(packet.paddingLength, 0, 255, 'padding length');
  let size = RTP_FIXED_HEADER_SIZE + packet.csrcs.length * 4 + packet.payload.length + packet.paddingLength;
  if (packet.extension) {
    requireUint(packet.extension.profile, 16, 'header extension profile');
    const length = packet.extension.data.length;
    if (length % 4 !== 0 || length > MAX_EXTENSION_DATA_SIZE) {
      throw new RtpError('rtp.bad_field', `header extension data of ${length} bytes is not a whole number of 32-bit words up to ${MAX_EXTENSION_DATA_SIZE}`);
    }
    size += EXTENSION_HEADER_SIZE + length;
  }
  return size;
}

/** Serializes a packet; padding bytes are zero but for the final count. */
export function serializeRtpPacket(packet: RtpPacket): Buffer {
  const out = Buffer.alloc(serializedSize(packet));
  out[0] = (RTP_VERSION << 6) | (packet.paddingLength > 0 ? FLAG_PADDING : 0) | (packet.extension ? FLAG_EXTENSION : 0) | packet.csrcs.length;
  out[1] = (packet.marker ? MARKER : 0) | packet.payloadType;
  out.writeUInt16BE(packet.sequenceNumber, 2);
  out.writeUInt32BE(packet.timestamp, 4);
  out.writeUInt32BE(packet.ssrc, 8);
  let offset = RTP_FIXED_HEADER_SIZE;
  for (const csrc of packet.csrcs) offset = out.writeUInt32BE(csrc, offset);
  if (packet.extension) {
    offset = out.writeUInt16BE(packet.extension.profile, offset);
    offset = out.writeUInt16BE(packet.extension.data.length / 4, offset);
    offset += packet.extension.data.copy(out, offset);
  }
  offset += packet.payload.copy(out, offset);
  if (packet.paddingLength > 0) out[out.length - 1] = packet.paddingLength;
  return out;
}
