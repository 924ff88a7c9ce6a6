/**
 * A token bucket for changes a client makes (shared object changes, sends, clears, classroom
 * writes): `rate` per second with a burst of the same size. It also decides when a refusal is
 * worth reporting (log line and status to the client), at most once per second, so that a change
 * storm is refused without the refusals themselves becoming a storm.
 */
export class RateLimiter {
  readonly rate: number;
  #tokens: number;
  #updatedAt: number;
  #refused = 0;
  #reportedAt = 0;

  constructor(ratePerSecond: number) {
    this.rate = ratePerSecond;
    this.#tokens = ratePerSecond;
    this.#updatedAt = performance.now();
  }

  /** Takes `n` tokens if all are there (then true); takes none otherwise. */
  take(n = 1): boolean {
    const now = performance.now();
    this.#tokens = Math.min(this.rate, this.#tokens + ((now - this.#updatedAt) / 1000) * this.rate);
    this.#updatedAt = now;
    if (n <= this.#tokens) {
      this.#tokens -= n;
      return true;
    }
    this.#refused += n;
    return false;
  }

  /**
   * After a refusal: the number of changes refused since the last report if a report is due
   * (the first refusal, then at most once a second), else null.
   */
  dueReport(): number | null {
    const now = performance.now();
    if (this.#refused === 0 || (this.#reportedAt !== 0 && now - this.#reportedAt < 1000)) return null;
    const refused = this.#refused;
    this.#refused = 0;
    this.#reportedAt = now;
    return refused;
  }
}
