/**
 * Merged writes for media fan-out. Each write to a socket is a system call whose cost (on
 * loopback, the receiver's TCP processing too) dominates serving a player, so media for a
 * connection is held for at most one short interval and then written in one writev. One timer
 * serves every connection of the process. Commands and control messages are never held: the
 * connection flushes its pending media before writing them, so order is kept.
 */

export interface Flushable {
  flush(): void;
}

export class WriteBatcher {
  readonly intervalMs: number;
  readonly #dirty = new Set<Flushable>();
  #timer: NodeJS.Timeout | null = null;

  constructor(intervalMs: number) {
    this.intervalMs = intervalMs;
  }

  /** `target` has pending writes: flush it when the current interval ends. */
  schedule(target: Flushable): void {
    this.#dirty.add(target);
    this.#timer ??= setTimeout(() => this.#flushAll(), this.intervalMs);
  }

  /** `target` flushed on its own (or closed): nothing to do for it at the interval's end. */
  cancel(target: Flushable): void {
    this.#dirty.delete(target);
  }

  #flushAll(): void {
    this.#timer = null;
    const targets = [...this.#dirty];
    this.#dirty.clear();
    for (const target of targets) target.flush();
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
