/**
 * The browser classroom's whiteboard tools and video tiles end to end, in headless Chromium with the
 * fake camera and microphone (whose beeps are the speech here): a teacher and a student join one
 * room from their links and publish. The student mutes the microphone and the teacher's page shows
 * it on the student's tile and in the roster (the classroom's roster object), until unmuted; with
 * one microphone muted the other member is highlighted as the speaker on both pages (levels from
 * getStats), and the other way round. On the whiteboard the student draws a red stroke 6 wide with
 * the mouse and it appears on the teacher's page (in the board's data and in the canvas's pixels);
 * the student's undo removes the student's stroke and not the teacher's later one; the student's
 * clear (through the page's API: students get no button) is refused with the classroom's reason;
 * the teacher's clear empties both boards. A tile pinned from the keyboard goes first in the grid.
 * State is read from the page's API (window.classroom) and its DOM. Run by classroom-tools.test.ts
 * inside a loopback-only network namespace.
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { browserClusterPerFile } from '../support/chromium.ts';
import { eventually } from '../support/processes.ts';
import { mintToken } from '../support/tokens.ts';
import { ensureWebClientBuilt, joinFromLinkPage } from '../support/web-client.ts';

before(ensureWebClientBuilt);
// `--auth` given: the classroom keeps its default policy, required (every member comes with a token).
const fixture = browserClusterPerFile(['tools-edge'], { originArgs: ['--auth', 'live=legacy'], edgeArgs: ['--webrtc-bind', '127.0.0.1', '--keyframe-interval-ms', '1000'] });
const ROOM = 'tools';

async function joinAs(name: string, role: 'teacher' | 'student'): Promise<Page> {
  const token = await mintToken(fixture.cluster.origin.dataDir, { room: `classroom/${ROOM}`, role, name });
  return joinFromLinkPage(fixture.browser, `http://127.0.0.1:${fixture.cluster.edges[0]!.httpPort}/?room=${ROOM}&token=${token}`, name);
}

/** A stroke as the page's room snapshot has it (window.classroom.snapshot.strokes). */
interface ShownStroke { id: number; byName: string; tool: string; color: number; width: number; points: number[] }

function strokes(page: Page): Promise<ShownStroke[]> {
  return page.evaluate(() => (globalThis as unknown as { classroom: { snapshot: { strokes: ShownStroke[] } } }).classroom.snapshot.strokes);
}

/** The tile of `stream` in the page's grid: its mute and speaking state as the DOM says. */
function tile(page: Page, stream: string) {
  return page.locator(`.tile[data-stream="${stream}"]`);
}

/** Draws with the mouse across the middle of the page's whiteboard, from 20% to 80% of its width at `heightShare` of its height. */
async function drawAcross(page: Page, heightShare: number): Promise<void> {
  const board = page.locator('#board');
  await board.scrollIntoViewIfNeeded();
  const box = (await board.boundingBox())!;
  const y = box.y + box.height * heightShare;
  await page.mouse.move(box.x + box.width * 0.2, y);
  await page.mouse.down();
  await page.mouse.move(box.x + box.width * 0.8, y, { steps: 12 });
  await page.mouse.up();
}

/** The colour of the canvas's pixel at a board point (0xRRGGBB; transparent reads as the white paper). */
function boardPixel(page: Page, x: number, y: number): Promise<number> {
  return page.locator('#board').evaluate((canvas: { width: number; getContext(kind: '2d'): { getImageData(x: number, y: number, w: number, h: number): { data: Uint8ClampedArray } } }, [bx, by]) => {
    const scale = canvas.width / 400;
    const [r, g, b, a] = canvas.getContext('2d').getImageData(Math.round(bx! * scale), Math.round(by! * scale), 1, 1).data;
    return a === 0 ? 0xffffff : (r! << 16) | (g! << 8) | b!;
  }, [x, y]);
}

/**
 * Waits until the pixel read is `color`. The page paints its canvas in an effect, after the frame
 * that follows the board's data: the data (window.classroom.snapshot) can be read a frame or more
 * before the pixels show it, longer on a loaded machine.
 */
async function canvasShows(read: () => Promise<number>, color: number, what: string): Promise<void> {
  let last = -1;
  await eventually(async () => (last = await read()) === color, 5000, () => `${what} (the pixel reads ${last.toString(16)})`);
}

test('mute state, the active speaker and a pinned tile show on the other page', async () => {
  const teacher = await joinAs('Ms Li', 'teacher');
  const student = await joinAs('Sam', 'student');
  for (const [page, stream, who] of [[teacher, 'Sam-cam', 'the teacher'], [student, 'Ms-Li-cam', 'the student']] as const) {
    await eventually(async () => (await tile(page, stream).getAttribute('data-playing', { timeout: 1000 }).catch(() => null)) === 'yes', 30_000, `${who} to play ${stream}`);
  }
  await eventually(async () => (await tile(teacher, 'Sam-cam').getAttribute('data-audio')) === 'on', 10_000, 'the teacher\'s page to show Sam\'s microphone on');

  // The student mutes the microphone: the teacher's page says so on the tile and in the roster.
  await student.getByRole('button', { name: 'Mute microphone' }).click();
  await eventually(async () => (await tile(teacher, 'Sam-cam').getAttribute('data-audio')) === 'muted', 10_000, 'Sam\'s tile to show the microphone muted');
  assert.equal(await tile(teacher, 'Sam-cam').getByText('Microphone muted').count(), 1);
  assert.equal(await teacher.locator('.roster li', { hasText: 'Sam' }).getByText('Microphone muted').count(), 1, 'the roster says it too');
  assert.equal(await tile(teacher, 'Sam-cam').getAttribute('data-video'), 'on', 'the camera is still on');

  // Sam is silent, Ms Li's fake microphone beeps: she is the speaker on both pages, Sam on neither.
  for (const [page, who] of [[teacher, 'the teacher'], [student, 'the student']] as const) {
    await eventually(async () => (await tile(page, 'Ms-Li-cam').getAttribute('data-speaking')) === 'yes', 20_000, `Ms Li highlighted as the speaker on ${who}'s page`);
    assert.equal(await tile(page, 'Sam-cam').getAttribute('data-speaking'), 'no');
  }
  // The other way round: Ms Li mutes, Sam unmutes.
  await teacher.getByRole('button', { name: 'Mute microphone' }).click();
  await student.getByRole('button', { name: 'Unmute microphone' }).click();
  await eventually(async () => (await tile(teacher, 'Sam-cam').getAttribute('data-audio')) === 'on', 10_000, 'Sam\'s tile to show the microphone on again');
  for (const [page, who] of [[teacher, 'the teacher'], [student, 'the student']] as const) {
    await eventually(async () => (await tile(page, 'Sam-cam').getAttribute('data-speaking')) === 'yes', 20_000, `Sam highlighted as the speaker on ${who}'s page`);
    assert.equal(await tile(page, 'Ms-Li-cam').getAttribute('data-speaking'), 'no');
  }
  assert.equal(await tile(student, 'Ms-Li-cam').getAttribute('data-audio'), 'muted');
  await teacher.getByRole('button', { name: 'Unmute microphone' }).click();

  // The teacher's tile is the larger; Sam's, pinned from the keyboard, goes first across the grid.
  assert.match(await tile(student, 'Ms-Li-cam').getAttribute('class') ?? '', /role-teacher/);
  const pin = teacher.getByRole('button', { name: 'Pin Sam, Student\'s video' });
  await pin.focus();
  await teacher.keyboard.press('Enter');
  await eventually(async () => (await teacher.locator('.grid .tile').first().getAttribute('data-stream')) === 'Sam-cam', 5000, 'the pinned tile first');
  assert.equal(await teacher.getByRole('button', { name: 'Unpin Sam, Student\'s video' }).getAttribute('aria-pressed'), 'true');
  assert.match(await tile(teacher, 'Sam-cam').getAttribute('class') ?? '', /pinned/);
  await Promise.all([teacher.close(), student.close()]);
});

test('whiteboard: a red stroke 6 wide reaches the other page, the student undoes only their own, a student\'s clear is refused, the teacher\'s empties both boards', async () => {
  const teacher = await joinAs('Mr Wu', 'teacher');
  const student = await joinAs('Kim', 'student');
  assert.equal(await student.getByRole('button', { name: 'Undo my last stroke' }).isDisabled(), true, 'nothing of Kim\'s to undo yet');

  // Kim picks red and 6 px and draws; Mr Wu's page has the stroke and paints it red.
  await student.getByLabel('Colour').selectOption({ label: 'Red' });
  await student.getByLabel('Width').selectOption({ label: '6 px' });
  await drawAcross(student, 0.3);
  await eventually(async () => (await strokes(teacher)).length === 1, 10_000, 'Kim\'s stroke on the teacher\'s page');
  const [red] = await strokes(teacher);
  assert.deepEqual([red!.byName, red!.tool, red!.color, red!.width], ['Kim', 'pen', 0xff0000, 6]);
  assert.ok(red!.points.length >= 4);
  const middle = Math.floor(red!.points.length / 4) * 2;
  const redAt = (): Promise<number> => boardPixel(teacher, red!.points[middle]!, red!.points[middle + 1]!);
  await canvasShows(redAt, 0xff0000, 'the teacher\'s canvas to show it red');
  assert.equal(await teacher.getByRole('img', { name: 'Whiteboard, 1 stroke' }).count(), 1);

  // Mr Wu draws after Kim (black, the default pen); Kim's undo takes Kim's stroke only.
  await drawAcross(teacher, 0.7);
  await eventually(async () => (await strokes(student)).length === 2, 10_000, 'the teacher\'s stroke on Kim\'s page');
  await student.getByRole('button', { name: 'Undo my last stroke' }).click();
  for (const [page, who] of [[teacher, 'the teacher'], [student, 'the student']] as const) {
    await eventually(async () => (await strokes(page)).map((s) => s.byName).join() === 'Mr Wu', 10_000, `only Mr Wu's stroke left on ${who}'s page`);
  }
  await eventually(() => student.getByRole('button', { name: 'Undo my last stroke' }).isDisabled(), 5000, 'Kim\'s undo to have nothing left');
  await canvasShows(redAt, 0xffffff, 'the red stroke to be gone from the teacher\'s canvas');

  // Kim has no clear button, and the classroom refuses Kim's clear through the page's API.
  assert.equal(await student.getByRole('button', { name: 'Clear the board' }).count(), 0);
  const attempt = await student.evaluate(() => (globalThis as unknown as { classroom: { call(method: string): Promise<unknown> } }).classroom.call('clearWhiteboard')
    .then(() => 'cleared', (error: Error) => error.message));
  assert.match(attempt, /Only a teacher may clear the whiteboard/);
  assert.equal((await strokes(teacher)).length, 1, 'the refused clear left the board');

  // Mr Wu's clear empties both boards.
  await teacher.getByRole('button', { name: 'Clear the board' }).click();
  for (const page of [teacher, student]) await page.getByRole('img', { name: 'Whiteboard, 0 strokes' }).waitFor({ timeout: 10_000 });
  assert.deepEqual([(await strokes(teacher)).length, (await strokes(student)).length], [0, 0]);
  await Promise.all([teacher.close(), student.close()]);
});
