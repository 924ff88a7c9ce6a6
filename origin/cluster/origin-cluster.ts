/**
 * An origin in cluster mode (`--cluster redis://HOST:PORT`): registers in the Redis directory with
 * the link address edges reach it at and its load (refreshed every second), admits a client into a
 * room only when it owns the room (it holds the placement the edge made, or claims a room nobody
 * owns), refuses it otherwise with `cluster.not_owner` naming the owner, and before a room's first
 * client fetches the room's persistent shared objects from Redis (written through there on every
 * save), so a room placed here after its owner died comes back with its whiteboard and chat.
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

/** The room belongs to another origin: the edge that sent the client routes it there. */
export class NotOwnerError extends CodedError {
  readonly owner: LiveOrigin;

  constructor(roomKey: string, owner: LiveOrigin) {
    super('cluster.not_owner', `room ${roomKey} runs on origin ${owner.originId} (${owner.linkAddress}), not here`);
    this.owner = owner;
  }
}

export interface OriginClusterOptions extends Pick<RedisOriginDirectoryOptions, 'url' | 'keyPrefix' | 'leaseTtlMs' | 'refreshIntervalMs'> {
  /** This origin's name in the directory. */
  originId: string;
}

/** What the origin tells the cluster about itself. */
export interface OriginClusterSources {
  /** Client sessions and live streams now, and bytes received so far (bitrate is its rate). */
  counts(): { clients: number; streams: number; bytesReceived: number };
  /** Whether a room runs here now (its shared objects are in memory: nothing to fetch). */
  roomIsLive(roomKey: string): boolean;
  /** The store persistent shared objects are loaded from and saved to. */
  store: SharedObjectStore;
}

export class OriginCluster {
  readonly directory: RedisOriginDirectory;
  readonly #mirror: RedisSharedObjectMirror;
  readonly #options: OriginClusterOptions;
  readonly #sources: OriginClusterSources;
  #loadTimer: NodeJS.Timeout | null = null;
  #last = { at: 0, bytes: 0, cpuMicros: 0 };

  constructor(options: OriginClusterOptions, sources: OriginClusterSources, log: Logger) {
    this.#options = options;
    this.#sources = sources;
    this.directory = new RedisOriginDirectory({ ...options, log: log.child('directory') });
    this.#mirror = new RedisSharedObjectMirror(options.url, new DirectoryKeys(options.keyPrefix), log.child('shared-objects'));
  }

  /** Registers this origin with the HOST:PORT edges link to (waits for Redis) and starts reporting its load. */
  async start(linkAddress: string): Promise<LiveOrigin> {
    this.#sources.store.mirror = this.#mirror;
    this.#last = { at: Date.now(), bytes: this.#sources.counts().bytesReceived, cpuMicros: cpuMicros() };
    const self = await this.directory.register({ originId: this.#options.originId, linkAddress, load: this.#load() });
    this.#loadTimer = setInterval(() => this.directory.reportLoad(this.#load()), this.#options.refreshIntervalMs ?? 1000);
    this.#loadTimer.unref();
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
    const owner = await this.directory.holdRoom(roomKey);
    if (owner.leaseId !== this.directory.self?.leaseId) throw new NotOwnerError(roomKey, owner);
    if (!this.#sources.roomIsLive(roomKey)) this.#sources.store.prefetch(roomKey, await this.#mirror.fetchRoom(roomKey));
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
    this.#sources.store.mirror = null;
    await this.#mirror.close();
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
