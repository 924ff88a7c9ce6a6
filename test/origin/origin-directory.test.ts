/**
 * The origin directory (origin/cluster/) against a real Redis (Debian's redis-server, started by the
 * test on a free loopback port): leases appear and lapse (an origin process killed with SIGKILL leaves
 * within its lease), rooms spread over origins, racing directory clients placing one new room agree on
 * one owner, a room whose owner died is placed again on its next use, an origin whose lease lapsed
 * learns which of its rooms moved, and a Redis stopped and started
 * again (empty) neither stops running rooms nor loses them, and places a room asked for while it was
 * down. And the in-process directory that runs without --cluster.
 */
import { after, afterEach, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { Redis } from 'ioredis';
import { LocalOriginDirectory } from '../../origin/cluster/local-origin-directory.ts';
import { RedisOriginDirectory } from '../../origin/cluster/redis-origin-directory.ts';
import { NoLiveOriginError, type LiveOrigin, type OriginDirectory } from '../../origin/cluster/origin-directory.ts';
import { startRedis, type RedisServer } from '../support/redis-server.ts';
import { startDirectoryOrigin } from '../support/directory-origin.ts';
import { eventually, stop, stopAll } from '../support/processes.ts';

const LEASE_TTL_MS = 1500;
const REFRESH_MS = 300;
const IDLE = { clients: 0, streams: 0, bitrateBps: 0, cpu: 0 };

let redis: RedisServer;
const directories: OriginDirectory[] = [];

/** A directory client on the test's Redis, under a key prefix of the test's own; closed after the test. */
function directory(prefix: string): RedisOriginDirectory {
  const made = new RedisOriginDirectory({ url: redis.url, keyPrefix: prefix, leaseTtlMs: LEASE_TTL_MS, refreshIntervalMs: REFRESH_MS, retryIntervalMs: 100 });
  directories.push(made);
  return made;
}

async function registeredOrigin(prefix: string, originId: string): Promise<{ directory: RedisOriginDirectory; origin: LiveOrigin }> {
  const made = directory(prefix);
  const origin = await made.register({ originId, linkAddress: `${originId}.test:9035`, load: IDLE });
  return { directory: made, origin };
}

/** Resolves with the next `event` whose origin has `leaseId`. */
function originEvent(watcher: RedisOriginDirectory, event: 'origin-up' | 'origin-down', leaseId: string): Promise<LiveOrigin> {
  return new Promise((resolve) => {
    const listener = (origin: LiveOrigin): void => {
      if (origin.leaseId !== leaseId) return;
      watcher.off(event, listener);
      resolve(origin);
    };
    watcher.on(event, listener);
  });
}

before(async () => { redis = await startRedis(); });
afterEach(async () => { await Promise.all(directories.splice(0).map((d) => d.close())); });
after(stopAll);

describe('RedisOriginDirectory', () => {
  test('an origin registers with its link address and load; killed, its lease lapses and it leaves', async () => {
    const watcher = directory('cg-expiry:');
    const crashing = await startDirectoryOrigin(redis.url, 'origin-doomed', LEASE_TTL_MS, REFRESH_MS, 'cg-expiry:');
    const listed = (await watcher.origins()).find((o) => o.leaseId === crashing.origin.leaseId);
    assert.ok(listed, 'the registered origin is listed');
    assert.equal(listed.originId, 'origin-doomed');
    assert.equal(listed.linkAddress, 'origin-doomed.test:9035');
    assert.deepEqual(listed.load, IDLE);

    const down = originEvent(watcher, 'origin-down', crashing.origin.leaseId);
    await stop(crashing.child, 'SIGKILL');
    await down;
    assert.ok(!(await watcher.origins()).some((o) => o.leaseId === crashing.origin.leaseId));
  });

  test('ten rooms spread over two origins, and every client sees the same owners', async () => {
    const a = await registeredOrigin('cg-spread:', 'origin-a');
    const b = await registeredOrigin('cg-spread:', 'origin-b');
    const edge = directory('cg-spread:');
    const otherEdge = directory('cg-spread:');
    const rooms = Array.from({ length: 10 }, (_, i) => `classroom/room-${i}`);
    const owners = await Promise.all(rooms.map((room) => edge.placeRoom(room)));
    const perOrigin = new Map<string, number>();
    for (const owner of owners) perOrigin.set(owner.leaseId, (perOrigin.get(owner.leaseId) ?? 0) + 1);
    assert.deepEqual([...perOrigin.keys()].sort(), [a.origin.leaseId, b.origin.leaseId].sort());
    assert.deepEqual([...perOrigin.values()], [5, 5]);
    for (const [i, room] of rooms.entries()) assert.equal((await otherEdge.ownerOf(room))?.leaseId, owners[i]!.leaseId);
    const listed = await otherEdge.origins();
    assert.deepEqual(listed.map((o) => o.rooms), [5, 5]);
  });

  test('many concurrent placements of one new room from several clients end with one owner', async () => {
    for (const id of ['origin-1', 'origin-2', 'origin-3']) await registeredOrigin('cg-race:', id);
    const edges = Array.from({ length: 4 }, () => directory('cg-race:'));
    const owners = await Promise.all(edges.flatMap((edge) => Array.from({ length: 25 }, () => edge.placeRoom('classroom/contested'))));
    assert.equal(new Set(owners.map((o) => o.leaseId)).size, 1);
    assert.equal(owners[0]!.rooms, 1, 'the room was counted once');
  });

  test('a room whose owner died is placed again on its next use', async () => {
    const watcher = directory('cg-move:');
    const doomed = await startDirectoryOrigin(redis.url, 'origin-first', LEASE_TTL_MS, REFRESH_MS, 'cg-move:');
    assert.equal((await watcher.placeRoom('classroom/moving')).leaseId, doomed.origin.leaseId);
    const survivor = await registeredOrigin('cg-move:', 'origin-second');
    assert.equal((await watcher.placeRoom('classroom/moving')).leaseId, doomed.origin.leaseId, 'a live owner keeps its room');

    assert.deepEqual((await watcher.placements()).map((p) => [p.roomKey, p.owner?.leaseId]), [['classroom/moving', doomed.origin.leaseId]]);

    const down = originEvent(watcher, 'origin-down', doomed.origin.leaseId);
    await stop(doomed.child, 'SIGKILL');
    await down;
    assert.equal(await watcher.ownerOf('classroom/moving'), null);
    assert.deepEqual((await watcher.placements()).map((p) => [p.roomKey, p.owner]), [['classroom/moving', null]], 'listed without an owner until its next use');
    assert.equal((await watcher.placeRoom('classroom/moving')).leaseId, survivor.origin.leaseId);
    assert.deepEqual((await watcher.placements()).map((p) => [p.roomKey, p.owner?.originId]), [['classroom/moving', 'origin-second']]);
  });

  test('Redis stopped and started again: running rooms keep their owner, a room asked for meanwhile is placed when it is back', async () => {
    const a = await registeredOrigin('cg-outage:', 'origin-steady');
    assert.equal((await a.directory.holdRoom('classroom/running')).leaseId, a.origin.leaseId);
    const edge = directory('cg-outage:');
    assert.equal((await edge.placeRoom('classroom/running')).leaseId, a.origin.leaseId);

    // Bounded: a directory that never noticed would otherwise hang the file instead of failing it.
    const unavailable = once(edge, 'unavailable', { signal: AbortSignal.timeout(10_000) });
    await redis.stop();
    await unavailable;
    assert.equal((await edge.placeRoom('classroom/running')).leaseId, a.origin.leaseId, 'a placed room answers while Redis is away');
    assert.equal((await edge.ownerOf('classroom/running'))?.leaseId, a.origin.leaseId);
    const retriesBefore = edge.stats.retries;
    const newRoom = edge.placeRoom('classroom/created-while-down');
    await eventually(() => edge.stats.retries > retriesBefore && edge.stats.waitingPlacements === 1, 10_000, 'the new placement waiting for Redis');

    await redis.start();
    assert.equal((await newRoom).leaseId, a.origin.leaseId);
    const freshEdge = directory('cg-outage:');
    await eventually(async () => (await freshEdge.ownerOf('classroom/running'))?.leaseId === a.origin.leaseId, 10_000, 'the held room claimed again in the restarted Redis');
    assert.equal((await freshEdge.ownerOf('classroom/created-while-down'))?.leaseId, a.origin.leaseId);
  });

  test('an origin whose lease lapsed writes it again and learns which of its rooms were placed elsewhere', async () => {
    const lapsing = await registeredOrigin('cg-lapse:', 'origin-late');
    await lapsing.directory.holdRoom('classroom/kept');
    await lapsing.directory.holdRoom('classroom/taken');
    // The lease expires as if its refreshes had come too late: another origin takes one room meanwhile.
    const raw = new Redis(redis.url);
    try {
      await raw.del(`cg-lapse:lease:${lapsing.origin.leaseId}`);
      await raw.del('cg-lapse:room:classroom/kept');
    } finally {
      raw.disconnect();
    }
    const other = await registeredOrigin('cg-lapse:', 'origin-other');
    assert.equal((await other.directory.holdRoom('classroom/taken')).leaseId, other.origin.leaseId);

    const [lostRoom, newOwner] = await once(lapsing.directory, 'room-lost') as [string, LiveOrigin | null];
    assert.equal(lostRoom, 'classroom/taken');
    assert.equal(newOwner?.leaseId, other.origin.leaseId);
    const edge = directory('cg-lapse:');
    await eventually(async () => (await edge.ownerOf('classroom/kept'))?.leaseId === lapsing.origin.leaseId, 10_000, 'the kept room claimed again');
  });

  test('without any live origin a placement is refused with NoLiveOriginError', async () => {
    await assert.rejects(directory('cg-empty:').placeRoom('classroom/nobody'), NoLiveOriginError);
  });
});

describe('LocalOriginDirectory (no --cluster)', () => {
  test('every room is placed on the one origin; closed, the origin leaves and its rooms have no owner', async () => {
    const local = new LocalOriginDirectory();
    await assert.rejects(local.placeRoom('classroom/early'), NoLiveOriginError);
    const origin = await local.register({ originId: 'origin', linkAddress: '127.0.0.1:9035', load: IDLE });
    for (const room of ['classroom/a', 'classroom/b', 'live/x']) assert.equal((await local.placeRoom(room)).leaseId, origin.leaseId);
    assert.equal((await local.origins())[0]!.rooms, 3);
    await local.releaseRoom('classroom/a');
    assert.equal(await local.ownerOf('classroom/a'), null);
    const down = once(local, 'origin-down');
    await local.close();
    await down;
    assert.equal(await local.ownerOf('classroom/b'), null);
  });
});
