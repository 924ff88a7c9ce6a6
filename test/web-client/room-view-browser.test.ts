/**
 * The built page in headless Chromium against a scripted edge (playwright's WebSocket routing; no
 * servers, no network): a stream announced in the roster while the page is just entering the room
 * shows in the grid. The page's grid follows the session's `change` events, and it subscribes to them
 * in an effect, which runs only after the next frame: an announcement that reaches the session
 * between the room's first render and that subscription was heard by nobody, and the grid stayed
 * without the stream's tile (and its player) until something else changed in the room (a CI failure
 * of test/webrtc/classroom-fallback.test.ts: an RTMP publisher's stream never requested over WS-FLV).
 * The page's clock (playwright's fake timers) is held while the announcement comes, so it comes in
 * that window on every run; then the page's frames run and the grid must show the stream, played
 * over WS-FLV (the page has no RTCPeerConnection, as in that test). State is read from the page's
 * API (window.classroom) and its DOM; mpegts.js is a stand-in that records what it was asked to play.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { BrowserContext, Page, WebSocketRoute } from 'playwright-core';
import { launchChromium } from '../support/chromium.ts';
import { eventually, repoRoot, stopAll } from '../support/processes.ts';
import { ensureWebClientBuilt } from '../support/web-client.ts';
import type { ClientMessage, JsonValue, ServerMessage } from '../../protocol/browser/browser-protocol.ts';

// Nothing listens here: every request of the page is answered by a route below, none reaches the network.
const SITE = 'http://127.0.0.1:9';
const ROOM = 'nowebrtc';
const dist = join(repoRoot, 'web-client', 'dist');

/** Stands in for mpegts.js: players that play nothing, and the addresses they were given (window.flvUrls). */
const MPEGTS_STUB = `window.flvUrls = [];
window.mpegts = {
  Events: { ERROR: 'error' },
  createPlayer(source) {
    window.flvUrls.push(source.url);
    return { on() {}, attachMediaElement() {}, load() {}, play() {}, destroy() {} };
  },
};`;

function member(id: string, name: string, role: 'teacher' | 'student', streams: string[]): JsonValue {
  return { id, name, role, hand: false, streams, joinedAt: 1, audioMuted: false, videoMuted: false };
}

let browser: BrowserContext;
before(async () => {
  await ensureWebClientBuilt();
  browser = await launchChromium([]); // no media devices, no WebRTC: the page only renders
});
after(async () => {
  await browser?.close();
  await stopAll();
});

/** Serves the built page and the mpegts.js stand-in; the page's RTCPeerConnection is removed before any of its scripts run. */
async function openPage(): Promise<Page> {
  const page = await browser.newPage();
  page.on('pageerror', (error) => console.log(`page error: ${error.message}`));
  await page.addInitScript(() => {
    const scope = globalThis as unknown as Record<string, unknown>;
    for (const name of ['RTCPeerConnection', 'webkitRTCPeerConnection']) delete scope[name];
  });
  await page.route(`${SITE}/**`, async (route) => {
    const path = new URL(route.request().url()).pathname;
    if (path === '/vendor/mpegts.js') return route.fulfill({ contentType: 'text/javascript', body: MPEGTS_STUB });
    if (path === '/') return route.fulfill({ contentType: 'text/html', body: await readFile(join(dist, 'index.html')) });
    if (path.startsWith('/assets/') && !path.includes('..')) {
      const type = path.endsWith('.js') ? 'text/javascript' : path.endsWith('.css') ? 'text/css' : 'application/octet-stream';
      return route.fulfill({ contentType: type, body: await readFile(join(dist, path)).catch(() => '') });
    }
    return route.fulfill({ status: 404, body: '' });
  });
  return page;
}

/**
 * The edge's side of the page's WebSocket: answers the join, whoami and the four shared objects'
 * use (the roster holds Sam and the teacher, who publishes Ms-Li-cam); other calls (setMediaState)
 * get a result and nothing else, so nothing changes in the room unless the test says so.
 */
async function scriptEdge(page: Page): Promise<{ socket: Promise<WebSocketRoute> }> {
  const roster: Record<string, JsonValue> = { t1: member('t1', 'Ms Li', 'teacher', ['Ms-Li-cam']), s1: member('s1', 'Sam', 'student', []) };
  let connected!: (ws: WebSocketRoute) => void;
  const socket = new Promise<WebSocketRoute>((resolve) => { connected = resolve; });
  await page.routeWebSocket(`${SITE.replace('http', 'ws')}/ws`, (ws) => {
    const send = (message: ServerMessage) => ws.send(JSON.stringify(message));
    send({ type: 'hello', version: 1, maxMessageBytes: 65536, maxSignallingBytes: 135168, messagesPerSecond: 50 });
    ws.onMessage((data) => {
      const m = JSON.parse(String(data)) as ClientMessage;
      if (m.type === 'join') send({ type: 'joined', info: { code: 'NetConnection.Connect.Success' } });
      else if (m.type === 'call') send({ type: 'result', id: m.id, value: m.method === 'whoami' ? roster.s1! : null });
      else if (m.type === 'so.use') send({ type: 'so.sync', name: m.name, version: 1, data: m.name === 'roster' ? roster : {} });
    });
    connected(ws);
  });
  return { socket };
}

const sessionState = (page: Page) => page.evaluate(() => {
  const session = (globalThis as unknown as { classroom?: { state: string; playbacks: Map<string, { transport: string }> } }).classroom;
  return session ? { state: session.state, playing: [...session.playbacks].map(([stream, p]) => `${stream}:${p.transport}`).sort() } : null;
});

/** The grid's tiles as `stream:transport`, read from the DOM at once (polled from here: nothing in the page has to run for it while its clock stands). */
const tilesShown = (page: Page) => page.evaluate(() => [...document.querySelectorAll('.tile[data-stream]')]
  .map((tile) => `${tile.getAttribute('data-stream')}:${tile.getAttribute('data-transport') ?? 'none'}`).sort());

/** The paths the mpegts.js stand-in's players were given, sorted; none before the page has loaded it. */
const flvPathsRequested = (page: Page) => page.evaluate(() => ((globalThis as unknown as { flvUrls?: string[] }).flvUrls ?? [])
  .map((url) => new URL(url).pathname).sort());

test('a stream announced while the page enters the room gets its tile and is played over WS-FLV', async () => {
  const page = await openPage();
  const edge = await scriptEdge(page);
  // The page's timers and animation frames stand still from here until the test runs them.
  await page.clock.install();
  await page.clock.pauseAt(Date.now() + 60_000);
  await page.goto(`${SITE}/?room=${ROOM}&name=Sam`);
  await page.evaluate(() => (document.querySelector('form') as HTMLFormElement).requestSubmit());
  const ws = await edge.socket;

  // In the room: the first render is done (it runs as a microtask), the effects after it wait for a frame.
  await eventually(async () => (await sessionState(page))?.state === 'joined'
    && await page.evaluate(() => document.querySelector('#connection-state')?.getAttribute('data-state')) === 'joined', 10_000, 'Sam to be in the room');
  assert.deepEqual(await tilesShown(page), ['Ms-Li-cam:ws-flv'], 'the first render shows the stream the roster had');

  // Now the RTMP publisher's stream is announced: the session hears it and starts its playback...
  const projector = member('p1', 'Projector', 'student', ['lecture']);
  ws.send(JSON.stringify({ type: 'so.change', name: 'roster', version: 2, changed: { p1: projector }, deleted: [], cleared: false } satisfies ServerMessage));
  await eventually(async () => (await sessionState(page))?.playing.includes('lecture:ws-flv') ?? false, 10_000, 'the session to play lecture');

  // ...and once the page's frames have run, the grid shows it and its player asks the edge for it.
  await page.clock.runFor(1000);
  let shown: string[] = [];
  await eventually(async () => (shown = await tilesShown(page)).includes('lecture:ws-flv'), 5000, () => `the lecture tile over WS-FLV (tiles ${JSON.stringify(shown)})`);
  assert.deepEqual(shown, ['Ms-Li-cam:ws-flv', 'lecture:ws-flv']);
  // The tiles' players load mpegts.js (the stand-in) the first time one plays, after the tiles show: wait for both to be given their address.
  let requested: string[] = [];
  await eventually(async () => (requested = await flvPathsRequested(page)).length >= 2, 10_000, () => `both tiles' players to be given an address (given ${JSON.stringify(requested)})`);
  assert.deepEqual(requested, [`/live/classroom/${ROOM}/Ms-Li-cam.flv`, `/live/classroom/${ROOM}/lecture.flv`]);
  await page.close();
});
