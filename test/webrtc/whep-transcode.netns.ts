/**
 * Streams a browser cannot take over WebRTC as published, played with WHEP through one shared
 * transcoder per stream: ffmpeg publishes H.264 high profile with B-frames to edge A, and two
 * Chromium pages on edge B play it; both decode video frames and audio energy, both growing, while
 * edge B's /webrtc/stats shows one feed with one video transcoder (H.264 baseline) and one audio
 * transcoder (Opus) for the two viewers, one of each started. When both DELETE their sessions the
 * feed and its transcoders stop; a viewer coming back starts new ones.
 * Run by whep-transcode.test.ts inside a loopback-only network namespace.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { browserClusterPerFile } from '../support/chromium.ts';
import { eventually, publishTestStream } from '../support/processes.ts';
import { openWhepViewer, playingCounters, webrtcStats, whepViewersAtOrigin } from './whep-play.viewer.ts';

const fixture = browserClusterPerFile(['transcode-a', 'transcode-b'], { edgeArgs: ['--webrtc-bind', '127.0.0.1'] });
const edgeA = () => fixture.cluster.edges[0]!;
const edgeB = () => fixture.cluster.edges[1]!;

test('H.264 with B-frames: two Chromium viewers play it through one video and one audio transcoder, stopped when both leave', async () => {
  publishTestStream(`${edgeA().base}/live/bframes`, { bframes: true, seconds: 90, gop: 60 });
  await sleep(1500);
  const viewers = [await openWhepViewer(fixture.browser, edgeB(), 'live/bframes'), await openWhepViewer(fixture.browser, edgeB(), 'live/bframes')];
  for (const viewer of viewers) assert.match(viewer.location, /^\/whep\/resource\/\d+$/, viewer.error);

  const windows = await Promise.all(viewers.map(({ page }) => playingCounters(page)));
  for (const [i, { first, second }] of windows.entries()) {
    const what = `viewer ${i + 1}: ${JSON.stringify([first, second])}`;
    console.log(`B-frames stream, ${what}`);
    assert.ok(first.framesDecoded >= 15 && second.framesDecoded >= first.framesDecoded + 30, `video frames decoded, ${what}`);
    assert.ok(second.totalSamplesReceived >= first.totalSamplesReceived + 48000 * 2, `audio samples received, ${what}`);
    assert.ok(second.totalAudioEnergy > first.totalAudioEnergy, `audio energy, ${what}`);
  }
  const playing = await webrtcStats(edgeB());
  const shared = { feeds: 1, feedViewers: 2, videoTranscoders: 1, audioTranscoders: 1, feedsStarted: 1, videoTranscodersStarted: 1, audioTranscodersStarted: 1 };
  assert.deepEqual(Object.fromEntries(Object.keys(shared).map((key) => [key, playing[key]])), shared, `one feed and one transcoder of each kind for two viewers: ${JSON.stringify(playing)}`);
  assert.equal(await whepViewersAtOrigin(fixture.cluster, edgeB()), 2, 'the origin counts both viewers');

  // The first viewer leaves: the other plays on from the same transcoders.
  assert.equal((await fetch(`${viewers[0]!.base}${viewers[0]!.location}`, { method: 'DELETE' })).status, 200);
  const { first, second } = await playingCounters(viewers[1]!.page, 2);
  assert.ok(second.framesDecoded >= first.framesDecoded + 20, `the remaining viewer still decodes: ${JSON.stringify([first, second])}`);
  const one = await webrtcStats(edgeB());
  assert.deepEqual([one.feedViewers, one.videoTranscoders, one.audioTranscoders, one.videoTranscodersStarted], [1, 1, 1, 1], JSON.stringify(one));

  assert.equal((await fetch(`${viewers[1]!.base}${viewers[1]!.location}`, { method: 'DELETE' })).status, 200);
  await eventually(async () => {
    const stats = await webrtcStats(edgeB());
    return stats.feeds === 0 && stats.videoTranscoders === 0 && stats.audioTranscoders === 0 && stats.whepSessions === 0;
  }, 10_000, 'the feed and its transcoders to stop with the last viewer');
  await eventually(async () => (await whepViewersAtOrigin(fixture.cluster, edgeB())) === 0, 10_000, 'the viewers to leave the Load report');
  for (const { page } of viewers) await page.close();

  // Another viewer later: a new feed and new transcoders.
  const again = await openWhepViewer(fixture.browser, edgeB(), 'live/bframes');
  assert.match(again.location, /^\/whep\/resource\/\d+$/, again.error);
  const windowsAgain = await playingCounters(again.page, 2);
  assert.ok(windowsAgain.second.framesDecoded > windowsAgain.first.framesDecoded, `the new viewer decodes: ${JSON.stringify(windowsAgain)}`);
  const restarted = await webrtcStats(edgeB());
  assert.deepEqual([restarted.feeds, restarted.feedsStarted, restarted.videoTranscodersStarted, restarted.audioTranscodersStarted], [1, 2, 2, 2], JSON.stringify(restarted));
  assert.equal((await fetch(`${again.base}${again.location}`, { method: 'DELETE' })).status, 200);
  await again.page.close();
});
