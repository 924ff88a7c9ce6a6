/**
 * One timeline (milliseconds from the first packet) for the audio and video RTP streams of one
 * WebRTC publisher, so the RTMP stream it becomes has its tracks in sync from its first packet.
 *
 * By arrival first: each track's RTP timestamps are placed from where the track's least delayed
 * packet puts them (its arrival minus its RTP time; a real-time sender cannot send before it
 * captures, and stalls and bursts only add delay), so a first packet held back (a stalled event
 * loop, a keyframe burst) costs nothing once the next ones come on time (it learns from the
 * packets of a track's first ARRIVAL_LEARNING_MS, then stays). The ingest reports every
 * RTP packet as it arrives (packetArrived) and asks where a frame goes when it is whole (timeOf).
 * Chromium's audio then sits ~10 ms late (an Opus packet leaves after its last sample is captured).
 *
 * Then by the sender's wallclock (the NTP times of its RTCP sender reports), which is what keeps
 * lip sync across tracks: once the sender is trusted and every track has a report, all tracks are
 * placed by their reports at once, with one offset chosen so that the steady track (audio, whose
 * every jump costs a dropped or a missing Opus packet downstream) does not move; the others absorb
 * the correction. Chromium sends a video report about every second (the first after ~0.5 s) but
 * an audio report only every 2.5-7.5 s (the first after ~2.3 s), so each track's first report is
 * used as soon as the sender has proven its wallclock on any track: the sender is trusted once
 * three reports of one track agree with its RTP clock, and never again once two disagree. Some
 * stacks write NTP times that are wrong by up to a second (werift 0.25 writes the decimal digits of
 * the fraction as the binary fraction, so its times are whole seconds): two such reports agree by
 * chance one time in 25, three one time in 600; a sender caught lying goes back to arrival placement.
 *
 * A trusted sender's track may also be re-timed: its RTP clock counts the samples it produced, and
 * a starved sender (Chromium's audio renderer on a loaded machine, a WebAudio source most of all)
 * produces none for a while, so its RTP timestamps fall behind its wallclock by the stall, for good,
 * and its next report says so (158 ms after one 170 ms stall of Chromium, measured). Such a report
 * disagrees with the track's previous one, but its NTP time is as honest as the sender's other
 * reports: it reaches us as long after that time as theirs do (a wrong NTP time, werift's, lands
 * hundreds of ms off). It re-places its track (audio then has a gap where none was produced)
 * instead of distrusting the sender, whose fall-back to arrival placement would leave the track
 * off by the stall for the rest of the stream (audio 140-170 ms early, every pair after it).
 *
 * Times never go backwards within a track. A track keeps its report until a newer one moves it by
 * more than REANCHOR_MS, and its arrival anchor until a packet beats it by as much, so jitter does
 * not shift audio by a millisecond here and there.
 */
import { rtpTimestampToUnixMillis, unixMillisFromNtp, type SenderClockReference } from '#protocol/rtp/ntp-time.ts';
import { timestampDistance } from '#protocol/rtp/wraparound.ts';

interface TrackClock {
  clockRate: number;
  /** The first packet's RTP timestamp: arrival placement counts from it. */
  firstRtp: number;
  /** Where firstRtp sits on the timeline by arrival, from the least delayed packet so far; learnt until learnUntil (timeline ms). */
  arrivalAnchor: number;
  learnUntil: number;
  /** The report the track is placed by (null: by arrival), and the latest one seen (to check the next against). */
  report: SenderClockReference | null;
  latestReport: SenderClockReference | null;
  /** Reports in a row that agreed with the one before them. */
  agreeingReports: number;
  last: number;
}

/** How far (ms) a report may be from where the previous one of its track puts its RTP timestamp and still be believed. */
const REPORT_TOLERANCE_MS = 20;
/** Reports of one track in a row that must agree with the one before them before the sender's wallclock is used. */
const AGREEMENTS_TO_TRUST = 2;
/**
 * Arrival placement learns from a track's packets of this long (ms), then stays: long enough for
 * packets on time after a stall, and a track's anchor moving later on (a rare fast packet, clock
 * drift) would shift it against the others when nothing else moves.
 */
const ARRIVAL_LEARNING_MS = 2000;
/** A placement (a believed report, or a less delayed packet) replaces a track's current one only when it moves the track by more than this (ms). */
const REANCHOR_MS = 5;
/** How many of the latest believed reports' lags (arrival here minus their NTP time) a report that re-times its track is checked against. */
const LAGS_KEPT = 4;

export interface MediaClockOptions {
  /** The publisher's clock (ms); performance.now() by default. */
  now?: () => number;
  /** The track that does not move when the tracks are lined up by the sender's wallclock; default: the first track seen. */
  steadyTrack?: string;
}

export class MediaClock {
  readonly #tracks = new Map<string, TrackClock>();
  readonly #now: () => number;
  readonly #steadyTrack: string | undefined;
  #start: number | null = null;
  /** Timeline = sender wallclock + this, fixed when the tracks are lined up by the sender's reports. */
  #senderOffset: number | null = null;
  /** Reports of one track agreed often enough: the sender's wallclock may be used. */
  #senderTrusted = false;
  /** Two reports of a track disagreed with its RTP clock: the sender's wallclock is not used at all. */
  #senderUntrusted = false;
  /** Arrival (our elapsed ms) minus NTP time (sender ms) of the latest believed reports, any track: transit plus the clocks' offset. */
  readonly #reportLags: number[] = [];

  constructor(options: MediaClockOptions = {}) {
    this.#now = options.now ?? (() => performance.now());
    this.#steadyTrack = options.steadyTrack;
  }

  /** An RTP packet of `track` arrived now (every packet, before any reordering or reassembly): arrival placement learns from it. */
  packetArrived(track: string, clockRate: number, rtpTimestamp: number): void {
    const clock = this.#track(track, clockRate, rtpTimestamp);
    const now = this.#elapsed();
    if (now > clock.learnUntil) return;
    const anchor = now - this.#sinceFirst(clock, rtpTimestamp);
    if (anchor < clock.arrivalAnchor - REANCHOR_MS) clock.arrivalAnchor = anchor;
  }

  /** Where a packet of `track` with this RTP timestamp sits on the timeline, in whole ms. */
  timeOf(track: string, clockRate: number, rtpTimestamp: number): number {
    const clock = this.#track(track, clockRate, rtpTimestamp);
    const time = clock.report && this.#senderOffset !== null
      ? rtpTimestampToUnixMillis(rtpTimestamp, clock.report, clockRate) + this.#senderOffset
      : this.#byArrival(clock, rtpTimestamp);
    clock.last = Math.max(clock.last, Math.round(time));
    return clock.last;
  }

  /** Whether the tracks are placed by the sender's reports (false before they are lined up, and for good once two disagree). */
  get usesSenderClock(): boolean { return this.#senderOffset !== null && !this.#senderUntrusted; }

  /** A sender report for `track` (ignored before its first packet: nothing to anchor it to yet). */
  senderReport(track: string, report: SenderClockReference): void {
    const clock = this.#tracks.get(track);
    if (!clock || this.#senderUntrusted) return;
    const previous = clock.latestReport;
    clock.latestReport = report;
    const reported = unixMillisFromNtp(report.ntpTimestamp);
    const lag = this.#elapsed() - reported;
    if (previous) {
      if (Math.abs(rtpTimestampToUnixMillis(report.rtpTimestamp, previous, clock.clockRate) - reported) <= REPORT_TOLERANCE_MS) {
        if (++clock.agreeingReports >= AGREEMENTS_TO_TRUST) this.#senderTrusted = true;
      } else if (this.#senderTrusted && this.#wallclockHonest(lag)) {
        // The track's RTP clock jumped, not the sender's wallclock (see the top): it is re-placed by
        // this report below (it moves the track by far more than REANCHOR_MS).
        clock.agreeingReports = 0;
      } else {
        this.#senderUntrusted = true;
        this.#senderOffset = null;
        for (const other of this.#tracks.values()) other.report = null;
        return;
      }
    }
    this.#keepLag(lag);
    if (this.#senderOffset === null) this.#lineUp();
    else if (!clock.report || Math.abs(rtpTimestampToUnixMillis(report.rtpTimestamp, clock.report, clock.clockRate) - reported) > REANCHOR_MS) clock.report = report;
  }

  /**
   * Once the sender is trusted and every track has a report: every track is placed by its latest
   * report from now on, the steady track exactly where arrival placement had it.
   */
  #lineUp(): void {
    if (!this.#senderTrusted || [...this.#tracks.values()].some((clock) => !clock.latestReport)) return;
    const steady = (this.#steadyTrack !== undefined ? this.#tracks.get(this.#steadyTrack) : undefined) ?? this.#tracks.values().next().value!;
    const report = steady.latestReport!;
    this.#senderOffset = this.#byArrival(steady, report.rtpTimestamp) - unixMillisFromNtp(report.ntpTimestamp);
    for (const clock of this.#tracks.values()) clock.report = clock.latestReport;
  }

  /**
   * Whether a report's NTP time agrees with when it arrived as the latest believed reports' did: its
   * lag within REPORT_TOLERANCE_MS of their least (the least delayed; a report held up on the way only
   * adds lag, and only recent reports count, which keeps the two clocks' drift out).
   */
  #wallclockHonest(lag: number): boolean {
    return this.#reportLags.length > 0 && Math.abs(lag - Math.min(...this.#reportLags)) <= REPORT_TOLERANCE_MS;
  }

  #keepLag(lag: number): void {
    this.#reportLags.push(lag);
    if (this.#reportLags.length > LAGS_KEPT) this.#reportLags.shift();
  }

  #track(track: string, clockRate: number, rtpTimestamp: number): TrackClock {
    let clock = this.#tracks.get(track);
    if (!clock) {
      const now = this.#elapsed();
      clock = { clockRate, firstRtp: rtpTimestamp, arrivalAnchor: now, learnUntil: now + ARRIVAL_LEARNING_MS, report: null, latestReport: null, agreeingReports: 0, last: 0 };
      this.#tracks.set(track, clock);
    }
    return clock;
  }

  /** Milliseconds since the first packet of any track. */
  #elapsed(): number {
    const now = this.#now();
    this.#start ??= now;
    return now - this.#start;
  }

  #sinceFirst(clock: TrackClock, rtpTimestamp: number): number {
    return (timestampDistance(clock.firstRtp, rtpTimestamp) * 1000) / clock.clockRate;
  }

  #byArrival(clock: TrackClock, rtpTimestamp: number): number {
    return clock.arrivalAnchor + this.#sinceFirst(clock, rtpTimestamp);
  }
}
