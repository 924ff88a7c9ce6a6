/**
 * Rate-limited WARN lines for what a client can repeat at will (a refused connection, a bad request):
 * without it one client writes the log as fast as it sends. Lines are grouped by a key (the client's
 * address and the reason); the first `linesPerInterval` of a key in each interval are written, the
 * rest only counted, and once the interval is over one line says how many of that key were suppressed.
 */
import type { LogFields, Logger } from './logger.ts';

export interface LogThrottleOptions {
  /** Lines of one key written per interval; the rest are counted. */
  linesPerInterval: number;
  intervalMs: number;
}

export const defaultLogThrottle: LogThrottleOptions = { linesPerInterval: 5, intervalMs: 10_000 };

interface KeyWindow {
  startedAt: number;
  written: number;
  suppressed: number;
  /** The last suppressed line, repeated in the summary (through its logger) so it says what was suppressed. */
  message: string;
  fields: LogFields;
  log: Logger;
}

export class LogThrottle {
  readonly #log: Logger;
  readonly #options: LogThrottleOptions;
  readonly #windows = new Map<string, KeyWindow>();
  /** Writes the summaries of windows that ended; runs only while some window is open. */
  #timer: NodeJS.Timeout | null = null;

  constructor(log: Logger, options: LogThrottleOptions = defaultLogThrottle) {
    this.#log = log;
    this.#options = options;
  }

  /** Lines of `key` suppressed so far in its current interval. */
  suppressed(key: string): number {
    return this.#windows.get(key)?.suppressed ?? 0;
  }

  /**
   * A WARN line, unless `key` already had its share in this interval. `fields` may be a function,
   * called only when the line is written (for fields that cost something to make); `log` writes it
   * instead of the throttle's own logger (a session's, with its bound fields).
   */
  warn(key: string, message: string, fields: LogFields | (() => LogFields) = {}, log: Logger = this.#log): void {
    const now = Date.now();
    let window = this.#windows.get(key);
    if (window && now - window.startedAt >= this.#options.intervalMs) {
      this.#summarize(key, window);
      window = undefined;
    }
    if (!window) {
      window = { startedAt: now, written: 0, suppressed: 0, message, fields: {}, log };
      this.#windows.set(key, window);
      this.#startTimer();
    }
    if (window.written < this.#options.linesPerInterval) {
      window.written++;
      log.warn(message, typeof fields === 'function' ? fields() : fields);
      return;
    }
    window.suppressed++;
    window.message = message;
    window.fields = typeof fields === 'function' ? {} : fields;
    window.log = log;
  }

  /** Writes what is pending and stops the timer. */
  close(): void {
    for (const [key, window] of this.#windows) this.#summarize(key, window);
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
  }

  #summarize(key: string, window: KeyWindow): void {
    this.#windows.delete(key);
    if (window.suppressed === 0) return;
    window.log.warn(`${window.message} (repeated; lines suppressed)`, { ...window.fields, key, suppressed: window.suppressed, intervalMs: this.#options.intervalMs });
  }

  #startTimer(): void {
    if (this.#timer) return;
    this.#timer = setInterval(() => {
      const now = Date.now();
      for (const [key, window] of this.#windows) if (now - window.startedAt >= this.#options.intervalMs) this.#summarize(key, window);
      if (this.#windows.size === 0 && this.#timer) {
        clearInterval(this.#timer);
        this.#timer = null;
      }
    }, this.#options.intervalMs);
    this.#timer.unref();
  }
}
