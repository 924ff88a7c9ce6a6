/**
 * The browser classroom where WebRTC cannot be had, end to end in headless Chromium: a teacher joins
 * from a link and publishes the fake camera and microphone over WebRTC, an ffmpeg RTMP publisher with
 * its own token publishes into the room, and a student opens a page whose RTCPeerConnection was
 * removed before load (playwright addInitScript). The student's lobby and room say the browser can
 * watch and listen but not publish, the join works, and both tiles play over WS-FLV with mpegts.js
 * (the tiles' `data-transport`, the page's counters: decoded video frames and audio bytes keep
 * increasing; the edge counts two FLV viewers). The teacher's page is unaffected: its publication
 * stays connected and it plays the RTMP publisher over WebRTC with frames increasing. State is read
 * from the page's API (window.classroom, window.classroomPage) and its DOM. Run by
 * classroom-fallback.test.ts inside a loopback-only network namespace.
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { browserClusterPerFile } from '../support/chromium.ts';
import { eventually, publishTestStream } from '../support/processes.ts';
import { mintToken } from '../support/tokens.ts';
import { assertPagePlays, connectionState, ensureWebClientBuilt, joinFromLinkPage } from '../support/web-client.ts';

before(ensureWebClientBuilt);
// `--auth` given: the classroom keeps its default policy, required (every member, the RTMP publisher too, comes with a token).
const fixture = browserClusterPerFile(['fallback-edge'], { originArgs: ['--auth', 'live=legacy'], edgeArgs: ['--webrtc-bind', '127.0.0.1', '--keyframe-interval-ms', '1000'] });
const edge = () => fixture.cluster.edges[0]!;
const ROOM = 'nowebrtc';

async function link(name: string, role: 'teacher' | 'student'): Promise<string> {
  const token = await mintToken(fixture.cluster.origin.dataDir, { room: `classroom/${ROOM}`, role, name });
  return `http://127.0.0.1:${edge().httpPort}/?room=${ROOM}&token=${token}`;
}

/** Opens `url` in a page whose browser has no WebRTC (RTCPeerConnection removed before any script runs) and joins. */
async function joinWithoutWebRtc(url: string, who: string): Promise<Page> {
  const page = await fixture.browser.newPage();
  page.on('pageerror', (error) => console.log(`page error (${who}): ${error.message}`));
  await page.addInitScript(() => {
    const scope = globalThis as unknown as Record<string, unknown>;
    for (const name of ['RTCPeerConnection', 'webkitRTCPeerConnection']) delete scope[name];
  });
  await page.goto(url);
  assert.equal(await page.evaluate(() => typeof (globalThis as unknown as Record<string, unknown>).RTCPeerConnection), 'undefined', 'the page has no WebRTC');
  await page.getByRole('alert').filter({ hasText: 'This browser has no WebRTC' }).waitFor({ timeout: 10_000 });
  await page.getByRole('button', { name: 'Join' }).click();
  await eventually(async () => (await connectionState(page)) === 'joined', 20_000, `${who} to join`);
  return page;
}

function tile(page: Page, stream: string) {
  return page.locator(`.tile[data-stream="${stream}"]`);
}

/** Waits until `page` plays `stream` over `transport` with frames and audio increasing (assertPagePlays), and prints what it read. */
async function assertPlays(page: Page, who: string, stream: string, transport: 'webrtc' | 'ws-flv'): Promise<void> {
  const last = await assertPagePlays(page, who, stream, transport);
  console.log(`${who} plays ${stream} over ${transport}: ${last.framesDecoded} frames decoded, audio ${transport === 'ws-flv' ? `${last.audioBytesDecoded} bytes decoded` : `energy ${last.totalAudioEnergy.toFixed(4)}`}`);
}

test('a page without WebRTC joins, plays a browser publisher and an RTMP publisher over WS-FLV, and the publishing page is unaffected', async () => {
  const teacher = await joinFromLinkPage(fixture.browser, await link('Ms Li', 'teacher'), 'Ms Li');
  const projector = await mintToken(fixture.cluster.origin.dataDir, { room: `classroom/${ROOM}`, role: 'student', name: 'Projector' });
  publishTestStream(`rtmp://127.0.0.1:${edge().port}/classroom/${ROOM}?token=${projector}/lecture`, { seconds: 120, baseline: true });
  const viewersBefore = await edge().metric('classroom_edge_flv_viewers');

  const student = await joinWithoutWebRtc(await link('Sam', 'student'), 'Sam');
  // Joining works; publishing is not offered, and the room says why.
  assert.equal(await student.getByRole('button', { name: 'Publish camera and microphone' }).isDisabled(), true);
  assert.match(await student.locator('#no-webrtc').textContent() ?? '', /no WebRTC: you can join to watch and listen/);
  assert.equal(await student.evaluate(() => (globalThis as unknown as { classroom: { localMedia: unknown } }).classroom.localMedia), null, 'nothing published');

  // Both of the room's streams play in the student's grid over WS-FLV.
  for (const stream of ['Ms-Li-cam', 'lecture']) {
    await eventually(async () => (await tile(student, stream).getAttribute('data-transport', { timeout: 1000 }).catch(() => null)) === 'ws-flv', 30_000, `Sam's ${stream} tile over WS-FLV`);
  }
  await Promise.all([assertPlays(student, 'Sam', 'Ms-Li-cam', 'ws-flv'), assertPlays(student, 'Sam', 'lecture', 'ws-flv')]);
  assert.equal(await tile(student, 'Ms-Li-cam').locator('video').evaluate((video: { muted: boolean }) => video.muted), false, 'a remote tile is heard, as over WebRTC');
  assert.equal(await edge().metric('classroom_edge_flv_viewers') - viewersBefore, 2, 'the edge serves the student two WS-FLV viewers');

  // The teacher's page: still publishing over WebRTC, playing the RTMP publisher over WebRTC; the student shows as a placeholder.
  assert.equal(await teacher.evaluate(() => (globalThis as unknown as { classroom: { publication: { pc: { connectionState: string } } | null } }).classroom.publication?.pc.connectionState), 'connected');
  assert.equal(await tile(teacher, 'lecture').getAttribute('data-transport'), 'webrtc');
  await assertPlays(teacher, 'Ms Li', 'lecture', 'webrtc');
  assert.equal(await teacher.locator('.tile:not([data-stream])', { hasText: 'Sam' }).count(), 1, 'Sam publishes nothing: a placeholder tile');
  await Promise.all([teacher.close(), student.close()]);
});
