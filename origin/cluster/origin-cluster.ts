/**
 * An origin in cluster mode (`--cluster redis://HOST:PORT`): registers in the Redis directory with
 * the link address edges reach it at and its load (refreshed every second), admits a client into a
 * room only when it owns the room (it holds the placement the edge made, or claims a room nobody
 * owns), refuses it otherwise with `cluster.not_owner` naming the owner, and before a room's first
 * client fetches the room's persistent shared objects from Redis (written through there on every
 * save), so a room placed here after its owner died comes back with its whiteboard and chat.
 *
 * A room lets its placement go once it ended here (its last client left, its persistent shared
 * objects saved) and stayed unused for `roomGraceMs`, with its shared objects written to Redis: the
 * room counts the placement script balances on then count running rooms, not every room ever used.
 * The grace keeps a class whose last member reconnects on the same origin (no move for a blip). A
 * room whose shared objects Redis has not taken yet keeps its placement here (this origin's disk has
 * the latest copy) and is tried again a grace later. An edge that routed a client here on the old
 * placement is refused with `cluster.not_owner` and routes it to the new owner (gateway/link/cluster-links.ts).
 * Recordings cannot move: when a room's recording stops, its manifests (and so its files)
 * are published to Redis with this origin's id (recordings-mirror.ts), so the cluster API lists them
 * even while this origin is dead, and a room recorded again on another owner reads as one manifest.
 * Without --cluster none of this exists and the origin runs every room it is asked for.
 */
import { cpus } from 'node:os';
import type { Logger } from '#common/logger.ts';
import { CodedError } from '#protocol/errors.ts';
import type { SharedObjectStore } from '../shared-objects/persistence.ts';
import { DirectoryKeys } from './directory-keys.ts';
import type { LiveOrigin, OriginLoad, RoomPlacement } from './origin-directory.ts';
import { RedisOriginDirectory, type RedisOriginDirectoryOptions } from './redis-origin-directory.ts';
import { RedisSharedObjectMirror } from './shared-object-mirror.ts';
import { ClusterRecordings, type ClusterRecordingSession, type RecordingFolder } from './recordings-mirror.ts';

/** The room belongs to another origin: the edge that sent the client routes it there. */
export class NotOwnerError extends CodedError {
  readonly owner: LiveOrigin;

  constructor(roomKey: string, owner: LiveOrigin) {
    super('cluster.not_owner', `room ${roomKey} runs on origin ${owner.originId} (${owner.linkAddress}), not here`);
    this.owner = owner;
  }

  /** What a refusal tells the client besides the code: the owner, so an edge routes the client there. */
  ownerInfo(): { owner: NotOwnerInfo } {
    const { originId, leaseId, linkAddress } = this.owner;
    return { owner: { originId, leaseId, linkAddress } };
  }
}

/** The owner a `cluster.not_owner` refusal names (its `owner` property). */
export type NotOwnerInfo = { originId: string; leaseId: string; linkAddress: string };

export interface OriginClusterOptions extends Pick<RedisOriginDirectoryOptions, 'url' | 'keyPrefix' | 'leaseTtlMs' | 'refreshIntervalMs'> {
  /** This origin's name in the directory. */
  originId: string;
  /** A room that ended here lets its placement go after this long unused. */
  roomGraceMs: number;
}

/** What the origin tells the cluster about itself. */
export interface OriginClusterSources {
  /** Client sessions and live streams now, and bytes received so far (bitrate is its rate). */
  counts(): { clients: number; streams: number; bytesReceived: number };
  /** Whether a room runs here now (its shared objects are in memory: nothing to fetch), or a `live` stream placed by itself is published or played here. */
  roomIsLive(roomKey: string): boolean;
  /** The store persistent shared objects are loaded from and saved to. */
  store: SharedObjectStore;
  /** The origin's recordings folder (recordings cannot move: they are listed with this origin). */
  recordings: RecordingFolder;
}

export class OriginCluster {
  readonly directory: RedisOriginDirectory;
  readonly #mirror: RedisSharedObjectMirror;
  readonly #recordings: ClusterRecordings;
  readonly #options: OriginClusterOptions;
  readonly #sources: OriginClusterSources;
  readonly #log: Logger;
  #loadTimer: NodeJS.Timeout | null = null;
  /** Rooms that ended here, by key: the timer that lets their placement go. */
  readonly #ending = new Map<string, NodeJS.Timeout>();
  /** Admissions running, by room: a room being admitted is not released under it. */
  readonly #admitting = new Map<string, number>();
  /** Releases in flight, by room: an admission waits for it, then places the room again. */
  readonly #releasing = new Map<string, Promise<void>>();
  #released = 0;
  #last = { at: 0, bytes: 0, cpuMicros: 0 };

  constructor(options: OriginClusterOptions, sources: OriginClusterSources, log: Logger) {
    this.#options = options;
    this.#sources = sources;
    this.#log = log;
    this.directory = new RedisOriginDirectory({ ...options, log: log.child('directory') });
    const keys = new DirectoryKeys(options.keyPrefix);
    this.#mirror = new RedisSharedObjectMirror(options.url, keys, log.child('shared-objects'));
    this.#recordings = new ClusterRecordings(options.url, keys, options.originId, sources.recordings, log.child('recordings'));
  }

  /** Registers this origin with the HOST:PORT edges link to (waits for Redis) and starts reporting its load. */
  async start(linkAddress: string): Promise<LiveOrigin> {
    this.#sources.store.mirror = this.#mirror;
    this.#last = { at: Date.now(), bytes: this.#sources.counts().bytesReceived, cpuMicros: cpuMicros() };
    const self = await this.directory.register({ originId: this.#options.originId, linkAddress, load: this.#load() });
    this.#loadTimer = setInterval(() => this.directory.reportLoad(this.#load()), this.#options.refreshIntervalMs ?? 1000);
    this.#loadTimer.unref();
    this.#recordings.publishAll().catch((error: Error) => this.#log.warn('recordings not published to the cluster', { error: error.message }));
    return self;
  }

  /**
   * A client wants `roomKey` (`application/room`; for an application's own scope, `live`, each stream
   * is placed: `live/NAME`, asked at publish and play): resolves when this origin owns it (its shared
   * objects fetched if the room is not running yet); rejects with NotOwnerError when another does.
   * A connect to an application's own scope is admitted at once: its streams are checked one by one.
   */
  async admit(roomKey: string): Promise<void> {
    if (!roomKey.includes('/')) return;
    this.#cancelRelease(roomKey);
    this.#admitting.set(roomKey, (this.#admitting.get(roomKey) ?? 0) + 1);
    try {
      await this.#releasing.get(roomKey);
      const owner = await this.directory.holdRoom(roomKey);
      if (owner.leaseId !== this.directory.self?.leaseId) throw new NotOwnerError(roomKey, owner);
      if (!this.#sources.roomIsLive(roomKey)) this.#sources.store.prefetch(roomKey, await this.#mirror.fetchRoom(roomKey));
    } finally {
      const left = this.#admitting.get(roomKey)! - 1;
      if (left > 0) this.#admitting.set(roomKey, left);
      else this.#admitting.delete(roomKey);
    }
  }

  /** A room ended here (its last client left, its shared objects saved; a `live` stream: idle): its placement goes after the grace, unless it is used again. */
  roomEnded(roomKey: string): void {
    if (!roomKey.includes('/') || this.#loadTimer === null) return;
    this.#cancelRelease(roomKey);
    const timer = setTimeout(() => {
      this.#ending.delete(roomKey);
      this.#release(roomKey);
    }, this.#options.roomGraceMs);
    timer.unref();
    this.#ending.set(roomKey, timer);
  }

  /** Rooms whose placement this origin let go since it started. */
  get releasedRooms(): number { return this.#released; }

  #release(roomKey: string): void {
    if (this.#loadTimer === null || this.#admitting.has(roomKey) || this.#sources.roomIsLive(roomKey)) return;
    // Redis lacks the room's latest shared objects: the placement stays where the disk copy is.
    if (this.#mirror.pendingFor(roomKey)) return this.roomEnded(roomKey);
    const releasing = this.directory.releaseRoom(roomKey).then((released) => { if (released) this.#released++; }, (error: Error) => {
      this.#log.warn('room placement not released', { room: roomKey, error: error.message });
    }).finally(() => this.#releasing.delete(roomKey));
    this.#releasing.set(roomKey, releasing);
  }

  #cancelRelease(roomKey: string): void {
    clearTimeout(this.#ending.get(roomKey));
    this.#ending.delete(roomKey);
  }

  /** A room's recording stopped here: its sessions are listed in the cluster with this origin. */
  roomRecordingStopped(roomKey: string): void {
    this.#recordings.roomRecordingStopped(roomKey).catch((error: Error) => this.#log.warn('room recordings not published to the cluster', { room: roomKey, error: error.message }));
  }

  /** The recording sessions of the cluster (or of one room), each with its origin. */
  recordingSessions(roomKey: string | null): Promise<ClusterRecordingSession[]> {
    return this.#recordings.sessions(roomKey);
  }

  origins(): Promise<LiveOrigin[]> {
    return this.directory.origins();
  }

  placements(): Promise<RoomPlacement[]> {
    return this.directory.placements();
  }

  /** After the rooms closed (their last shared objects saved): the mirror's writes finish, the lease is given up. */
  async close(): Promise<void> {
    if (this.#loadTimer) clearInterval(this.#loadTimer);
    this.#loadTimer = null;
    for (const timer of this.#ending.values()) clearTimeout(timer);
    this.#ending.clear();
    await Promise.all(this.#releasing.values());
    this.#sources.store.mirror = null;
    await this.#mirror.close();
    await this.#recordings.close();
    await this.directory.close();
  }

  #load(): OriginLoad {
    const { clients, streams, bytesReceived } = this.#sources.counts();
    const now = Date.now();
    const cpu = cpuMicros();
    const seconds = Math.max((now - this.#last.at) / 1000, 0.001);
    const load: OriginLoad = {
      clients, streams,
      bitrateBps: Math.max(0, Math.round(((bytesReceived - this.#last.bytes) * 8) / seconds)),
      cpu: Math.min(cpus().length, Math.max(0, (cpu - this.#last.cpuMicros) / 1e6 / seconds)),
    };
    this.#last = { at: now, bytes: bytesReceived, cpuMicros: cpu };
    return load;
  }
}

function cpuMicros(): number {
  const { user, system } = process.cpuUsage();
  return user + system;
}
