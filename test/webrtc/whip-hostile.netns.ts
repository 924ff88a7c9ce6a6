/**
 * Hostile SDP on WHIP while publishes run: garbage, 1 MiB, no media, only codecs the edge does not
 * take (PCMU, AV1), 1000 media sections, duplicate mids, absurd payload types, bytes that are not
 * UTF-8, an offer the WebRTC stack itself refuses, the wrong content type. Each gets 400 (or
 * 413/415) with its reason and leaves nothing behind, while an ffmpeg RTMP publish and a Chromium
 * WHIP publish on the same edge go on: ffmpeg and a WHEP viewer on the other edge keep decoding
 * through it, and the origin's Load report still counts both publishers.
 * Run by whip-hostile.test.ts inside a loopback-only network namespace.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { browserClusterPerFile } from '../support/chromium.ts';
import { reportedClients } from '../support/cluster.ts';
import { originApi } from '../support/observe.ts';
import { decodeFrames, eventually, publishTestStream } from '../support/processes.ts';
import { openWhepPlayer, openWhipPublisher, whepCounters } from '../support/webrtc-page.ts';

const fixture = browserClusterPerFile(['hostile-a', 'hostile-b'], { edgeArgs: ['--webrtc-bind', '127.0.0.1', '--keyframe-interval-ms', '1000'] });
const edgeA = () => fixture.cluster.edges[0]!;
const edgeB = () => fixture.cluster.edges[1]!;
const http = (edge: { httpPort: number }) => `http://127.0.0.1:${edge.httpPort}`;

const SESSION = 'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n';
/** What a browser's offer carries for ICE and DTLS, so that only the part under test is wrong. */
const TRANSPORT = `c=IN IP4 0.0.0.0\r\na=ice-ufrag:abcd\r\na=ice-pwd:abcdefghijklmnopqrstuvwx\r\na=fingerprint:sha-256 ${Array(32).fill('AB').join(':')}\r\na=setup:actpass\r\na=rtcp-mux\r\n`;
const section = (kind: string, mid: string, pt: string, rtpmap: string, fmtp = '') =>
  `m=${kind} 9 UDP/TLS/RTP/SAVPF ${pt}\r\na=mid:${mid}\r\na=sendonly\r\n${TRANSPORT}a=rtpmap:${pt} ${rtpmap}\r\n${fmtp ? `a=fmtp:${pt} ${fmtp}\r\n` : ''}`;
const h264 = (mid: string, pt = '96') => section('video', mid, pt, 'H264/90000', 'packetization-mode=1;profile-level-id=42e01f');
const opus = (mid: string) => section('audio', mid, '111', 'opus/48000/2');

/** Each hostile offer, its content type, and the status and reason it must get. */
const HOSTILE: Array<{ what: string; body: string | Buffer; type?: string; expect: RegExp }> = [
  { what: 'garbage', body: 'not sdp at all', expect: /^400 sdp\.not_sdp/ },
  { what: '1 MiB', body: `v=0\r\n${'a=x\r\n'.repeat(210_000)}`, expect: /^413 / },
  { what: 'no media sections', body: SESSION, expect: /^400 sdp\.no_media/ },
  { what: 'only PCMU', body: SESSION + section('audio', '0', '0', 'PCMU/8000'), expect: /^400 sdp\.no_supported_codec.*offered: PCMU/ },
  { what: 'only AV1', body: SESSION + section('video', '0', '45', 'AV1/90000'), expect: /^400 sdp\.no_supported_codec.*offered: AV1/ },
  { what: '1000 media sections', body: SESSION + Array.from({ length: 1000 }, (_, i) => `m=audio 9 RTP/AVP 0\r\na=mid:${i}\r\n`).join(''), expect: /^400 sdp\.too_many_sections/ },
  { what: 'duplicate mids', body: SESSION + h264('0') + opus('0'), expect: /^400 sdp\.duplicate_mid/ },
  { what: 'payload type 300', body: SESSION + h264('0', '300'), expect: /^400 sdp\.bad_payload_type/ },
  { what: 'payload type of 20 digits', body: SESSION + h264('0', '99999999999999999999'), expect: /^400 sdp\.bad_payload_type/ },
  { what: 'not UTF-8', body: Buffer.concat([Buffer.from('v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns='), Buffer.of(0xff, 0xfe, 0xc3, 0x28), Buffer.from(`\r\nt=0 0\r\n${h264('0')}${opus('1')}`)]), expect: /^400 sdp\.not_utf8/ },
  { what: 'no ICE credentials', body: (SESSION + h264('0') + opus('1')).replace(/a=ice-(ufrag|pwd):.*\r\n/g, ''), expect: /^400 sdp\.refused_by_webrtc/ },
  { what: 'wrong content type', body: SESSION + h264('0'), type: 'text/plain', expect: /^415 / },
];

/** Streams the origin has published through `edge`, from its /api/edges. */
async function publishedThrough(edgeName: string): Promise<string[]> {
  const { edges } = await originApi<{ edges: Array<{ name: string; streams: { published: string[] } }> }>(fixture.cluster.origin, '/api/edges');
  return edges.find((e) => e.name === edgeName)?.streams.published ?? [];
}

test('hostile WHIP offers get 400 (or 413/415) with the reason while an RTMP and a WHIP publish go on undisturbed', async () => {
  publishTestStream(`${edgeA().base}/live/rtmpcam`, { baseline: true, seconds: 120 });
  const publisher = await openWhipPublisher(fixture.browser, http(edgeA()), `${http(edgeA())}/whip/live/whipcam`);
  assert.match(publisher.location, /^\/whip\/resource\/\d+$/);
  const viewer = await openWhepPlayer(fixture.browser, http(edgeB()), `${http(edgeB())}/whep/live/whipcam`);
  assert.match(viewer.location, /^\/whep\/resource\/\d+$/, viewer.error);
  await eventually(async () => (await reportedClients(fixture.cluster, edgeA().name, 'whip')) === 1 && (await reportedClients(fixture.cluster, edgeA().name, 'rtmp')) === 1, 15_000, 'both publishers in the Load report');
  await eventually(async () => (await whepCounters(viewer.page)).framesDecoded > 0, 15_000, 'the WHEP viewer to decode');

  // Players decode both streams through edge B for the whole barrage.
  const playing = ['rtmpcam', 'whipcam'].map((stream) => decodeFrames(`${edgeB().base}/live/${stream}`, 8));
  const before = await whepCounters(viewer.page);
  const outcomes: Record<string, string> = {};
  for (let round = 0; round < 3; round++) {
    await Promise.all(HOSTILE.flatMap(({ what, body, type }, i) => ['whipcam', `hostile-${i}`].map(async (stream) => {
      const res = await fetch(`${http(edgeA())}/whip/live/${stream}`, { method: 'POST', headers: { 'content-type': type ?? 'application/sdp' }, body });
      outcomes[`${what} (${stream})`] = `${res.status} ${(await res.text()).trim()}`;
    })));
  }
  for (const [i, { what, expect }] of HOSTILE.entries()) {
    assert.match(outcomes[`${what} (hostile-${i})`]!, expect, what);
    // On the running stream's name an offer that gets as far as the origin is refused there (the name is taken).
    assert.match(outcomes[`${what} (whipcam)`]!, new RegExp(`${expect.source}|^403 .*already being published`), `${what} on the running stream's name`);
  }
  console.log(`hostile WHIP offers: ${JSON.stringify(Object.fromEntries(HOSTILE.map(({ what }, i) => [what, outcomes[`${what} (hostile-${i})`]!.slice(0, 100)])), null, 1)}`);

  const [rtmp, whip] = await Promise.all(playing);
  const after = await whepCounters(viewer.page);
  assert.ok(rtmp!.video >= 8 * 20 && rtmp!.audio >= 8 * 30, `the RTMP publish played on through edge B: ${JSON.stringify(rtmp)}`);
  assert.ok(whip!.video >= 8 * 10 && whip!.audio >= 8 * 30, `the WHIP publish played on through edge B: ${JSON.stringify(whip)}`);
  assert.ok(after.framesDecoded >= before.framesDecoded + 40 && after.totalAudioEnergy > before.totalAudioEnergy, `the WHEP viewer kept decoding: ${JSON.stringify([before, after])}`);
  assert.equal(after.state, 'connected');
  // Nothing the hostile offers started is left: no stray publisher, no stream published in their names.
  await eventually(async () => (await reportedClients(fixture.cluster, edgeA().name, 'whip')) === 1, 10_000, 'one WHIP publisher in the Load report');
  assert.equal(await reportedClients(fixture.cluster, edgeA().name, 'rtmp'), 1, 'the RTMP publisher in the Load report');
  assert.deepEqual((await publishedThrough(edgeA().name)).sort(), ['live/rtmpcam', 'live/whipcam']);
  await viewer.page.close();
  await publisher.page.close();
});
