/**
 * Reconnect delays: exponential from `minMs` to `maxMs` with random jitter, so a class of pages that
 * lost the same edge (or the edges that lost the same origin) do not all come back in the same
 * millisecond; reset once a reconnect succeeded. Shared by the browser page and the edge's link.
 */
export interface BackoffOptions {
  minMs?: number;
  maxMs?: number;
  factor?: number;
  /** Fraction of each delay drawn at random (0.2: the delay is 80..100 % of its step). */
  jitter?: number;
  random?: () => number;
}

export class Backoff {
  readonly #minMs: number;
  readonly #maxMs: number;
  readonly #factor: number;
  readonly #jitter: number;
  readonly #random: () => number;
  #attempt = 0;

  constructor(options: BackoffOptions = {}) {
    this.#minMs = options.minMs ?? 500;
    this.#maxMs = options.maxMs ?? 10_000;
    this.#factor = options.factor ?? 2;
    this.#jitter = Math.min(Math.max(options.jitter ?? 0.2, 0), 1);
    this.#random = options.random ?? Math.random;
  }

  /** Attempts made since the last reset. */
  get attempts(): number { return this.#attempt; }

  /** The delay before the next attempt; `capMs` bounds this one step lower than `maxMs` (a failure that is cheap to retry). */
  next(capMs = this.#maxMs): number {
    const step = Math.min(this.#maxMs, capMs, this.#minMs * this.#factor ** this.#attempt);
    this.#attempt++;
    return Math.round(step * (1 - this.#jitter * this.#random()));
  }

  reset(): void { this.#attempt = 0; }
}
