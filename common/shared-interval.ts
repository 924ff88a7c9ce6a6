/**
 * One interval timer for the many objects of a process that each check something periodically
 * (an RTMP connection's deadlines and pings, every second). A timer each would wake the process once
 * per object per period, each at its own phase: 200 players meant 200 wake-ups a second on top of
 * the media's 20, each a context switch and a trip through the event loop. One timer wakes it once
 * and runs every check in that turn.
 */
import { perProcess } from './per-process.ts';

export class SharedInterval {
  readonly periodMs: number;
  readonly #checks = new Set<() => void>();
  #timer: NodeJS.Timeout | null = null;

  constructor(periodMs: number) {
    this.periodMs = periodMs;
  }

  /** Runs `check` once every period from the next beat on, until `delete`. The timer never keeps the process alive. */
  add(check: () => void): void {
    this.#checks.add(check);
    if (this.#timer) return;
    this.#timer = setInterval(() => this.#beat(), this.periodMs);
    this.#timer.unref();
  }

  delete(check: () => void): void {
    this.#checks.delete(check);
    if (this.#checks.size > 0 || !this.#timer) return;
    clearInterval(this.#timer);
    this.#timer = null;
  }

  #beat(): void {
    // A check may delete itself or others (a connection closing); a Set's iteration skips those.
    for (const check of this.#checks) check();
  }
}

/** The process-wide interval of this period. */
export const sharedInterval = perProcess((periodMs: number) => new SharedInterval(periodMs));
