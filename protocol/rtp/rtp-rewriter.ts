/**
 * What a selective forwarding unit changes in an RTP packet it passes on to one receiver: the
 * SSRC, payload type and sequence numbers are that receiver's (its own SDP negotiated them), the
 * timestamp, marker, payload and padding stay the sender's bytes. Header extensions and CSRCs are
 * left out: their ids were negotiated with the sender, not with this receiver. Sequence numbers
 * are the sender's shifted by one offset, fixed at the first packet forwarded, so a receiver sees
 * them continuous from its own random start, sees the sender's gaps as gaps (and NACKs them), and
 * a NACKed number maps back to the sender's.
 *
 * Rewriting is in place, without a copy: a packet is taken as its forwarding view (the datagram
 * from its last 12 header bytes on, so payload and padding follow a fixed header's room), and each
 * receiver's header is written over those 12 bytes just before it is sent. The sender's header,
 * CSRCs and extension are lost that way: the parsed RtpPacket keeps every field a rewrite reads.
 */

import { requireUint } from './bounds.ts';
import { RTP_FIXED_HEADER_SIZE, RTP_VERSION, type RtpPacket } from './rtp-packet.ts';
import { sequenceNumberDistance, SequenceNumberUnwrapper } from './wraparound.ts';

const VERSION_BITS = RTP_VERSION << 6;
const PADDING = 0x20;
const MARKER = 0x80;

/**
 * The forwarding view of `data` (the datagram `packet` was parsed from): its last 12 header bytes
 * (all of them when it has no CSRC or extension: then `data` itself), payload and padding. Shares
 * memory with `data`; RtpRewriter.rewriteInPlace overwrites its first 12 bytes.
 */
export function forwardingView(data: Buffer, packet: RtpPacket): Buffer {
  const headerEnd = data.length - packet.payload.length - packet.paddingLength;
  return headerEnd === RTP_FIXED_HEADER_SIZE ? data : data.subarray(headerEnd - RTP_FIXED_HEADER_SIZE);
}

/**
 * Writes an RTP fixed header without CSRCs or extension over `target`'s first 12 bytes: what a
 * forwarder writes over a packet's forwarding view, and what a sender writes before a payload it
 * has already placed at byte 12. Fields are not checked: the caller's come from its own state.
 */
export function writeRtpFixedHeader(target: Buffer, padding: boolean, marker: boolean, payloadType: number, sequenceNumber: number, timestamp: number, ssrc: number): void {
  // Byte by byte: `target` may be any part of a larger buffer, and these are the cheapest writes V8 has.
  target[0] = padding ? VERSION_BITS | PADDING : VERSION_BITS;
  target[1] = marker ? MARKER | payloadType : payloadType;
  target[2] = sequenceNumber >>> 8;
  target[3] = sequenceNumber & 0xff;
  target[4] = timestamp >>> 24;
  target[5] = (timestamp >>> 16) & 0xff;
  target[6] = (timestamp >>> 8) & 0xff;
  target[7] = timestamp & 0xff;
  target[8] = ssrc >>> 24;
  target[9] = (ssrc >>> 16) & 0xff;
  target[10] = (ssrc >>> 8) & 0xff;
  target[11] = ssrc & 0xff;
}

/** One receiver's view of one forwarded RTP stream: its SSRC, payload type and sequence numbers, and what its sender reports count. */
export class RtpRewriter {
  readonly ssrc: number;
  readonly payloadType: number;
  readonly #firstSequenceNumber: number;
  /** Receiver's sequence number - sender's, mod 2^16; -1 until the first packet. */
  #offset = -1;
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

  get started(): boolean { return this.#offset !== -1; }
  /** Packets and payload octets forwarded (retransmissions included), for sender reports. */
  get packets(): number { return this.#packets; }
  get octets(): number { return this.#octets; }

  /**
   * Makes `view` (forwardingView of the packet's datagram) this receiver's packet: writes its
   * header over the view's first 12 bytes; the first packet fixes the offset. False, and nothing
   * written, for a packet from before the start (a late or retransmitted one the receiver never expected).
   */
  rewriteInPlace(view: Buffer, packet: RtpPacket): boolean {
    const sequence = this.#unwrapper.unwrap(packet.sequenceNumber);
    if (this.#offset === -1) {
      this.#offset = (this.#firstSequenceNumber - packet.sequenceNumber) & 0xffff;
      this.#startedAt = sequence;
    } else if (sequence < this.#startedAt) {
      return false;
    }
    this.#packets++;
    this.#octets += packet.payload.length;
    writeRtpFixedHeader(view, packet.paddingLength > 0, packet.marker, this.payloadType, (packet.sequenceNumber + this.#offset) & 0xffff, packet.timestamp, this.ssrc);
    return true;
  }

  /** The sender's sequence number of the receiver's `sequenceNumber` (one it NACKed); null before the start or for one before it. */
  toSender(sequenceNumber: number): number | null {
    if (this.#offset === -1) return null;
    const sender = (sequenceNumber - this.#offset) & 0xffff;
    // Its extended number: the one nearest the last forwarded.
    const last = this.#unwrapper.last!;
    return last + sequenceNumberDistance(last & 0xffff, sender) < this.#startedAt ? null : sender;
  }
}
