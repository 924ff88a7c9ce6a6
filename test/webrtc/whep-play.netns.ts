/**
 * ffmpeg publishes H.264 (baseline, no B-frames) and AAC to edge A over RTMP; a Chromium page on
 * edge B plays it with WHEP: its video decodes frames and its audio (Opus, transcoded from AAC)
 * carries energy, both growing, from the start (the GOP cache's keyframe, not the next one); DELETE ends the session (200, then 404). Hostile offers get 400.
 * Run by whep-play.test.ts inside a loopback-only network namespace.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Page } from 'playwright-core';
import { browserClusterPerFile } from '../support/chromium.ts';
import { eventually, publishTestStream } from '../support/processes.ts';
import { SIGNAL_SCRIPT } from '../support/webrtc-page.ts';

const fixture = browserClusterPerFile(['whep-a', 'whep-b'], { edgeArgs: ['--webrtc-bind', '127.0.0.1'] });
const edgeA = () => fixture.cluster.edges[0]!;
const edgeB = () => fixture.cluster.edges[1]!;

/** Plays `url` with WHEP into a muted autoplay <video>; resolves with the Location. `window.counters()` reads getStats. */
const PAGE = `<!doctype html><title>whep</title><video id="v" muted autoplay playsinline></video><audio id="a" autoplay></audio><script>${SIGNAL_SCRIPT}
  window.play = async (url) => {
    const pc = new RTCPeerConnection();
    window.pc = pc;
    pc.addTransceiver('video', { direction: 'recvonly' });
    pc.addTransceiver('audio', { direction: 'recvonly' });
    const location = await window.signal(pc, url);
    document.getElementById('v').srcObject = new MediaStream(pc.getReceivers().map((r) => r.track));
    // The muted video plays no sound, and Chromium measures audio energy on playout: an <audio> plays it.
    document.getElementById('a').srcObject = new MediaStream(pc.getReceivers().filter((r) => r.track.kind === 'audio').map((r) => r.track));
    return location;
  };
  window.counters = async () => {
    const counters = { framesDecoded: 0, totalAudioEnergy: 0, totalSamplesReceived: 0, concealedSamples: 0, state: window.pc.connectionState };
    for (const report of (await window.pc.getStats()).values()) {
      if (report.type !== 'inbound-rtp') continue;
      if (report.kind === 'video') counters.framesDecoded = report.framesDecoded ?? 0;
      if (report.kind === 'audio') { counters.totalAudioEnergy = report.totalAudioEnergy ?? 0; counters.totalSamplesReceived = report.totalSamplesReceived ?? 0; counters.concealedSamples = report.concealedSamples ?? 0; }
    }
    return counters;
  };
</script>`;

type Counters = { framesDecoded: number; totalAudioEnergy: number; totalSamplesReceived: number; concealedSamples: number; state: string };
/** A keyframe every 5 s: the viewer must not wait for the next one. */
const GOP_FRAMES = 150;

const counters = (page: Page) => page.evaluate(() => (globalThis as unknown as { counters(): Promise<Counters> }).counters());

/**
 * Publishes a test stream to edge A and opens a page on edge B that plays `stream` with WHEP:
 * the page, edge B's HTTP base, and the Location or the refusal's message.
 */
async function publishAndPlay(stream: string, publish: Parameters<typeof publishTestStream>[1]): Promise<{ page: Page; base: string; location: string; error: string }> {
  publishTestStream(`${edgeA().base}/live/${stream}`, publish);
  const base = `http://127.0.0.1:${edgeB().httpPort}`;
  const page = await fixture.browser.newPage();
  await page.route(`${base}/whep-test.html`, (route) => route.fulfill({ contentType: 'text/html', body: PAGE }));
  await page.goto(`${base}/whep-test.html`);
  await sleep(1500); // the stream reaches the origin
  const outcome = await page.evaluate((url) => (globalThis as unknown as { play(u: string): Promise<string> }).play(url), `${base}/whep/live/${stream}`)
    .then((location) => ({ location, error: '' }), (error: Error) => ({ location: '', error: error.message }));
  return { page, base, ...outcome };
}

/** WHEP viewers on edge B, as the origin's /api/edges reports them (from the edge's Load reports). */
async function whepViewers(): Promise<number> {
  const { edges } = await (await fetch(`http://127.0.0.1:${fixture.cluster.origin.httpPort}/api/edges`)).json() as { edges: Array<{ name: string; load: { protocols?: Record<string, number> } | null }> };
  return edges.find((e) => e.name === edgeB().name)?.load?.protocols?.whep ?? 0;
}

test('ffmpeg publishes H.264 + AAC to edge A; Chromium plays it with WHEP from edge B (video frames and audio energy grow); DELETE ends it', async () => {
  const { page, base, location, error } = await publishAndPlay('whepcam', { baseline: true, seconds: 60, gop: GOP_FRAMES });
  assert.match(location, /^\/whep\/resource\/\d+$/, error);
  await sleep(3000);
  const first = await counters(page);
  await sleep(3000);
  const second = await counters(page);
  assert.ok(first.framesDecoded >= 30 && second.framesDecoded >= first.framesDecoded + 30, `video frames decoded: ${JSON.stringify([first, second])}`);
  assert.equal(await whepViewers(), 1, 'the origin counts the WHEP viewer on edge B');
  assert.ok(second.totalSamplesReceived >= first.totalSamplesReceived + 48000 * 2, `audio samples received: ${JSON.stringify([first, second])}`);
  assert.ok(second.totalAudioEnergy > first.totalAudioEnergy, `audio energy: ${JSON.stringify([first, second])}`);

  const deleted = await fetch(`${base}${location}`, { method: 'DELETE' });
  assert.equal(deleted.status, 200);
  assert.equal((await fetch(`${base}${location}`, { method: 'DELETE' })).status, 404);
  await eventually(async () => (await whepViewers()) === 0, 10_000, 'the viewer to leave the Load report');
  await page.close();
});

test('a stream in Flash codecs is refused over WHEP with the reason (not yet supported)', async () => {
  // The GOP cache usually reaches the session before the answer: the POST itself is refused; else the session ends after it.
  const { page, base, ...outcome } = await publishAndPlay('flashcam', { flashCodecs: true, seconds: 30 });
  if (outcome.error) assert.match(outcome.error, /: 403: .*cannot be sent over WebRTC \(not yet supported/);
  else await eventually(async () => (await fetch(`${base}${outcome.location}`, { method: 'DELETE' })).status === 404, 10_000, 'the refused session to be gone');
  await eventually(async () => (await whepViewers()) === 0, 10_000, 'no WHEP viewer left in the Load report');
  await page.close();
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
