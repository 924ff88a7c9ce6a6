/**
 * A live stream's bitrate and frame rate for the admin API (common/media/stream-rates.ts): figures
 * over the time since the publish started, then over a window of 5 to 10 s moved on by the reads,
 * started again by a new publish; zeros for a stream nobody publishes. Times are given, not waited.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LiveStream } from '#common/media/live-stream.ts';
import { MediaPacket } from '#common/media/media-packet.ts';
import { StreamRates } from '#common/media/stream-rates.ts';
import { avcVideo } from '../support/synthetic-media.ts';

/** `frames` video frames of `bytes` payload bytes each. */
function push(stream: LiveStream, frames: number, bytes: number): void {
  for (let i = 0; i < frames; i++) stream.push(MediaPacket.fromMessage(avcVideo(i === 0 ? 'key' : 'inter', i * 40, 1, bytes)));
}

test('since the publish, then over the last 5 to 10 s; a new publish starts again', () => {
  const stream = new LiveStream('live/rates', { maxGopBytes: 10_000_000 });
  const rates = new StreamRates();
  assert.deepEqual(rates.read(stream), { bitrate: 0, frameRate: 0, windowMs: 0 }, 'not published');
  const owner = {};
  stream.startPublish(owner);
  const t0 = stream.publishedAt;
  const perFrame = 1000;
  push(stream, 25, perFrame);
  // 25 frames in the first second.
  assert.deepEqual(rates.read(stream, t0 + 1000), { bitrate: Math.round(25 * perFrame * 8), frameRate: 25, windowMs: 1000 });
  push(stream, 100, perFrame); // 125 frames by t0 + 5 s
  assert.deepEqual(rates.read(stream, t0 + 5000), { bitrate: Math.round(125 * perFrame * 8 / 5), frameRate: 25, windowMs: 5000 });
  // A slower second stretch: 50 frames in 5 s. The window now starts at t0 + 5 s.
  push(stream, 50, perFrame);
  assert.deepEqual(rates.read(stream, t0 + 10_000), { bitrate: Math.round(50 * perFrame * 8 / 5), frameRate: 10, windowMs: 5000 });
  // Between samples the window grows from the older one.
  push(stream, 20, perFrame);
  assert.deepEqual(rates.read(stream, t0 + 12_000), { bitrate: Math.round(70 * perFrame * 8 / 7), frameRate: 10, windowMs: 7000 });

  stream.stopPublish(owner);
  assert.deepEqual(rates.read(stream, t0 + 13_000), { bitrate: 0, frameRate: 0, windowMs: 0 }, 'unpublished');
  stream.startPublish(owner);
  push(stream, 10, 1000);
  const rate = rates.read(stream, stream.publishedAt + 1000);
  assert.deepEqual([rate.frameRate, rate.windowMs], [10, 1000], 'a new publish counts from its own start');
});
