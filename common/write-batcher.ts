/**
 * Merged writes for media fan-out. Each write to a socket is a system call whose cost (on
 * loopback, the receiver's TCP processing too) dominates serving a player, so media for a
 * connection is held for at most one short interval and then written at once. One timer
 * serves every connection of the process. Commands and control messages are never held: the
 * connection flushes its pending media before writing them, so order is kept.
 *
 * Live streams are flushed here too (their batches for players, common/media/media-batch.ts): a
 * stream's flush hands packets to connections, which may schedule themselves in the same pass.
 */

export interface Flushable {
  flush(): void;
}

export class WriteBatcher {
  readonly intervalMs: number;
  readonly #dirty = new Set<Flushable>();
  #timer: NodeJS.Timeout | null = null;
  #flushing = false;

  constructor(intervalMs: number) {
    this.intervalMs = intervalMs;
  }

  /** `target` has pending writes: flush it when the current interval ends. */
  schedule(target: Flushable): void {
    this.#dirty.add(target);
    // Scheduled while flushing all (a stream's batch handed to a player that holds it a packet at a
    // time): flushed in the same pass below, no timer needed.
    if (!this.#flushing) this.#timer ??= setTimeout(() => this.#flushAll(), this.intervalMs);
  }

  /** `target` flushed on its own (or closed): nothing to do for it at the interval's end. */
  cancel(target: Flushable): void {
    this.#dirty.delete(target);
  }

  #flushAll(): void {
    this.#timer = null;
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
      if (this.#dirty.size > 0) this.#timer ??= setTimeout(() => this.#flushAll(), this.intervalMs);
    }
  }
}

const shared = new Map<number, WriteBatcher>();

/** The process-wide batcher for this interval (one timer for all connections that use it). */
export function sharedWriteBatcher(intervalMs: number): WriteBatcher {
  let batcher = shared.get(intervalMs);
  if (!batcher) {
    batcher = new WriteBatcher(intervalMs);
    shared.set(intervalMs, batcher);
  }
  return batcher;
}
