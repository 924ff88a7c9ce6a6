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
 * The sockets' direct writes of a pass are made together at its end, in one native call where the
 * addon is built (common/direct-write.ts).
 *
 * The timer is armed by the first write held after a flush, so a packet waits at most one interval
 * and a stream that goes quiet costs no wake-ups. Reading is never held back: a publisher's socket
 * is read as data arrives. (Holding reads too, to wake once an interval, stalls a publisher whose
 * TCP uses Nagle's algorithm, ffmpeg's default: unread data is not acknowledged, so its next small
 * segments wait for the delayed ACK or the next read, which added up to 90 ms to such a stream.)
 */

import { perProcess } from './per-process.ts';
import { recordTimerLateness } from './metrics/event-loop-lag.ts';
import { directWritePass } from './direct-write.ts';

export interface Flushable {
  flush(): void;
}

export class WriteBatcher {
  readonly intervalMs: number;
  readonly #dirty = new Set<Flushable>();
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

  #arm(): void {
    if (this.#timer) return;
    this.#armedAt = performance.now();
    this.#timer = setTimeout(() => this.#onInterval(), this.intervalMs);
  }

  #onInterval(): void {
    this.#timer = null;
    recordTimerLateness(performance.now() - this.#armedAt - this.intervalMs);
    this.#flushAll();
  }

  #flushAll(): void {
    this.#flushing = true;
    try {
      // One pass: the sockets' direct writes go out together at its end (common/direct-write.ts).
      directWritePass.run(() => {
        // Streams flush into connections: what they schedule meanwhile goes out in this pass too.
        while (this.#dirty.size > 0) {
          const targets = [...this.#dirty];
          this.#dirty.clear();
          for (const target of targets) target.flush();
        }
      });
    } finally {
      this.#flushing = false;
      if (this.#dirty.size > 0) this.#arm();
    }
  }
}

/** The process-wide batcher for this interval (one timer for all connections that use it). */
export const sharedWriteBatcher = perProcess((intervalMs: number) => new WriteBatcher(intervalMs));
