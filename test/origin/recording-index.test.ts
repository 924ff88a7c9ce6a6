/**
 * The recordings listing from the origin's index (origin/recording/recording-index.ts) with a real
 * origin: 25 files already in its folder at start are listed in pages of 7 that give each exactly
 * once, in path order, the last page without `next`; a room's teacher pages through that room's
 * only; a bad `limit` or an empty `after` is a 400; a recording ffmpeg publishes is listed as being
 * recorded, then (ffmpeg stopped) finished with its size, modification time, duration and codecs; a file an operator copies
 * into the folder, or into a new folder, is listed with its metadata, and is gone once deleted.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFile, mkdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { once } from 'node:events';
import { eventually, publishTestStream, run, startOrigin, stopAll, tempDir, type OriginProcess } from '../support/processes.ts';
import { adminToken, bearer, mintToken } from '../support/tokens.ts';
import { listingPage, listingPages } from '../support/recordings-listing.ts';
import type { RecordingListEntry } from '../../origin/recording/recording-index.ts';

const ROOMS = 5;
const FILES_PER_ROOM = 5;
const CLIP_SECONDS = 2;
const PUBLISH_SECONDS = 5;

let origin: OriginProcess;
let http: string;
let admin: string;
/** A 2 s H.264/AAC FLV made by ffmpeg, copied in as an operator would. */
let clip: string;
let recordings: string;
const seeded: string[] = [];

before(async () => {
  const dataDir = tempDir('cg-index-');
  recordings = join(dataDir, 'recordings');
  clip = join(dataDir, 'clip.flv');
  const made = await run('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i', 'testsrc=size=320x240:rate=30', '-f', 'lavfi', '-i', 'sine=frequency=440',
    '-t', String(CLIP_SECONDS), '-c:v', 'libx264', '-preset', 'ultrafast', '-g', '30', '-c:a', 'aac', '-f', 'flv', clip]);
  assert.equal(made.code, 0, made.stderr);
  for (let room = 0; room < ROOMS; room++) {
    const folder = join(recordings, 'classroom', `room${room}`);
    await mkdir(folder, { recursive: true });
    for (let file = 0; file < FILES_PER_ROOM; file++) {
      await copyFile(clip, join(folder, `lesson${file}.flv`));
      seeded.push(`classroom/room${room}/lesson${file}.flv`);
    }
  }
  origin = await startOrigin(['--record-rooms', 'always'], { dataDir });
  http = `http://127.0.0.1:${origin.httpPort}`;
  admin = await adminToken(dataDir);
});
after(stopAll);

async function everyFile(first: string, token = admin): Promise<RecordingListEntry[]> {
  return (await listingPages(http, first, token)).flatMap((page) => page.files);
}

test('pages of 7 give each of the 25 files there at start exactly once, in path order, with their metadata', async () => {
  const pages = await listingPages(http, '/api/recordings?limit=7', admin);
  assert.deepEqual(pages.map((page) => page.files.length), [7, 7, 7, 4]);
  assert.equal(pages.at(-1)!.next, null);
  const paths = pages.flatMap((page) => page.files.map((file) => file.path));
  assert.deepEqual(paths, [...seeded].sort(), 'every file once, in path order');
  for (const file of pages.flatMap((page) => page.files)) {
    assert.ok(Math.abs(file.duration! - CLIP_SECONDS) < 0.2 && file.videocodecid === 7 && file.width === 320 && !file.recording, JSON.stringify(file));
  }
  assert.equal((await listingPage(http, '/api/recordings', admin)).files.length, 25, 'the default page holds them all');
});

test('a room\'s teacher pages through that room\'s recordings only; ?room= narrows the admin\'s', async () => {
  const teacher = await mintToken(origin.dataDir, { room: 'classroom/room2', role: 'teacher', name: 'Ms Li' });
  const own = await everyFile('/api/recordings?limit=2', teacher);
  assert.deepEqual(own.map((file) => file.path), seeded.filter((path) => path.startsWith('classroom/room2/')));
  assert.deepEqual(await everyFile('/api/recordings?room=classroom/room3&limit=3'), (await everyFile('/api/recordings?limit=1000')).filter((file) => file.path.startsWith('classroom/room3/')));
  assert.deepEqual(await everyFile('/api/recordings?room=classroom/room3', teacher), [], 'not another room\'s, even when asked');
});

test('a bad limit or an empty after is refused with 400 saying why', async () => {
  for (const query of ['limit=0', 'limit=1001', 'limit=abc', 'limit=-1', 'limit=1.5', 'limit=', 'limit=1e2', 'after=']) {
    const res = await fetch(`${http}/api/recordings?${query}`, { headers: bearer(admin) });
    assert.equal(res.status, 400, query);
    assert.match(((await res.json()) as { error: string }).error, /limit|after/, query);
  }
  assert.equal((await fetch(`${http}/api/recordings?limit=1000`, { headers: bearer(admin) })).status, 200);
});

test('a recording published by ffmpeg is listed as being recorded, then finished with its size, modification time, duration and codecs', async () => {
  const listed = async () => (await everyFile('/api/recordings?room=live')).find((file) => file.path.endsWith('/indexed-cam.flv'));
  // ffmpeg publishes PUBLISH_SECONDS in real time and stops by itself: the file then holds all of them.
  const ffmpeg = publishTestStream(`rtmp://127.0.0.1:${origin.port}/live/indexed-cam`, { seconds: PUBLISH_SECONDS });
  const exited = once(ffmpeg, 'exit');
  await eventually(async () => (await listed())?.recording === true, PUBLISH_SECONDS * 1000, 'the recording listed as being recorded');
  const [code] = await exited;
  assert.equal(code, 0, 'ffmpeg published to the end');
  await eventually(async () => (await listed())?.recording === false, 30_000, 'the recording listed as finished');
  const finished = (await listed())!;
  const onDisk = await stat(join(recordings, ...finished.path.split('/')));
  assert.equal(finished.size, onDisk.size, 'the final size');
  // The file's own time, as the watcher's later read of it lists it too: an entry does not change under a client paging through.
  assert.equal(finished.modified, onDisk.mtime.toISOString(), 'the file\'s modification time');
  assert.ok(Math.abs(finished.duration! - PUBLISH_SECONDS) < 0.5 && finished.videocodecid === 7 && finished.audiocodecid === 10 && finished.width === 320 && finished.size > 10_000, JSON.stringify(finished));
  const { rooms } = await listingPage(http, '/api/recordings?room=live', admin);
  assert.ok(rooms.some((room) => room.path === finished.path.replace(/[^/]+$/, 'manifest.json')), 'the room recording\'s manifest is listed beside it');
});

test('a file copied into the folder, or into a new folder, is listed with its metadata; deleted, it is gone', async () => {
  const find = async (path: string) => (await everyFile('/api/recordings?limit=1000')).find((file) => file.path === path);
  await mkdir(join(recordings, 'live'), { recursive: true });
  await copyFile(clip, join(recordings, 'live', 'copied.flv'));
  await mkdir(join(recordings, 'imported', '2025'), { recursive: true });
  await copyFile(clip, join(recordings, 'imported', '2025', 'old.flv'));
  for (const path of ['live/copied.flv', 'imported/2025/old.flv']) {
    await eventually(async () => Math.abs(((await find(path))?.duration ?? 0) - CLIP_SECONDS) < 0.2, 10_000, `${path} listed with its duration`);
    assert.equal((await find(path))!.videocodecid, 7);
  }
  await rm(join(recordings, 'live', 'copied.flv'));
  await rm(join(recordings, 'imported'), { recursive: true });
  await eventually(async () => !(await find('live/copied.flv')) && !(await find('imported/2025/old.flv')), 10_000, 'the deleted files gone from the listing');
});
