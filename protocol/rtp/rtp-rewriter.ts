/**
 * What a selective forwarding unit changes in an RTP packet it passes on to one receiver: the
 * SSRC, payload type and sequence numbers are that receiver's (its own SDP negotiated them), the
 * timestamp, marker, payload and padding stay the sender's bytes. Header extensions and CSRCs are
 * left out: their ids were negotiated with the sender, not with this receiver. Sequence numbers
 * are the sender's shifted by one offset, fixed at the first packet forwarded, so a receiver sees
 * them continuous from its own random start, sees the sender's gaps as gaps (and NACKs them), and
 * a NACKed number maps back to the sender's.
 */

import { requireUint } from './bounds.ts';
import { RTP_FIXED_HEADER_SIZE, type RtpPacket } from './rtp-packet.ts';
import { sequenceNumberDistance, SequenceNumberUnwrapper } from './wraparound.ts';

const VERSION_AND_PADDING = 0xe0;
const MARKER = 0x80;

/**
 * One packet with a new SSRC, payload type and sequence number, without extensions and CSRCs.
 * `data` is the datagram `packet` was parsed from (its payload and padding are copied as they are).
 */
export function rewriteRtpPacket(data: Buffer, packet: RtpPacket, fields: { ssrc: number; payloadType: number; sequenceNumber: number }): Buffer {
  requireUint(fields.ssrc, 32, 'SSRC');
  requireUint(fields.payloadType, 7, 'payload type');
  requireUint(fields.sequenceNumber, 16, 'sequence number');
  const bodyStart = data.length - packet.payload.length - packet.paddingLength;
  const out = Buffer.allocUnsafe(RTP_FIXED_HEADER_SIZE + data.length - bodyStart);
  out[0] = data[0]! & VERSION_AND_PADDING;
  out[1] = (packet.marker ? MARKER : 0) | fields.payloadType;
  out.writeUInt16BE(fields.sequenceNumber, 2);
  out.writeUInt32BE(packet.timestamp, 4);
  out.writeUInt32BE(fields.ssrc, 8);
  data.copy(out, RTP_FIXED_HEADER_SIZE, bodyStart);
  return out;
}

/** One receiver's view of one forwarded RTP stream: its SSRC, payload type and sequence numbers, and what its sender reports count. */
export class RtpRewriter {
  readonly ssrc: number;
  readonly payloadType: number;
  readonly #firstSequenceNumber: number;
  /** Receiver's sequence number - sender's, mod 2^16; null until the first packet. */
  #offset: number | null = null;
  /** The sender's sequence numbers unwrapped, so "before the start" holds however long the stream runs. */
  readonly #unwrapper = new SequenceNumberUnwrapper();
  /** The sender's (extended) sequence number of the first packet forwarded. */
  #startedAt = 0;
  #packets = 0;
  #octets = 0;

  /** `firstSequenceNumber`: what the receiver's first packet carries (random, RFC 3550 5.1). */
  constructor(ssrc: number, payloadType: number, firstSequenceNumber: number) {
    requireUint(ssrc, 32, 'SSRC');
    requireUint(payloadType, 7, 'payload type');
    requireUint(firstSequenceNumber, 16, 'sequence number');
    this.ssrc = ssrc;
    this.payloadType = payloadType;
    this.#firstSequenceNumber = firstSequenceNumber;
  }

  get started(): boolean { return this.#offset !== null; }
  /** Packets and payload octets forwarded (retransmissions included), for sender reports. */
  get packets(): number { return this.#packets; }
  get octets(): number { return this.#octets; }

  /**
   * The packet for this receiver; the first one fixes the offset. Null for a packet from before
   * the start (a late or retransmitted one the receiver never expected).
   */
  rewrite(data: Buffer, packet: RtpPacket): Buffer | null {
    const sequence = this.#unwrapper.unwrap(packet.sequenceNumber);
    if (this.#offset === null) {
      this.#offset = (this.#firstSequenceNumber - packet.sequenceNumber) & 0xffff;
      this.#startedAt = sequence;
    } else if (sequence < this.#startedAt) {
      return null;
    }
    this.#packets++;
    this.#octets += packet.payload.length;
    return rewriteRtpPacket(data, packet, { ssrc: this.ssrc, payloadType: this.payloadType, sequenceNumber: (packet.sequenceNumber + this.#offset) & 0xffff });
  }

  /** The sender's sequence number of the receiver's `sequenceNumber` (one it NACKed); null before the start or for one before it. */
  toSender(sequenceNumber: number): number | null {
    if (this.#offset === null) return null;
    const sender = (sequenceNumber - this.#offset) & 0xffff;
    // Its extended number: the one nearest the last forwarded.
    const last = this.#unwrapper.last!;
    return last + sequenceNumberDistance(last & 0xffff, sender) < this.#startedAt ? null : sender;
  }
}
