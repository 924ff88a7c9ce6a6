/**
 * MediaClock: one timeline for a WebRTC publisher's audio and video. Sender reports line the tracks
 * up by the sender's wallclock once two of a track agree with its RTP clock; a sender whose reports
 * disagree (werift 0.25's NTP fractions) is placed by arrival; report jitter does not move a track.
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

/** A clock whose packets arrive `audioLateMs` later for audio than for video (different network paths, encoder delays). */
function publisher(audioLateMs: number) {
  let now = 0;
  const clock = new MediaClock(() => now);
  return {
    clock,
    video: (ms: number) => { now = ms + 10; return clock.timeOf('video', VIDEO, videoRtp(ms)); },
    audio: (ms: number) => { now = ms + 10 + audioLateMs; return clock.timeOf('audio', AUDIO, audioRtp(ms)); },
  };
}

test('agreeing sender reports put samples taken together at the same time, whatever their arrival', () => {
  const p = publisher(80);
  p.video(0);
  p.audio(0);
  // Before reports: by arrival, audio sits 80 ms late.
  assert.equal(p.audio(100) - p.video(100), 80);
  for (const ms of [1000, 2000]) {
    p.clock.senderReport('video', report(videoRtp(ms), ms));
    p.clock.senderReport('audio', report(audioRtp(ms), ms));
  }
  assert.ok(p.clock.usesSenderClock);
  // Times never go backwards, so the audio track waits until it catches up with its last placement.
  for (const ms of [3000, 4000, 5000]) assert.equal(p.audio(ms), p.video(ms), `at ${ms} ms`);
});

test('a sender whose reports disagree with its RTP clock is placed by arrival', () => {
  const p = publisher(30);
  p.video(0);
  p.audio(0);
  p.clock.senderReport('video', report(videoRtp(1000), 1000, -400));
  p.clock.senderReport('audio', report(audioRtp(1000), 1000, 0));
  p.clock.senderReport('video', report(videoRtp(2000), 2000, -900));
  assert.equal(p.clock.usesSenderClock, false);
  p.clock.senderReport('audio', report(audioRtp(3000), 3000));
  p.clock.senderReport('audio', report(audioRtp(4000), 4000));
  assert.equal(p.clock.usesSenderClock, false, 'for good');
  const video = p.video(5000);
  assert.equal(p.audio(5000) - video, 30);
  assert.equal(p.video(5040) - video, 40);
});

test('report jitter of a few ms does not move a track: 20 ms packets stay 20 ms apart', () => {
  const p = publisher(0);
  p.video(0);
  p.audio(0);
  let previous = p.audio(20);
  for (let ms = 40; ms < 10_000; ms += 20) {
    if (ms % 1000 === 0) {
      p.clock.senderReport('audio', report(audioRtp(ms), ms, (ms / 1000) % 2 ? 1.7 : -1.3));
      p.clock.senderReport('video', report(videoRtp(ms), ms, (ms / 1000) % 2 ? -0.9 : 2.1));
    }
    const time = p.audio(ms);
    if (ms > 3000) assert.equal(time - previous, 20, `at ${ms} ms`);
    previous = time;
  }
  assert.ok(p.clock.usesSenderClock);
});
