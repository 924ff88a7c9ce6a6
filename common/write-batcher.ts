/**
 * Merged writes for media fan-out. Each write to a socket is a system call whose cost (on
 * loopback, the receiver's TCP processing too) dominates serving a player, so media for a
 * connection is held for at most one short interval and then written at once. One timer
 * serves every connection of the process. Commands and control messages are never held: the
 * connection flushes its pending media before writing them, so order is kept.
 *
 * Live streams are flushed here too (their batches for players, common/media/media-batch.ts): a
 * stream's flush hands packets to connections, which may schedule themselves in the same pass.
 *
 * Merged reads ride the same timer: a publisher's connection that stops reading after a read
 * (`deferRead`, common/read-switch.ts) is read again when the interval ends (it pulls what waits
 * from its descriptor), and what that read brings is written out in the same turn of the event
 * loop, before the next timer. A packet then waits in the kernel instead of in a batch, at most one
 * interval either way, and the process wakes once per interval instead of once per arriving segment.
 */

import { perProcess } from './per-process.ts';
import { recordTimerLateness } from './metrics/event-loop-lag.ts';

export interface Flushable {
  flush(): void;
}

/** A connection whose reads wait for the interval's end. */
export interface DeferredReader {
  /**
   * The interval ended: read what waits. False when the socket's own reads were started again, so
   * what waits arrives in this turn's poll phase; true otherwise (it was pulled from the descriptor
   * right here, or the connection closed and nothing will come).
   */
  resumeReading(): boolean;
}

export class WriteBatcher {
  readonly intervalMs: number;
  readonly #dirty = new Set<Flushable>();
  readonly #readers = new Set<DeferredReader>();
  #timer: NodeJS.Timeout | null = null;
  /** When the timer was set (performance.now()): how late it fires is the process's event-loop lag (common/metrics/event-loop-lag.ts). */
  #armedAt = 0;
  #flushing = false;

  constructor(intervalMs: number) {
    this.intervalMs = intervalMs;
  }

  /** `target` has pending writes: flush it when the current interval ends. */
  schedule(target: Flushable): void {
    this.#dirty.add(target);
    // Scheduled while flushing all (a stream's batch handed to a player that holds it a packet at a
    // time): flushed in the same pass below, no timer needed.
    if (!this.#flushing) this.#arm();
  }

  /** `target` flushed on its own (or closed): nothing to do for it at the interval's end. */
  cancel(target: Flushable): void {
    this.#dirty.delete(target);
  }

  /** `reader` has stopped reading: resume it when the current interval ends. */
  deferRead(reader: DeferredReader): void {
    this.#readers.add(reader);
    this.#arm();
  }

  /** `reader` closed: not to be resumed. */
  cancelRead(reader: DeferredReader): void {
    this.#readers.delete(reader);
  }

  #arm(): void {
    if (this.#timer) return;
    this.#armedAt = performance.now();
    this.#timer = setTimeout(() => this.#onInterval(), this.intervalMs);
  }

  #onInterval(): void {
    this.#timer = null;
    recordTimerLateness(performance.now() - this.#armedAt - this.intervalMs);
    if (this.#readers.size === 0) {
      this.#flushAll();
      return;
    }
    const readers = [...this.#readers];
    this.#readers.clear();
    let allPulled = true;
    for (const reader of readers) if (!reader.resumeReading()) allPulled = false;
    // A resumed reader pulls what waits right here (common/read-switch.ts): then all goes out now.
    // One whose socket reads again instead gets it in this turn's poll phase; an immediate runs
    // right after that, so what it brings goes out with what was held, in one write per connection.
    // (Flushing now when all pulled saves the process a turn of its loop each interval.)
    if (allPulled) this.#flushAll();
    else setImmediate(() => this.#flushAll());
  }

  #flushAll(): void {
    this.#flushing = true;
    try {
      // Streams flush into connections: what they schedule meanwhile goes out in this pass too.
      while (this.#dirty.size > 0) {
        const targets = [...this.#dirty];
        this.#dirty.clear();
        for (const target of targets) target.flush();
      }
    } finally {
      this.#flushing = false;
      if (this.#dirty.size > 0) this.#arm();
    }
  }
}

/** The process-wide batcher for this interval (one timer for all connections that use it). */
export const sharedWriteBatcher = perProcess((intervalMs: number) => new WriteBatcher(intervalMs));
