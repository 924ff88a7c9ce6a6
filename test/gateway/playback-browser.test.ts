/**
 * mpegts.js in headless Chromium (Debian's /usr/bin/chromium via playwright-core) plays WS-FLV
 * from an edge: a stream published by ffmpeg through another edge in H.264/AAC, and one in
 * Sorenson Spark + Nellymoser that three pages watch through a single transcoder. Decoded video
 * frames and audio must increase in every page.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { browserClusterPerFile } from '../support/chromium.ts';
import { eventually, publishTestStream } from '../support/processes.ts';
import { waitForMetric, waitForPublished } from '../support/observe.ts';

const fixture = browserClusterPerFile(['edge-a', 'edge-b']);
const edgeA = () => fixture.cluster.edges[0]!;
const edgeB = () => fixture.cluster.edges[1]!;

const PAGE = `<!doctype html><html><body><video id="v" autoplay></video><script src="/vendor/mpegts.js"></script><script>
  window.startPlayer = (url) => {
    const player = mpegts.createPlayer({ type: 'flv', isLive: true, url }, { enableStashBuffer: false, liveBufferLatencyChasing: true });
    player.attachMediaElement(document.getElementById('v'));
    player.on(mpegts.Events.ERROR, (type, detail) => { window.playerError = type + ' ' + detail; });
    player.load();
    document.getElementById('v').play().catch((e) => { window.playError = String(e); });
  };
  window.progress = () => {
    const v = document.getElementById('v');
    return { frames: v.getVideoPlaybackQuality().totalVideoFrames, audioBytes: v.webkitAudioDecodedByteCount ?? 0, time: v.currentTime,
      error: window.playerError ?? window.playError ?? null };
  };
</script></body></html>`;

/** A page on the edge's origin (so /vendor/mpegts.js loads) playing WS-FLV of `stream`. */
async function openPlayer(stream: string): Promise<Page> {
  const base = `http://127.0.0.1:${edgeB().httpPort}`;
  const page = await fixture.browser.newPage();
  page.on('console', (message) => { if (message.type() === 'error' || message.type() === 'warning') console.log(`page ${message.type()}: ${message.text()}`); });
  await page.route(`${base}/player.html`, (route) => route.fulfill({ contentType: 'text/html', body: PAGE }));
  await page.goto(`${base}/player.html`);
  await page.evaluate((url) => (globalThis as unknown as { startPlayer(u: string): void }).startPlayer(url), `ws://127.0.0.1:${edgeB().httpPort}/live/${stream}.flv`);
  return page;
}

type Progress = { frames: number; audioBytes: number; time: number; error: string | null };
const progress = (page: Page) => page.evaluate(() => (globalThis as unknown as { progress(): Progress }).progress());

/** Waits until the page decoded video and audio, then checks both keep increasing. */
async function assertPlays(page: Page, what: string): Promise<Progress> {
  let first: Progress = await progress(page);
  await eventually(async () => { first = await progress(page); return first.frames > 10 && first.audioBytes > 0; }, 20_000, `${what} starts playing`)
    .catch((error: Error) => { throw new Error(`${error.message}: ${JSON.stringify(first)}`); });
  await new Promise((r) => setTimeout(r, 2000));
  const later = await progress(page);
  console.log(`${what}: frames ${first.frames} -> ${later.frames}, audio bytes ${first.audioBytes} -> ${later.audioBytes}, time ${later.time.toFixed(2)}`);
  assert.equal(later.error, null);
  assert.ok(later.frames > first.frames + 20, `${what}: video frames increase`);
  assert.ok(later.audioBytes > first.audioBytes && later.time > first.time + 1, `${what}: audio decoded and time advances`);
  return later;
}

test('mpegts.js in Chromium plays WS-FLV of an H.264/AAC stream published through another edge', async () => {
  publishTestStream(`${edgeA().base}/live/cam`);
  await waitForPublished(fixture.cluster.origin, 'live/cam');
  const page = await openPlayer('live/cam');
  try {
    await assertPlays(page, 'H.264/AAC page');
  } finally {
    await page.close();
  }
});

test('three Chromium pages play a Sorenson Spark + Nellymoser stream through one transcoder', async () => {
  const startedBefore = await edgeB().metric('classroom_edge_transcoders_started_total', { kind: 'flv' });
  publishTestStream(`${edgeA().base}/live/flash`, { flashCodecs: true });
  await waitForPublished(fixture.cluster.origin, 'live/flash');
  const pages = await Promise.all([1, 2, 3].map(() => openPlayer('live/flash')));
  try {
    for (const [i, page] of pages.entries()) await assertPlays(page, `transcoded page ${i + 1}`);
    assert.equal(await edgeB().metric('classroom_edge_transcoders_started_total', { kind: 'flv' }) - startedBefore, 1, 'one transcoder for three pages');
  } finally {
    await Promise.all(pages.map((page) => page.close()));
  }
  // The pages left: the transcoder stops with its last viewer.
  await waitForMetric(edgeB().httpPort, 'classroom_edge_transcoders', (running) => running === 0, { labels: { kind: 'flv' } });
});
