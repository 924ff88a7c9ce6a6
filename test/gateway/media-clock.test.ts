/**
 * MediaClock: one timeline for a WebRTC publisher's audio and video. By arrival first, from each
 * track's least delayed packet in its first two seconds (a held-back first packet costs nothing); then by the sender's
 * wallclock once three reports of a track agree and every track has one, audio staying where it
 * was; a sender whose reports disagree (werift 0.25's NTP fractions) stays placed by arrival; report
 * jitter does not move a track. Times never go backwards within a track.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MediaClock } from '../../gateway/webrtc/media-clock.ts';
import { ntpFromUnixMillis } from '#protocol/rtp/ntp-time.ts';

const WALLCLOCK = Date.UTC(2026, 0, 1);
const VIDEO = 90000;
const AUDIO = 48000;
/** The sender's RTP timestamps at its wallclock 0 (arbitrary, as real senders pick them). */
const VIDEO_BASE = 1_000_000;
const AUDIO_BASE = 4_294_000_000; // wraps soon after

const videoRtp = (ms: number) => (VIDEO_BASE + (ms * VIDEO) / 1000) >>> 0;
const audioRtp = (ms: number) => (AUDIO_BASE + (ms * AUDIO) / 1000) >>> 0;
/** A report of the sample taken at sender time `ms`, its NTP time off by `errorMs`. */
const report = (rtp: number, ms: number, errorMs = 0) => ({ rtpTimestamp: rtp, ntpTimestamp: ntpFromUnixMillis(WALLCLOCK + ms + errorMs) });

/**
 * A publisher whose packets take 10 ms to arrive, audio `audioLateMs` more (encoders, network
 * paths), and `heldMs` more for a packet the caller holds back. Each packet arrives, then is
 * placed, as the ingest does (the clock does not need arrivals in order); every placement is
 * checked never to go backwards in its track.
 */
function publisher(audioLateMs: number) {
  let now = 0;
  /** Audio the sender never produced (a stalled renderer): its RTP clock, counting samples, is this far behind its wallclock. */
  let audioLostMs = 0;
  const clock = new MediaClock({ now: () => now, steadyTrack: 'audio' });
  const last = { video: -1, audio: -1 };
  const place = (track: 'video' | 'audio', rtp: number, arrival: number) => {
    now = arrival;
    clock.packetArrived(track, track === 'video' ? VIDEO : AUDIO, rtp);
    const time = clock.timeOf(track, track === 'video' ? VIDEO : AUDIO, rtp);
    assert.ok(time >= last[track], `${track} went back from ${last[track]} to ${time}`);
    last[track] = time;
    return time;
  };
  return {
    clock,
    video: (ms: number, heldMs = 0) => place('video', videoRtp(ms), ms + 10 + heldMs),
    audio: (ms: number, heldMs = 0) => place('audio', audioRtp(ms - audioLostMs), ms + 10 + audioLateMs + heldMs),
    videoReport: (ms: number, errorMs = 0) => clock.senderReport('video', report(videoRtp(ms), ms, errorMs)),
    audioReport: (ms: number, errorMs = 0) => clock.senderReport('audio', report(audioRtp(ms - audioLostMs), ms, errorMs)),
    /** The sender makes no audio for `ms` (its audio RTP clock stops while its wallclock goes on). */
    stallAudio: (ms: number) => { audioLostMs += ms; },
  };
}

test('before any report, tracks are placed by arrival: audio that arrives 30 ms later sits 30 ms later', () => {
  const p = publisher(30);
  p.video(0);
  p.audio(0);
  assert.equal(p.audio(1000) - p.video(1000), 30);
  assert.equal(p.clock.usesSenderClock, false);
});

test('a first packet held back (a stalled event loop, a keyframe burst) does not offset its track once later packets come on time', () => {
  const interval = { video: 50, audio: 20 };
  for (const held of ['video', 'audio'] as const) {
    const other = held === 'video' ? 'audio' : 'video';
    const p = publisher(0);
    p[other](0);
    // The first packets of one track come 150 ms late, in a burst; the other track goes on in time.
    for (let ms = 0; ms < 150; ms += interval[held]) p[held](ms, 150 - ms);
    for (let ms = interval[other]; ms <= 400; ms += interval[other]) p[other](ms);
    for (let ms = 150; ms <= 400; ms += interval[held]) p[held](ms);
    assert.equal(p.audio(500) - p.video(500), 0, `${held} held back`);
  }
});

test('after its first two seconds a track stays where arrival put it: a packet that comes early later on moves nothing', () => {
  const p = publisher(0);
  for (let ms = 0; ms <= 3000; ms += 100) {
    p.video(ms);
    p.audio(ms);
  }
  p.audio(3020, -40);
  assert.equal(p.audio(3040) - p.video(3040), 0);
});

test('agreeing sender reports line the tracks up, whatever their arrival; audio does not move, video absorbs the correction', () => {
  const p = publisher(80);
  // Chromium's pattern: video reports about every second, the first audio report after ~2.3 s.
  const reports = new Map<number, () => void>([[500, () => p.videoReport(500)], [1500, () => p.videoReport(1500)],
    [2000, () => p.audioReport(2000)], [2500, () => p.videoReport(2500)]]);
  let audioTime = p.audio(0);
  for (let ms = 20; ms <= 5000; ms += 20) {
    reports.get(ms)?.();
    if (ms === 2000) assert.equal(p.clock.usesSenderClock, false, 'two agreeing video intervals are needed before any report is used');
    if (ms === 2500) assert.ok(p.clock.usesSenderClock, 'the sender is trusted and every track has a report');
    const time = p.audio(ms);
    // 20 ms packets stay 20 ms apart all along: nothing dropped downstream, no gap.
    assert.equal(time - audioTime, 20, `audio at ${ms} ms`);
    audioTime = time;
    if (ms % 100 === 0 && ms < 2500) assert.equal(time - p.video(ms), 80, `by arrival at ${ms} ms`);
  }
  for (const ms of [5020, 6000, 7000]) assert.equal(p.audio(ms), p.video(ms), `at ${ms} ms`);
});

test('a sender whose reports disagree with its RTP clock is placed by arrival, for good; two that agree by chance do not trust it', () => {
  const p = publisher(30);
  p.video(0);
  p.audio(0);
  // werift 0.25: its NTP times are the whole seconds, off by the sub-second part; two may agree.
  p.videoReport(1010, -10);
  p.videoReport(2015, -15);
  p.audioReport(2015, -15);
  assert.equal(p.clock.usesSenderClock, false);
  p.videoReport(3400, -400);
  for (const ms of [4000, 5000, 6000]) {
    p.videoReport(ms);
    p.audioReport(ms);
  }
  assert.equal(p.clock.usesSenderClock, false, 'for good');
  const video = p.video(6000);
  assert.equal(p.audio(6000) - video, 30);
  assert.equal(p.video(6040) - video, 40);
});

test('report jitter of a few ms does not move a track: 20 ms packets stay 20 ms apart', () => {
  const p = publisher(0);
  p.video(0);
  p.audio(0);
  let previous = p.audio(20);
  for (let ms = 40; ms < 10_000; ms += 20) {
    if (ms % 1000 === 0) {
      p.audioReport(ms, (ms / 1000) % 2 ? 1.7 : -1.3);
      p.videoReport(ms, (ms / 1000) % 2 ? -0.9 : 2.1);
    }
    const time = p.audio(ms);
    assert.equal(time - previous, 20, `at ${ms} ms`);
    previous = time;
  }
  assert.ok(p.clock.usesSenderClock);
});

/** Chromium's report pattern (video every second, audio every 2.5 s from 2 s) over `from`..`to` ms, with 20 ms packets of both tracks, each report after the packets of its time. */
function play(p: ReturnType<typeof publisher>, from: number, to: number): void {
  for (let ms = from; ms <= to; ms += 20) {
    p.video(ms);
    p.audio(ms);
    if (ms % 1000 === 0 && ms > 0) p.videoReport(ms);
    if (ms >= 2000 && (ms - 2000) % 2500 === 0) p.audioReport(ms);
  }
}

test('a trusted sender whose audio RTP clock falls behind (a stalled renderer made no samples) keeps lip sync: its next audio report re-places the audio, leaving the gap', () => {
  const p = publisher(0);
  play(p, 0, 5000);
  assert.ok(p.clock.usesSenderClock);
  assert.equal(p.audio(5000) - p.video(5000), 0);
  // Chromium starved for 150 ms: no audio samples then, so every later RTP timestamp is 150 ms behind.
  p.stallAudio(150);
  play(p, 5160, 7000);
  assert.ok(p.clock.usesSenderClock, 'the report that says so (its NTP time as honest as the others) does not make the sender untrusted');
  const before = p.audio(7020);
  assert.equal(before - p.video(7020), 0, 'in sync again from the report at 7 s');
  assert.equal(p.audio(7040) - before, 20, 'and on without a further jump');
  play(p, 7060, 12_000);
  assert.equal(p.audio(12_020) - p.video(12_020), 0);
});

test('a trusted sender\'s report whose NTP time is wrong (it arrives 300 ms off the others) still makes the sender untrusted', () => {
  const p = publisher(0);
  play(p, 0, 5000);
  assert.ok(p.clock.usesSenderClock);
  p.videoReport(5000, 300);
  assert.equal(p.clock.usesSenderClock, false);
});
