/**
 * How fast a class comes back after its origin dies, in cluster mode (`--cluster`): a private Redis,
 * two origins and two edges as processes on loopback, R classroom rooms joined through the edges
 * (spread over both origins). Each round kills (SIGKILL) the origin owning the first room, then
 * joins every room of the dead origin again through the edges at once, retrying until each gets in,
 * and prints the time from the kill to each room being reachable again (min, median, max); the dead
 * origin is started again (same name, new ports) for the next round. The lease TTL (3 s) bounds it
 * from below: a dead origin's rooms are placed again only once its lease has lapsed.
 *
 *   npm run bench:cluster-failover -- --rooms 20 --rounds 3
 */
import { once } from 'node:events';
import { parseArgs } from 'node:util';
import { RtmpClient } from '#common/rtmp-client.ts';
import { startRedisCluster, type EdgeProcess } from '../test/support/cluster.ts';
import { originApi, waitForMetric } from '../test/support/observe.ts';
import { startOrigin, stopAll } from '../test/support/processes.ts';
import type { ClusterRoomView } from '../origin/http/cluster-api.ts';

const { values } = parseArgs({ options: { rooms: { type: 'string', default: '20' }, rounds: { type: 'string', default: '3' } } });
const roomCount = Number(values.rooms);
const rounds = Number(values.rounds);
const ORIGINS = ['origin-a', 'origin-b'];
/** The rooms' members join and leave at once: their rooms stay placed through the run (a release after the grace would measure a placement, not a failover). */
const ORIGIN_ARGS = ['--cluster-room-grace-ms', '3600000'];

async function join(edge: EdgeProcess, room: string, name: string): Promise<RtmpClient | null> {
  return RtmpClient.connect(`${edge.base}/${room}`, { connectArgs: [{ name, role: 'student' }] }).then(({ client }) => client, () => null);
}

/** Joins until it gets in; resolves with when it did. */
async function joinedAt(edge: EdgeProcess, room: string, name: string): Promise<number> {
  for (;;) {
    const client = await join(edge, room, name);
    if (client) {
      client.close();
      return Date.now();
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

try {
  const cluster = await startRedisCluster(ORIGINS, ['edge-a', 'edge-b'], { originArgs: ORIGIN_ARGS });
  const rooms = Array.from({ length: roomCount }, (_, i) => `classroom/bench-${i}`);
  const edgeOf = (i: number) => cluster.edges[i % cluster.edges.length]!;
  for (const [i, room] of rooms.entries()) (await join(edgeOf(i), room, `first-${i}`))?.close();
  for (let round = 1; round <= rounds; round++) {
    const survivorName = ORIGINS.find((name) => cluster.origins.has(name))!;
    const placed = (await originApi<{ rooms: ClusterRoomView[] }>(cluster.origins.get(survivorName)!, '/api/cluster/rooms')).rooms;
    const victimName = placed.find((r) => r.room === rooms[0])!.owner!.originId;
    const moving = rooms.filter((room) => placed.find((r) => r.room === room)?.owner?.originId === victimName);
    const victim = cluster.origins.get(victimName)!;
    const exited = once(victim.child, 'exit');
    const killedAt = Date.now();
    victim.child.kill('SIGKILL');
    await exited;
    const times = (await Promise.all(moving.map((room) => joinedAt(edgeOf(rooms.indexOf(room)), room, `round-${round}`)))).map((at) => at - killedAt);
    console.log(`round ${round}: ${victimName} killed, its ${moving.length} of ${roomCount} rooms reachable again after min ${Math.min(...times)} ms, median ${median(times)} ms, max ${Math.max(...times)} ms`);
    // The dead origin comes back (a new run: a new lease) for the next round; the edges link to it once it registers.
    cluster.origins.set(victimName, await startOrigin(['--link-port', '0', '--link-secret', cluster.secret, '--cluster', cluster.redis.url, '--cluster-origin-id', victimName, ...ORIGIN_ARGS]));
    await Promise.all(cluster.edges.map((edge) => waitForMetric(edge.httpPort, 'classroom_edge_links', (up) => up === ORIGINS.length, { labels: { state: 'up' }, timeoutMs: 15_000 })));
  }
} finally {
  await stopAll();
}
