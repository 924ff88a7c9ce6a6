/**
 * The wallclock of a live stream for RTCP sender reports, one per WebRTC feed and shared by its
 * viewers' tracks: a stream time (ms on the RTMP timeline) is tied to the moment its media reached
 * the edge, so every track's sender report says "this RTP time is now" from the same reading, and a
 * browser lines audio and video up by their media times however long each took to transcode. The
 * clock follows the source as it arrives: media ahead of it (a cached GOP caught up, the clock
 * drifting) moves it forward; media far behind it (republished from zero) starts it again.
 */

/** Media this far behind the clock is a new timeline (a republish), not a late packet. */
const RESTART_BEHIND_MS = 5000;

export class WebRtcFeedClock {
  /** Stream time `#anchorMs` was at wallclock `#anchorWall`; null before the first media. */
  #anchorMs: number | null = null;
  #anchorWall = 0;

  /** Media of stream time `timestampMs` reached the edge at `now`. */
  observe(timestampMs: number, now = Date.now()): void {
    const current = this.streamTimeAt(now);
    if (current === null || timestampMs > current || timestampMs < current - RESTART_BEHIND_MS) {
      this.#anchorMs = timestampMs;
      this.#anchorWall = now;
    }
  }

  /** The source's timeline started again: the next media sets the clock. */
  reset(): void {
    this.#anchorMs = null;
  }

  /** The stream time at wallclock `now` (ms), or null before any media. */
  streamTimeAt(now = Date.now()): number | null {
    return this.#anchorMs === null ? null : this.#anchorMs + (now - this.#anchorWall);
  }
}
