/**
 * A receiver's side of RTCP generic NACK (RFC 4585): notices the sequence numbers missing from
 * one RTP stream as packets arrive, says which to ask for now (at once, then again every
 * `retryIntervalMs`, `maxRetries` times at most), notices the ones that came (retransmitted or
 * just late) and says when the oldest gap has waited longer than `maxWaitMs`, so the caller stops
 * waiting (and, for video, asks for a keyframe instead). A jump of more than `maxGap` numbers is
 * not asked for: the sender restarted, or so much is lost that a keyframe is the cheaper repair.
 * Pure: the caller passes the time.
 */

import { requireInteger } from './bounds.ts';
import { SequenceNumberUnwrapper } from './wraparound.ts';

export interface NackTrackerOptions {
  retryIntervalMs: number;
  maxRetries: number;
  maxWaitMs: number;
  maxGap: number;
}

export interface NackTrackerStats {
  /** Sequence numbers found missing. */
  missed: number;
  /** NACK requests made (a number asked for twice counts twice). */
  requested: number;
  /** Missing numbers that came after all. */
  recovered: number;
  /** Missing numbers given up on. */
  givenUp: number;
}

interface Gap {
  since: number;
  lastRequest: number | null;
  requests: number;
}

export class NackTracker {
  readonly stats: NackTrackerStats = { missed: 0, requested: 0, recovered: 0, givenUp: 0 };
  readonly #options: NackTrackerOptions;
  readonly #unwrapper = new SequenceNumberUnwrapper();
  /** Extended sequence number -> its gap, in increasing order (added in order). */
  readonly #missing = new Map<number, Gap>();
  #highest: number | null = null;

  constructor(options: NackTrackerOptions) {
    requireInteger(options.maxGap, 1, 0x4000, 'NACK max gap');
    requireInteger(options.maxRetries, 1, 100, 'NACK max retries');
    this.#options = options;
  }

  /** Sequence numbers missing now. */
  get missing(): number { return this.#missing.size; }

  /** A packet arrived. */
  receive(sequenceNumber: number, now: number): void {
    const sequence = this.#unwrapper.unwrap(sequenceNumber);
    if (this.#highest === null) {
      this.#highest = sequence;
      return;
    }
    if (sequence <= this.#highest) {
      if (this.#missing.delete(sequence)) this.stats.recovered++;
      return;
    }
    const gap = sequence - this.#highest - 1;
    this.#highest = sequence;
    if (gap === 0) return;
    if (gap > this.#options.maxGap) {
      this.stats.givenUp += gap;
      return;
    }
    this.stats.missed += gap;
    for (let s = sequence - gap; s < sequence; s++) this.#missing.set(s, { since: now, lastRequest: null, requests: 0 });
  }

  /** The sequence numbers to ask for now (each missing one at once, then after every retry interval, up to the retries). */
  due(now: number): number[] {
    const out: number[] = [];
    const { retryIntervalMs, maxRetries } = this.#options;
    for (const [sequence, gap] of this.#missing) {
      if (gap.requests >= maxRetries || (gap.lastRequest !== null && now - gap.lastRequest < retryIntervalMs)) continue;
      gap.requests++;
      gap.lastRequest = now;
      out.push(sequence & 0xffff);
    }
    this.stats.requested += out.length;
    return out;
  }

  /** True when a gap has waited `maxWaitMs`: time to stop waiting (giveUp). */
  expired(now: number): boolean {
    const oldest = this.#missing.values().next().value;
    return oldest !== undefined && now - oldest.since >= this.#options.maxWaitMs;
  }

  /** True while `sequenceNumber` is missing (asked for, or about to be). */
  isMissing(sequenceNumber: number): boolean {
    if (this.#highest === null) return false;
    for (const sequence of this.#missing.keys()) if ((sequence & 0xffff) === sequenceNumber) return true;
    return false;
  }

  /** Stops waiting for every missing number. */
  giveUp(): void {
    this.stats.givenUp += this.#missing.size;
    this.#missing.clear();
  }

  /** When (ms from `now`) something is next due: a retry or the oldest gap's expiry; null with nothing missing. */
  nextDeadline(now: number): number | null {
    let next: number | null = null;
    const consider = (at: number) => { next = next === null ? at : Math.min(next, at); };
    const { retryIntervalMs, maxRetries, maxWaitMs } = this.#options;
    for (const gap of this.#missing.values()) {
      if (gap.requests < maxRetries) consider(gap.lastRequest === null ? now : gap.lastRequest + retryIntervalMs);
      consider(gap.since + maxWaitMs);
    }
    return next === null ? null : Math.max(0, next - now);
  }
}
