/**
 * The origin's admin API against a real cluster (an origin and one edge) with real peers: ffmpeg
 * publishing H.264/AAC directly, the project's RTMP client playing directly and through the edge and
 * joining a classroom (legacy policy: roles as declared, one member with a token). The listings show
 * what is there (codecs and picture size from the stream, a bitrate and frame rate, viewers per
 * edge, clients with protocol, edge, address, role and bytes, rooms); a kick disconnects exactly that
 * client with a status it can read; a stop ends ffmpeg's publish while another stream goes on and the
 * room recording of it is finished; room recordings start and stop and show in /api/recordings. No
 * token 401, a teacher's or student's 403, a token scoped to one room sees and touches only that
 * room, unknown things 404, malformed input 400.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { RtmpClient } from '#common/rtmp-client.ts';
import type { AmfObject } from '#protocol/amf/types.ts';
import { startCluster, type Cluster } from '../support/cluster.ts';
import { eventually, publishTestStream, stopAll } from '../support/processes.ts';
import { adminToken, bearer, mintToken } from '../support/tokens.ts';
import type { ClientView, RoomView, StreamView } from '../../origin/http/admin-api.ts';

const EDGE = 'admin-edge';
let cluster: Cluster;
let direct: string;
let viaEdge: string;
let adminTokenText: string;

before(async () => {
  cluster = await startCluster([EDGE]);
  direct = `rtmp://127.0.0.1:${cluster.origin.port}`;
  viaEdge = cluster.edges[0]!.base;
  adminTokenText = await adminToken(cluster.origin.dataDir);
});
after(stopAll);

/** A request to the origin's HTTP API; `token` null sends none (the admin token by default). */
async function api<T = any>(method: 'GET' | 'POST', path: string, options: { token?: string | null; body?: string } = {}): Promise<{ status: number; body: T }> {
  const token = options.token === undefined ? adminTokenText : options.token;
  const res = await fetch(`http://127.0.0.1:${cluster.origin.httpPort}${path}`, {
    method, headers: { ...(token === null ? {} : bearer(token)), ...(options.body === undefined ? {} : { 'content-type': 'application/json' }) }, body: options.body,
  });
  return { status: res.status, body: (await res.json()) as T };
}

const streams = async () => (await api<{ streams: StreamView[] }>('GET', '/api/streams')).body.streams;
const clients = async () => (await api<{ clients: ClientView[] }>('GET', '/api/clients')).body.clients;
const rooms = async () => (await api<{ rooms: RoomView[] }>('GET', '/api/rooms')).body.rooms;

/** A classroom member (the project's client) in `room`, declaring `{ name, role }` or bringing a token. */
async function member(base: string, room: string, args: AmfObject): Promise<RtmpClient> {
  const { client } = await RtmpClient.connect(`${base}/classroom/${room}`, { connectArgs: [args] });
  return client;
}

/** The project's client playing `live/NAME` from `base` (the origin or the edge); resolves at Play.Start. */
async function player(base: string, name: string): Promise<{ client: RtmpClient; streamId: number }> {
  const { client } = await RtmpClient.connect(`${base}/live`);
  const streamId = await client.createStream();
  client.streamCommand(streamId, 'play', name, -1000);
  await client.waitForStatus(streamId, 'NetStream.Play.Start');
  return { client, streamId };
}

/** ffmpeg publishing `live/NAME` to `base` (the origin by default) until stopped; resolves once /api/streams shows it with both codecs. */
async function ffmpegPublish(name: string, base = direct): Promise<ChildProcess> {
  const ffmpeg = publishTestStream(`${base}/live/${name}`);
  await eventually(async () => (await streams()).some((s) => s.key === `live/${name}` && s.video !== null && s.audio !== null), 15_000, `live/${name} published`);
  return ffmpeg;
}

describe('admin API', () => {
  test('no token 401, a teacher\'s or student\'s 403, a token scoped to one room sees and touches only that room', async () => {
    const routes: Array<['GET' | 'POST', string]> = [
      ['GET', '/api/rooms'], ['GET', '/api/clients'], ['GET', '/api/streams'], ['POST', '/api/clients/1/kick'],
      ['POST', '/api/streams/live/x/stop'], ['POST', '/api/rooms/live/recording/start'], ['POST', '/api/rooms/live/recording/stop'],
    ];
    const teacher = await mintToken(cluster.origin.dataDir, { room: '*', role: 'teacher', name: 'tess' });
    const student = await mintToken(cluster.origin.dataDir, { room: 'classroom/math', role: 'student', name: 'stu' });
    for (const [method, path] of routes) {
      assert.equal((await api(method, path, { token: null })).status, 401, `${method} ${path} without a token`);
      assert.equal((await api(method, path, { token: 'not.a.token' })).status, 401, `${method} ${path} with a bad token`);
      assert.equal((await api(method, path, { token: teacher })).status, 403, `${method} ${path} with a teacher token`);
      assert.equal((await api(method, path, { token: student })).status, 403, `${method} ${path} with a student token`);
    }

    // admin.api for one room only: its room is all it sees, the rest is 403.
    const mathOperator = await mintToken(cluster.origin.dataDir, { room: 'classroom/math', role: 'teacher', name: 'op', can: ['admin.api'] });
    const inMath = await member(direct, 'math', { name: 'scoped-in', role: 'student' });
    const inLive = await player(direct, 'nothing-here');
    try {
      const seen = (await api<{ rooms: RoomView[] }>('GET', '/api/rooms', { token: mathOperator })).body.rooms;
      assert.deepEqual(seen.map((r) => r.path), ['classroom/math']);
      const seenClients = (await api<{ clients: ClientView[] }>('GET', '/api/clients', { token: mathOperator })).body.clients;
      assert.ok(seenClients.length > 0 && seenClients.every((c) => c.app === 'classroom' && c.room === 'math'), JSON.stringify(seenClients));
      const liveClient = (await clients()).find((c) => c.app === 'live' && c.playing.includes('live/nothing-here'))!;
      assert.equal((await api('POST', `/api/clients/${liveClient.id}/kick`, { token: mathOperator })).status, 403);
      assert.equal((await api('POST', '/api/rooms/live/recording/start', { token: mathOperator })).status, 403);
      assert.equal(inLive.client.closed, false, 'a refused kick disconnects nobody');
    } finally {
      inMath.close();
      inLive.client.close();
    }
  });

  test('listings: streams with codecs, picture size, bitrate, frame rate and viewers per edge; clients; rooms; no token in them', async () => {
    const ffmpeg = await ffmpegPublish('cam');
    const directPlayer = await player(direct, 'cam');
    const edgePlayer = await player(viaEdge, 'cam');
    const tina = await member(direct, 'listing', { name: 'tina', role: 'teacher' });
    const bob = await member(viaEdge, 'listing', { name: 'bob', role: 'student' });
    const samToken = await mintToken(cluster.origin.dataDir, { room: 'classroom/listing', role: 'student', name: 'sam', sub: 'user-sam' });
    const sam = await member(direct, 'listing', { token: samToken });
    try {
      // A bitrate needs bytes counted over some time; viewers through the edge need its PlayAttach.
      let cam: StreamView | undefined;
      await eventually(async () => {
        cam = (await streams()).find((s) => s.key === 'live/cam');
        return cam !== undefined && cam.bitrate > 0 && cam.frameRate > 0 && cam.viewers.total === 2;
      }, 15_000, 'live/cam with a bitrate and two viewers');
      assert.equal(cam!.scope, 'live');
      assert.equal(cam!.name, 'cam');
      assert.equal(cam!.published, true);
      assert.deepEqual({ codec: cam!.video!.codec, width: cam!.video!.width, height: cam!.video!.height }, { codec: 'h264', width: 320, height: 240 });
      assert.deepEqual({ codec: cam!.audio!.codec, sampleRate: cam!.audio!.sampleRate }, { codec: 'aac', sampleRate: 44100 });
      assert.deepEqual(cam!.viewers, { total: 2, direct: 1, edges: { [EDGE]: 1 } });
      assert.ok(cam!.bytesIn > 0);
      assert.equal(cam!.recording, false);
      assert.equal(cam!.publisher!.via, null);
      assert.equal(cam!.publisher!.type, 'live');

      const listed = await clients();
      const publisher = listed.find((c) => c.id === cam!.publisher!.clientId)!;
      assert.equal(publisher.protocol, 'rtmp');
      assert.equal(publisher.via, null);
      assert.equal(publisher.address, '127.0.0.1');
      assert.deepEqual(publisher.publishing, ['live/cam']);
      assert.equal(publisher.bytes!.measured, 'socket');
      assert.ok(publisher.bytes!.received >= cam!.bytesIn, `${publisher.bytes!.received} bytes received, ${cam!.bytesIn} of media`);
      const players = listed.filter((c) => c.playing.includes('live/cam'));
      assert.deepEqual(players.map((c) => c.via).sort(), [EDGE, null].sort());
      const edgeViewer = players.find((c) => c.via === EDGE)!;
      assert.equal(edgeViewer.protocol, 'rtmp');
      assert.equal(edgeViewer.bytes!.measured, 'link');
      assert.ok(edgeViewer.bytes!.received > 0 && edgeViewer.bytes!.sent > 0);
      const inRoom = listed.filter((c) => c.app === 'classroom' && c.room === 'listing');
      const byName = Object.fromEntries(inRoom.map((c) => [c.name, c]));
      assert.deepEqual(Object.keys(byName).sort(), ['bob', 'sam', 'tina']);
      assert.deepEqual([byName.tina!.role, byName.tina!.auth, byName.tina!.via], ['teacher', 'declared', null]);
      assert.deepEqual([byName.bob!.role, byName.bob!.via, byName.bob!.protocol], ['student', EDGE, 'rtmp']);
      assert.deepEqual([byName.sam!.role, byName.sam!.auth, byName.sam!.sub], ['student', 'token', 'user-sam']);

      const room = (await rooms()).find((r) => r.path === 'classroom/listing')!;
      assert.deepEqual({ app: room.app, room: room.room, clients: room.clients, recording: room.recording }, { app: 'classroom', room: 'listing', clients: 3, recording: false });
      assert.deepEqual((await rooms()).find((r) => r.path === 'live')?.streams, ['live/cam']);

      const everything = JSON.stringify([await api('GET', '/api/clients'), await api('GET', '/api/streams'), await api('GET', '/api/rooms')]);
      assert.ok(!everything.includes(samToken) && !everything.includes(adminTokenText), 'no token in the listings');
    } finally {
      for (const client of [directPlayer.client, edgePlayer.client, tina, bob, sam]) client.close();
      ffmpeg.kill('SIGKILL');
    }
  });

  test('a kick disconnects exactly that client, directly and through the edge, with a status it can read', async () => {
    const tina = await member(direct, 'kick', { name: 'tina', role: 'teacher' });
    const alice = await member(direct, 'kick', { name: 'alice', role: 'student' });
    const bob = await member(viaEdge, 'kick', { name: 'bob', role: 'student' });
    try {
      const inRoom = async () => Object.fromEntries((await clients()).filter((c) => c.room === 'kick').map((c) => [c.name, c.id]));
      const ids = await inRoom();
      const aliceStatus = alice.waitForStatus(0, 'NetConnection.Connect.Closed');
      const kicked = await api('POST', `/api/clients/${ids.alice}/kick`, { body: JSON.stringify({ reason: 'Please rejoin with your school account.' }) });
      assert.deepEqual(kicked, { status: 200, body: { id: ids.alice, reason: 'Please rejoin with your school account.' } });
      assert.equal((await aliceStatus).description, 'Please rejoin with your school account.');
      await eventually(() => alice.closed, 5000, 'alice disconnected');
      assert.deepEqual(Object.keys(await inRoom()).sort(), ['bob', 'tina'], 'gone from the listing when the answer comes');

      const bobStatus = bob.waitForStatus(0, 'NetConnection.Connect.Closed');
      assert.equal((await api('POST', `/api/clients/${ids.bob}/kick`)).status, 200);
      assert.equal((await bobStatus).description, 'Disconnected by an administrator.', 'the default reason, relayed by the edge');
      await eventually(() => bob.closed, 5000, 'bob disconnected by his edge');
      assert.deepEqual(Object.keys(await inRoom()), ['tina']);
      assert.deepEqual(await tina.call('echo', 'still here'), ['still here'], 'the others stay');
      assert.equal((await api('POST', `/api/clients/${ids.bob}/kick`)).status, 404, 'a client that left is unknown');
    } finally {
      for (const client of [tina, alice, bob]) client.close();
    }
  });

  test('a stop ends the publisher (ffmpeg through the edge exits) while another stream goes on; the room recording of it is finished', async () => {
    const stopped = await ffmpegPublish('stop-me', viaEdge);
    const kept = await ffmpegPublish('keep-me');
    const watcher = await player(direct, 'stop-me');
    try {
      const start = await api<{ room: string; startedAt: string; by: string; manifest: string }>('POST', '/api/rooms/live/recording/start');
      assert.equal(start.status, 201);
      assert.equal(start.body.room, 'live');
      assert.equal(start.body.by, 'admin');
      assert.match(start.body.manifest, /^live\/rec-[^/]+\/manifest\.json$/);
      await eventually(async () => (await streams()).filter((s) => s.key.startsWith('live/') && s.key.endsWith('-me') && s.recording).length === 2, 10_000, 'both streams recorded');
      await new Promise((resolve) => setTimeout(resolve, 1500)); // some media in the files

      const { clientId: publisherId, via } = (await streams()).find((s) => s.key === 'live/stop-me')!.publisher!;
      assert.equal(via, EDGE);
      const unpublished = watcher.client.waitForStatus(watcher.streamId, 'NetStream.Play.UnpublishNotify', 10_000);
      const stop = await api('POST', '/api/streams/live/stop-me/stop', { body: JSON.stringify({ reason: 'Not allowed here.' }) });
      assert.deepEqual(stop, { status: 200, body: { key: 'live/stop-me', clientId: publisherId, reason: 'Not allowed here.' } });
      await eventually(() => stopped.exitCode !== null, 10_000, 'ffmpeg to stop on the error status');
      assert.notEqual(stopped.exitCode, 0);
      await unpublished;
      assert.equal((await api('POST', '/api/streams/live/stop-me/stop')).status, 404, 'no longer published');

      // The other stream goes on.
      const keptBytes = async () => (await streams()).find((s) => s.key === 'live/keep-me')!.bytesIn;
      const before = await keptBytes();
      await eventually(async () => (await keptBytes()) > before, 5000, 'live/keep-me still growing');
      assert.equal(kept.exitCode, null);

      // Its file in the room recording is finished while the recording goes on.
      const manifestPath = start.body.manifest;
      const manifest = async () => (await api<{ rooms: Array<{ path: string; manifest: { stoppedAt: string | null; files: Array<{ stream: string; file: string; stoppedAt: string | null; durationMs: number | null }> } }> }>('GET', '/api/recordings')).body.rooms.find((r) => r.path === manifestPath)!.manifest;
      await eventually(async () => (await manifest()).files.find((f) => f.stream === 'stop-me')?.stoppedAt != null, 10_000, 'the stopped stream\'s file finished');
      const stoppedFile = (await manifest()).files.find((f) => f.stream === 'stop-me')!;
      assert.ok(stoppedFile.durationMs! > 0);
      const files = (await api<{ files: Array<{ path: string; recording: boolean; duration?: number }> }>('GET', '/api/recordings')).body.files;
      const file = files.find((f) => f.path === stoppedFile.file)!;
      assert.equal(file.recording, false, 'its recording marker is gone');
      assert.ok(file.duration! > 0);
      assert.equal((await manifest()).files.find((f) => f.stream === 'keep-me')!.stoppedAt, null, 'the other file is still being written');

      const stopRecording = await api<{ stoppedAt: string }>('POST', '/api/rooms/live/recording/stop');
      assert.equal(stopRecording.status, 200);
      assert.ok(stopRecording.body.stoppedAt);
      assert.ok((await manifest()).stoppedAt);
    } finally {
      watcher.client.close();
      stopped.kill('SIGKILL');
      kept.kill('SIGKILL');
    }
  });

  test('room recordings start and stop; the room shows it; /api/recordings has its manifest', async () => {
    const tina = await member(direct, 'rec', { name: 'tina', role: 'teacher' });
    try {
      const started = await api<{ room: string; startedAt: string; manifest: string }>('POST', '/api/rooms/classroom/rec/recording/start');
      assert.equal(started.status, 201);
      assert.equal(started.body.room, 'classroom/rec');
      const again = await api<{ startedAt: string }>('POST', '/api/rooms/classroom/rec/recording/start');
      assert.deepEqual([again.status, again.body.startedAt], [200, started.body.startedAt], 'already recording: the same recording');
      assert.equal((await rooms()).find((r) => r.path === 'classroom/rec')!.recording, true);
      const [state] = await tina.call('getRecordingState');
      assert.equal((state as AmfObject).active, true, 'the classroom shows the recording');

      const stopped = await api<{ stoppedAt: string; manifest: string }>('POST', '/api/rooms/classroom/rec/recording/stop');
      assert.equal(stopped.status, 200);
      assert.equal(stopped.body.manifest, started.body.manifest);
      assert.equal((await rooms()).find((r) => r.path === 'classroom/rec')!.recording, false);
      const listing = (await api<{ rooms: Array<{ path: string; manifest: { room: string; stoppedAt: string; by: string } }> }>('GET', '/api/recordings')).body.rooms;
      const manifest = listing.find((r) => r.path === started.body.manifest)?.manifest;
      assert.deepEqual(manifest && { room: manifest.room, stoppedAt: manifest.stoppedAt, by: manifest.by }, { room: 'classroom/rec', stoppedAt: stopped.body.stoppedAt, by: 'admin' });
      assert.equal((await api('POST', '/api/rooms/classroom/rec/recording/stop')).status, 409, 'not being recorded');
    } finally {
      tina.close();
    }
  });

  test('unknown things 404, malformed input 400', async () => {
    const tina = await member(direct, 'input', { name: 'tina', role: 'teacher' });
    try {
      const id = (await clients()).find((c) => c.room === 'input')!.id;
      const cases: Array<[string, number, string?]> = [
        ['/api/clients/999999999/kick', 404],
        ['/api/clients/abc/kick', 400],
        [`/api/clients/${id}/kick`, 400, '{"reason":'],
        [`/api/clients/${id}/kick`, 400, JSON.stringify({ reason: 'x'.repeat(201) })],
        [`/api/clients/${id}/kick`, 400, JSON.stringify({ reason: 42 })],
        ['/api/streams/live/nobody/stop', 404],
        // (URLs resolve `..` and `%2E%2E` segments; an encoded slash or an empty segment gets through.)
        ['/api/streams/live%2F..%2Fx/stop', 400],
        ['/api/streams/live//x/stop', 400],
        ['/api/streams/live/%E0%A4%A/stop', 400],
        ['/api/rooms/classroom/nobody-here/recording/start', 404],
        ['/api/rooms/no-such-app/recording/start', 404],
        ['/api/rooms/classroom%2F..%2Fx/recording/start', 400],
        ['/api/rooms/classroom/nobody-here/recording/stop', 404],
        ['/api/rooms/classroom/input/recording/stop', 409],
      ];
      for (const [path, status, body] of cases) {
        const answer = await api<{ error: string }>('POST', path, body === undefined ? {} : { body });
        assert.equal(answer.status, status, `${path} ${body ?? ''}: ${JSON.stringify(answer.body)}`);
        assert.equal(typeof answer.body.error, 'string');
      }
      assert.equal(tina.closed, false, 'refused kicks disconnect nobody');
    } finally {
      tina.close();
    }
  });
});
