/**
 * The HTTP API with a real origin: the recordings listing with metadata and room manifests
 * (rooms recorded with --record-rooms always), FLV downloads with byte ranges (200, 206, 416,
 * 404) and path validation; all of it for the admin token, a room's teacher seeing that room's
 * recordings only; without a token 401, with another room's teacher token 403; minting tokens.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { eventually, startOrigin, stopAll, type OriginProcess } from '../support/processes.ts';
import { ffmpegFlv, startFlvPublish } from '../support/flv-publisher.ts';
import { parseRange } from '../../origin/http/http-api.ts';
import { adminToken, bearer, mintToken } from '../support/tokens.ts';

let origin: OriginProcess;
let http: string;
/** Requests with the admin token. */
let admin: { headers: Record<string, string> };

before(async () => {
  origin = await startOrigin(['--record-rooms', 'always']);
  http = `http://127.0.0.1:${origin.httpPort}`;
  admin = { headers: bearer(await adminToken(origin.dataDir)) };
  const rtmp = `rtmp://127.0.0.1:${origin.port}`;
  const clip = await startFlvPublish(`${rtmp}/live`, 'clip', 'record');
  await clip.pump(ffmpegFlv(2));
  await clip.stop();
  // Two participants in a classroom room: recorded because rooms are always recorded here.
  const join = (name: string) => startFlvPublish(`${rtmp}/classroom/room1`, name, 'live', { connectArgs: [{ name, role: 'student' }] });
  const [alice, bob] = await Promise.all([join('alice'), join('bob')]);
  await Promise.all([alice.pump(ffmpegFlv(2)), bob.pump(ffmpegFlv(1))]);
  await alice.stop();
  await bob.stop();
  // The room's recording stops with its last participant: its manifest then lists it as stopped.
  await eventually(async () => {
    const { rooms } = await (await fetch(`${http}/api/recordings`, admin)).json() as Listing;
    return rooms.some((room) => room.manifest.room === 'classroom/room1' && Boolean(room.manifest.stoppedAt));
  }, 10_000, 'the room recording of classroom/room1 to stop');
});
after(stopAll);

interface Listing {
  files: Array<{ path: string; size: number; duration?: number; videocodecid?: number; width?: number; recording: boolean }>;
  rooms: Array<{ path: string; manifest: { room: string; startedAt: string; stoppedAt: string; participants: Array<{ stream: string }>; files: Array<{ stream: string; file: string; offsetMs: number; durationMs: number }> } }>;
}

describe('HTTP API', () => {
  test('GET /api/recordings lists files with metadata and the room manifest', async () => {
    const res = await fetch(`${http}/api/recordings`, admin);
    assert.equal(res.status, 200);
    const listing = (await res.json()) as Listing;
    const clip = listing.files.find((f) => f.path === 'live/clip.flv');
    assert.ok(clip, JSON.stringify(listing.files));
    assert.ok(Math.abs(clip.duration! - 2) <= 0.1, `duration ${clip.duration}`);
    assert.equal(clip.videocodecid, 7);
    assert.equal(clip.width, 320);
    assert.equal(clip.recording, false);
    const room = listing.rooms.find((r) => r.manifest.room === 'classroom/room1');
    assert.ok(room, JSON.stringify(listing.rooms));
    assert.ok(room.manifest.stoppedAt >= room.manifest.startedAt);
    assert.deepEqual(room.manifest.participants.map((p) => p.stream).sort(), ['alice', 'bob']);
    assert.equal(room.manifest.files.length, 2);
    for (const file of room.manifest.files) {
      assert.ok(file.offsetMs >= 0 && file.durationMs > 500, JSON.stringify(file));
      assert.ok(listing.files.some((f) => f.path === file.file), `${file.file} is listed`);
    }
  });

  test('GET /recordings/<path>.flv downloads the file, with ranges', async () => {
    const whole = Buffer.from(await (await fetch(`${http}/recordings/live/clip.flv`, admin)).arrayBuffer());
    assert.ok(whole.equals(readFileSync(join(origin.dataDir, 'recordings', 'live', 'clip.flv'))));
    const part = await fetch(`${http}/recordings/live/clip.flv`, { headers: { ...admin.headers, range: 'bytes=3-12' } });
    assert.equal(part.status, 206);
    assert.equal(part.headers.get('content-range'), `bytes 3-12/${whole.length}`);
    assert.ok(Buffer.from(await part.arrayBuffer()).equals(whole.subarray(3, 13)));
    const tail = await fetch(`${http}/recordings/live/clip.flv`, { headers: { ...admin.headers, range: 'bytes=-4' } });
    assert.ok(Buffer.from(await tail.arrayBuffer()).equals(whole.subarray(whole.length - 4)));
    const bad = await fetch(`${http}/recordings/live/clip.flv`, { headers: { ...admin.headers, range: `bytes=${whole.length}-` } });
    assert.equal(bad.status, 416);
    assert.equal(bad.headers.get('content-range'), `bytes */${whole.length}`);
  });

  test('unknown files are 404; paths leaving the folder are 403, whatever the token', async () => {
    // (fetch resolves %2e%2e segments itself: that one arrives as /x.flv, no route.)
    for (const path of ['/recordings/live/none.flv', '/recordings/live/clip.flv.recording', '/nothing', '/recordings/live/%2e%2e/%2e%2e/x.flv']) {
      const res = await fetch(`${http}${path}`, admin);
      assert.equal(res.status, 404, path);
      await res.arrayBuffer();
    }
    for (const path of ['/recordings/..%2F..%2Fetc%2Fpasswd.flv', '/recordings/live/..%2F..%2Fx.flv', '/recordings/live/.%2Fclip.flv']) {
      const res = await fetch(`${http}${path}`, admin);
      assert.equal(res.status, 403, path);
      await res.arrayBuffer();
    }
  });

  test('without a token 401, a bad or expired one 401, another room\'s teacher 403; a room\'s teacher lists and downloads that room only', async () => {
    const status = async (path: string, headers: Record<string, string> = {}) => {
      const res = await fetch(`${http}${path}`, { headers });
      await res.arrayBuffer();
      return res.status;
    };
    const listing = await (await fetch(`${http}/api/recordings`, admin)).json() as Listing;
    const roomFile = listing.files.find((f) => f.path.startsWith('classroom/room1/'))!.path;
    assert.equal(await status('/api/recordings'), 401);
    assert.equal(await status('/recordings/live/clip.flv'), 401);
    assert.equal(await status('/api/recordings', bearer('not.a.token')), 401);
    assert.equal(await status('/api/recordings', bearer(await mintToken(origin.dataDir, { room: '*', role: 'admin' }, -60))), 401, 'expired');
    const otherTeacher = bearer(await mintToken(origin.dataDir, { room: 'classroom/room2', role: 'teacher', name: 'Tess' }));
    assert.equal(await status(`/recordings/${roomFile}`, otherTeacher), 403);
    assert.deepEqual((await (await fetch(`${http}/api/recordings`, { headers: otherTeacher })).json() as Listing).files, [], 'another room\'s teacher sees nothing');
    const student = bearer(await mintToken(origin.dataDir, { room: 'classroom/room1', role: 'student', name: 'Sam' }));
    assert.equal(await status('/api/recordings', student), 403, 'a student may not list recordings');
    const teacher = bearer(await mintToken(origin.dataDir, { room: 'classroom/room1', role: 'teacher', name: 'Tom' }));
    const own = await (await fetch(`${http}/api/recordings`, { headers: teacher })).json() as Listing;
    assert.ok(own.files.length >= 2 && own.files.every((f) => f.path.startsWith('classroom/room1/')), JSON.stringify(own.files.map((f) => f.path)));
    assert.equal(own.rooms.length, 1);
    assert.equal(await status(`/recordings/${roomFile}`, teacher), 200);
    assert.equal(await status('/recordings/live/clip.flv', teacher), 403, 'not the teacher\'s room');
    assert.equal(await status(`/recordings/classroom/room1/..%2F..%2Flive%2Fclip.flv`, teacher), 403, 'no climbing out of the room');
  });

  test('POST /api/tokens mints a token with the admin token only; the token it gives opens its room', async () => {
    const post = (headers: Record<string, string>, body: unknown) => fetch(`${http}/api/tokens`, { method: 'POST', headers: { ...headers, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const claims = { room: 'classroom/room1', role: 'teacher', name: 'Tina', ttl: '10m' };
    assert.equal((await post({}, claims)).status, 401);
    assert.equal((await post(bearer(await mintToken(origin.dataDir, { room: 'classroom/room1', role: 'teacher', name: 'T' })), claims)).status, 403);
    assert.equal((await post(admin.headers, { ...claims, role: 'principal' })).status, 400);
    assert.equal((await post(admin.headers, { ...claims, ttl: 'forever' })).status, 400);
    const minted = await post(admin.headers, claims);
    assert.equal(minted.status, 201);
    const { token, expiresAt } = await minted.json() as { token: string; expiresAt: string };
    assert.ok(Date.parse(expiresAt) - Date.now() > 9 * 60_000 && Date.parse(expiresAt) - Date.now() <= 10 * 60_000);
    assert.equal((await fetch(`${http}/api/recordings`, { headers: bearer(token) })).status, 200, 'a teacher token lists its room');
  });

  test('parseRange accepts the three forms and refuses the rest', () => {
    assert.deepEqual(parseRange('bytes=0-9', 100), { start: 0, end: 9 });
    assert.deepEqual(parseRange('bytes=90-', 100), { start: 90, end: 99 });
    assert.deepEqual(parseRange('bytes=-10', 100), { start: 90, end: 99 });
    assert.deepEqual(parseRange('bytes=95-200', 100), { start: 95, end: 99 });
    for (const bad of ['bytes=100-', 'bytes=5-1', 'bytes=-0', 'bytes=0-1,3-4', 'items=0-1', 'bytes=-']) assert.equal(parseRange(bad, 100), null, bad);
  });
});
