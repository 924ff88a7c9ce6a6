/**
 * A browser publishes its camera and microphone with WHIP to one edge (Chromium with a fake
 * camera, H.264 preferred); ffmpeg playing it over RTMP through another edge decodes H.264, and the
 * origin's players see an ordinary stream (H.264 and AAC, nothing else: the browser's Opus track is
 * for WebRTC feeds only), and the room recording has AAC only; DELETE ends it. Hostile offers get 400 and disturb
 * nothing. Run by whip-publish.test.ts inside a loopback-only network namespace.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { browserClusterPerFile } from '../support/chromium.ts';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { decodeFrames, eventually, mediaTimeline, probeStreams } from '../support/processes.ts';
import { AudioFormat } from '#protocol/flv/codecs.ts';
import { FlvReader, FlvTagType } from '#protocol/flv/flv.ts';
import { openWhipPublisher } from '../support/webrtc-page.ts';
import { adminToken, bearer } from '../support/tokens.ts';

const fixture = browserClusterPerFile(['whip-a', 'whip-b'], {
  originArgs: ['--record-rooms', 'always'],
  edgeArgs: ['--webrtc-bind', '127.0.0.1', '--keyframe-interval-ms', '1000'],
});
const browser = () => fixture.browser;
const cluster = () => fixture.cluster;

const edgeA = () => cluster().edges[0]!;
const edgeB = () => cluster().edges[1]!;

/** A page on edge A publishing camera and microphone with WHIP (H.264 preferred) to `path`. */
async function publish(path: string): Promise<{ page: Page; location: string }> {
  const base = `http://127.0.0.1:${edgeA().httpPort}`;
  return openWhipPublisher(browser(), base, `${base}${path}`);
}

test('Chromium publishes with WHIP to edge A; ffmpeg through edge B decodes H.264; DELETE ends the stream', async () => {
  const { page, location } = await publish('/whip/live/whipcam');
  assert.match(location, /^\/whip\/resource\/\d+$/);
  const frames = await decodeFrames(`${edgeB().base}/live/whipcam`, 3);
  assert.ok(frames.video >= 30, `ffmpeg decoded ${frames.video} video frames through edge B: ${frames.stderr}`);
  assert.ok(frames.audio >= 100, `ffmpeg decoded ${frames.audio} AAC frames (Opus transcoded) through edge B: ${frames.stderr}`);
  // Exactly these two: the browser's Opus rides beside the AAC as an Enhanced RTMP track that RTMP players are never sent.
  const streams = await probeStreams(`${edgeB().base}/live/whipcam`);
  assert.deepEqual(streams.sort(), ['aac,48000', 'h264,640,360'], streams.join(' '));
  // The origin sees an ordinary stream too.
  const started = Date.now();
  const direct = await decodeFrames(`rtmp://127.0.0.1:${cluster().origin.port}/live/whipcam`, 1);
  assert.ok(direct.video >= 10 && direct.audio >= 20, `${JSON.stringify(direct)} after ${Date.now() - started} ms`);

  const deleted = await fetch(`http://127.0.0.1:${edgeA().httpPort}${location}`, { method: 'DELETE' });
  assert.equal(deleted.status, 200);
  assert.equal((await fetch(`http://127.0.0.1:${edgeA().httpPort}${location}`, { method: 'DELETE' })).status, 404);
  await page.close();
});

test("the room recording of a browser's publish has H.264 and AAC of matching durations", async () => {
  const { page, location } = await publish('/whip/live/whiproom/cam');
  const frames = await decodeFrames(`${edgeB().base}/live/whiproom/cam`, 4);
  assert.ok(frames.video >= 40 && frames.audio >= 100, frames.stderr);
  assert.equal((await fetch(`http://127.0.0.1:${edgeA().httpPort}${location}`, { method: 'DELETE' })).status, 200);
  await page.close();
  // The origin's API lists the finished file once the publisher is gone.
  type Entry = { path: string; recording: boolean; duration?: number };
  let file: Entry | undefined;
  await eventually(async () => {
    const list = await (await fetch(`http://127.0.0.1:${cluster().origin.httpPort}/api/recordings`, { headers: bearer(await adminToken(cluster().origin.dataDir)) })).json() as { files: Entry[] };
    file = list.files.find((f) => /whiproom\/rec-[^/]+\/cam\.flv$/.test(f.path) && !f.recording);
    return file !== undefined;
  }, 15_000, 'the room recording to finish');
  const path = join(cluster().origin.dataDir, 'recordings', file!.path);
  const audioFormats = new Set(new FlvReader().push(readFileSync(path)).filter((tag) => tag.type === FlvTagType.Audio).map((tag) => tag.data[0]! >> 4));
  assert.deepEqual([...audioFormats], [AudioFormat.Aac], 'the recording has AAC only (the Opus track stays out of files)');
  const timeline = await mediaTimeline(path);
  const video = timeline.video.at(-1)! - timeline.video[0]!;
  const audio = timeline.audio.at(-1)! - timeline.audio[0]!;
  assert.ok(video > 3 && audio > 3, `video ${video} s, audio ${audio} s`);
  assert.ok(Math.abs(video - audio) < 0.5, `track durations match: video ${video.toFixed(3)} s, audio ${audio.toFixed(3)} s`);
  const startOffset = timeline.audio[0]! - timeline.video[0]!;
  assert.ok(Math.abs(startOffset) < 0.5, `tracks start together: audio - video = ${startOffset.toFixed(3)} s`);
  console.log(`recording: video ${video.toFixed(3)} s, audio ${audio.toFixed(3)} s, audio start - video start ${startOffset.toFixed(3)} s, metadata duration ${file!.duration}`);
});

test('hostile offers get 400 (or 413/415) with a reason; a publish still works after them', async () => {
  const url = `http://127.0.0.1:${edgeA().httpPort}/whip/live/hostile`;
  const post = (body: string, type = 'application/sdp') => fetch(url, { method: 'POST', headers: { 'content-type': type }, body });
  const cases: Array<[string, Response]> = [
    ['garbage', await post('not sdp at all')],
    ['no media', await post('v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n')],
    ['VP9 only', await post('v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=mid:0\r\na=sendonly\r\na=rtpmap:96 VP9/90000\r\n')],
    ['1 MiB', await post(`v=0\r\n${'a=x\r\n'.repeat(200_000)}`)],
    ['wrong type', await post('v=0\r\n', 'text/plain')],
  ];
  const statuses = Object.fromEntries(await Promise.all(cases.map(async ([what, res]) => [what, `${res.status} ${(await res.text()).trim()}`])));
  assert.match(statuses.garbage, /^400 sdp\.not_sdp/);
  assert.match(statuses['no media'], /^400 sdp\.no_media/);
  assert.match(statuses['VP9 only'], /^400 sdp\.no_supported_codec.*VP9/);
  assert.match(statuses['1 MiB'], /^413 /);
  assert.match(statuses['wrong type'], /^415 /);
  assert.equal((await fetch(`http://127.0.0.1:${edgeA().httpPort}/whip/live/%2e%2e/etc`, { method: 'POST', headers: { 'content-type': 'application/sdp' }, body: 'v=0' })).status, 400);
  const { page, location } = await publish('/whip/live/after-hostile');
  const frames = await decodeFrames(`${edgeA().base}/live/after-hostile`, 1, { audio: false });
  assert.ok(frames.video >= 10, frames.stderr);
  await fetch(`http://127.0.0.1:${edgeA().httpPort}${location}`, { method: 'DELETE' });
  await page.close();
});
