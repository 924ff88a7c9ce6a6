/**
 * Puts the RTP packets of one SSRC back in sequence-number order. UDP may deliver them out
 * of order; a packet that arrives ahead of a gap is held until the gap fills or until
 * `window` later sequence numbers have been seen, after which the missing ones count as lost.
 * The buffer holds at most `window` packets, drops duplicates and packets older than what it
 * has released (the first packet sets the start: one overtaken by it counts as late), and
 * notices a sender that restarted its sequence numbers (RFC 3550 A.1).
 */

import { requireInteger } from './bounds.ts';
import type { RtpPacket } from './rtp-packet.ts';
import { SequenceNumberUnwrapper } from './wraparound.ts';

/** A packet released in order. */
export interface OrderedRtpPacket {
  packet: RtpPacket;
  /** Extended (unwrapped) sequence number. */
  sequence: number;
  /** Sequence numbers skipped right before this packet: lost, or too late to wait for. */
  lostBefore: number;
  /** The sequence restarted here (a jump back of more than MAX_DROPOUT): what came before is unrelated. */
  restarted: boolean;
}

export interface ReorderStats {
  /** Packets dropped because a packet with their sequence number was being held. */
  duplicates: number;
  /** Packets dropped because they were behind what was already released (given up as lost, or released before). */
  late: number;
  /** Sequence numbers given up as lost. */
  lost: number;
}

/** RFC 3550 A.1: a jump back further than this is a restart, not a late packet... */
const MAX_DROPOUT = 3000;
/** ...once two packets in sequence confirm it. */
const MAX_WINDOW = 4096;

export class RtpReorderBuffer {
  readonly #window: number;
  readonly #unwrapper = new SequenceNumberUnwrapper();
  readonly #held = new Map<number, RtpPacket>();
  /** The extended sequence number released next; null before the first packet. */
  #next: number | null = null;
  #lostBeforeNext = 0;
  /** A packet far behind, remembered in case the next one follows it (a restart). */
  #restartCandidate: number | null = null;
  readonly stats: ReorderStats = { duplicates: 0, late: 0, lost: 0 };

  /** `window`: how many sequence numbers past a gap to wait for it; 0 releases every packet at once. */
  constructor(window = 16) {
    requireInteger(window, 0, MAX_WINDOW, 'reorder window');
    this.#window = window;
  }

  /** Packets held, waiting for a gap before them to fill. */
  get held(): number {
    return this.#held.size;
  }

  /** Takes one packet; returns the packets now in order (possibly none, possibly several). */
  push(packet: RtpPacket): OrderedRtpPacket[] {
    const sequence = this.#unwrapper.unwrap(packet.sequenceNumber);
    if (this.#next === null) this.#next = sequence;
    if (sequence < this.#next) return this.#pushOld(packet, sequence);
    this.#restartCandidate = null;
    if (this.#held.has(sequence)) {
      this.stats.duplicates++;
      return [];
    }
    const out: OrderedRtpPacket[] = [];
    // Past the window: stop waiting for what is missing more than `window` numbers back.
    if (sequence - this.#next > this.#window) this.#releaseUpTo(sequence - this.#window, out);
    this.#held.set(sequence, packet);
    this.#releaseConsecutive(out);
    return out;
  }

  /** Releases everything held, counting the gaps as lost (for a caller that stops waiting, e.g. on a timer). */
  flush(): OrderedRtpPacket[] {
    const out: OrderedRtpPacket[] = [];
    if (this.#held.size > 0) this.#releaseUpTo(Math.max(...this.#held.keys()) + 1, out);
    return out;
  }

  #pushOld(packet: RtpPacket, sequence: number): OrderedRtpPacket[] {
    if (this.#next! - sequence <= MAX_DROPOUT) {
      // Behind what was released: a duplicate if it was released, late if it was given up.
      this.stats.late++;
      return [];
    }
    if (this.#restartCandidate === null || sequence !== this.#restartCandidate + 1) {
      this.#restartCandidate = sequence;
      this.stats.late++;
      return [];
    }
    // Two packets in sequence far behind: the sender restarted. Hand out what is held, start over here.
    const out = this.flush();
    this.#restartCandidate = null;
    this.#next = sequence + 1;
    this.#lostBeforeNext = 0;
    out.push({ packet, sequence, lostBefore: 0, restarted: true });
    return out;
  }

  /** Releases held packets below `until` in order, skipping the missing ones, and moves `next` to `until`. */
  #releaseUpTo(until: number, out: OrderedRtpPacket[]): void {
    const below = [...this.#held.keys()].filter((s) => s < until).sort((a, b) => a - b);
    for (const sequence of below) {
      this.#skipTo(sequence);
      this.#release(sequence, out);
    }
    this.#skipTo(until);
  }

  #skipTo(sequence: number): void {
    const skipped = sequence - this.#next!;
    if (skipped <= 0) return;
    this.#lostBeforeNext += skipped;
    this.stats.lost += skipped;
    this.#next = sequence;
  }

  #releaseConsecutive(out: OrderedRtpPacket[]): void {
    while (this.#held.has(this.#next!)) this.#release(this.#next!, out);
  }

  #release(sequence: number, out: OrderedRtpPacket[]): void {
    out.push({ packet: this.#held.get(sequence)!, sequence, lostBefore: this.#lostBeforeNext, restarted: false });
    this.#held.delete(sequence);
    this.#lostBeforeNext = 0;
    this.#next = sequence + 1;
  }
}
