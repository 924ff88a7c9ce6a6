/**
 * WebRTC signalled over the edge's WebSocket channel (/ws, `webrtc.publish` / `webrtc.play`), in the
 * room the page joined: a Chromium page publishes camera and microphone (H.264 preferred) to edge A
 * and ffmpeg playing `classroom/ROOM/STREAM` over RTMP through edge B decodes H.264 and AAC; two
 * pages in one room each publish and watch the other (frames decoded and audio energy grow);
 * closing the WebSocket ends its WebRTC sessions (the origin's Load report of edge A drops them);
 * bad messages and a burst of offers get error replies with codes and the socket carries on. The page uses the web
 * client's ClassroomClient. Run by ws-signalling.test.ts inside a loopback-only network namespace.
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Page } from 'playwright-core';
import { browserClusterPerFile } from '../support/chromium.ts';
import { reportedClients, type EdgeProcess } from '../support/cluster.ts';
import { decodeFrames, eventually } from '../support/processes.ts';
import { WHEP_PLAYER_PAGE, whepCounters } from '../support/webrtc-page.ts';
import { ensureWebClientBuilt } from '../support/web-client.ts';

before(ensureWebClientBuilt); // the page imports the built /classroom-client.js
const fixture = browserClusterPerFile(['wsrtc-a', 'wsrtc-b'], { edgeArgs: ['--webrtc-bind', '127.0.0.1', '--keyframe-interval-ms', '1000'] });
const edgeA = () => fixture.cluster.edges[0]!;
const edgeB = () => fixture.cluster.edges[1]!;

/**
 * The WHEP player page (its <video>/<audio> and `counters()` of `window.pc`) plus a ClassroomClient
 * on /ws (PageApi): `publishWs(stream)` (camera and microphone, H.264 preferred) and `playWs(stream)`
 * (into the player, as `window.pc`) resolve with the session id.
 */
const PAGE = `${WHEP_PLAYER_PAGE}<script type="module">
  import { ClassroomClient } from '/classroom-client.js';
  window.openClient = async () => { window.c = await ClassroomClient.open('ws://' + location.host + '/ws'); };
  window.joinRoom = async (room, name) => (await window.c.join(room, name)).code;
  window.call = (method, ...args) => window.c.call(method, ...args);
  window.closeClient = () => window.c.close();
  window.stopWs = (session) => {
    const closed = window.c.waitFor('webrtc.closed', (m) => m.session === session);
    window.c.stopWebRtc(session);
    return closed;
  };
  window.errorReplies = async (messages) => {
    const out = [];
    for (const message of messages) {
      const reply = window.c.waitFor('error');
      window.c.send(message);
      const { code, status, message: text } = await reply;
      out.push({ code, status, message: text });
    }
    return out;
  };
  const offer = async (pc) => {
    await pc.setLocalDescription(await pc.createOffer());
    await new Promise((resolve) => {
      if (pc.iceGatheringState === 'complete') resolve();
      pc.onicegatheringstatechange = () => { if (pc.iceGatheringState === 'complete') resolve(); };
    });
    return pc.localDescription.sdp;
  };
  window.publishWs = async (stream) => {
    const media = await navigator.mediaDevices.getUserMedia({ video: { width: 640, height: 360 }, audio: true });
    const pc = new RTCPeerConnection();
    for (const track of media.getTracks()) {
      const transceiver = pc.addTransceiver(track, { direction: 'sendonly' });
      if (track.kind === 'video') transceiver.setCodecPreferences(RTCRtpSender.getCapabilities('video').codecs.filter((c) => /h264|rtx/i.test(c.mimeType)));
    }
    const { session, sdp } = await window.c.publishWebRtc(stream, await offer(pc));
    await pc.setRemoteDescription({ type: 'answer', sdp });
    return session;
  };
  window.playWs = async (stream) => {
    const pc = new RTCPeerConnection();
    window.pc = pc;
    pc.addTransceiver('video', { direction: 'recvonly' });
    pc.addTransceiver('audio', { direction: 'recvonly' });
    const { session, sdp } = await window.c.playWebRtc(stream, await offer(pc));
    await pc.setRemoteDescription({ type: 'answer', sdp });
    document.getElementById('v').srcObject = new MediaStream(pc.getReceivers().map((r) => r.track));
    document.getElementById('a').srcObject = new MediaStream(pc.getReceivers().filter((r) => r.track.kind === 'audio').map((r) => r.track));
    return session;
  };
</script>`;

interface ErrorReply { code: string; status?: number; message: string }
/** What PAGE defines on window. */
interface PageApi {
  openClient(): Promise<void>;
  joinRoom(room: string, name: string): Promise<string>;
  publishWs(stream: string): Promise<number>;
  playWs(stream: string): Promise<number>;
  call(method: string, ...args: unknown[]): Promise<unknown>;
  closeClient(): void;
  stopWs(session: number): Promise<{ session: number; reason: string }>;
  errorReplies(messages: unknown[]): Promise<ErrorReply[]>;
}

/** Calls `name` of PageApi in the page. */
function invoke<K extends keyof PageApi>(page: Page, name: K, ...args: Parameters<PageApi[K]>): Promise<Awaited<ReturnType<PageApi[K]>>> {
  return page.evaluate(([fn, list]) => (globalThis as unknown as Record<string, (...a: unknown[]) => unknown>)[fn]!(...list), [name, args] as const) as Promise<Awaited<ReturnType<PageApi[K]>>>;
}

/** A page of `edge` with the ClassroomClient open, joined to `room` as `name` unless room is null. */
async function openMember(edge: EdgeProcess, room: string | null, name: string): Promise<Page> {
  const base = `http://127.0.0.1:${edge.httpPort}`;
  const page = await fixture.browser.newPage();
  page.on('pageerror', (error) => console.log(`page error: ${error.message}`));
  await page.route(`${base}/ws-webrtc-test.html`, (route) => route.fulfill({ contentType: 'text/html', body: PAGE }));
  await page.goto(`${base}/ws-webrtc-test.html`);
  await invoke(page, 'openClient');
  if (room !== null) assert.equal(await invoke(page, 'joinRoom', room, name), 'NetConnection.Connect.Success');
  return page;
}

/** ws-webrtc sessions on edge A, as the origin's /api/edges reports them. */
const wsWebRtcSessions = () => reportedClients(fixture.cluster, edgeA().name, 'ws-webrtc');
const publishWs = (page: Page, stream: string) => invoke(page, 'publishWs', stream);
const playWs = (page: Page, stream: string) => invoke(page, 'playWs', stream);

test('a page publishes over WebSocket signalling to edge A; ffmpeg through edge B decodes H.264 and AAC', async () => {
  const page = await openMember(edgeA(), 'wsrtc', 'Ann');
  const session = await publishWs(page, 'anncam');
  assert.ok(Number.isInteger(session) && session > 0, `session ${session}`);
  // The classroom wants a name from every connection: ffmpeg gives one as a connect argument.
  const frames = await decodeFrames(`${edgeB().base}/classroom/wsrtc/anncam`, 3, { inputArgs: ['-rtmp_conn', 'S:Watcher'] });
  assert.ok(frames.video >= 30, `ffmpeg decoded ${frames.video} H.264 frames through edge B: ${frames.stderr}`);
  assert.ok(frames.audio >= 100, `ffmpeg decoded ${frames.audio} AAC frames (Opus transcoded) through edge B: ${frames.stderr}`);
  await eventually(async () => (await wsWebRtcSessions()) === 1, 15_000, 'the origin to count the ws-webrtc session on edge A');
  // webrtc.stop ends it, and the edge says so.
  const closed = await invoke(page, 'stopWs', session);
  assert.match(closed.reason, /webrtc\.stop/);
  await page.close();
});

test('two pages in one room publish over WebSocket signalling and each plays the other: frames decoded and audio energy grow', async () => {
  const [ann, bob] = await Promise.all([openMember(edgeA(), 'duo', 'Ann'), openMember(edgeA(), 'duo', 'Bob')]);
  await Promise.all([publishWs(ann, 'ann'), publishWs(bob, 'bob')]);
  await sleep(1500); // both streams reach the origin
  await Promise.all([playWs(ann, 'bob'), playWs(bob, 'ann')]);
  await sleep(3000);
  const first = await Promise.all([whepCounters(ann), whepCounters(bob)]);
  await sleep(3000);
  const second = await Promise.all([whepCounters(ann), whepCounters(bob)]);
  for (const [who, i] of [['Ann', 0], ['Bob', 1]] as const) {
    const [a, b] = [first[i]!, second[i]!];
    assert.ok(a.framesDecoded >= 20 && b.framesDecoded >= a.framesDecoded + 20, `${who} decodes video: ${JSON.stringify([a, b])}`);
    assert.ok(b.totalAudioEnergy > a.totalAudioEnergy, `${who} hears audio: ${JSON.stringify([a, b])}`);
  }
  await eventually(async () => (await wsWebRtcSessions()) === 4, 15_000, 'two publishers and two players on edge A in the Load report');
  await Promise.all([ann.close(), bob.close()]);
});

test('closing the WebSocket ends its WebRTC sessions: the Load report drops them', async () => {
  const page = await openMember(edgeA(), 'leave', 'Lea');
  await publishWs(page, 'lea');
  await sleep(1000);
  await playWs(page, 'lea');
  await eventually(async () => (await wsWebRtcSessions()) === 2, 15_000, 'two ws-webrtc sessions in the Load report');
  await invoke(page, 'closeClient');
  await eventually(async () => (await wsWebRtcSessions()) === 0, 15_000, 'no ws-webrtc session left in the Load report');
  await page.close();
});

test('bad signalling messages get error replies with codes; the socket carries on and a publish still works', async () => {
  const page = await openMember(edgeA(), null, 'Mal');
  const replies = (messages: unknown[]) => invoke(page, 'errorReplies', messages);
  const [beforeJoin] = await replies([{ type: 'webrtc.play', id: 1, stream: 'x', sdp: 'v=0\r\n' }]);
  assert.equal(beforeJoin!.code, 'not_joined');
  assert.equal(await invoke(page, 'joinRoom', 'hostile', 'Mal'), 'NetConnection.Connect.Success');
  const [missing, garbage, noMedia, huge, badStream, unknown] = await replies([
    { type: 'webrtc.publish', id: 2, stream: 'x' },
    { type: 'webrtc.publish', id: 3, stream: 'x', sdp: 'not sdp at all' },
    { type: 'webrtc.play', id: 4, stream: 'x', sdp: 'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n' },
    { type: 'webrtc.publish', id: 5, stream: 'x', sdp: `v=0\r\n${'a'.repeat(1024 * 1024)}` },
    { type: 'webrtc.publish', id: 6, stream: '../etc', sdp: 'v=0\r\n' },
    { type: 'webrtc.stop', session: 123456 },
  ]);
  assert.equal(missing!.code, 'bad_message', JSON.stringify(missing));
  assert.equal(garbage!.code, 'bad_sdp');
  assert.equal(garbage!.status, 400);
  assert.match(garbage!.message, /^sdp\.not_sdp/);
  assert.equal(noMedia!.code, 'bad_sdp');
  assert.match(noMedia!.message, /^sdp\.no_media/);
  assert.equal(huge!.code, 'too_large', JSON.stringify(huge));
  assert.equal(badStream!.code, 'bad_message');
  assert.equal(unknown!.code, 'unknown_session');
  // The socket is still usable: a call, then a publish.
  assert.equal(await invoke(page, 'call', 'echo', 'still here'), 'still here');
  await publishWs(page, 'after-hostile');
  const frames = await decodeFrames(`${edgeA().base}/classroom/hostile/after-hostile`, 1, { audio: false, inputArgs: ['-rtmp_conn', 'S:Checker'] });
  assert.ok(frames.video >= 10, frames.stderr);
  // Offers are metered apart from other messages (each costs a peer connection): a burst of them is cut short.
  const burst = await replies(Array.from({ length: 20 }, (_, i) => ({ type: 'webrtc.publish', id: 100 + i, stream: 'x', sdp: 'not sdp' })));
  const codes = new Set(burst.map((reply) => reply.code));
  assert.deepEqual([...codes].sort(), ['bad_sdp', 'rate_limited'], JSON.stringify(burst));
  assert.equal(await invoke(page, 'call', 'echo', 'and still here'), 'and still here');
  await page.close();
});
