/**
 * A browser that sends VP8 only (Chromium with a fake camera, setCodecPreferences with VP8 alone)
 * publishes with WHIP to edge A: the answer takes its VP8, the edge transcodes it once to H.264, and
 * ffmpeg playing the stream over RTMP through edge B decodes H.264 (constrained baseline) and AAC,
 * whose tracks start together and last as long (the transcoded video keeps the publisher's clock);
 * the origin's Load report counts the publisher on edge A; DELETE ends it and the count goes back.
 * Run by whip-vp8.test.ts inside a loopback-only network namespace.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Page } from 'playwright-core';
import { browserClusterPerFile } from '../support/chromium.ts';
import { reportedClients } from '../support/cluster.ts';
import { waitForVideo } from '../support/observe.ts';
import { decodeFrames, eventually, largestGap, mediaTimeline, playToFile, run, stop, tempDir } from '../support/processes.ts';
import { parseSdp } from '#protocol/sdp/sdp.ts';
import { openWhipPublisher } from '../support/webrtc-page.ts';

const fixture = browserClusterPerFile(['vp8-a', 'vp8-b'], { edgeArgs: ['--webrtc-bind', '127.0.0.1', '--keyframe-interval-ms', '1000'] });
const edgeA = () => fixture.cluster.edges[0]!;
const edgeB = () => fixture.cluster.edges[1]!;

/** The video codecs of an SDP's video section, in order (retransmission formats left out). */
function videoCodecs(sdp: string): string[] {
  return parseSdp(sdp).find((s) => s.kind === 'video')!.formats.map((f) => f.codec).filter((codec) => codec !== 'rtx');
}

/** What the tests read of the page's RTCPeerConnection (window.pc; Node has no DOM types). */
interface PagePeer {
  localDescription: { sdp: string } | null;
  remoteDescription: { sdp: string } | null;
  getStats(): Promise<Map<string, { type: string; kind?: string; codecId?: string; mimeType?: string }>>;
}

/** The mimeType of the video codec the page's peer connection sends (getStats); runs in the page. */
async function sentVideoCodec(): Promise<string | null> {
  const stats = await (globalThis as unknown as { pc: PagePeer }).pc.getStats();
  const outbound = [...stats.values()].find((r) => r.type === 'outbound-rtp' && r.kind === 'video' && r.codecId);
  return outbound ? stats.get(outbound.codecId!)?.mimeType ?? null : null;
}

/** WHIP publishers the origin's Load report counts on `edge`. */
const whipPublishersAtOrigin = (edgeName: string) => reportedClients(fixture.cluster, edgeName, 'whip');

test('Chromium sends VP8 only with WHIP to edge A; ffmpeg through edge B decodes H.264 and AAC; the origin counts the publisher', async () => {
  const base = `http://127.0.0.1:${edgeA().httpPort}`;
  const preferVp8 = (page: Page) => page.evaluate(() => { (globalThis as unknown as { videoCodecPreference: RegExp }).videoCodecPreference = /vp8/i; });
  const { page, location } = await openWhipPublisher(fixture.browser, base, `${base}/whip/live/vp8cam`, preferVp8);
  assert.match(location, /^\/whip\/resource\/\d+$/);
  const { offer, answer } = await page.evaluate(() => {
    const { pc } = globalThis as unknown as { pc: PagePeer };
    return { offer: pc.localDescription!.sdp, answer: pc.remoteDescription!.sdp };
  });
  assert.deepEqual(videoCodecs(offer), ['VP8'], 'the browser offers VP8 only');
  assert.deepEqual(videoCodecs(answer), ['VP8'], "the edge's answer takes VP8");
  await eventually(async () => (await page.evaluate(sentVideoCodec)) === 'video/VP8', 10_000, 'the browser to send VP8');

  // The edge's VP8 to H.264 transcoder takes a moment to start.
  await waitForVideo(fixture.cluster.origin, 'live/vp8cam');
  const frames = await decodeFrames(`${edgeB().base}/live/vp8cam`, 3);
  assert.ok(frames.video >= 30, `ffmpeg decoded ${frames.video} video frames (VP8 transcoded to H.264) through edge B: ${frames.stderr}`);
  assert.ok(frames.audio >= 100, `ffmpeg decoded ${frames.audio} AAC frames (Opus transcoded) through edge B: ${frames.stderr}`);
  const probe = await run('ffprobe', ['-v', 'error', '-rw_timeout', '10000000', '-show_entries', 'stream=codec_name,profile,width,height,sample_rate', '-of', 'csv=p=0', `${edgeB().base}/live/vp8cam`], 30_000);
  assert.match(probe.stdout, /^h264,Constrained Baseline/m, probe.stdout + probe.stderr);
  assert.match(probe.stdout, /^aac,LC,48000/m, probe.stdout + probe.stderr);
  assert.equal(await whipPublishersAtOrigin(edgeA().name), 1, "the origin's Load report counts the WHIP publisher on edge A");

  // Four seconds as an RTMP player saves them: the transcoded video on the audio's clock.
  const file = join(tempDir(), 'vp8cam.flv');
  const player = playToFile(`${edgeB().base}/live/vp8cam`, file);
  await sleep(5000);
  await stop(player, 'SIGINT');
  const timeline = await mediaTimeline(file);
  const video = timeline.video.at(-1)! - timeline.video[0]!;
  const audio = timeline.audio.at(-1)! - timeline.audio[0]!;
  const startOffset = timeline.audio[0]! - timeline.video[0]!;
  console.log(`played through edge B: video ${timeline.video.length} frames over ${video.toFixed(3)} s (largest gap ${largestGap(timeline.video).toFixed(3)} s), audio ${audio.toFixed(3)} s, audio start - video start ${startOffset.toFixed(3)} s; ${probe.stdout.trim().replace(/\n/g, ' | ')}`);
  assert.ok(video > 2 && audio > 2, `video ${video} s, audio ${audio} s`);
  assert.ok(Math.abs(video - audio) < 0.5, `track durations match: video ${video.toFixed(3)} s, audio ${audio.toFixed(3)} s`);
  assert.ok(Math.abs(startOffset) < 0.5, `tracks start together: audio - video = ${startOffset.toFixed(3)} s`);

  assert.equal((await fetch(`${base}${location}`, { method: 'DELETE' })).status, 200);
  await eventually(async () => (await whipPublishersAtOrigin(edgeA().name)) === 0, 10_000, 'the publisher to leave the Load report');
  await page.close();
});
