/**
 * Merged writes for media fan-out. Each write to a socket is a system call whose cost (on
 * loopback, the receiver's TCP processing too) dominates serving a player, so media for a
 * connection is held for at most one short interval and then written in one writev. One timer
 * serves every connection of the process. Commands and control messages are never held: the
 * connection flushes its pending media before writing them, so order is kept.
 *
 * The players of one stream are flushed together and hold the same packets (encoded once), so the
 * first of them joins its packets into one buffer and the others reuse it: each player's flush is
 * one write of one buffer, with no per-player copy, cork or writev (that JavaScript was half of
 * the fan-out's CPU, beside the system call).
 */

export interface Flushable {
  flush(): void;
}

export class WriteBatcher {
  readonly intervalMs: number;
  readonly #dirty = new Set<Flushable>();
  #timer: NodeJS.Timeout | null = null;
  /** While flushing all: buffers joined so far, by their first part. */
  #joined: Map<Buffer, { parts: Buffer[]; joined: Buffer }[]> | null = null;

  constructor(intervalMs: number) {
    this.intervalMs = intervalMs;
  }

  /** `target` has pending writes: flush it when the current interval ends. */
  schedule(target: Flushable): void {
    this.#dirty.add(target);
    // Scheduled while flushing all (a stream's batch handed to a player that holds it a packet at a
    // time): flushed in the same pass below, no timer needed.
    if (!this.#joined) this.#timer ??= setTimeout(() => this.#flushAll(), this.intervalMs);
  }

  /** `target` flushed on its own (or closed): nothing to do for it at the interval's end. */
  cancel(target: Flushable): void {
    this.#dirty.delete(target);
  }

  /**
   * `parts` as one buffer: while flushing all, the same buffer for every target holding the same
   * parts (the same Buffer objects, in the same order); otherwise a copy of its own.
   */
  join(parts: Buffer[]): Buffer {
    if (!this.#joined) return Buffer.concat(parts);
    const first = parts[0]!;
    let candidates = this.#joined.get(first);
    if (candidates) {
      for (const candidate of candidates) if (sameParts(candidate.parts, parts)) return candidate.joined;
    } else {
      candidates = [];
      this.#joined.set(first, candidates);
    }
    const joined = Buffer.concat(parts);
    candidates.push({ parts, joined });
    return joined;
  }

  #flushAll(): void {
    this.#timer = null;
    this.#joined = new Map();
    try {
      // Streams flush into connections: what they schedule meanwhile goes out in this pass too.
      while (this.#dirty.size > 0) {
        const targets = [...this.#dirty];
        this.#dirty.clear();
        for (const target of targets) target.flush();
      }
    } finally {
      this.#joined = null;
      if (this.#dirty.size > 0) this.#timer ??= setTimeout(() => this.#flushAll(), this.intervalMs);
    }
  }
}

function sameParts(a: Buffer[], b: Buffer[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
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
