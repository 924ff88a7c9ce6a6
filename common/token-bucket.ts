/**
 * A token bucket: `ratePerSecond` sustained, `burst` at once. What a browser connection may send
 * (messages, and WebRTC offers, which each cost the edge a peer connection and an ffmpeg) is
 * metered with one each, and so are the new connections of one client address (address-limits.ts).
 */
export class TokenBucket {
  readonly #rate: number;
  readonly #burst: number;
  #tokens: number;
  #refilledAt = performance.now();

  constructor(ratePerSecond: number, burst: number) {
    this.#rate = ratePerSecond;
    this.#burst = burst;
    this.#tokens = burst;
  }

  /** Takes one token if there is one (then true). */
  take(): boolean {
    const now = performance.now();
    this.#tokens = Math.min(this.#burst, this.#tokens + ((now - this.#refilledAt) / 1000) * this.#rate);
    this.#refilledAt = now;
    if (this.#tokens < 1) return false;
    this.#tokens -= 1;
    return true;
  }

  /** Milliseconds until the bucket is full again (0 when it is): how long its state still matters. */
  get msUntilFull(): number {
    const tokens = Math.min(this.#burst, this.#tokens + ((performance.now() - this.#refilledAt) / 1000) * this.#rate);
    return ((this.#burst - tokens) / this.#rate) * 1000;
  }
}
