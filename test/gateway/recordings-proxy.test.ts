/**
 * The origin's recordings through the edge's HTTP port (gateway/http/origin-recordings-proxy.ts),
 * against a real origin (rooms recorded with --record-rooms always, two rooms) and edge: the listing
 * as the origin answers it, narrowed by `?room=`, paged (`limit`, and each page's `next` followed on the
 * edge: the query string goes through); byte ranges (206, Content-Range, the file's own
 * bytes) with the token in the header or the query; the origin's 401 and 403 passed through; and a
 * 502 naming the origin when its HTTP API cannot be reached. And the edge's default for `originHttp`.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { eventually, stopAll } from '../support/processes.ts';
import { ffmpegFlv, startFlvPublish } from '../support/flv-publisher.ts';
import { startCluster, startEdge, type Cluster } from '../support/cluster.ts';
import { adminToken, bearer, mintToken } from '../support/tokens.ts';
import { listingPages } from '../support/recordings-listing.ts';
import { DEFAULT_ORIGIN_HTTP_PORT, originHttpUrl } from '../../gateway/config.ts';
import { defaultOriginConfig } from '../../origin/config.ts';

interface Listing {
  files: Array<{ path: string; size: number }>;
  rooms: Array<{ path: string; manifest: { room: string; stoppedAt: string | null } }>;
}

let cluster: Cluster;
/** The edge's HTTP origin: http://127.0.0.1:PORT */
let edge: string;
let teacher: string;
let admin: string;

before(async () => {
  cluster = await startCluster(['recordings-edge'], { originArgs: ['--record-rooms', 'always'] });
  edge = `http://127.0.0.1:${cluster.edges[0]!.httpPort}`;
  admin = await adminToken(cluster.origin.dataDir);
  teacher = await mintToken(cluster.origin.dataDir, { room: 'classroom/algebra', role: 'teacher', name: 'Ms Li' });
  // One participant in each of two rooms: each room's recording stops with its last participant.
  const rtmp = `rtmp://127.0.0.1:${cluster.origin.port}`;
  for (const room of ['algebra', 'history']) {
    const member = await startFlvPublish(`${rtmp}/classroom/${room}`, 'cam', 'live', { connectArgs: [{ name: 'cam', role: 'student' }] });
    await member.pump(ffmpegFlv(2));
    await member.stop();
  }
  await eventually(async () => {
    const { rooms } = await (await fetch(`http://127.0.0.1:${cluster.origin.httpPort}/api/recordings`, { headers: bearer(admin) })).json() as Listing;
    return rooms.filter((room) => room.manifest.stoppedAt).length === 2;
  }, 10_000, 'both rooms\' recordings to stop');
});
after(stopAll);

async function listing(query: string, token: string): Promise<Listing> {
  const res = await fetch(`${edge}/api/recordings${query}`, { headers: bearer(token) });
  assert.equal(res.status, 200);
  return await res.json() as Listing;
}

test('the listing through the edge is the origin\'s, for a room\'s teacher that room\'s only, narrowed by ?room=', async () => {
  const everything = await listing('', admin);
  assert.deepEqual(everything.files.map((f) => f.path.split('/')[1]).sort(), ['algebra', 'history']);
  const narrowed = await listing('?room=classroom/history', admin);
  assert.equal(narrowed.files.length, 1);
  assert.match(narrowed.files[0]!.path, /^classroom\/history\/rec-[^/]+\/cam\.flv$/);
  assert.deepEqual(narrowed.rooms.map((r) => r.manifest.room), ['classroom/history']);
  const own = await listing('?room=classroom/algebra', teacher);
  assert.equal(own.files.length, 1);
  assert.deepEqual(await listing('', teacher), own, 'a teacher sees their room\'s recordings, nothing else');
  assert.deepEqual((await listing('?room=classroom/history', teacher)).files, [], 'not another room\'s, even when asked');
});

test('the listing is paged through the edge: limit and each page\'s next go through to the origin', async () => {
  const pages = await listingPages(edge, '/api/recordings?limit=1', admin);
  assert.ok(pages.length >= 4 && pages.every((page) => page.files.length + page.rooms.length === 1), JSON.stringify(pages));
  assert.equal(pages.at(-1)!.next, null);
  const whole = await listing('?limit=1000', admin);
  assert.deepEqual(pages.flatMap((page) => page.files), whole.files, 'every file once, as one page of all of them has them');
  assert.deepEqual(pages.flatMap((page) => page.rooms), whole.rooms);
});

test('a recording is read through the edge with byte ranges, the token in the header or the query', async () => {
  const [file] = (await listing('?room=classroom/algebra', teacher)).files;
  const original = readFileSync(join(cluster.origin.dataDir, 'recordings', ...file!.path.split('/')));
  const whole = await fetch(`${edge}/recordings/${file!.path}?token=${teacher}`);
  assert.equal(whole.status, 200);
  assert.equal(whole.headers.get('content-type'), 'video/x-flv');
  assert.equal(whole.headers.get('accept-ranges'), 'bytes');
  assert.ok(Buffer.from(await whole.arrayBuffer()).equals(original), 'the file as the origin holds it');
  const middle = Math.floor(original.length / 2);
  const part = await fetch(`${edge}/recordings/${file!.path}`, { headers: { ...bearer(teacher), range: `bytes=${middle}-` } });
  assert.equal(part.status, 206);
  assert.equal(part.headers.get('content-range'), `bytes ${middle}-${original.length - 1}/${original.length}`);
  assert.ok(Buffer.from(await part.arrayBuffer()).equals(original.subarray(middle)));
  const beyond = await fetch(`${edge}/recordings/${file!.path}`, { headers: { ...bearer(teacher), range: `bytes=${original.length}-` } });
  assert.equal(beyond.status, 416);
  await beyond.body?.cancel();
});

test('the origin\'s refusals pass through: no token 401, a student or another room\'s teacher 403', async () => {
  const [file] = (await listing('?room=classroom/algebra', teacher)).files;
  const student = await mintToken(cluster.origin.dataDir, { room: 'classroom/algebra', role: 'student', name: 'Sam' });
  const otherTeacher = await mintToken(cluster.origin.dataDir, { room: 'classroom/history', role: 'teacher', name: 'Mr Wu' });
  for (const [path, token, status] of [
    ['/api/recordings', null, 401], ['/api/recordings', student, 403],
    [`/recordings/${file!.path}`, null, 401], [`/recordings/${file!.path}`, otherTeacher, 403],
  ] as const) {
    const res = await fetch(`${edge}${path}`, { headers: token ? bearer(token) : {} });
    assert.equal(res.status, status, `${path} with ${token ? 'a token' : 'no token'}`);
    assert.ok(((await res.json()) as { error: string }).error, 'the origin\'s reason comes along');
  }
  const post = await fetch(`${edge}/api/recordings`, { method: 'POST', headers: bearer(admin) });
  assert.equal(post.status, 405);
  await post.body?.cancel();
});

test('an origin whose HTTP API cannot be reached is a 502 naming it', async () => {
  // The origin's link is up; its HTTP API is looked for where nothing listens (port 1 on loopback).
  const lost = await startEdge('lost-api-edge', cluster.link, cluster.secret, { originHttp: 'http://127.0.0.1:1' });
  try {
    const res = await fetch(`http://127.0.0.1:${lost.httpPort}/api/recordings`, { headers: bearer(admin) });
    assert.equal(res.status, 502);
    assert.match(await res.text(), /origin's HTTP API \(127\.0\.0\.1:1\) cannot be reached/);
  } finally {
    await lost.stop();
  }
});

test('without originHttp the edge looks for the origin\'s HTTP API on its first origin\'s host, on the origin\'s default port', () => {
  assert.equal(DEFAULT_ORIGIN_HTTP_PORT, defaultOriginConfig.httpPort);
  assert.equal(originHttpUrl({ originHttp: null, origins: [{ host: '10.0.0.5', port: 9035 }] }).href, `http://10.0.0.5:${DEFAULT_ORIGIN_HTTP_PORT}/`);
  assert.equal(originHttpUrl({ originHttp: null, origins: [{ host: '::1', port: 9035 }] }).href, `http://[::1]:${DEFAULT_ORIGIN_HTTP_PORT}/`);
  assert.equal(originHttpUrl({ originHttp: 'http://origin.internal:9000', origins: [{ host: '10.0.0.5', port: 9035 }] }).href, 'http://origin.internal:9000/');
});
