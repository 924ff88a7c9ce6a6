/**
 * Where the Redis directory keeps things, all under one prefix (`cg:` by default, so one Redis can
 * serve several clusters or other programs), and the JSON values it stores, checked when read back:
 * a value that does not parse or has the wrong shape is treated as absent, never trusted.
 *
 *   PREFIX lease:LEASE_ID   the lease of one origin's run: JSON LeaseValue, expires (PX) unless refreshed
 *   PREFIX origins          sorted set: lease id -> when its lease expires (Redis's clock, ms)
 *   PREFIX room-counts      sorted set: live lease id -> rooms placed on it (the first is the least loaded)
 *   PREFIX room:ROOM_KEY    the placement of a room: JSON PlacementValue { owner: LEASE_ID, placedAt }
 */
import { z } from 'zod';
import type { LiveOrigin } from './origin-directory.ts';

const count = z.number().finite().nonnegative();

const leaseValue = z.object({
  leaseId: z.string().min(1),
  originId: z.string().min(1),
  linkAddress: z.string().min(1),
  load: z.object({ clients: count, streams: count, bitrateBps: count, cpu: count }),
});

export type LeaseValue = z.infer<typeof leaseValue>;

export class DirectoryKeys {
  readonly prefix: string;
  readonly origins: string;
  readonly roomCounts: string;
  /** What lease keys start with (scripts build them from lease ids). */
  readonly leasePrefix: string;

  constructor(prefix = 'cg:') {
    this.prefix = prefix;
    this.origins = `${prefix}origins`;
    this.roomCounts = `${prefix}room-counts`;
    this.leasePrefix = `${prefix}lease:`;
  }

  lease(leaseId: string): string {
    return `${this.leasePrefix}${leaseId}`;
  }

  room(roomKey: string): string {
    return `${this.prefix}room:${roomKey}`;
  }
}

/** A lease as stored, or null when `text` is not a well-formed lease. */
export function parseLease(text: unknown): LeaseValue | null {
  if (typeof text !== 'string') return null;
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return null;
  }
  const parsed = leaseValue.safeParse(json);
  return parsed.success ? parsed.data : null;
}

/** A lease and its room count as a LiveOrigin, or null when the lease is malformed. */
export function liveOrigin(leaseText: unknown, rooms: unknown): LiveOrigin | null {
  const lease = parseLease(leaseText);
  if (!lease) return null;
  const roomCount = Number(rooms ?? 0);
  return { ...lease, load: { ...lease.load }, rooms: Number.isFinite(roomCount) && roomCount > 0 ? roomCount : 0 };
}
