/**
 * Origins' halves of the directory in a process of their own, for tests that kill it (`kill -9`) and
 * watch the leases lapse, and for the cluster bench (so the origins' lease refreshes do not wait
 * behind the edges it simulates): `node test/support/directory-origin.ts REDIS_URL ORIGIN_ID
 * LEASE_TTL_MS REFRESH_MS KEY_PREFIX COUNT` registers COUNT origins with RedisOriginDirectory (named
 * ORIGIN_ID, or ORIGIN_ID-0 ... when COUNT > 1), writes their LiveOrigins as one JSON line on fd 3
 * (stdout carries the log), then refreshes the leases until killed. Started here, tracked by processes.ts.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { writeSync } from 'node:fs';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { RedisOriginDirectory } from '../../origin/cluster/redis-origin-directory.ts';
import type { LiveOrigin } from '../../origin/cluster/origin-directory.ts';
import { track } from './processes.ts';

export interface DirectoryOriginsProcess {
  origins: LiveOrigin[];
  child: ChildProcess;
}

export async function startDirectoryOrigins(redisUrl: string, originId: string, leaseTtlMs: number, refreshMs: number, keyPrefix: string, count = 1): Promise<DirectoryOriginsProcess> {
  const child = track(spawn(process.execPath, [import.meta.filename, redisUrl, originId, String(leaseTtlMs), String(refreshMs), keyPrefix, String(count)],
    { stdio: ['ignore', 'ignore', 'inherit', 'pipe'] }));
  const lines = createInterface({ input: child.stdio[3] as Readable });
  const [first] = await Promise.race([
    once(lines, 'line') as Promise<[string]>,
    once(child, 'exit').then(([code]) => { throw new Error(`directory origins ${originId} exited (${code}) before registering`); }),
  ]);
  return { origins: JSON.parse(first) as LiveOrigin[], child };
}

/** One origin in a process of its own. */
export async function startDirectoryOrigin(redisUrl: string, originId: string, leaseTtlMs: number, refreshMs: number, keyPrefix: string): Promise<{ origin: LiveOrigin; child: ChildProcess }> {
  const { origins, child } = await startDirectoryOrigins(redisUrl, originId, leaseTtlMs, refreshMs, keyPrefix);
  return { origin: origins[0]!, child };
}

if (import.meta.main) {
  const [url, originId, ttl, refresh, keyPrefix, count] = process.argv.slice(2);
  const total = Number(count ?? 1);
  const origins = await Promise.all(Array.from({ length: total }, (_, i) => {
    const name = total === 1 ? originId! : `${originId}-${i}`;
    const directory = new RedisOriginDirectory({ url: url!, leaseTtlMs: Number(ttl), refreshIntervalMs: Number(refresh), keyPrefix });
    return directory.register({ originId: name, linkAddress: `${name}.test:9035`, load: { clients: 0, streams: 0, bitrateBps: 0, cpu: 0 } });
  }));
  writeSync(3, `${JSON.stringify(origins)}\n`);
}
