/**
 * How edges in cluster mode (`--cluster`, issue 12) route sessions when the directory moves under
 * them, as separate processes on loopback around a private redis-server (two origins, two edges):
 * an edge whose view of a room is stale (it lost Redis and answers from what it knew, and the room
 * was placed on the other origin meanwhile) is refused with `cluster.not_owner` and routes the client
 * to the owner the refusal names, the client never hearing of it (and a `live` publish refused on its
 * stream is moved to the stream's owner the same way); many clients of new rooms
 * connecting at once through both edges end with one owner per room, every member on it; a room
 * whose last member left lets its placement go after the grace (its origin's room count goes down)
 * and, joined again, is placed anew with its chat, and so does a `live` stream once idle; the edge's /metrics carry the directory's view
 * and its routing decisions, typed.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import { RtmpClient } from '#common/rtmp-client.ts';
import { startClusterEdge, startRedisCluster, type EdgeProcess, type RedisCluster } from '../support/cluster.ts';
import { FlappingTcpProxy } from '../support/flapping-tcp-proxy.ts';
import { apiClients, apiStreams, metricValue, originApi, waitForMetric, waitForPublished } from '../support/observe.ts';
import { startLightPlayer, startSyntheticPublisher } from '../support/synthetic-publisher.ts';
import { scrapeMetrics } from '../support/prometheus.ts';
import { eventually, stopAll, type OriginProcess } from '../support/processes.ts';
import type { ClusterOriginView, ClusterRoomView } from '../../origin/http/cluster-api.ts';

/** How long a room that ended stays placed on its origin (short here: the release is what one test watches). */
const ROOM_GRACE_MS = 500;

let cluster: RedisCluster;
/** Edge A reaches Redis through this path, which a test cuts. */
let redisPath: FlappingTcpProxy;
let edgeA: EdgeProcess;
const edgeB = (): EdgeProcess => cluster.edges[0]!;
const origin = (name: string): OriginProcess => cluster.origins.get(name)!;

before(async () => {
  cluster = await startRedisCluster(['origin-a', 'origin-b'], ['edge-b'], { originArgs: ['--cluster-room-grace-ms', String(ROOM_GRACE_MS)] });
  redisPath = new FlappingTcpProxy('127.0.0.1', cluster.redis.port);
  edgeA = await startClusterEdge(cluster, 'edge-a', `redis://${await redisPath.listen()}`);
});
after(async () => {
  await stopAll();
  await redisPath.close();
});

async function join(edge: EdgeProcess, room: string, name: string, role: 'teacher' | 'student' = 'student'): Promise<RtmpClient> {
  return (await RtmpClient.connect(`${edge.base}/${room}`, { connectArgs: [{ name, role }] })).client;
}

/** Rooms both origins let go of so far. */
async function releasedRooms(): Promise<number> {
  let total = 0;
  for (const running of cluster.origins.values()) total += await metricValue(running.httpPort, 'classroom_cluster_rooms_released_total');
  return total;
}

/** Runs `leave` (the last members leave, the publishers stop) and waits until `rooms` rooms or streams were let go (each test leaves the placements as it found them). */
async function leaveRooms(rooms: number, leave: () => unknown): Promise<void> {
  const before = await releasedRooms();
  await leave();
  await eventually(async () => (await releasedRooms()) >= before + rooms, 10_000, `${rooms} rooms let go`);
}

async function clusterRooms(): Promise<ClusterRoomView[]> {
  return (await originApi<{ rooms: ClusterRoomView[] }>(origin('origin-a'), '/api/cluster/rooms')).rooms;
}

async function clusterOrigins(): Promise<ClusterOriginView[]> {
  return (await originApi<{ origins: ClusterOriginView[] }>(origin('origin-a'), '/api/cluster/origins')).origins;
}

/** Edge A loses Redis: it routes from what it knew until restoreEdgeAToRedis(). */
async function cutEdgeAFromRedis(): Promise<void> {
  redisPath.cut();
  await waitForMetric(edgeA.httpPort, 'classroom_edge_cluster_directory_available', (available) => available === 0);
}

async function restoreEdgeAToRedis(): Promise<void> {
  redisPath.restore();
  await waitForMetric(edgeA.httpPort, 'classroom_edge_cluster_directory_available', (available) => available === 1);
}

/** Places `key` on `owner` in Redis, as another edge's placement would be, while edge A cannot see it. */
async function placeBehindEdgeA(key: string, owner: ClusterOriginView): Promise<void> {
  const redis = new Redis(cluster.redis.url);
  try {
    await redis.set(`cg:room:${key}`, JSON.stringify({ owner: owner.leaseId, placedAt: Date.now() }));
    await redis.zincrby('cg:room-counts', 1, owner.leaseId);
  } finally {
    redis.disconnect();
  }
}

/** Waits until the origin named `name` let go of `by` more rooms' placements than `from`. */
function waitForReleases(name: string, from: number, by = 1): Promise<number> {
  return waitForMetric(origin(name).httpPort, 'classroom_cluster_rooms_released_total', (released) => released >= from + by);
}

test('an edge with a stale view of a room is refused with cluster.not_owner and routes the client to the owner named', async () => {
  const room = 'classroom/moving';
  // Edge A places the room and learns its owner; the room's only member leaves, its origin lets the placement go.
  const first = await join(edgeA, room, 'Ann');
  const placedOn = (await clusterRooms()).find((r) => r.room === room)!.owner!.originId;
  const movedTo = placedOn === 'origin-a' ? 'origin-b' : 'origin-a';
  const newOwner = (await clusterOrigins()).find((o) => o.originId === movedTo)!;
  const released = await metricValue(origin(placedOn).httpPort, 'classroom_cluster_rooms_released_total');
  await cutEdgeAFromRedis();
  first.close();
  await waitForReleases(placedOn, released);
  // Meanwhile the room is placed on the other origin.
  await placeBehindEdgeA(room, newOwner);

  const rerouted = await metricValue(edgeA.httpPort, 'classroom_edge_cluster_not_owner_total', { outcome: 'rerouted' });
  const refusedBefore = await metricValue(origin(placedOn).httpPort, 'classroom_origin_connect_refusals_total', { reason: 'cluster.not_owner' });
  const second = await join(edgeA, room, 'Bea');
  try {
    // The stale owner refused it; the edge routed it to the owner, where it is a member now.
    assert.equal(await metricValue(origin(placedOn).httpPort, 'classroom_origin_connect_refusals_total', { reason: 'cluster.not_owner' }), refusedBefore + 1,
      `${placedOn} refused the session as not the room's owner`);
    assert.equal(await metricValue(edgeA.httpPort, 'classroom_edge_cluster_not_owner_total', { outcome: 'rerouted' }), rerouted + 1);
    const members = (await apiClients(origin(movedTo))).filter((c) => `${c.app}/${c.room}` === room);
    assert.deepEqual(members.map((c) => c.via), ['edge-a'], `the member runs on ${movedTo}, through edge A`);
    assert.ok(!(await apiClients(origin(placedOn))).some((c) => `${c.app}/${c.room}` === room), `nothing of the room is left on ${placedOn}`);
    const [chat] = await second.call('getChatHistory');
    assert.ok(Array.isArray(chat), 'the room answers the rerouted member');
  } finally {
    await leaveRooms(1, () => second.close());
    await restoreEdgeAToRedis();
  }
});

test('a live publish through an edge with a stale view of its stream is refused on its publish and routed to the stream\'s owner', async () => {
  const stream = 'stale-cam';
  // Edge A places live/stale-cam (a first publish) and learns its owner; the stream idle, its owner lets it go.
  const firstPublish = await startSyntheticPublisher(`${edgeA.base}/live`, stream);
  const placedOn = (await clusterRooms()).find((r) => r.room === `live/${stream}`)!.owner!.originId;
  await leaveRooms(1, () => firstPublish.stop());
  const movedTo = placedOn === 'origin-a' ? 'origin-b' : 'origin-a';
  await cutEdgeAFromRedis();
  await placeBehindEdgeA(`live/${stream}`, (await clusterOrigins()).find((o) => o.originId === movedTo)!);
  const rerouted = await metricValue(edgeA.httpPort, 'classroom_edge_cluster_not_owner_total', { outcome: 'rerouted' });
  // Published again through edge A: the stale owner refuses the publish, the edge moves the session to the owner.
  const publisher = await startSyntheticPublisher(`${edgeA.base}/live`, stream);
  try {
    assert.equal(await metricValue(edgeA.httpPort, 'classroom_edge_cluster_not_owner_total', { outcome: 'rerouted' }), rerouted + 1);
    const published = await waitForPublished(origin(movedTo), `live/${stream}`);
    assert.ok(published.published, `live/${stream} is published on ${movedTo}`);
    assert.ok(!(await apiStreams(origin(placedOn))).some((s) => s.key === `live/${stream}` && s.published), `not on ${placedOn}`);
    // A player through edge B (its directory up to date) receives it from the owner.
    const player = await startLightPlayer(`${edgeB().base}/live`, stream);
    try {
      await eventually(() => player.seqs.length > 10, 10_000, 'the player to receive the rerouted publisher\'s frames');
    } finally {
      player.client.close();
    }
  } finally {
    await leaveRooms(1, () => publisher.stop());
    await restoreEdgeAToRedis();
  }
});

test('many clients of new rooms connecting at once through both edges: one owner per room, every member on it', async () => {
  const rooms = Array.from({ length: 6 }, (_, i) => `classroom/race-${i}`);
  const PER_EDGE = 6;
  const connects = rooms.flatMap((room) => [edgeA, edgeB()].flatMap((edge) =>
    Array.from({ length: PER_EDGE }, (_, i) => join(edge, room, `${edge.name}-${i}`))));
  const members = await Promise.all(connects);
  try {
    const placed = (await clusterRooms()).filter((r) => rooms.includes(r.room));
    assert.deepEqual(placed.map((r) => r.room).sort(), rooms, 'every room placed once');
    for (const { room, owner } of placed) {
      assert.ok(owner, `${room} has a live owner`);
      for (const [name, running] of cluster.origins) {
        const here = (await apiClients(running)).filter((c) => `${c.app}/${c.room}` === room);
        assert.equal(here.length, name === owner.originId ? PER_EDGE * 2 : 0, `members of ${room} on ${name} (owner ${owner.originId})`);
      }
    }
    console.log(`placements: ${placed.map((r) => `${r.room} -> ${r.owner!.originId}`).join(', ')}`);
  } finally {
    await leaveRooms(rooms.length, () => { for (const member of members) member.close(); });
  }
});

test('a room whose last member left lets its placement go after the grace; joined again it is placed anew with its chat; so does an idle live stream', async () => {
  const room = 'classroom/released';
  const teacher = await join(edgeA, room, 'Tom', 'teacher');
  const owner = (await clusterRooms()).find((r) => r.room === room)!.owner!.originId;
  const roomsBefore = (await clusterOrigins()).find((o) => o.originId === owner)!.rooms;
  const released = await metricValue(origin(owner).httpPort, 'classroom_cluster_rooms_released_total');
  await teacher.call('sendChat', 'before the room ended');
  teacher.close();
  await waitForReleases(owner, released);
  assert.ok(!(await clusterRooms()).some((r) => r.room === room), 'the room is no longer placed');
  assert.equal((await clusterOrigins()).find((o) => o.originId === owner)!.rooms, roomsBefore - 1, `${owner} counts one room less`);
  // Joined again (through the other edge): placed on the least-loaded origin, with its chat from Redis.
  const back = await join(edgeB(), room, 'Tia');
  try {
    assert.ok((await clusterRooms()).find((r) => r.room === room)?.owner, 'placed again');
    const [chat] = await back.call('getChatHistory');
    assert.deepEqual((chat as Array<{ text: string }>).map((m) => m.text), ['before the room ended']);
  } finally {
    await leaveRooms(1, () => back.close());
  }
  // A stream of `live` is placed by itself: its placement goes the same way once it is idle.
  const publisher = await startSyntheticPublisher(`${edgeA.base}/live`, 'fleeting');
  assert.ok((await clusterRooms()).find((r) => r.room === 'live/fleeting')?.owner, 'the stream is placed while published');
  await leaveRooms(1, () => publisher.stop());
  assert.ok(!(await clusterRooms()).some((r) => r.room === 'live/fleeting'), 'the idle stream is no longer placed');
});

test("an edge's /metrics carry the directory's view and its routing decisions, typed", async () => {
  const scrape = await scrapeMetrics(edgeB().httpPort);
  const families: Record<string, 'COUNTER' | 'GAUGE'> = {
    classroom_edge_cluster_origins: 'GAUGE', classroom_edge_cluster_directory_available: 'GAUGE', classroom_edge_cluster_waiting_placements: 'GAUGE',
    classroom_edge_cluster_routes_total: 'COUNTER', classroom_edge_cluster_not_owner_total: 'COUNTER', classroom_edge_links: 'GAUGE',
  };
  for (const [name, type] of Object.entries(families)) assert.equal(scrape.type(name), type, name);
  assert.equal(scrape.value('classroom_edge_cluster_origins'), 2);
  assert.equal(scrape.value('classroom_edge_cluster_directory_available'), 1);
  assert.equal(scrape.value('classroom_edge_links', { state: 'up' }), 2);
  // Edge B placed each of the six race rooms for its six members: every session a decision.
  assert.ok(scrape.value('classroom_edge_cluster_routes_total', { decision: 'placed' }) >= 36, scrape.text.match(/^classroom_edge_cluster_routes_total.*$/gm)?.join('\n'));
});
