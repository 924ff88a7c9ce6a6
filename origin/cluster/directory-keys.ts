/**
 * Where the Redis directory keeps things, all under one prefix (`cg:` by default, so one Redis can
 * serve several clusters or other programs), and the JSON values it stores, checked when read back:
 * a value that does not parse or has the wrong shape is treated as absent, never trusted.
 *
 *   PREFIX lease:LEASE_ID   the lease of one origin's run: JSON LeaseValue, expires (PX) unless refreshed
 *   PREFIX origins          sorted set: lease id -> when its lease expires (Redis's clock, ms)
 *   PREFIX room-counts      sorted set: live lease id -> rooms placed on it (the first is the least loaded)
 *   PREFIX room:ROOM_KEY    the placement of a room: JSON PlacementValue { owner: LEASE_ID, placedAt }
 *   PREFIX so:ROOM_KEY      hash: persistent shared object name -> JSON StoredSharedObject (shared-object-mirror.ts)
 *   PREFIX recordings:ROOM_KEY  hash: a finished recording session's manifest path -> JSON { origin, manifest } (recordings-mirror.ts)
 *   PREFIX recorded-rooms   set: the rooms with a recordings hash
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
  readonly recordedRooms: string;

  constructor(prefix = 'cg:') {
    this.prefix = prefix;
    this.origins = `${prefix}origins`;
    this.roomCounts = `${prefix}room-counts`;
    this.leasePrefix = `${prefix}lease:`;
    this.recordedRooms = `${prefix}recorded-rooms`;
  }

  lease(leaseId: string): string {
    return `${this.leasePrefix}${leaseId}`;
  }

  room(roomKey: string): string {
    return `${this.prefix}room:${roomKey}`;
  }

  sharedObjects(roomKey: string): string {
    return `${this.prefix}so:${roomKey}`;
  }

  recordings(roomKey: string): string {
    return `${this.prefix}recordings:${roomKey}`;
  }
}

/** A stored JSON value of `schema`'s shape, or null when `text` does not parse or has another shape. */
export function parseStored<T>(text: unknown, schema: z.ZodType<T>): T | null {
  if (typeof text !== 'string') return null;
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return null;
  }
  const parsed = schema.safeParse(json);
  return parsed.success ? parsed.data : null;
}

/** A lease as stored, or null when `text` is not a well-formed lease. */
export function parseLease(text: unknown): LeaseValue | null {
  return parseStored(text, leaseValue);
}

const placementValue = z.object({ owner: z.string().min(1) });

/** The owner's lease id of a stored placement, or null when `text` is not a well-formed placement. */
export function parsePlacementOwner(text: unknown): string | null {
  return parseStored(text, placementValue)?.owner ?? null;
}

/** A lease and its room count as a LiveOrigin, or null when the lease is malformed. */
export function liveOrigin(leaseText: unknown, rooms: unknown): LiveOrigin | null {
  const lease = parseLease(leaseText);
  if (!lease) return null;
  const roomCount = Number(rooms ?? 0);
  return { ...lease, load: { ...lease.load }, rooms: Number.isFinite(roomCount) && roomCount > 0 ? roomCount : 0 };
}
