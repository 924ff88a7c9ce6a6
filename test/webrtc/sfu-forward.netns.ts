/**
 * Forwarding on one edge (SFU): a Chromium page publishes camera and microphone with WHIP to edge
 * A, and Chromium pages play it with WHEP from the same edge A: their video decodes frames and their
 * audio (the publisher's Opus, not transcoded) carries energy, both growing; the edge reports them
 * as forwarded viewers, and the origin counts them as WHEP viewers of edge A (they play there for
 * authorization, asking it for no media: the link carries none back). One viewer leaving does not disturb the other; the publisher leaving ends the
 * forwarded viewers' sessions. With packets lost on purpose both ways (a UDP relay that drops every
 * 20th video packet once), the edge asks the publisher for its lost packets again (NACK) and answers
 * the viewer's NACKs from the packets it keeps, and the viewer keeps playing. Run by
 * sfu-forward.test.ts inside a loopback-only network namespace.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Page } from 'playwright-core';
import { browserClusterPerFile } from '../support/chromium.ts';
import { reportedClients } from '../support/cluster.ts';
import { LossyUdpProxy, OFFER_WITHOUT_CANDIDATES, type LossDirection } from '../support/lossy-udp-proxy.ts';
import { eventually } from '../support/processes.ts';
import { scrapeMetrics } from '../support/prometheus.ts';
import { openWhepPlayer, openWhipPublisher, whepCounters, type WhepCounters } from '../support/webrtc-page.ts';

const fixture = browserClusterPerFile(['sfu-a'], { edgeArgs: ['--webrtc-bind', '127.0.0.1'] });
const edgeA = () => fixture.cluster.edges[0]!;
const base = () => `http://127.0.0.1:${edgeA().httpPort}`;

interface ForwardingStats {
  publishers: number;
  forwardedViewers: number;
  forwardedViewersStarted: number;
  streams: Record<string, { viewers: number; retransmittedToViewers: number; publisherLoss: { missed: number; requested: number; recovered: number; givenUp: number; droppedAccessUnits: number } }>;
}

async function forwarding(): Promise<ForwardingStats> {
  return await (await fetch(`${base()}/webrtc/forwarding/stats`)).json() as ForwardingStats;
}

/** Both counters of each page grew by a second's worth at least between two readings 3 s apart. */
async function assertPlaying(pages: Page[]): Promise<void> {
  const first = await Promise.all(pages.map(whepCounters));
  await sleep(3000);
  const second = await Promise.all(pages.map(whepCounters));
  pages.forEach((_, i) => {
    const [a, b] = [first[i]!, second[i]!] as [WhepCounters, WhepCounters];
    const readings = JSON.stringify([a, b]);
    // The fake camera runs at about 20 fps.
    assert.ok(b.framesDecoded >= a.framesDecoded + 20, `viewer ${i}: video frames decoded ${readings}`);
    assert.ok(b.totalSamplesReceived >= a.totalSamplesReceived + 48000, `viewer ${i}: audio samples ${readings}`);
    assert.ok(b.totalAudioEnergy > a.totalAudioEnergy, `viewer ${i}: audio energy ${readings}`);
  });
}

test('Chromium publishes with WHIP to edge A; two Chromium pages play it with WHEP from edge A, forwarded; one leaving leaves the other playing; the publisher leaving ends them', async () => {
  const publisher = await openWhipPublisher(fixture.browser, base(), `${base()}/whip/live/sfu/cam`);
  assert.match(publisher.location, /^\/whip\/resource\/\d+$/);
  await eventually(async () => (await forwarding()).publishers === 1, 10_000, 'the publisher listed for forwarding');

  const viewers = [await openWhepPlayer(fixture.browser, base(), `${base()}/whep/live/sfu/cam`), await openWhepPlayer(fixture.browser, base(), `${base()}/whep/live/sfu/cam`)];
  for (const viewer of viewers) assert.match(viewer.location, /^\/whep\/resource\/\d+$/, viewer.error);
  await eventually(async () => (await whepCounters(viewers[0]!.page)).framesDecoded > 0 && (await whepCounters(viewers[1]!.page)).framesDecoded > 0, 15_000, 'both viewers to decode a first frame');
  await assertPlaying(viewers.map((v) => v.page));
  // The viewers play at the origin (to be admitted and counted) but ask it for no audio and no
  // video: the link carries none of the stream back to the edge it came from while they watch.
  const linkMediaBytes = async () => (await scrapeMetrics(edgeA().httpPort)).value('classroom_edge_link_media_bytes_received_total');
  const linkBefore = await linkMediaBytes();
  await assertPlaying(viewers.map((v) => v.page));
  assert.equal(await linkMediaBytes() - linkBefore, 0, 'no media of the forwarded stream on the link');
  const stats = await forwarding();
  assert.deepEqual([stats.publishers, stats.forwardedViewers, stats.forwardedViewersStarted], [1, 2, 2]);
  assert.equal(stats.streams['live/sfu/cam']?.viewers, 2);
  // No feed, so no AAC to Opus (or video) transcoder: the viewers get the publisher's Opus as it is.
  const webrtc = await (await fetch(`${base()}/webrtc/stats`)).json() as { feedsStarted: number; audioTranscodersStarted: number; videoTranscodersStarted: number };
  assert.deepEqual([webrtc.feedsStarted, webrtc.audioTranscodersStarted, webrtc.videoTranscodersStarted], [0, 0, 0]);
  await eventually(async () => (await reportedClients(fixture.cluster, edgeA().name, 'whep')) === 2, 10_000, 'the origin to count both WHEP viewers of edge A');

  assert.equal((await fetch(`${base()}${viewers[0]!.location}`, { method: 'DELETE' })).status, 200);
  await eventually(async () => (await forwarding()).forwardedViewers === 1, 10_000, 'the first viewer to leave');
  await assertPlaying([viewers[1]!.page]);

  assert.equal((await fetch(`${base()}${publisher.location}`, { method: 'DELETE' })).status, 200);
  await eventually(async () => {
    const stats = await forwarding();
    return stats.publishers === 0 && stats.forwardedViewers === 0;
  }, 10_000, 'the publisher and its forwarded viewer to be gone');
  await eventually(async () => (await fetch(`${base()}${viewers[1]!.location}`, { method: 'DELETE' })).status === 404, 10_000, 'the forwarded viewer\'s session to end');
  await eventually(async () => (await reportedClients(fixture.cluster, edgeA().name, 'whep')) === 0, 10_000, 'no WHEP viewer left in the Load report');
  for (const page of [publisher.page, ...viewers.map((v) => v.page)]) await page.close();
});

test('packets lost both ways are repaired: the edge NACKs the publisher and answers the viewer\'s NACKs from the packets it keeps', async () => {
  const proxies: LossyUdpProxy[] = [];
  // The page's media goes through a relay that drops every 20th H.264 packet in `direction`, once.
  const lossy = (direction: LossDirection) => async (page: Page) => {
    await page.evaluate(`window.rewriteOffer = ${OFFER_WITHOUT_CANDIDATES.toString()}`);
    await page.exposeFunction('rewriteAnswer', async (answer: string) => {
      const payloadTypes = [...answer.matchAll(/^a=rtpmap:(\d+) H264\/90000/gm)].map((m) => Number(m[1]));
      const proxy = await LossyUdpProxy.start(LossyUdpProxy.edgePortOf(answer), { direction, payloadTypes, dropEvery: 20 });
      proxies.push(proxy);
      return proxy.rewriteAnswer(answer);
    });
  };
  const publisher = await openWhipPublisher(fixture.browser, base(), `${base()}/whip/live/sfu/lossy`, lossy('to-edge'));
  await eventually(async () => (await forwarding()).streams['live/sfu/lossy'] !== undefined, 10_000, 'the publisher listed for forwarding');
  const viewer = await openWhepPlayer(fixture.browser, base(), `${base()}/whep/live/sfu/lossy`, lossy('to-browser'));
  assert.match(viewer.location, /^\/whep\/resource\/\d+$/, viewer.error);
  await eventually(async () => (await whepCounters(viewer.page)).framesDecoded > 0, 15_000, 'the viewer to decode a first frame');
  await assertPlaying([viewer.page]);
  const stats = (await forwarding()).streams['live/sfu/lossy']!;
  const [upstream, downstream] = proxies.map((p) => p.dropped.size);
  console.log(`dropped to the edge ${upstream}, to the viewer ${downstream}; publisher loss ${JSON.stringify(stats.publisherLoss)}; sent again to the viewer ${stats.retransmittedToViewers}`);
  assert.ok(upstream! > 0 && downstream! > 0, `the relays dropped packets: ${upstream}, ${downstream}`);
  assert.ok(stats.publisherLoss.missed > 0 && stats.publisherLoss.requested > 0 && stats.publisherLoss.recovered > 0, `the publisher's lost packets asked for and recovered: ${JSON.stringify(stats.publisherLoss)}`);
  assert.ok(stats.retransmittedToViewers > 0, 'the viewer\'s NACKs answered from the edge');
  for (const location of [viewer.location, publisher.location]) await fetch(`${base()}${location}`, { method: 'DELETE' });
  for (const page of [publisher.page, viewer.page]) await page.close();
  for (const proxy of proxies) proxy.close();
});
