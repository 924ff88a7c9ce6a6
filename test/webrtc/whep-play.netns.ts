/**
 * ffmpeg publishes H.264 (baseline, no B-frames) and AAC to edge A over RTMP; a Chromium page on
 * edge B plays it with WHEP: its video decodes frames and its audio (Opus, transcoded from AAC)
 * carries energy, both growing, from the start (the GOP cache's keyframe, not the next one); the
 * video passes through (no video transcoder in edge B's /webrtc/stats); DELETE ends the session
 * (200, then 404). A stream in Flash codecs (Sorenson Spark, Nellymoser) plays too, through one
 * video and one audio transcoder that stop with the viewer. Hostile offers get 400.
 * Run by whep-play.test.ts inside a loopback-only network namespace.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { browserClusterPerFile } from '../support/chromium.ts';
import { eventually, publishTestStream } from '../support/processes.ts';
import { openWhepViewer, playingCounters, webrtcStats, whepViewersAtOrigin, type WhepViewer } from './whep-play.viewer.ts';

const fixture = browserClusterPerFile(['whep-a', 'whep-b'], { edgeArgs: ['--webrtc-bind', '127.0.0.1'] });
const edgeA = () => fixture.cluster.edges[0]!;
const edgeB = () => fixture.cluster.edges[1]!;
const whepViewers = () => whepViewersAtOrigin(fixture.cluster, edgeB());

/** A keyframe every 5 s: the viewer must not wait for the next one. */
const GOP_FRAMES = 150;

/** Publishes a test stream to edge A and opens a page on edge B that plays it with WHEP (a live play waits for its publisher anyway). */
async function publishAndPlay(stream: string, publish: Parameters<typeof publishTestStream>[1]): Promise<WhepViewer> {
  publishTestStream(`${edgeA().base}/live/${stream}`, publish);
  await sleep(1500); // the stream reaches the origin, so the viewer starts at a cached keyframe
  return openWhepViewer(fixture.browser, edgeB(), `live/${stream}`);
}

/** The viewer decodes video frames and its audio carries energy, both growing over two 3-second windows. */
async function assertPlays({ page }: WhepViewer, what: string): Promise<void> {
  const { first, second } = await playingCounters(page);
  console.log(`${what}: frames decoded ${first.framesDecoded} -> ${second.framesDecoded}, audio energy ${first.totalAudioEnergy.toFixed(4)} -> ${second.totalAudioEnergy.toFixed(4)}, concealed samples ${second.concealedSamples}`);
  assert.ok(first.framesDecoded >= 30 && second.framesDecoded >= first.framesDecoded + 30, `video frames decoded: ${JSON.stringify([first, second])}`);
  assert.ok(second.totalSamplesReceived >= first.totalSamplesReceived + 48000 * 2, `audio samples received: ${JSON.stringify([first, second])}`);
  assert.ok(second.totalAudioEnergy > first.totalAudioEnergy, `audio energy: ${JSON.stringify([first, second])}`);
}

/** DELETE ends the session (a second DELETE finds nothing), and the viewer leaves the origin's Load report. */
async function endSession({ page, base, location }: WhepViewer): Promise<void> {
  assert.equal((await fetch(`${base}${location}`, { method: 'DELETE' })).status, 200);
  assert.equal((await fetch(`${base}${location}`, { method: 'DELETE' })).status, 404);
  await eventually(async () => (await whepViewers()) === 0, 10_000, 'the viewer to leave the Load report');
  await page.close();
}

test('ffmpeg publishes H.264 + AAC to edge A; Chromium plays it with WHEP from edge B (video frames and audio energy grow); DELETE ends it', async () => {
  const viewer = await publishAndPlay('whepcam', { baseline: true, seconds: 60, gop: GOP_FRAMES });
  assert.match(viewer.location, /^\/whep\/resource\/\d+$/, viewer.error);
  await assertPlays(viewer, 'H.264/AAC');
  assert.equal(await whepViewers(), 1, 'the origin counts the WHEP viewer on edge B');
  const stats = await webrtcStats(edgeB());
  assert.deepEqual([stats.feeds, stats.feedViewers, stats.videoTranscoders, stats.audioTranscoders], [1, 1, 0, 1], `H.264 without B-frames passes through, AAC becomes Opus: ${JSON.stringify(stats)}`);
  await endSession(viewer);
  await eventually(async () => (await webrtcStats(edgeB())).feeds === 0, 10_000, 'the feed to stop with its viewer');
});

test('a stream in Flash codecs (Sorenson Spark + Nellymoser) plays over WHEP through a video and an audio transcoder, stopped with the viewer', async () => {
  const viewer = await publishAndPlay('flashcam', { flashCodecs: true, seconds: 60 });
  assert.match(viewer.location, /^\/whep\/resource\/\d+$/, viewer.error);
  await assertPlays(viewer, 'Spark/Nellymoser');
  const stats = await webrtcStats(edgeB());
  assert.deepEqual([stats.feeds, stats.videoTranscoders, stats.audioTranscoders], [1, 1, 1], JSON.stringify(stats));
  await endSession(viewer);
  await eventually(async () => {
    const after = await webrtcStats(edgeB());
    return after.feeds === 0 && after.videoTranscoders === 0 && after.audioTranscoders === 0;
  }, 10_000, 'the feed and its transcoders to stop');
});

test('hostile WHEP offers get 400 (or 413/415) with a reason', async () => {
  const url = `http://127.0.0.1:${edgeB().httpPort}/whep/live/whepcam`;
  const post = (body: string, type = 'application/sdp') => fetch(url, { method: 'POST', headers: { 'content-type': type }, body });
  const sendonly = 'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=mid:0\r\na=sendonly\r\na=rtpmap:96 H264/90000\r\na=fmtp:96 packetization-mode=1\r\n';
  const cases: Array<[string, Response]> = [
    ['garbage', await post('not sdp at all')],
    ['no media', await post('v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n')],
    ['send only', await post(sendonly)],
    ['VP8 only', await post(sendonly.replace('sendonly', 'recvonly').replace('H264', 'VP8'))],
    ['1 MiB', await post(`v=0\r\n${'a=x\r\n'.repeat(200_000)}`)],
    ['wrong type', await post('v=0\r\n', 'text/plain')],
  ];
  const statuses = Object.fromEntries(await Promise.all(cases.map(async ([what, res]) => [what, `${res.status} ${(await res.text()).trim()}`])));
  assert.match(statuses.garbage, /^400 sdp\.not_sdp/);
  assert.match(statuses['no media'], /^400 sdp\.no_media/);
  assert.match(statuses['send only'], /^400 sdp\.no_supported_codec/);
  assert.match(statuses['VP8 only'], /^400 sdp\.no_supported_codec.*VP8/);
  assert.match(statuses['1 MiB'], /^413 /);
  assert.match(statuses['wrong type'], /^415 /);
  assert.equal((await fetch(`http://127.0.0.1:${edgeB().httpPort}/whep/live/%2e%2e/etc`, { method: 'POST', headers: { 'content-type': 'application/sdp' }, body: 'v=0' })).status, 400);
});
