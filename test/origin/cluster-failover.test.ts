/**
 * The origin cluster end to end (`--cluster`, issue 12): a private redis-server, two origins and two
 * edges as separate processes on loopback. Ten rooms joined through both edges spread over both
 * origins (the cluster API); a browser joins over the WebSocket channel; members of one room on
 * different edges reach each other (a chat call, a shared object change, a server-to-client call);
 * streams of `live` are placed one by one, each published and played on its own owner; `kill -9` of the origin that owns a room with a
 * whiteboard, a chat history and a player: the room is placed on the other origin and reachable
 * again with its whiteboard and chat, the player (kept by its edge) is replayed there and plays
 * the new publish, and a member of a room of the surviving origin never noticed; the room's recording
 * made on the dead origin stays listed by the cluster with that origin (dead), and the room recorded
 * again on the survivor continues its manifest across origins (a second session, on the survivor's disk). The time from the
 * kill to the room being reachable again is printed (a figure, not an assert). Then Redis is stopped
 * and started again, empty: the class goes on, and a room asked for meanwhile is placed when it is back.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { join as joinPath } from 'node:path';
import { Redis } from 'ioredis';
import { RtmpClient } from '#common/rtmp-client.ts';
import type { AmfObject } from '#protocol/amf/types.ts';
import { startRedisCluster, type EdgeProcess, type RedisCluster } from '../support/cluster.ts';
import { checkClassroomExchange } from '../support/classroom-exchange.ts';
import { apiClients, apiRooms, apiStreams, metricValue, originApi, waitForMetric } from '../support/observe.ts';
import { eventually, stopAll, type OriginProcess } from '../support/processes.ts';
import { joinReply } from '../support/ws-join.ts';
import { playSyntheticFrames, startLightPlayer, startSyntheticPublisher } from '../support/synthetic-publisher.ts';
import type { ClusterOriginView, ClusterRecordingView, ClusterRoomView } from '../../origin/http/cluster-api.ts';

let cluster: RedisCluster;
// Rooms stay placed through the file once their members left (the tests read the first test's placements); their release after the grace is test/gateway/cluster-routing.test.ts's.
before(async () => { cluster = await startRedisCluster(['origin-a', 'origin-b'], ['edge-a', 'edge-b'], { originArgs: ['--cluster-room-grace-ms', '600000'] }); });
after(stopAll);
const edgeA = (): EdgeProcess => cluster.edges[0]!;
const edgeB = (): EdgeProcess => cluster.edges[1]!;
const origin = (name: string): OriginProcess => cluster.origins.get(name)!;
const ROOMS = Array.from({ length: 10 }, (_, i) => `classroom/room-${i}`);

async function join(edge: EdgeProcess, room: string, name: string, role: 'teacher' | 'student' = 'student'): Promise<RtmpClient> {
  return (await RtmpClient.connect(`${edge.base}/${room}`, { connectArgs: [{ name, role }] })).client;
}

/** The rooms placed, as an origin of the cluster answers for all of it. */
async function clusterRooms(answering: OriginProcess): Promise<ClusterRoomView[]> {
  return (await originApi<{ rooms: ClusterRoomView[] }>(answering, '/api/cluster/rooms')).rooms;
}

/** The room's recording sessions across the cluster, as an origin answers (its manifest across origins). */
async function roomRecordings(answering: OriginProcess, room: string): Promise<ClusterRecordingView[]> {
  return (await originApi<{ recordings: ClusterRecordingView[] }>(answering, `/api/cluster/recordings?room=${encodeURIComponent(room)}`)).recordings;
}

/** The room's teacher records it for a while on `owner`: resolves once the session is finished and listed by the cluster. */
async function recordRoom(teacher: RtmpClient, owner: OriginProcess, room: string, sessions: number): Promise<void> {
  const started = await metricValue(owner.httpPort, 'classroom_origin_recordings_started_total');
  await teacher.call('startRecording');
  await waitForMetric(owner.httpPort, 'classroom_origin_recordings_started_total', (count) => count > started);
  await teacher.call('stopRecording');
  await eventually(async () => (await roomRecordings(owner, room)).length === sessions, 10_000, `${sessions} recording sessions of ${room} listed`);
}

const ownerOf = async (answering: OriginProcess, room: string): Promise<string | null> =>
  (await clusterRooms(answering)).find((r) => r.room === room)?.owner?.originId ?? null;

test('ten rooms joined through both edges spread over both origins; members of one room on different edges reach each other', async () => {
  const members = await Promise.all(ROOMS.map((room, i) => join(i % 2 === 0 ? edgeA() : edgeB(), room, `member-${i}`)));
  try {
    const rooms = await clusterRooms(origin('origin-b'));
    assert.deepEqual(rooms.map((r) => r.room), [...ROOMS].sort());
    const perOrigin = new Map<string, number>();
    for (const room of rooms) perOrigin.set(room.owner!.originId, (perOrigin.get(room.owner!.originId) ?? 0) + 1);
    assert.deepEqual([...perOrigin].sort(), [['origin-a', 5], ['origin-b', 5]], 'least-loaded placement: five rooms each');
    // Each room runs on its owner only: its member is a client there, through the edge it joined.
    for (const name of ['origin-a', 'origin-b']) {
      const running = (await apiRooms(origin(name))).map((r) => r.path).filter((path) => path.startsWith('classroom/room-')).sort();
      assert.deepEqual(running, rooms.filter((r) => r.owner!.originId === name).map((r) => r.room).sort(), `rooms running on ${name}`);
    }
    // An origin admits a client only into a room it owns: straight to the other one, it is refused with the owner's name.
    const other = rooms[0]!.owner!.originId === 'origin-a' ? 'origin-b' : 'origin-a';
    await assert.rejects(RtmpClient.connect(`rtmp://127.0.0.1:${origin(other).port}/${rooms[0]!.room}`, { connectArgs: [{ name: 'Stray' }] }),
      (error: Error & { info?: Record<string, unknown> }) => {
        assert.deepEqual([error.info?.code, error.info?.error], ['NetConnection.Connect.Rejected', 'cluster.not_owner']);
        assert.match(String(error.info?.description), new RegExp(`runs on origin ${rooms[0]!.owner!.originId}`));
        return true;
      });
    const { origins } = await originApi<{ origins: ClusterOriginView[] }>(origin('origin-a'), '/api/cluster/origins');
    assert.deepEqual(origins.map((o) => [o.originId, o.rooms]).sort(), [['origin-a', 5], ['origin-b', 5]]);
    await eventually(async () => (await originApi<{ origins: ClusterOriginView[] }>(origin('origin-a'), '/api/cluster/origins')).origins
      .every((o) => o.load.clients >= 5), 10_000, 'each origin to report its five clients in its lease');
    // A browser's join (the WebSocket channel) is routed the same way as RTMP clients.
    const joined = await joinReply(edgeB().httpPort, { room: 'room-3', name: 'Wendy' });
    assert.equal(joined.type, 'joined', JSON.stringify(joined));
    // Two members alone in a new room (placed on first use), one per edge.
    const teacher = await join(edgeA(), 'classroom/crossing', 'Tina', 'teacher');
    const student = await join(edgeB(), 'classroom/crossing', 'Sam');
    try {
      await checkClassroomExchange({ client: teacher, name: 'Tina', role: 'teacher' }, { client: student, name: 'Sam', role: 'student' }, 'across the cluster');
    } finally {
      teacher.close();
      student.close();
    }
  } finally {
    for (const member of members) member.close();
  }
});

test('streams of live are placed one by one: published through edge A on their owner, played through edge B', async () => {
  const names = ['cam-1', 'cam-2', 'cam-3'];
  const publishers = await Promise.all(names.map((name) => startSyntheticPublisher(`${edgeA().base}/live`, name)));
  const players = await Promise.all(names.map((name) => startLightPlayer(`${edgeB().base}/live`, name)));
  try {
    await eventually(() => players.every((player) => player.seqs.length > 10), 15_000, 'every player to receive frames');
    const rooms = await clusterRooms(origin('origin-a'));
    const owners = names.map((name) => rooms.find((r) => r.room === `live/${name}`)?.owner?.originId);
    assert.equal(new Set(owners).size, 2, `three streams spread over both origins: ${owners.join(', ')}`);
    for (const [i, name] of names.entries()) {
      const stream = (await apiStreams(origin(owners[i]!))).find((s) => s.key === `live/${name}`);
      assert.ok(stream?.published, `live/${name} is published on its owner ${owners[i]}`);
      assert.equal(stream.viewers.edges['edge-b'], 1, `edge B plays live/${name} from its owner`);
    }
    // Straight to an origin that does not own live/cam-1, a second publish of it is refused with the owner's name.
    const other = owners[0] === 'origin-a' ? 'origin-b' : 'origin-a';
    const { client: stray } = await RtmpClient.connect(`rtmp://127.0.0.1:${origin(other).port}/live`);
    try {
      const streamId = await stray.createStream();
      stray.streamCommand(streamId, 'publish', 'cam-1', 'live');
      const refused = await stray.waitForStatus(streamId, 'NetStream.Publish.BadName');
      assert.equal(refused.error, 'cluster.not_owner');
    } finally {
      stray.close();
    }
  } finally {
    for (const player of players) player.client.close();
    await Promise.all(publishers.map((publisher) => publisher.stop()));
  }
});

test('kill -9 of an origin: its room is placed on the other with whiteboard and chat, its player replayed; the other origin\'s rooms never notice', async () => {
  const victimName = (await ownerOf(origin('origin-a'), ROOMS[1]!))!;
  const survivorName = victimName === 'origin-a' ? 'origin-b' : 'origin-a';
  const victim = origin(victimName);
  const survivor = origin(survivorName);
  const doomedRoom = ROOMS[1]!;
  const calmRoom = (await clusterRooms(survivor)).find((r) => r.owner?.originId === survivorName)!.room;

  // The doomed room: a teacher draws and chats through edge A, publishes through edge A; a viewer plays through edge B.
  const teacher = await join(edgeA(), doomedRoom, 'Tess', 'teacher');
  const [strokeId] = await teacher.call('drawStroke', { points: [0, 0, 10, 10], color: 0xff0000 });
  await teacher.call('sendChat', 'before the crash');
  const firstPublisher = await startSyntheticPublisher(`${edgeA().base}/${doomedRoom}`, 'board-cam', { connect: { connectArgs: [{ name: 'Tess-cam', role: 'teacher' }] } });
  const viewer = await join(edgeB(), doomedRoom, 'Vic');
  const frames = await playSyntheticFrames(viewer, 'board-cam');
  const viewerStatuses: string[] = [];
  viewer.on('status', (_id, info) => viewerStatuses.push(String(info.code)));
  // The calm room: a member on edge A with the chat shared object, on the surviving origin.
  const calm = await join(edgeA(), calmRoom, 'Cal');
  const calmChat = await calm.sharedObject('chat').connect();
  await eventually(() => frames.seqs.length > 10, 10_000, 'the viewer to receive frames from the doomed room');
  assert.equal(await metricValue(survivor.httpPort, 'classroom_cluster_origins'), 2);
  // The lesson is recorded on the doomed origin: the files stay on its disk, the cluster lists them.
  await recordRoom(teacher, victim, doomedRoom, 1);
  // Written through to Redis (a crash before that would lose the last writes: a write is not waited for).
  const redis = new Redis(cluster.redis.url);
  try {
    await eventually(async () => (await redis.hkeys(`cg:so:${doomedRoom}`)).sort().join() === 'chat,whiteboard', 5000, 'chat and whiteboard in Redis');
  } finally {
    redis.disconnect();
  }

  const exited = once(victim.child, 'exit');
  const killedAt = Date.now();
  victim.child.kill('SIGKILL');
  await exited;
  await eventually(() => viewerStatuses.includes('NetStream.Play.UnpublishNotify'), 10_000, 'UnpublishNotify on the viewer');

  // The room is reachable again: a new member gets in (its edge places the room on the survivor).
  let back: RtmpClient | null = null;
  await eventually(async () => {
    back = await join(edgeA(), doomedRoom, 'Tara', 'teacher').catch(() => null);
    return back !== null;
  }, 20_000, 'the doomed room to be reachable again');
  const recoveredMs = Date.now() - killedAt;
  console.log(`room ${doomedRoom} reachable again ${recoveredMs} ms after kill -9 of its origin (${victimName} -> ${survivorName})`);
  const rejoined = back! as RtmpClient;
  const secondPublisher = await startSyntheticPublisher(`${edgeA().base}/${doomedRoom}`, 'board-cam', { connect: { connectArgs: [{ name: 'Tess-cam2', role: 'teacher' }] } });
  try {
    assert.equal(await ownerOf(survivor, doomedRoom), survivorName);
    await waitForMetric(survivor.httpPort, 'classroom_cluster_origins', (origins) => origins === 1); // the dead origin left the directory
    const [chat] = await rejoined.call('getChatHistory');
    assert.deepEqual((chat as AmfObject[]).map((m) => m.text), ['before the crash'], 'the chat history came back with the room');
    const [board] = await rejoined.call('getWhiteboard');
    assert.deepEqual((board as AmfObject[]).map((s) => [s.id, s.points]), [[strokeId, [0, 0, 10, 10]]], 'the whiteboard came back with the room');
    // The viewer was kept by edge B and replayed on the survivor: it plays the new publish.
    const seen = frames.seqs.length;
    await eventually(() => frames.seqs.length > seen + 10, 15_000, 'the replayed viewer to receive the new publisher\'s frames');
    assert.ok(!viewer.closed, 'the viewer was kept through the failover');
    const replayed = (await apiClients(survivor)).filter((c) => c.via === 'edge-b' && c.playing.includes(`${doomedRoom}/board-cam`));
    assert.equal(replayed.length, 1, 'edge B replayed the viewer on the surviving origin');
    // The calm room never noticed: its member is connected, its calls answered, its shared object live.
    assert.ok(!calm.closed, 'the member of the surviving origin\'s room is still connected');
    // The recording on the dead origin stays listed with it; recorded again, the room's manifest goes on on the survivor.
    await recordRoom(rejoined, survivor, doomedRoom, 2);
    const sessions = await roomRecordings(survivor, doomedRoom);
    assert.deepEqual(sessions.map((s) => [s.room, s.origin, s.alive]), [[doomedRoom, victimName, false], [doomedRoom, survivorName, true]]);
    for (const [i, holder] of [victim, survivor].entries()) {
      const files = sessions[i]!.files.filter((f) => f.stream === 'board-cam' && f.file !== null);
      assert.equal(files.length, 1, `session ${i} recorded board-cam: ${JSON.stringify(sessions[i])}`);
      assert.ok(existsSync(joinPath(holder.dataDir, 'recordings', files[0]!.file!)), `${files[0]!.file} is on the disk of the origin listed`);
    }
    const said = calmChat.waitFor((e) => e.kind === 'change' && (e.value as { text?: string }).text === 'still here');
    await calm.call('sendChat', 'still here');
    await said;
  } finally {
    for (const client of [rejoined, viewer, calm, teacher]) client.close();
    await Promise.all([firstPublisher.stop(), secondPublisher.stop()]);
  }
});

test('Redis stopped and started again (empty) during a class: the class goes on through the edges, a room created meanwhile is placed when it is back', async () => {
  const alive = [...cluster.origins].find(([, o]) => o.child.exitCode === null && o.child.signalCode === null)!;
  const room = (await clusterRooms(alive[1])).find((r) => r.owner?.originId === alive[0])!.room;
  const speaker = await join(edgeB(), room, 'Ria');
  const listener = await join(edgeA(), room, 'Ray');
  const chat = await listener.sharedObject('chat').connect();
  try {
    await cluster.redis.stop();
    const said = chat.waitFor((e) => e.kind === 'change' && (e.value as { text?: string }).text === 'during the outage');
    await speaker.call('sendChat', 'during the outage');
    await said;
    // A member joining the running class meanwhile gets in: its edge and the origin answer from what they know.
    const late = await join(edgeA(), room, 'Lu');
    late.close();
    const born = join(edgeB(), 'classroom/born-in-outage', 'Nia');
    await eventually(async () => (await edgeB().metric('classroom_edge_links', { state: 'up' })) === 1, 5000, 'edge B linked still');
    await cluster.redis.start();
    const newcomer = await born;
    newcomer.close();
    await eventually(async () => (await ownerOf(alive[1], 'classroom/born-in-outage')) === alive[0], 10_000, 'the new room placed once Redis is back');
    await eventually(async () => (await ownerOf(alive[1], room)) === alive[0], 10_000, 'the running room claimed again by its origin');
    assert.ok(!speaker.closed && !listener.closed, 'the class went on');
  } finally {
    speaker.close();
    listener.close();
  }
});
