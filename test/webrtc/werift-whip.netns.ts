/**
 * Two WebRTC stacks nobody here wrote: a werift WHIP client (test/peers/werift-whip-publisher.ts,
 * ffmpeg's H.264 + Opus RTP sent through werift) publishes to edge A, and Chromium plays it with
 * WHEP from edge B: its frames decoded and audio energy grow, its audio the publisher's own Opus
 * (no audio transcoder on edge B). ffmpeg playing it over RTMP through
 * edge B decodes H.264 and AAC; the origin counts the publisher in edge A's Load report until DELETE.
 * With flashes and beeps that start together (test/support/av-sync.ts) as its source, the recording
 * through edge B has them in sync.
 * Run by werift-whip.test.ts inside a loopback-only network namespace.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { browserClusterPerFile } from '../support/chromium.ts';
import { reportedClients } from '../support/cluster.ts';
import { waitForVideo } from '../support/observe.ts';
import { decodeFrames, eventually, probeStreams, tempDir } from '../support/processes.ts';
import { assertInSync, formatAvSync, recordAvSync } from '../support/av-sync.ts';
import { openWhepPlayer, whepCounters } from '../support/webrtc-page.ts';
import { WeriftWhipPublisher } from '../peers/werift-whip-publisher.ts';

const fixture = browserClusterPerFile(['werift-a', 'werift-b'], { edgeArgs: ['--webrtc-bind', '127.0.0.1'] });
const edgeA = () => fixture.cluster.edges[0]!;
const edgeB = () => fixture.cluster.edges[1]!;
/** Seconds recorded for the sync measurement, and the most a beep may be off its flash (the goal is 50 ms). */
const RECORD_SECONDS = 15;
const LIMIT_MS = 100;

test('werift publishes H.264 + Opus with WHIP to edge A; Chromium plays it with WHEP from edge B; ffmpeg decodes H.264 and AAC over RTMP', async (t) => {
  const publisher = await WeriftWhipPublisher.publish(`http://127.0.0.1:${edgeA().httpPort}/whip/live/weriftcam`, { seconds: 40 });
  t.after(() => publisher.close());
  assert.match(new URL(publisher.resource).pathname, /^\/whip\/resource\/\d+$/);
  await eventually(() => publisher.connectionState === 'connected', 15_000, 'werift to connect to edge A');
  await eventually(async () => (await reportedClients(fixture.cluster, edgeA().name, 'whip')) === 1, 10_000, 'the origin to count the WHIP publisher');

  const base = `http://127.0.0.1:${edgeB().httpPort}`;
  const { page, location, error } = await openWhepPlayer(fixture.browser, base, `${base}/whep/live/weriftcam`);
  assert.match(location, /^\/whep\/resource\/\d+$/, error);
  await sleep(3000);
  const first = await whepCounters(page);
  await sleep(3000);
  const second = await whepCounters(page);
  assert.ok(first.framesDecoded >= 20 && second.framesDecoded >= first.framesDecoded + 30, `video frames decoded: ${JSON.stringify([first, second])}`);
  assert.ok(second.totalSamplesReceived >= first.totalSamplesReceived + 48000 * 2, `audio samples received: ${JSON.stringify([first, second])}`);
  assert.ok(second.totalAudioEnergy > first.totalAudioEnergy, `audio energy: ${JSON.stringify([first, second])}`);
  // Edge B plays the publisher's own Opus (carried across the link beside the AAC), not AAC transcoded back.
  const webrtc = await (await fetch(`${base}/webrtc/stats`)).json() as Record<string, number>;
  assert.deepEqual([webrtc.opusPassthroughFeeds, webrtc.audioTranscodersStarted], [1, 0], JSON.stringify(webrtc));

  const rtmp = `${edgeB().base}/live/weriftcam`;
  const streams = await probeStreams(rtmp);
  assert.deepEqual(streams.sort(), ['aac,48000', 'h264,640,360'], `ffprobe through edge B: ${streams.join(' ')}`);
  const frames = await decodeFrames(rtmp, 3);
  assert.ok(frames.video >= 30 && frames.audio >= 50, `ffmpeg decoded ${frames.video} H.264 and ${frames.audio} AAC frames through edge B: ${frames.stderr}`);
  assert.equal(publisher.ffmpegErrors, '', 'ffmpeg encoded and sent without errors');

  assert.equal(await publisher.close(), 200, 'WHIP DELETE ends the publish');
  await eventually(async () => (await reportedClients(fixture.cluster, edgeA().name, 'whip')) === 0, 10_000, 'the publisher to leave the Load report');
  await page.close();
});

test('werift publishing flashes and beeps that start together: ffmpeg through edge B gets them in sync (offsets measured)', async (t) => {
  const publisher = await WeriftWhipPublisher.publish(`http://127.0.0.1:${edgeA().httpPort}/whip/live/weriftsync`, { seconds: 40, source: 'flash-beep' });
  t.after(() => publisher.close());
  // werift's ffmpeg makes a keyframe a second and cannot answer the edge's requests for one.
  await waitForVideo(fixture.cluster.origin, 'live/weriftsync');
  const { report } = await recordAvSync(`${edgeB().base}/live/weriftsync`, RECORD_SECONDS, tempDir('cg-werift-sync-'));
  console.log(`lip sync, werift (ffmpeg RTP) -> WHIP edge A -> origin -> edge B -> ffmpeg (RTMP): ${formatAvSync(report)} (goal: within 50 ms)`);
  assertInSync(report, RECORD_SECONDS, LIMIT_MS);
});
