/**
 * Bitrate and frame rate of live streams for a dashboard (the origin's admin API), from the
 * counters a LiveStream keeps anyway (payload bytes in, video frames): computed when asked, with no
 * timer and no work per packet. Each stream keeps two samples taken at least WINDOW_MS apart; a
 * figure covers the time from the older one to now: the last 5 to 10 s when polled at least every
 * 5 s, since the previous poll otherwise, and since the publish started for a stream younger than
 * the window. `windowMs` says which.
 */
import type { LiveStream } from './live-stream.ts';

const WINDOW_MS = 5000;

interface Sample {
  at: number;
  bytes: number;
  frames: number;
}

interface Window {
  /** The publish the samples belong to: a new publish of the stream starts its counters again. */
  publishedAt: number;
  older: Sample;
  newer: Sample;
}

export interface StreamRate {
  /** Bits per second of the publisher's audio, video and data payloads. */
  bitrate: number;
  /** Video frames per second, to a tenth. */
  frameRate: number;
  /** The time the figures cover, ms (0: the stream has just started). */
  windowMs: number;
}

export class StreamRates {
  readonly #windows = new WeakMap<LiveStream, Window>();

  /** The stream's rates now; zeros for a stream that is not published. */
  read(stream: LiveStream, now = Date.now()): StreamRate {
    if (!stream.isPublished) return { bitrate: 0, frameRate: 0, windowMs: 0 };
    const current: Sample = { at: now, bytes: stream.bytesIn, frames: stream.videoFrames };
    let window = this.#windows.get(stream);
    // A new publish (counters start again; two publishes may begin in the same millisecond): a new window.
    if (!window || window.publishedAt !== stream.publishedAt || current.bytes < window.newer.bytes) {
      const start: Sample = { at: stream.publishedAt, bytes: 0, frames: 0 };
      window = { publishedAt: stream.publishedAt, older: start, newer: start };
      this.#windows.set(stream, window);
    }
    if (now - window.newer.at >= WINDOW_MS) {
      window.older = window.newer;
      window.newer = current;
    }
    const windowMs = now - window.older.at;
    if (windowMs <= 0) return { bitrate: 0, frameRate: 0, windowMs: 0 };
    return {
      bitrate: Math.round(((current.bytes - window.older.bytes) * 8000) / windowMs),
      frameRate: Math.round(((current.frames - window.older.frames) * 10_000) / windowMs) / 10,
      windowMs,
    };
  }
}
