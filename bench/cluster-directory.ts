/**
 * The cluster directory at school scale, without media: a private Redis (redis-server on loopback),
 * N origins registered with RedisOriginDirectory in a process of their own (leases refreshed every
 * second), M edges (directory clients, one Redis connection each, listing origins every second) and R rooms joined at once, each
 * by J edges (clients of one class on different edges), in this process. Prints the time to place
 * every room, Redis's commands per second meanwhile (EVALSHA calls, and every command including those
 * the scripts run), whether every room got one owner, and how even the load is (max/mean rooms per origin).
 *
 *   npm run bench:cluster -- --origins 50 --edges 500 --rooms 20000 --joins 2
 */
import { once } from 'node:events';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { setLogLevel } from '#common/logger.ts';
import { RedisOriginDirectory } from '../origin/cluster/redis-origin-directory.ts';
import type { LiveOrigin } from '../origin/cluster/origin-directory.ts';
import { startRedis } from '../test/support/redis-server.ts';
import { stopAll } from '../test/support/processes.ts';
import { startDirectoryOrigins } from '../test/support/directory-origin.ts';

const { values } = parseArgs({
  options: {
    origins: { type: 'string', default: '50' },
    edges: { type: 'string', default: '500' },
    rooms: { type: 'string', default: '20000' },
    joins: { type: 'string', default: '2' },
  },
});
const originCount = Number(values.origins);
const edgeCount = Number(values.edges);
const roomCount = Number(values.rooms);
const joinsPerRoom = Number(values.joins);
const LEASE_TTL_MS = 3000;
const REFRESH_MS = 1000;
const KEY_PREFIX = 'cg:';

/** Redis's counters that matter here, from INFO. */
async function redisCounters(redis: Redis): Promise<{ commands: number; evalsha: number }> {
  const stats = await redis.info('stats');
  const commandStats = await redis.info('commandstats');
  const commands = Number(/total_commands_processed:(\d+)/.exec(stats)?.[1] ?? 0);
  const evalsha = Number(/cmdstat_evalsha:calls=(\d+)/.exec(commandStats)?.[1] ?? 0);
  return { commands, evalsha };
}

setLogLevel('warn');
const redisServer = await startRedis();
const monitor = new Redis(redisServer.url);
const directories: RedisOriginDirectory[] = [];
const open = (): RedisOriginDirectory => {
  const directory = new RedisOriginDirectory({ url: redisServer.url, keyPrefix: KEY_PREFIX, leaseTtlMs: LEASE_TTL_MS, refreshIntervalMs: REFRESH_MS, commandTimeoutMs: 60_000 });
  directories.push(directory);
  return directory;
};
try {
  // The origins in a process of their own, as they are on their own machines: their lease refreshes do
  // not wait behind the edges this process simulates.
  const { origins } = await startDirectoryOrigins(redisServer.url, 'origin', LEASE_TTL_MS, REFRESH_MS, KEY_PREFIX, originCount);
  const edges = Array.from({ length: edgeCount }, open);
  await Promise.all(edges.map((edge) => (edge.stats.available ? null : once(edge, 'available'))));
  console.log(`${origins.length} origins registered (${(await edges[0]!.origins()).length} live), ${edges.length} edges connected; placing ${roomCount} rooms, each joined from ${joinsPerRoom} edges at once`);

  const before = await redisCounters(monitor);
  const loopDelay = monitorEventLoopDelay({ resolution: 10 });
  loopDelay.enable();
  const started = performance.now();
  const joins: Array<Promise<LiveOrigin>> = [];
  for (let room = 0; room < roomCount; room++) {
    for (let join = 0; join < joinsPerRoom; join++) joins.push(edges[(room * joinsPerRoom + join * 7919) % edgeCount]!.placeRoom(`classroom/room-${room}`));
  }
  const owners = await Promise.all(joins);
  const seconds = (performance.now() - started) / 1000;
  const after = await redisCounters(monitor);
  loopDelay.disable();

  let disagreements = 0;
  for (let room = 0; room < roomCount; room++) {
    const first = owners[room * joinsPerRoom]!.leaseId;
    for (let join = 1; join < joinsPerRoom; join++) if (owners[room * joinsPerRoom + join]!.leaseId !== first) disagreements++;
  }
  const perOrigin = (await edges[0]!.origins()).map((origin) => origin.rooms);
  const placed = perOrigin.reduce((sum, rooms) => sum + rooms, 0);
  const mean = placed / perOrigin.length;
  const max = Math.max(...perOrigin);
  console.log(`time to place all rooms: ${seconds.toFixed(2)} s (${Math.round(joins.length / seconds)} placements/s)`);
  console.log(`Redis: ${Math.round((after.evalsha - before.evalsha) / seconds)} EVALSHA/s, ${Math.round((after.commands - before.commands) / seconds)} commands/s (scripts' inner calls included)`);
  console.log(`rooms placed: ${placed} of ${roomCount}; rooms with edges disagreeing on the owner: ${disagreements}`);
  console.log(`this process's event loop delay during the burst: p99 ${(loopDelay.percentile(99) / 1e6).toFixed(0)} ms, max ${(loopDelay.max / 1e6).toFixed(0)} ms`);
  console.log(`rooms per origin: max ${max}, mean ${mean.toFixed(1)}, max/mean ${(max / mean).toFixed(3)}, min ${Math.min(...perOrigin)}`);
} finally {
  await Promise.all(directories.map((directory) => directory.close()));
  monitor.disconnect();
  await stopAll();
}
