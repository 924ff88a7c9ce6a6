/**
 * One timeline (milliseconds from the first packet) for the audio and video RTP streams of one
 * WebRTC publisher, so the RTMP stream it becomes has its tracks in sync. Before a track's first
 * RTCP sender report its packets are placed by their RTP timestamps from the moment its first
 * packet arrived; once sender reports come, every track is placed by the sender's own wallclock
 * (the NTP time of its reports), which is what keeps lip sync across tracks, with one offset fixed
 * at the first report so the timeline does not jump. Times never go backwards within a track.
 */
import { rtpTimestampToUnixMillis, type SenderClockReference } from '#protocol/rtp/ntp-time.ts';
import { timestampDistance } from '#protocol/rtp/wraparound.ts';

interface TrackClock {
  clockRate: number;
  /** The first packet's RTP timestamp and where on the timeline it landed. */
  firstRtp: number;
  firstAt: number;
  report: SenderClockReference | null;
  last: number;
}

export class MediaClock {
  readonly #tracks = new Map<string, TrackClock>();
  readonly #now: () => number;
  #start: number | null = null;
  /** Timeline = sender wallclock + this, fixed at the first sender report of any track. */
  #senderOffset: number | null = null;

  constructor(now: () => number = () => performance.now()) {
    this.#now = now;
  }

  /** Where a packet of `track` with this RTP timestamp sits on the timeline, in whole ms. */
  timeOf(track: string, clockRate: number, rtpTimestamp: number): number {
    const now = this.#now();
    this.#start ??= now;
    let clock = this.#tracks.get(track);
    if (!clock) {
      clock = { clockRate, firstRtp: rtpTimestamp, firstAt: now - this.#start, report: null, last: 0 };
      this.#tracks.set(track, clock);
    }
    const time = clock.report && this.#senderOffset !== null
      ? rtpTimestampToUnixMillis(rtpTimestamp, clock.report, clockRate) + this.#senderOffset
      : clock.firstAt + (timestampDistance(clock.firstRtp, rtpTimestamp) * 1000) / clockRate;
    clock.last = Math.max(clock.last, Math.round(time));
    return clock.last;
  }

  /** A sender report for `track` (ignored before its first packet: nothing to anchor it to yet). */
  senderReport(track: string, report: SenderClockReference): void {
    const clock = this.#tracks.get(track);
    if (!clock) return;
    if (this.#senderOffset === null) {
      // Where the report's sample sits on the timeline now, against the sender's wallclock for it.
      const placed = clock.firstAt + (timestampDistance(clock.firstRtp, report.rtpTimestamp) * 1000) / clock.clockRate;
      this.#senderOffset = placed - rtpTimestampToUnixMillis(report.rtpTimestamp, report, clock.clockRate);
    }
    clock.report = report;
  }
}
