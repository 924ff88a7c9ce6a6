/**
 * The origin directory of one process, without a store: what runs without `--cluster`. The origin
 * registers in it and the edge of `npm start` asks it, so a room is always placed on the one origin
 * there is. Leases live as long as the process (nothing else could see them lapse); the rest
 * behaves as the Redis directory does, so code written against the interface runs unchanged.
 */
import { EventEmitter } from 'node:events';
import { leastLoaded } from './least-loaded.ts';
import {
  DirectoryClosedError, newLeaseId, NoLiveOriginError, NotRegisteredError,
  type LiveOrigin, type OriginDirectory, type RoomPlacement, type OriginDirectoryEvents, type OriginDirectoryStats, type OriginLoad, type OriginRegistration,
} from './origin-directory.ts';

export class LocalOriginDirectory extends EventEmitter<OriginDirectoryEvents> implements OriginDirectory {
  readonly #origins = new Map<string, LiveOrigin>();
  /** roomKey -> lease id of its owner. */
  readonly #rooms = new Map<string, string>();
  #self: LiveOrigin | null = null;
  #closed = false;

  get stats(): OriginDirectoryStats {
    return { available: !this.#closed, retries: 0, waitingPlacements: 0 };
  }

  async register(registration: OriginRegistration): Promise<LiveOrigin> {
    this.#checkOpen();
    if (this.#self) throw new Error(`this directory is already registered as ${this.#self.leaseId}`);
    const origin: LiveOrigin = { ...registration, load: { ...registration.load }, leaseId: newLeaseId(registration.originId), rooms: 0 };
    this.#self = origin;
    this.#origins.set(origin.leaseId, origin);
    this.emit('origin-up', { ...origin });
    return { ...origin };
  }

  reportLoad(load: OriginLoad): void {
    if (!this.#self) throw new NotRegisteredError('reportLoad');
    this.#self.load = { ...load };
  }

  async origins(): Promise<LiveOrigin[]> {
    return [...this.#origins.values()].map((origin) => ({ ...origin }));
  }

  async placeRoom(roomKey: string): Promise<LiveOrigin> {
    this.#checkOpen();
    const owner = this.#liveOwner(roomKey) ?? leastLoaded(this.#origins.values());
    if (!owner) throw new NoLiveOriginError(roomKey);
    this.#assign(roomKey, owner);
    return { ...owner };
  }

  async placements(): Promise<RoomPlacement[]> {
    return [...this.#rooms.keys()].map((roomKey) => {
      const owner = this.#liveOwner(roomKey);
      return { roomKey, owner: owner ? { ...owner } : null };
    });
  }

  get self(): LiveOrigin | null {
    return this.#self ? { ...this.#self } : null;
  }

  async ownerOf(roomKey: string): Promise<LiveOrigin | null> {
    const owner = this.#liveOwner(roomKey);
    return owner ? { ...owner } : null;
  }

  async holdRoom(roomKey: string): Promise<LiveOrigin> {
    this.#checkOpen();
    if (!this.#self) throw new NotRegisteredError('holdRoom');
    const owner = this.#liveOwner(roomKey) ?? this.#self;
    this.#assign(roomKey, owner);
    return { ...owner };
  }

  async releaseRoom(roomKey: string): Promise<boolean> {
    if (!this.#self) throw new NotRegisteredError('releaseRoom');
    if (this.#rooms.get(roomKey) !== this.#self.leaseId) return false;
    this.#rooms.delete(roomKey);
    this.#self.rooms--;
    return true;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const self = this.#self;
    if (!self) return;
    this.#origins.delete(self.leaseId);
    for (const [roomKey, leaseId] of this.#rooms) if (leaseId === self.leaseId) this.#rooms.delete(roomKey);
    this.emit('origin-down', { ...self });
  }

  #liveOwner(roomKey: string): LiveOrigin | null {
    const leaseId = this.#rooms.get(roomKey);
    return leaseId === undefined ? null : this.#origins.get(leaseId) ?? null;
  }

  #assign(roomKey: string, owner: LiveOrigin): void {
    if (this.#rooms.get(roomKey) === owner.leaseId) return;
    this.#rooms.set(roomKey, owner.leaseId);
    owner.rooms++;
  }

  #checkOpen(): void {
    if (this.#closed) throw new DirectoryClosedError();
  }
}
