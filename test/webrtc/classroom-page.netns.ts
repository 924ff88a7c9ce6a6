/**
 * The browser classroom end to end, as users open it: the edge serves the built page; a teacher and
 * a student open their links (`/?room=lesson&token=T`, tokens the origin signed) in headless
 * Chromium with the fake camera and microphone, see themselves in the lobby's preview and join. Each
 * sees the other's video tile playing (frames decoded keep increasing) and hears them (audio energy
 * grows), read from the page's own API (getStats of its playbacks) and its DOM; an ffmpeg RTMP
 * publisher with its own token joins the room and appears in both grids, playing. Chat sent on one
 * page shows on the other with its time; a raised hand shows in the other's roster and the teacher
 * lowers it; a muted microphone goes silent on the other page and comes back when unmuted. The
 * student's attempt to start recording (through the page's API: students get no button) is refused
 * with the classroom's reason in the page; the teacher starts and stops recording from the page, both
 * pages show the indicator meanwhile and the origin's recordings list the room's streams. A student
 * whose browser refuses the camera and microphone is told so in the lobby (in Chinese after switching
 * the page's language, which a reload keeps), joins all the same and shows as a placeholder tile. When their edge restarts (same ports), both pages say they are
 * reconnecting, come back into the room on their own (no reload) and see each other's video again.
 * In a room of its own, with an RTMP publisher and the teacher drawing: a Flash user (python3-librtmp)
 * draws a stroke both pages show and plays both browsers' streams over RTMP (ffmpeg decodes what it got);
 * the teacher's recording is listed in the page and played back there with mpegts.js, seeking included;
 * axe-core finds no serious or critical violation in the lobby and the room; with SAVE_SCREENSHOTS=1
 * the lobby and the room are saved for README (docs/screenshots/). Run by classroom-page.test.ts inside a loopback-only network namespace.
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { once } from 'node:events';
import type { Page } from 'playwright-core';
import { browserClusterPerFile } from '../support/chromium.ts';
import { startEdge, type EdgeProcess } from '../support/cluster.ts';
import { decodeFrames, eventually, publishTestStream, tempDir } from '../support/processes.ts';
import { librtmp } from '../support/peers.ts';
import { accessibilityViolations, saveScreenshot } from '../support/page-checks.ts';
import { apiRooms, originApi } from '../support/observe.ts';
import { mintToken } from '../support/tokens.ts';
import { assertPagePlays, connectionState, ensureWebClientBuilt, pageCounters } from '../support/web-client.ts';

before(ensureWebClientBuilt);
// `--auth` given: the classroom keeps its default policy, required (every member, the RTMP publisher too, comes with a token).
const EDGE_ARGS = ['--webrtc-bind', '127.0.0.1', '--keyframe-interval-ms', '1000'];
const fixture = browserClusterPerFile(['page-edge'], { originArgs: ['--auth', 'live=legacy'], edgeArgs: EDGE_ARGS });
/** The edge the pages use: the cluster's, or one a test started (and restarts). */
let current: EdgeProcess | null = null;
const edge = () => current ?? fixture.cluster.edges[0]!;
const base = () => `http://127.0.0.1:${edge().httpPort}`;
const ROOM = 'lesson';

async function token(name: string, role: 'teacher' | 'student', room = ROOM): Promise<string> {
  return mintToken(fixture.cluster.origin.dataDir, { room: `classroom/${room}`, role, name });
}

/** Opens the member's link and checks the lobby shows the token's name and the room. */
/** A TCP port free on loopback now (for an edge that must come back on the same ports). */
async function freePort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  server.close();
  await once(server, 'close');
  return port;
}

async function openLink(name: string, role: 'teacher' | 'student', setUp?: (page: Page) => Promise<unknown>, room = ROOM): Promise<Page> {
  const page = await fixture.browser.newPage();
  page.on('pageerror', (error) => console.log(`page error (${name}): ${error.message}`));
  await setUp?.(page);
  await page.goto(`${base()}/?room=${room}&token=${await token(name, role, room)}`);
  assert.equal(await page.locator('#lobby-name').inputValue(), name, 'the lobby shows the token\'s name');
  assert.equal(await page.locator('#lobby-room').inputValue(), room);
  return page;
}

/** Joins from the keyboard alone: Tab until the Join button has the focus, then Enter. */
async function join(page: Page, name: string): Promise<void> {
  await eventually(async () => {
    await page.keyboard.press('Tab');
    return page.evaluate(() => (globalThis as unknown as { document: { activeElement: { textContent: string | null } | null } }).document.activeElement?.textContent === 'Join');
  }, 10_000, 'Tab to reach the Join button');
  await page.keyboard.press('Enter');
  await eventually(async () => (await connectionState(page)) === 'joined', 15_000, `${name} to join`);
}

/** Controls (buttons, inputs, selects) of the page with no accessible name: none should be left. */
function unnamedControls(page: Page): Promise<string[]> {
  return page.locator('button, input, select, textarea, meter, canvas, video').evaluateAll((elements) => elements.flatMap((element) => {
    const labelled = element.getAttribute('aria-label') || element.getAttribute('aria-labelledby') || (element.id && element.ownerDocument.querySelector(`label[for="${element.id}"]`))
      || (element.tagName === 'BUTTON' && element.textContent?.trim());
    return labelled ? [] : [element.outerHTML.slice(0, 120)];
  }));
}

/** Opens the member's link, waits for the lobby's live camera preview (then runs `inLobby`), joins and waits until connected. */
async function joinFromLink(name: string, role: 'teacher' | 'student', room = ROOM, inLobby?: (page: Page) => Promise<void>): Promise<Page> {
  const page = await openLink(name, role, undefined, room);
  await page.locator('.preview video').waitFor({ timeout: 15_000 });
  await eventually(() => page.locator('.preview video').evaluate((video: { readyState: number; videoWidth: number }) => video.readyState >= 2 && video.videoWidth > 0),
    15_000, `${name}'s camera preview to play`);
  // The fake microphone beeps: the level meter moves.
  await eventually(() => page.locator('meter.level').evaluate((meter: { value: number }) => meter.value > 0), 15_000, `${name}'s microphone level to show`);
  assert.deepEqual(await unnamedControls(page), [], 'every control of the lobby has a name');
  await inLobby?.(page);
  await join(page, name);
  assert.deepEqual(await unnamedControls(page), [], 'every control of the room has a name');
  return page;
}

/** The streams of other members' tiles in the page's grid, with the name and role each tile shows. */
function remoteTiles(page: Page): Promise<Array<{ stream: string; caption: string; playing: string }>> {
  return page.locator('.tile:not(.self)[data-stream]').evaluateAll((tiles) => tiles.map((tile) => ({
    stream: tile.getAttribute('data-stream') ?? '', caption: tile.querySelector('figcaption')?.textContent ?? '', playing: tile.getAttribute('data-playing') ?? '',
  })));
}

/** Waits until `page` plays `stream` over WebRTC and its counters move: more frames decoded, more audio energy, between two readings. */
async function assertPlaying(page: Page, who: string, stream: string): Promise<void> {
  await assertPagePlays(page, who, stream, 'webrtc');
}

test('a teacher and a student join from their links, each sees and hears the other, and an RTMP publisher appears in both grids', async () => {
  const teacher = await joinFromLink('Ms Li', 'teacher');
  const student = await joinFromLink('Sam', 'student');

  // Each publishes on joining (the lobby opened the devices); each page plays the other's stream.
  await eventually(async () => (await remoteTiles(teacher)).some((t) => t.stream === 'Sam-cam' && t.playing === 'yes'), 30_000, 'the teacher to play Sam-cam');
  await eventually(async () => (await remoteTiles(student)).some((t) => t.stream === 'Ms-Li-cam' && t.playing === 'yes'), 30_000, 'the student to play Ms-Li-cam');
  const teacherTile = (await remoteTiles(student)).find((t) => t.stream === 'Ms-Li-cam')!;
  assert.match(teacherTile.caption, /Ms Li\s+Teacher/);
  await Promise.all([assertPlaying(teacher, 'the teacher', 'Sam-cam'), assertPlaying(student, 'the student', 'Ms-Li-cam')]);

  // An RTMP publisher (ffmpeg, with a token of its own) joins the room and shows in both grids.
  const projector = await token('Projector', 'student');
  publishTestStream(`rtmp://127.0.0.1:${edge().port}/classroom/${ROOM}?token=${projector}/lecture`, { seconds: 120, baseline: true });
  for (const [page, who] of [[teacher, 'the teacher'], [student, 'the student']] as const) {
    await eventually(async () => (await remoteTiles(page)).some((t) => t.stream === 'lecture' && /Projector/.test(t.caption)), 30_000, `the RTMP publisher in ${who}'s grid`);
  }
  await Promise.all([assertPlaying(teacher, 'the teacher', 'lecture'), assertPlaying(student, 'the student', 'lecture')]);
  assert.deepEqual((await remoteTiles(student)).map((t) => t.stream).sort(), ['Ms-Li-cam', 'lecture']);

  // Chat with timestamps, and a raised hand in the other's roster.
  await student.getByRole('textbox', { name: 'Message' }).fill('May I ask a question?');
  await student.getByRole('button', { name: 'Send' }).click();
  const line = teacher.locator('.chat-log li', { hasText: 'May I ask a question?' });
  await line.waitFor({ timeout: 10_000 });
  assert.match(await line.textContent() ?? '', /\d{1,2}:\d{2}(\s?[AP]M)?\s+Sam: May I ask a question\?/);
  assert.ok(await line.locator('time').getAttribute('datetime'), 'the message carries its time');
  await student.getByRole('button', { name: 'Raise my hand' }).click();
  await teacher.locator('.roster li[data-hand="up"]', { hasText: 'Sam' }).waitFor({ timeout: 10_000 });
  await teacher.getByRole('button', { name: 'Lower Sam\'s hand' }).click();
  await student.getByRole('button', { name: 'Raise my hand' }).waitFor({ timeout: 10_000 });

  // Mute: the teacher hears silence from Sam (audio energy stops growing while video goes on), then Sam again.
  await student.getByRole('button', { name: 'Mute microphone' }).click();
  assert.equal(await student.getByRole('button', { name: 'Unmute microphone' }).getAttribute('aria-pressed'), 'true');
  await eventually(async () => {
    const before = (await pageCounters(teacher))['Sam-cam']!;
    await eventually(async () => (await pageCounters(teacher))['Sam-cam']!.framesDecoded >= before.framesDecoded + 10, 10_000, 'video to go on');
    return (await pageCounters(teacher))['Sam-cam']!.totalAudioEnergy === before.totalAudioEnergy;
  }, 20_000, 'Sam to go silent on the teacher\'s page');
  await student.getByRole('button', { name: 'Unmute microphone' }).click();
  await assertPlaying(teacher, 'the teacher', 'Sam-cam');

  // Recording: a student has no control for it, and an attempt through the page's API is refused in words on the page.
  const recordingShown = (page: Page) => page.getByRole('status', { name: 'This room is being recorded' });
  assert.equal(await student.getByRole('button', { name: 'Start recording' }).count(), 0, 'a student is offered no recording control');
  const attempt = await student.evaluate(() => (globalThis as unknown as { classroom: { startRecording(): Promise<unknown> } }).classroom.startRecording()
    .then(() => 'started', (error: Error) => error.message));
  assert.match(attempt, /Only a teacher may start recording/);
  const refusal = student.getByRole('alert').filter({ hasText: 'The recording could not be started' });
  await refusal.waitFor({ timeout: 10_000 });
  assert.match(await refusal.textContent() ?? '', /could not be started: Only a teacher may start recording/);
  assert.equal(await recordingShown(student).count(), 0, 'the refused attempt records nothing');
  // The teacher starts it from the page: both pages show it, and the origin records the room.
  await teacher.getByRole('button', { name: 'Start recording' }).click();
  await Promise.all([recordingShown(teacher).waitFor({ timeout: 10_000 }), recordingShown(student).waitFor({ timeout: 10_000 })]);
  assert.equal((await apiRooms(fixture.cluster.origin)).find((r) => r.path === `classroom/${ROOM}`)?.recording, true, 'the origin records the room');
  await teacher.getByRole('button', { name: 'Stop recording' }).click();
  await Promise.all([recordingShown(teacher).waitFor({ state: 'detached', timeout: 10_000 }), recordingShown(student).waitFor({ state: 'detached', timeout: 10_000 })]);
  let recorded: string[] = [];
  await eventually(async () => {
    const { rooms } = await originApi<{ rooms: Array<{ manifest: { room: string; stoppedAt?: string; participants: Array<{ stream: string }> } }> }>(fixture.cluster.origin, '/api/recordings');
    const lesson = rooms.find((r) => r.manifest.room === `classroom/${ROOM}` && r.manifest.stoppedAt);
    recorded = lesson?.manifest.participants.map((p) => p.stream).sort() ?? [];
    return lesson !== undefined;
  }, 10_000, 'the room\'s recording to be listed as stopped');
  assert.deepEqual(recorded, ['Ms-Li-cam', 'Sam-cam', 'lecture'], 'every stream of the room was recorded');
  await Promise.all([teacher.close(), student.close()]);
});

test('a student whose browser refuses the camera and microphone is told so, joins without them and shows as a placeholder', async () => {
  const teacher = await joinFromLink('Mr Wu', 'teacher');
  const refused = await openLink('Kim', 'student', (page) => page.addInitScript(() => {
    const devices = (globalThis as unknown as { navigator: { mediaDevices: { getUserMedia(c: unknown): Promise<unknown> } } }).navigator.mediaDevices;
    devices.getUserMedia = async () => { throw new DOMException('Permission denied', 'NotAllowedError'); };
  }));
  const problems = refused.getByRole('alert');
  await problems.waitFor({ timeout: 10_000 });
  assert.match(await problems.textContent() ?? '', /camera was refused.*join without it/);
  assert.equal(await refused.getByRole('img', { name: 'No camera' }).count(), 1, 'the preview says there is no camera');
  // In Simplified Chinese (what is shown is said again in it, <html lang> follows), and still after a reload.
  const pageLanguage = () => refused.locator('html').getAttribute('lang');
  assert.equal(await pageLanguage(), 'en');
  await refused.getByLabel('Language').selectOption('zh-CN');
  await refused.getByRole('heading', { name: '进入教室' }).waitFor({ timeout: 5000 });
  assert.equal(await pageLanguage(), 'zh-CN');
  assert.match(await problems.textContent() ?? '', /摄像头被拒绝/);
  await refused.reload();
  await refused.getByRole('heading', { name: '进入教室' }).waitFor({ timeout: 10_000 });
  assert.equal(await pageLanguage(), 'zh-CN', 'the choice is remembered');
  await refused.getByLabel('语言').selectOption('en');
  await refused.getByRole('heading', { name: 'Join the classroom' }).waitFor({ timeout: 5000 });
  await problems.waitFor({ timeout: 10_000 });
  await join(refused, 'Kim');
  const placeholder = teacher.locator('.tile:not([data-stream])', { hasText: 'Kim' });
  await placeholder.waitFor({ timeout: 10_000 });
  assert.match(await placeholder.textContent() ?? '', /No camera.*Kim\s+Student/);
  assert.equal(await refused.getByRole('button', { name: 'Publish camera and microphone' }).isEnabled(), true, 'publishing can be tried again from the room');
  await Promise.all([teacher.close(), refused.close()]);
});

test('when the edge restarts, both pages reconnect on their own and see each other\'s video again', async () => {
  const ports = ['--http-port', String(await freePort()), '--rtmp-port', String(await freePort())];
  const start = () => startEdge('restarting-edge', fixture.cluster.link, fixture.cluster.secret, { args: [...EDGE_ARGS, ...ports] });
  current = await start();
  try {
    const teacher = await joinFromLink('Ms Ng', 'teacher', 'restart');
    const student = await joinFromLink('Lee', 'student', 'restart');
    await Promise.all([assertPlaying(teacher, 'the teacher', 'Lee-cam'), assertPlaying(student, 'the student', 'Ms-Ng-cam')]);

    await current.stop();
    for (const [page, who] of [[teacher, 'the teacher'], [student, 'the student']] as const) {
      await eventually(async () => (await connectionState(page)) === 'reconnecting', 15_000, `${who}'s page to say it is reconnecting`);
    }
    current = await start();
    for (const [page, who] of [[teacher, 'the teacher'], [student, 'the student']] as const) {
      await eventually(async () => (await connectionState(page)) === 'joined', 30_000, `${who}'s page to rejoin`);
    }
    // New playbacks (the old ones ended with the edge): their counters start again and grow.
    await Promise.all([assertPlaying(teacher, 'the teacher', 'Lee-cam'), assertPlaying(student, 'the student', 'Ms-Ng-cam')]);
    assert.deepEqual(await teacher.locator('.roster li .name').allTextContents(), ['Ms Ng (you)', 'Lee'], 'each member once in the roster');
    await Promise.all([teacher.close(), student.close()]);
  } finally {
    await current.stop();
    current = null;
  }
});

/** The whiteboard's strokes as the page holds them (window.classroom's room snapshot). */
function pageStrokes(page: Page): Promise<Array<{ byName: string; points: number[] }>> {
  return page.evaluate(() => (globalThis as unknown as { classroom: { snapshot: { strokes: Array<{ byName: string; points: number[] }> } } }).classroom.snapshot.strokes
    .map((s) => ({ byName: s.byName, points: s.points })));
}

/** What the page's recording player (a <video> fed by mpegts.js) has shown: frames and where it is. */
function recordingPlayer(page: Page): Promise<{ frames: number; time: number; duration: number; seekableEnd: number }> {
  return page.locator('#recording-player').evaluate((video: { getVideoPlaybackQuality(): { totalVideoFrames: number }; currentTime: number; duration: number; seekable: { length: number; end(i: number): number } }) => ({
    frames: video.getVideoPlaybackQuality().totalVideoFrames, time: video.currentTime, duration: video.duration, seekableEnd: video.seekable.length ? video.seekable.end(0) : 0,
  }));
}

test('a Flash user in the room sees both browsers\' streams and draws on both pages; the recordings play back in the page; no serious accessibility violations', async (t) => {
  const room = 'gallery';
  const noViolations = async (page: Page, where: string) => {
    const found = await accessibilityViolations(page, ['minor', 'moderate', 'serious', 'critical']);
    assert.deepEqual(found.filter((v) => v.impact === 'serious' || v.impact === 'critical'), [], `axe-core: no serious or critical violations in the ${where}`);
    t.diagnostic(`axe-core in the ${where}: ${found.length ? found.map((v) => `${v.impact} ${v.id} (${v.targets.join(', ')})`).join('; ') : 'no violations'}`);
  };
  const teacher = await joinFromLink('Ms Chen', 'teacher', room, async (lobby) => {
    await noViolations(lobby, 'lobby');
    await saveScreenshot(lobby, 'lobby');
  });
  const student = await joinFromLink('Ken', 'student', room);
  const pages = [[teacher, 'the teacher'], [student, 'the student']] as const;
  await Promise.all([assertPlaying(teacher, 'the teacher', 'Ken-cam'), assertPlaying(student, 'the student', 'Ms-Chen-cam')]);

  // An RTMP publisher makes three; the teacher draws on the whiteboard with the mouse.
  const projector = await mintToken(fixture.cluster.origin.dataDir, { room: `classroom/${room}`, role: 'student', name: 'Projector' });
  publishTestStream(`rtmp://127.0.0.1:${edge().port}/classroom/${room}?token=${projector}/slides`, { seconds: 120, baseline: true });
  await eventually(async () => (await remoteTiles(teacher)).some((t) => t.stream === 'slides' && /Projector/.test(t.caption)), 30_000, 'the RTMP publisher in the teacher\'s grid');
  await assertPlaying(teacher, 'the teacher', 'slides');
  const board = (await teacher.locator('#board').boundingBox())!;
  await teacher.mouse.move(board.x + board.width * 0.2, board.y + board.height * 0.3);
  await teacher.mouse.down();
  for (let i = 1; i <= 12; i++) await teacher.mouse.move(board.x + board.width * (0.2 + i * 0.05), board.y + board.height * (0.3 + Math.sin(i / 2) * 0.2));
  await teacher.mouse.up();
  for (const [page, who] of pages) await eventually(async () => (await pageStrokes(page)).some((s) => s.byName === 'Ms Chen'), 10_000, `the teacher's stroke on ${who}'s page`);
  await noViolations(teacher, 'room');
  await saveScreenshot(teacher, 'room');

  // A Flash user (python3-librtmp, the classroom's token in connect as the Flash client sends it) draws a stroke
  // (the classroom's drawStroke, as the Flash client draws) and plays both browsers' streams as RTMP streams.
  const flashToken = await mintToken(fixture.cluster.origin.dataDir, { room: `classroom/${room}`, role: 'student', name: 'Flash Fan' });
  const flashStroke = [30, 250, 120, 200, 210, 250, 300, 200];
  const dir = tempDir('cg-flash-user-');
  const flashUser = librtmp('member', `${edge().base}/classroom/${room}`, `classroom/${room}`, {
    connect: { token: flashToken }, method: 'drawStroke', params: [{ points: flashStroke, color: 0x2255dd, width: 4 }], play: ['Ms-Chen-cam', 'Ken-cam'], seconds: 8, dir,
  }, 60_000);
  const seen = Promise.all(pages.map(async ([page, who]) => {
    await eventually(async () => (await page.locator('.roster li .name').allTextContents()).includes('Flash Fan'), 15_000, `the Flash user in ${who}'s roster`);
    await eventually(async () => (await pageStrokes(page)).some((s) => s.byName === 'Flash Fan' && JSON.stringify(s.points) === JSON.stringify(flashStroke)), 15_000, `the Flash user's stroke on ${who}'s page`);
  }));
  const [played] = await Promise.all([flashUser, seen]);
  assert.equal(typeof played.result?.args?.[0], 'number', `drawStroke answered with the stroke's id: ${JSON.stringify(played.result)}`);
  for (const stream of ['Ms-Chen-cam', 'Ken-cam']) {
    const got = played.streams[stream] as { file: string; video: number; audio: number };
    assert.ok(got.video > 0 && got.audio > 0, `the Flash user received ${stream}: ${JSON.stringify(got)}`);
    const decoded = await decodeFrames(got.file, 30);
    assert.ok(decoded.video >= 20 && decoded.audio >= 20, `ffmpeg decodes ${stream} as the Flash user received it: ${decoded.video} video and ${decoded.audio} audio frames ${decoded.stderr}`);
    t.diagnostic(`the Flash user received ${stream}: ${got.video} video and ${got.audio} audio messages; ffmpeg decoded ${decoded.video} video and ${decoded.audio} audio frames`);
  }

  // Recording: the teacher records a few seconds (the student's page decodes 80 more frames of the teacher meanwhile), then stops.
  await teacher.getByRole('button', { name: 'Start recording' }).click();
  await teacher.getByRole('status', { name: 'This room is being recorded' }).waitFor({ timeout: 10_000 });
  const framesAtStart = (await pageCounters(student))['Ms-Chen-cam']!.framesDecoded;
  await eventually(async () => (await pageCounters(student))['Ms-Chen-cam']!.framesDecoded >= framesAtStart + 80, 30_000, 'a few seconds of recording');
  await teacher.getByRole('button', { name: 'Stop recording' }).click();
  // The teacher's page lists the room's recordings, finished (refreshed until the origin has closed the files); the student's says they are for teachers.
  const listed = () => teacher.locator('.recording-list li').evaluateAll((items) => items.map((li) => ({ stream: li.querySelector('.stream')?.textContent ?? '', unfinished: li.getAttribute('data-unfinished') })));
  await eventually(async () => {
    const items = await listed();
    if (['Ken-cam', 'Ms-Chen-cam', 'slides'].every((stream) => items.some((i) => i.stream === stream && i.unfinished === 'no'))) return true;
    await teacher.getByRole('button', { name: 'Refresh the recordings' }).click();
    return false;
  }, 20_000, 'the teacher\'s page to list every stream\'s recording, finished');
  assert.match(await student.locator('.recordings .note').textContent() ?? '', /for its teachers/);
  await noViolations(student, 'student\'s room');
  // Played in the page with mpegts.js: frames are decoded, and a seek (a Range request through the edge) goes on playing from there.
  await teacher.getByRole('button', { name: /^Play Ken-cam, recorded / }).click();
  await eventually(async () => (await recordingPlayer(teacher)).frames >= 20, 20_000, 'the recording to play in the page');
  const before = await recordingPlayer(teacher);
  assert.ok(before.duration >= 3 && before.seekableEnd >= 3, `the recording is seekable: ${JSON.stringify(before)}`);
  await teacher.locator('#recording-player').evaluate((video: { currentTime: number; duration: number }) => { video.currentTime = video.duration - 1.5; });
  await eventually(async () => { const now = await recordingPlayer(teacher); return now.time >= before.duration - 1.5 && now.frames > before.frames; }, 20_000, 'playback to go on after seeking');
  t.diagnostic(`the recording of Ken-cam in the page: ${before.duration.toFixed(1)} s, ${before.frames} frames shown before the seek, ${JSON.stringify(await recordingPlayer(teacher))} after`);
  assert.equal(await teacher.getByRole('alert').filter({ hasText: 'cannot be played' }).count(), 0);
  await noViolations(teacher, 'room with the recordings');
  await Promise.all([teacher.close(), student.close()]);
});
