/**
 * The HTTP API with a real origin: the recordings listing with metadata and room manifests
 * (rooms recorded with --record-rooms always), FLV downloads with byte ranges (200, 206, 416,
 * 404) and path validation.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startOrigin, stopAll, type OriginProcess } from '../support/processes.ts';
import { ffmpegFlv, startFlvPublish } from '../support/flv-publisher.ts';
import { parseRange } from '../../origin/http/http-api.ts';

let origin: OriginProcess;
let http: string;

before(async () => {
  origin = await startOrigin(['--record-rooms', 'always']);
  http = `http://127.0.0.1:${origin.httpPort}`;
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
  await origin.waitForLog(/room recording stopped room=classroom\/room1/);
});
after(stopAll);

interface Listing {
  files: Array<{ path: string; size: number; duration?: number; videocodecid?: number; width?: number; recording: boolean }>;
  rooms: Array<{ path: string; manifest: { room: string; startedAt: string; stoppedAt: string; participants: Array<{ stream: string }>; files: Array<{ stream: string; file: string; offsetMs: number; durationMs: number }> } }>;
}

describe('HTTP API', () => {
  test('GET /api/recordings lists files with metadata and the room manifest', async () => {
    const res = await fetch(`${http}/api/recordings`);
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
    const whole = Buffer.from(await (await fetch(`${http}/recordings/live/clip.flv`)).arrayBuffer());
    assert.ok(whole.equals(readFileSync(join(origin.dataDir, 'recordings', 'live', 'clip.flv'))));
    const part = await fetch(`${http}/recordings/live/clip.flv`, { headers: { range: 'bytes=3-12' } });
    assert.equal(part.status, 206);
    assert.equal(part.headers.get('content-range'), `bytes 3-12/${whole.length}`);
    assert.ok(Buffer.from(await part.arrayBuffer()).equals(whole.subarray(3, 13)));
    const tail = await fetch(`${http}/recordings/live/clip.flv`, { headers: { range: 'bytes=-4' } });
    assert.ok(Buffer.from(await tail.arrayBuffer()).equals(whole.subarray(whole.length - 4)));
    const bad = await fetch(`${http}/recordings/live/clip.flv`, { headers: { range: `bytes=${whole.length}-` } });
    assert.equal(bad.status, 416);
    assert.equal(bad.headers.get('content-range'), `bytes */${whole.length}`);
  });

  test('unknown files and paths leaving the folder are 404', async () => {
    for (const path of ['/recordings/live/none.flv', '/recordings/..%2F..%2Fetc%2Fpasswd.flv', '/recordings/live/%2e%2e/%2e%2e/x.flv', '/recordings/live/clip.flv.recording', '/nothing']) {
      const res = await fetch(`${http}${path}`);
      assert.equal(res.status, 404, path);
      await res.arrayBuffer();
    }
  });

  test('parseRange accepts the three forms and refuses the rest', () => {
    assert.deepEqual(parseRange('bytes=0-9', 100), { start: 0, end: 9 });
    assert.deepEqual(parseRange('bytes=90-', 100), { start: 90, end: 99 });
    assert.deepEqual(parseRange('bytes=-10', 100), { start: 90, end: 99 });
    assert.deepEqual(parseRange('bytes=95-200', 100), { start: 95, end: 99 });
    for (const bad of ['bytes=100-', 'bytes=5-1', 'bytes=-0', 'bytes=0-1,3-4', 'items=0-1', 'bytes=-']) assert.equal(parseRange(bad, 100), null, bad);
  });
});
