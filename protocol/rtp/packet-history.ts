/**
 * The last packets of one RTP stream as they were received, by sequence number, so that a
 * receiver's NACK can be answered from memory instead of asking the sender again (RFC 4585
 * retransmission by an intermediary). Bounded by count: the oldest go first. Also tells a
 * retransmission of a packet already held (a duplicate) from a packet seen for the first time.
 */

import { requireInteger } from './bounds.ts';
import type { RtpPacket } from './rtp-packet.ts';

export interface HistoryEntry {
  /** The packet's bytes as the caller keeps them (a forwarder: its forwarding view, rtp-rewriter.ts). */
  data: Buffer;
  packet: RtpPacket;
}

export class RtpPacketHistory {
  readonly #capacity: number;
  readonly #entries = new Map<number, HistoryEntry>();

  /** `capacity`: how many packets are kept (at most 32768: half the sequence space, so numbers never alias). */
  constructor(capacity: number) {
    requireInteger(capacity, 1, 0x8000, 'history capacity');
    this.#capacity = capacity;
  }

  get size(): number { return this.#entries.size; }

  /** Keeps a packet; false (nothing kept) when one with its sequence number is held already. */
  add(data: Buffer, packet: RtpPacket): boolean {
    if (this.#entries.has(packet.sequenceNumber)) return false;
    this.#entries.set(packet.sequenceNumber, { data, packet });
    // Map iteration follows insertion: the first key is the oldest packet received.
    if (this.#entries.size > this.#capacity) this.#entries.delete(this.#entries.keys().next().value!);
    return true;
  }

  get(sequenceNumber: number): HistoryEntry | undefined {
    return this.#entries.get(sequenceNumber);
  }
}
