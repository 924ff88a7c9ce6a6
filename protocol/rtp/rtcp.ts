/**
 * RTCP compound packets (RFC 3550 6.1): several RTCP packets back to back in one datagram,
 * each a 4-byte common header (version, padding, a 5-bit count or FMT, packet type, length in
 * 32-bit words minus one) and its body. Parses and serializes the whole compound, handing the
 * bodies to rtcp-reports.ts and rtcp-feedback.ts; types it does not know come out raw. Also
 * tells RTP from RTCP on a muxed port (RFC 5761).
 */

import { RtpError } from '../errors.ts';
import { requireBytes } from './bounds.ts';
import {
  parsePayloadSpecificFeedback,
  parseTransportFeedback,
  serializeFeedback,
  type FeedbackMessage,
  type FullIntraRequest,
  type GenericNack,
  type PictureLossIndication,
  type ReceiverEstimatedMaxBitrate,
} from './rtcp-feedback.ts';
import {
  parseGoodbye,
  parseReceiverReport,
  parseSenderReport,
  parseSourceDescription,
  serializeGoodbye,
  serializeReceiverReport,
  serializeSenderReport,
  serializeSourceDescription,
  type Goodbye,
  type ReceiverReport,
  type RtcpBody,
  type SenderReport,
  type SourceDescription,
} from './rtcp-reports.ts';
import { RTP_VERSION } from './rtp-packet.ts';

export const RtcpPacketType = {
  SenderReport: 200,
  ReceiverReport: 201,
  SourceDescription: 202,
  Goodbye: 203,
  Application: 204,
  TransportFeedback: 205,
  PayloadSpecificFeedback: 206,
  ExtendedReport: 207,
} as const;

/** An RTCP packet of a type (or feedback FMT) not read here: APP, XR, transport-cc, ... */
export interface UnknownRtcpPacket {
  type: 'unknown';
  packetType: number;
  /** The 5-bit count field (FMT for feedback). */
  count: number;
  /** The body after the common header, without padding (shares memory with the input). */
  body: Buffer;
}

export type RtcpPacket = SenderReport | ReceiverReport | SourceDescription | Goodbye | FeedbackMessage | UnknownRtcpPacket;
export type { FullIntraRequest, GenericNack, Goodbye, PictureLossIndication, ReceiverEstimatedMaxBitrate, ReceiverReport, SenderReport, SourceDescription };

const HEADER_SIZE = 4;
const FLAG_PADDING = 0x20;
const COUNT_MASK = 0x1f;
/** RFC 5761 4: RTCP packet types 192-223 are what RTP payload types 64-95 with the marker bit would look like. */
const RTCP_TYPE_RANGE = { first: 192, last: 223 } as const;

/**
 * True when a datagram on a port that carries both RTP and RTCP (rtcp-mux, which WebRTC
 * always uses) is RTCP: version 2 and a second byte in 192-223 (RFC 5761 4).
 */
export function isRtcpPacket(data: Uint8Array): boolean {
  return data.length >= HEADER_SIZE && data[0]! >> 6 === RTP_VERSION && data[1]! >= RTCP_TYPE_RANGE.first && data[1]! <= RTCP_TYPE_RANGE.last;
}

function parseBody(packetType: number, count: number, body: Buffer): RtcpPacket {
  const unknown: UnknownRtcpPacket = { type: 'unknown', packetType, count, body };
  switch (packetType) {
    case RtcpPacketType.SenderReport:
      return parseSenderReport(count, body);
    case RtcpPacketType.ReceiverReport:
      return parseReceiverReport(count, body);
    case RtcpPacketType.SourceDescription:
      return parseSourceDescription(count, body);
    case RtcpPacketType.Goodbye:
      return parseGoodbye(count, body);
    case RtcpPacketType.TransportFeedback:
      return parseTransportFeedback(count, body) ?? unknown;
    case RtcpPacketType.PayloadSpecificFeedback:
      return parsePayloadSpecificFeedback(count, body) ?? unknown;
    default:
      return unknown;
  }
}

/**
 * Parses a compound RTCP packet (one datagram, or one SRTCP packet after decryption) into its
 * packets, in order. Throws RtpError ('rtcp.truncated', 'rtcp.bad_version', 'rtcp.bad_padding',
 * 'rtcp.bad_sdes', 'rtcp.bad_feedback') when a header, length or body is malformed.
 */
export function parseRtcpCompound(data: Buffer): RtcpPacket[] {
  if (data.length === 0) throw new RtpError('rtcp.truncated', 'empty RTCP packet');
  const packets: RtcpPacket[] = [];
  let offset = 0;
  while (offset < data.length) {
    requireBytes(data, offset, HEADER_SIZE, 'rtcp.truncated', 'RTCP header');
    const first = data[offset]!;
    if (first >> 6 !== RTP_VERSION) throw new RtpError('rtcp.bad_version', `RTCP version ${first >> 6} at offset ${offset}`);
    const packetType = data[offset + 1]!;
    const length = (data.readUInt16BE(offset + 2) + 1) * 4;
    requireBytes(data, offset, length, 'rtcp.truncated', `RTCP packet type ${packetType}`);
    let end = offset + length;
    if (first & FLAG_PADDING) {
      const padding = data[end - 1]!;
      if (padding === 0 || padding > length - HEADER_SIZE) throw new RtpError('rtcp.bad_padding', `padding of ${padding} in a ${length}-byte RTCP packet`);
      end -= padding;
    }
    packets.push(parseBody(packetType, first & COUNT_MASK, data.subarray(offset + HEADER_SIZE, end)));
    offset += length;
  }
  return packets;
}

function serializeBody(packet: RtcpPacket): RtcpBody & { packetType: number } {
  switch (packet.type) {
    case 'sr':
      return { packetType: RtcpPacketType.SenderReport, ...serializeSenderReport(packet) };
    case 'rr':
      return { packetType: RtcpPacketType.ReceiverReport, ...serializeReceiverReport(packet) };
    case 'sdes':
      return { packetType: RtcpPacketType.SourceDescription, ...serializeSourceDescription(packet) };
    case 'bye':
      return { packetType: RtcpPacketType.Goodbye, ...serializeGoodbye(packet) };
    case 'nack':
      return { packetType: RtcpPacketType.TransportFeedback, ...serializeFeedback(packet) };
    case 'pli':
    case 'fir':
    case 'remb':
      return { packetType: RtcpPacketType.PayloadSpecificFeedback, ...serializeFeedback(packet) };
    case 'unknown':
      return { packetType: packet.packetType, count: packet.count, body: packet.body };
  }
}

/** One RTCP packet with its common header. Throws RtpError 'rtp.bad_field' for values that do not fit. */
export function serializeRtcpPacket(packet: RtcpPacket): Buffer {
  const { packetType, count, body } = serializeBody(packet);
  if (body.length % 4 !== 0 || body.length / 4 > 0xffff || count > COUNT_MASK || packetType > 255) {
    throw new RtpError('rtp.bad_field', `RTCP packet type ${packetType}, count ${count}, body of ${body.length} bytes`);
  }
  const header = Buffer.from([(RTP_VERSION << 6) | count, packetType, 0, 0]);
  header.writeUInt16BE(body.length / 4, 2);
  return Buffer.concat([header, body]);
}

/** A compound packet. RFC 3550 wants it to begin with an SR or RR; reduced-size RTCP (RFC 5506, WebRTC) sends feedback alone. */
export function serializeRtcpCompound(packets: readonly RtcpPacket[]): Buffer {
  return Buffer.concat(packets.map(serializeRtcpPacket));
}
