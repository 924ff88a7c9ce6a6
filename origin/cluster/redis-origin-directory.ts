/**
 * The origin directory on Redis (`--cluster redis://HOST:PORT`), over ioredis. Leases, placements and
 * room counts live in Redis under a key prefix (directory-keys.ts) and change only through Lua scripts
 * (placement-scripts.ts), so racing clients agree. A registered origin refreshes its lease every
 * `refreshIntervalMs`; every client lists the live origins as often and emits `origin-up` and
 * `origin-down` on changes.
 *
 * Redis unavailable: what is known keeps answering (the owner of a room already placed, the last list
 * of origins), placements of new rooms wait and try again (one warning when Redis goes, a counter per
 * retry), and when Redis comes back a registered origin writes its lease again and claims again the
 * rooms it holds, so a restarted, empty Redis learns the running placements back.
 */
import { EventEmitter } from 'node:events';
import type { Redis } from 'ioredis';
import { Logger } from '#common/logger.ts';
import { CodedError } from '#protocol/errors.ts';
import { DirectoryKeys, liveOrigin, parsePlacementOwner } from './directory-keys.ts';
import { directoryRetries, type DirectoryOperation } from './directory-metrics.ts';
import { ioredis } from './ioredis.ts';
import {
  DirectoryClosedError, newLeaseId, NoLiveOriginError, NotRegisteredError,
  type LiveOrigin, type OriginDirectory, type RoomPlacement, type OriginDirectoryEvents, type OriginDirectoryStats, type OriginLoad, type OriginRegistration,
} from './origin-directory.ts';
import { LEAVE, LIVE_ORIGINS, OWNER_OF, PLACE_ROOM, REFRESH_LEASE, RELEASE_ROOM } from './placement-scripts.ts';

export interface RedisOriginDirectoryOptions {
  /** redis://HOST:PORT */
  url: string;
  /** Prefix of every key (default `cg:`). */
  keyPrefix?: string;
  /** How long a lease lives without a refresh (default 3000 ms): a dead origin leaves within this. */
  leaseTtlMs?: number;
  /** How often the lease is refreshed and the live origins listed (default 1000 ms). */
  refreshIntervalMs?: number;
  /** How often an operation waiting for Redis tries again (default 500 ms; at once when Redis is back). */
  retryIntervalMs?: number;
  /** A command without an answer in this long counts as Redis unavailable (default 5000 ms). */
  commandTimeoutMs?: number;
  /**
   * Placements this client has at Redis at once (default 8; more wait here). Bounds the queue a burst
   * puts in front of every origin's lease refresh: 500 edges with 40 new rooms each must not push a
   * refresh past the lease's TTL.
   */
  maxPlacementsInFlight?: number;
  log?: Logger;
}

/** A stored value Redis handed back that is not what the directory writes. */
export class MalformedDirectoryValueError extends CodedError {
  constructor(what: string) {
    super('directory.malformed_value', `malformed ${what} in the directory`);
  }
}

/** What an operation answers while Redis is unavailable instead of waiting, if it can. */
type Fallback<T> = () => { value: T } | null;

export class RedisOriginDirectory extends EventEmitter<OriginDirectoryEvents> implements OriginDirectory {
  readonly #redis: Redis;
  readonly #keys: DirectoryKeys;
  readonly #log: Logger;
  readonly #leaseTtlMs: number;
  readonly #refreshIntervalMs: number;
  readonly #retryIntervalMs: number;
  readonly #commandTimeoutMs: number;
  /** This process's origin, once registered. */
  #self: LiveOrigin | null = null;
  /** Rooms this origin runs (holdRoom), claimed again when Redis comes back. */
  readonly #held = new Set<string>();
  /** The live origins as last listed, by lease id. */
  #live = new Map<string, LiveOrigin>();
  /** Owners learnt from placements, answered while Redis is away (dropped when their origin goes). */
  readonly #placements = new Map<string, LiveOrigin>();
  /** Wakes operations waiting to retry (Redis ready again, or closed). */
  readonly #wakers = new Set<() => void>();
  #available = false;
  #connectedOnce = false;
  #unavailableSince = 0;
  #claimAgain = false;
  #registeredOnce = false;
  #placementWaitLogged = false;
  #retries = 0;
  #waitingPlacements = 0;
  readonly #maxPlacementsInFlight: number;
  #placementsInFlight = 0;
  /** Placements waiting for a free slot under maxPlacementsInFlight. */
  readonly #placementQueue: Array<() => void> = [];
  #tickTimer: NodeJS.Timeout | null = null;
  #ticking: Promise<void> | null = null;
  #closed = false;

  constructor(options: RedisOriginDirectoryOptions) {
    super();
    this.#keys = new DirectoryKeys(options.keyPrefix);
    this.#log = options.log ?? new Logger('directory');
    this.#leaseTtlMs = options.leaseTtlMs ?? 3000;
    this.#refreshIntervalMs = options.refreshIntervalMs ?? 1000;
    this.#retryIntervalMs = options.retryIntervalMs ?? 500;
    this.#commandTimeoutMs = options.commandTimeoutMs ?? 5000;
    this.#maxPlacementsInFlight = options.maxPlacementsInFlight ?? 8;
    if (this.#refreshIntervalMs >= this.#leaseTtlMs) throw new RangeError('refreshIntervalMs must be shorter than leaseTtlMs');
    // No offline queue: a command while Redis is away fails at once and the directory decides (answer
    // from what it knows, or wait), instead of piling up in the client.
    this.#redis = new (ioredis().Redis)(options.url, {
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      commandTimeout: this.#commandTimeoutMs,
      retryStrategy: (attempt) => Math.min(attempt * 100, 1000),
    });
    this.#redis.on('error', (error: Error) => this.#log.debug('redis connection error', { error: error.message }));
    this.#redis.on('close', () => this.#markUnavailable('connection closed'));
    this.#redis.on('ready', () => {
      this.#wakeAll();
      this.#tickSoon(0);
    });
  }

  get stats(): OriginDirectoryStats {
    return { available: this.#available, retries: this.#retries, waitingPlacements: this.#waitingPlacements };
  }

  async register(registration: OriginRegistration): Promise<LiveOrigin> {
    this.#checkOpen();
    if (this.#self) throw new Error(`this directory is already registered as ${this.#self.leaseId}`);
    const self: LiveOrigin = { ...registration, load: { ...registration.load }, leaseId: newLeaseId(registration.originId), rooms: 0 };
    this.#self = self;
    await this.#attempt('register', () => this.#refreshLease(self));
    this.#log.info('origin registered', { leaseId: self.leaseId, linkAddress: self.linkAddress });
    this.#tickSoon(0);
    return { ...self };
  }

  reportLoad(load: OriginLoad): void {
    if (!this.#self) throw new NotRegisteredError('reportLoad');
    this.#self.load = { ...load };
  }

  async origins(): Promise<LiveOrigin[]> {
    const live = await this.#attempt('list', () => this.#listLive(), () => ({ value: [...this.#live.values()] }));
    return live.map((origin) => ({ ...origin, load: { ...origin.load } }));
  }

  async placeRoom(roomKey: string): Promise<LiveOrigin> {
    this.#checkOpen();
    this.#waitingPlacements++;
    try {
      // Origins write their leases again within a refresh of Redis coming back (empty, after a restart):
      // a placement finding none waits one lease time for them (from the first answer, not from the
      // call: it may have waited out an outage) before it is refused.
      let deadline: number | null = null;
      for (;;) {
        const owner = await this.#attempt('place', () => this.#place(roomKey, ''), () => this.#knownOwner(roomKey), roomKey);
        if (owner) return owner;
        deadline ??= Date.now() + this.#leaseTtlMs;
        if (Date.now() >= deadline) throw new NoLiveOriginError(roomKey);
        await this.#waitToRetry();
        this.#checkOpen();
      }
    } finally {
      this.#waitingPlacements--;
    }
  }

  /** The live origins as last listed (every refresh interval): what metrics read without asking Redis. */
  knownOrigins(): LiveOrigin[] {
    return [...this.#live.values()];
  }

  get self(): LiveOrigin | null {
    return this.#self ? { ...this.#self, load: { ...this.#self.load } } : null;
  }

  async placements(): Promise<RoomPlacement[]> {
    const roomKeys: string[] = [];
    const pattern = `${this.#keys.room('')}*`;
    let cursor = '0';
    do {
      const [next, keys] = await this.#redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
      cursor = next;
      roomKeys.push(...keys);
    } while (cursor !== '0');
    if (roomKeys.length === 0) return [];
    const values = await this.#redis.mget(...roomKeys);
    const live = new Map((await this.#listLive()).map((origin) => [origin.leaseId, origin]));
    const prefixLength = this.#keys.room('').length;
    return roomKeys.map((key, i) => {
      const owner = parsePlacementOwner(values[i]);
      return { roomKey: key.slice(prefixLength), owner: owner === null ? null : live.get(owner) ?? null };
    });
  }

  async ownerOf(roomKey: string): Promise<LiveOrigin | null> {
    const fallback = (): { value: LiveOrigin | null } => this.#knownOwner(roomKey) ?? { value: null };
    return await this.#attempt('owner', async () => {
      const owner = this.#ownerFromReply(await OWNER_OF.run(this.#redis, [this.#keys.room(roomKey), this.#keys.roomCounts], [this.#keys.leasePrefix]));
      if (owner) this.#placements.set(roomKey, owner);
      else this.#placements.delete(roomKey);
      return owner;
    }, fallback);
  }

  async holdRoom(roomKey: string): Promise<LiveOrigin> {
    this.#checkOpen();
    const self = this.#self;
    if (!self) throw new NotRegisteredError('holdRoom');
    this.#held.add(roomKey);
    // While Redis is away the room runs here; it is claimed when Redis is back.
    const owner = await this.#attempt('hold', () => this.#place(roomKey, self.leaseId), () => this.#knownOwner(roomKey) ?? { value: self });
    if (!owner) throw new NoLiveOriginError(roomKey);
    if (owner.leaseId !== self.leaseId) this.#held.delete(roomKey);
    return owner;
  }

  async releaseRoom(roomKey: string): Promise<boolean> {
    const self = this.#self;
    if (!self) throw new NotRegisteredError('releaseRoom');
    this.#held.delete(roomKey);
    this.#placements.delete(roomKey);
    try {
      return (await RELEASE_ROOM.run(this.#redis, [this.#keys.room(roomKey), this.#keys.roomCounts], [self.leaseId])) === 1;
    } catch (error) {
      // Not waited for: a placement left behind points at this live origin, which holds the room again on its next use.
      if (error instanceof ioredis().ReplyError) throw error;
      this.#log.warn('room release not written: Redis unavailable', { room: roomKey, error: (error as Error).message });
      return false;
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#tickTimer) clearTimeout(this.#tickTimer);
    this.#wakeAll();
    // The round in progress ends on its own once woken; a round stuck on a connection Redis never
    // answers must not hold the close up (a test's cleanup hung on one while Redis was down): it is
    // given one command timeout, then the connection goes anyway.
    if (this.#ticking) await Promise.race([this.#ticking, new Promise((resolve) => setTimeout(resolve, this.#commandTimeoutMs).unref())]);
    const self = this.#self;
    if (self && this.#redis.status === 'ready') {
      try {
        await LEAVE.run(this.#redis, [this.#keys.lease(self.leaseId), this.#keys.origins, this.#keys.roomCounts], [self.leaseId]);
      } catch (error) {
        this.#log.warn('lease not given up (it expires by itself)', { error: (error as Error).message });
      }
    }
    this.#redis.disconnect();
  }

  /** Runs `operation` until Redis answers it; while Redis is away answers from `fallback` if it can, else waits. */
  async #attempt<T>(operation: DirectoryOperation, run: () => Promise<T>, fallback?: Fallback<T>, roomKey?: string): Promise<T> {
    let warned = false;
    let reason = '';
    for (;;) {
      this.#checkOpen();
      try {
        const result = await run();
        this.#markAvailable();
        return result;
      } catch (error) {
        if (error instanceof ioredis().ReplyError || error instanceof CodedError) throw error;
        reason = (error as Error).message;
        this.#markUnavailable(reason);
      }
      const known = fallback?.();
      if (known) return known.value;
      this.#retries++;
      directoryRetries.inc({ operation });
      if (!warned && roomKey !== undefined && !this.#placementWaitLogged) {
        // One line per outage: the first room that waits (stats and the retry counter count the rest).
        this.#log.warn('room placements wait for Redis', { room: roomKey, operation, reason });
        this.#placementWaitLogged = true;
      }
      warned = true;
      await this.#waitToRetry();
    }
  }

  #waitToRetry(): Promise<void> {
    return new Promise((resolve) => {
      const wake = (): void => {
        clearTimeout(timer);
        this.#wakers.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, this.#retryIntervalMs);
      this.#wakers.add(wake);
    });
  }

  #wakeAll(): void {
    for (const wake of [...this.#wakers]) wake();
  }

  #markAvailable(): void {
    if (this.#available) return;
    this.#available = true;
    this.#placementWaitLogged = false;
    if (this.#connectedOnce) this.#log.info('Redis available again', { unavailableMs: Date.now() - this.#unavailableSince });
    this.#connectedOnce = true;
    // Redis may have come back empty (a restart without persistence): the next refresh writes the lease and claims the held rooms again.
    this.#claimAgain = true;
    this.#tickSoon(0);
    this.emit('available');
  }

  #markUnavailable(reason: string): void {
    if (!this.#available && this.#unavailableSince) return;
    this.#available = false;
    this.#unavailableSince = Date.now();
    if (this.#closed) return;
    // Before the first connection nothing runs yet: not an outage to warn about.
    if (this.#connectedOnce) this.#log.warn('Redis unavailable: running rooms go on, new placements wait for it', { reason });
    else this.#log.info('waiting for Redis', { reason });
    this.emit('unavailable', reason);
  }

  #tickSoon(delayMs: number): void {
    if (this.#closed) return;
    if (this.#tickTimer) clearTimeout(this.#tickTimer);
    this.#tickTimer = setTimeout(() => {
      this.#tickTimer = null;
      if (this.#ticking) return this.#tickSoon(this.#refreshIntervalMs);
      this.#ticking = this.#tick().finally(() => {
        this.#ticking = null;
        if (!this.#tickTimer) this.#tickSoon(this.#refreshIntervalMs);
      });
    }, delayMs);
  }

  /** One round: refresh the lease, claim held rooms again if Redis came back, list the live origins. */
  async #tick(): Promise<void> {
    try {
      if (this.#self) await this.#refreshLease(this.#self);
      this.#markAvailable();
      if (this.#claimAgain && this.#self) await this.#claimHeldRooms(this.#self);
      await this.#listLive();
    } catch (error) {
      if (error instanceof ioredis().ReplyError || error instanceof CodedError) this.#log.error('directory round failed', { error: (error as Error).message });
      else this.#markUnavailable((error as Error).message);
    }
  }

  async #refreshLease(self: LiveOrigin): Promise<void> {
    const { leaseId, originId, linkAddress, load } = self;
    const existed = await REFRESH_LEASE.run(this.#redis, [this.#keys.lease(leaseId), this.#keys.origins, this.#keys.roomCounts],
      [leaseId, JSON.stringify({ leaseId, originId, linkAddress, load }), this.#leaseTtlMs]);
    if (existed === 1 || !this.#registeredOnce) {
      this.#registeredOnce = true;
      return;
    }
    // The lease lapsed (a refresh came too late, or Redis restarted empty): rooms held here may have been
    // placed elsewhere meanwhile; claim them again and learn which were lost.
    this.#log.warn('lease had lapsed: written again, held rooms claimed again', { leaseId });
    this.#claimAgain = true;
  }

  async #claimHeldRooms(self: LiveOrigin): Promise<void> {
    this.#claimAgain = false;
    await Promise.all([...this.#held].map(async (roomKey) => {
      const owner = await this.#place(roomKey, self.leaseId);
      if (owner && owner.leaseId === self.leaseId) return;
      this.#held.delete(roomKey);
      this.#log.warn('held room was placed elsewhere while the lease lapsed', { room: roomKey, owner: owner?.leaseId ?? null });
      this.emit('room-lost', roomKey, owner);
    }));
  }

  async #place(roomKey: string, claimant: string): Promise<LiveOrigin | null> {
    if (this.#placementsInFlight >= this.#maxPlacementsInFlight) await new Promise<void>((resolve) => this.#placementQueue.push(resolve));
    this.#placementsInFlight++;
    let reply: unknown;
    try {
      reply = await PLACE_ROOM.run(this.#redis, [this.#keys.room(roomKey), this.#keys.origins, this.#keys.roomCounts], [this.#keys.leasePrefix, claimant]);
    } finally {
      this.#placementsInFlight--;
      this.#placementQueue.shift()?.();
    }
    const owner = this.#ownerFromReply(reply);
    if (owner) this.#placements.set(roomKey, owner);
    return owner;
  }

  /** [lease JSON, rooms, ...] as the owner, null for []. */
  #ownerFromReply(reply: unknown): LiveOrigin | null {
    if (!Array.isArray(reply) || reply.length === 0) return null;
    const owner = liveOrigin(reply[0], reply[1]);
    if (!owner) throw new MalformedDirectoryValueError('lease');
    return owner;
  }

  async #listLive(): Promise<LiveOrigin[]> {
    const reply = await LIVE_ORIGINS.run(this.#redis, [this.#keys.origins, this.#keys.roomCounts], [this.#keys.leasePrefix]);
    const live = new Map<string, LiveOrigin>();
    const pairs = Array.isArray(reply) ? reply : [];
    for (let i = 0; i + 1 < pairs.length; i += 2) {
      const origin = liveOrigin(pairs[i], pairs[i + 1]);
      if (origin) live.set(origin.leaseId, origin);
      else this.#log.warn('malformed lease in the directory ignored');
    }
    this.#updateLive(live);
    return [...live.values()];
  }

  #updateLive(live: Map<string, LiveOrigin>): void {
    const before = this.#live;
    this.#live = live;
    for (const [leaseId, origin] of live) if (!before.has(leaseId)) this.emit('origin-up', { ...origin });
    for (const [leaseId, origin] of before) {
      if (live.has(leaseId)) continue;
      for (const [roomKey, owner] of this.#placements) if (owner.leaseId === leaseId) this.#placements.delete(roomKey);
      this.emit('origin-down', { ...origin });
    }
  }

  /** The owner of a room as last learnt, if its origin was alive at the last listing. */
  #knownOwner(roomKey: string): { value: LiveOrigin } | null {
    const owner = this.#placements.get(roomKey);
    return owner && this.#live.has(owner.leaseId) ? { value: owner } : null;
  }

  #checkOpen(): void {
    if (this.#closed) throw new DirectoryClosedError();
  }
}
