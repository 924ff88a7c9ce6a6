/**
 * One timeline (milliseconds from the first packet) for the audio and video RTP streams of one
 * WebRTC publisher, so the RTMP stream it becomes has its tracks in sync. Before a track's first
 * RTCP sender report its packets are placed by their RTP timestamps from the moment its first
 * packet arrived; once sender reports come, every track is placed by the sender's own wallclock
 * (the NTP time of its reports), which is what keeps lip sync across tracks, with one offset fixed
 * at the first report so the timeline does not jump. Times never go backwards within a track.
 * A sender's wallclock is used only once two reports of a track agree with its RTP clock, and never
 * again once two disagree: some stacks write NTP times that are wrong by up to a second (werift
 * 0.25 writes the decimal digits of the fraction as the binary fraction), and trusting those would
 * throw the tracks apart; such a sender keeps the arrival-based placement. A track keeps its
 * report until a newer one moves it by more than REANCHOR_MS, so report jitter does not shift
 * audio by a millisecond here and there (each such shift costs an Opus packet downstream).
 */
import { rtpTimestampToUnixMillis, unixMillisFromNtp, type SenderClockReference } from '#protocol/rtp/ntp-time.ts';
import { timestampDistance } from '#protocol/rtp/wraparound.ts';

interface TrackClock {
  clockRate: number;
  /** The first packet's RTP timestamp and where on the timeline it landed. */
  firstRtp: number;
  firstAt: number;
  /** The report the track is placed by (null: by arrival), and the latest one seen (to check the next against). */
  report: SenderClockReference | null;
  latestReport: SenderClockReference | null;
  last: number;
}

/** How far (ms) a report may be from where the previous one of its track puts its RTP timestamp and still be believed. */
const REPORT_TOLERANCE_MS = 20;
/** A believed report replaces the track's current one only when it moves the mapping by more than this (ms): clock drift, not jitter. */
const REANCHOR_MS = 5;

export class MediaClock {
  readonly #tracks = new Map<string, TrackClock>();
  readonly #now: () => number;
  #start: number | null = null;
  /** Timeline = sender wallclock + this, fixed at the first sender report of any track. */
  #senderOffset: number | null = null;
  /** Two reports of a track disagreed with its RTP clock: the sender's wallclock is not used at all. */
  #senderUntrusted = false;

  constructor(now: () => number = () => performance.now()) {
    this.#now = now;
  }

  /** Where a packet of `track` with this RTP timestamp sits on the timeline, in whole ms. */
  timeOf(track: string, clockRate: number, rtpTimestamp: number): number {
    const now = this.#now();
    this.#start ??= now;
    let clock = this.#tracks.get(track);
    if (!clock) {
      clock = { clockRate, firstRtp: rtpTimestamp, firstAt: now - this.#start, report: null, latestReport: null, last: 0 };
      this.#tracks.set(track, clock);
    }
    const time = clock.report && this.#senderOffset !== null
      ? rtpTimestampToUnixMillis(rtpTimestamp, clock.report, clockRate) + this.#senderOffset
      : clock.firstAt + (timestampDistance(clock.firstRtp, rtpTimestamp) * 1000) / clockRate;
    clock.last = Math.max(clock.last, Math.round(time));
    return clock.last;
  }

  /** Whether the sender's reports are in use (false before two agreeing ones, and for good once two disagree). */
  get usesSenderClock(): boolean { return this.#senderOffset !== null && !this.#senderUntrusted; }

  /** A sender report for `track` (ignored before its first packet: nothing to anchor it to yet). */
  senderReport(track: string, report: SenderClockReference): void {
    const clock = this.#tracks.get(track);
    if (!clock || this.#senderUntrusted) return;
    const previous = clock.latestReport;
    clock.latestReport = report;
    // One report proves nothing: it is believed once the next one agrees with it.
    if (!previous) return;
    const reported = unixMillisFromNtp(report.ntpTimestamp);
    if (Math.abs(rtpTimestampToUnixMillis(report.rtpTimestamp, previous, clock.clockRate) - reported) > REPORT_TOLERANCE_MS) {
      this.#senderUntrusted = true;
      for (const other of this.#tracks.values()) other.report = null;
      return;
    }
    if (this.#senderOffset === null) {
      // Where the report's sample sits on the timeline now, against the sender's wallclock for it.
      const placed = clock.firstAt + (timestampDistance(clock.firstRtp, report.rtpTimestamp) * 1000) / clock.clockRate;
      this.#senderOffset = placed - reported;
    }
    if (!clock.report || Math.abs(rtpTimestampToUnixMillis(report.rtpTimestamp, clock.report, clock.clockRate) - reported) > REANCHOR_MS) clock.report = report;
  }
}
