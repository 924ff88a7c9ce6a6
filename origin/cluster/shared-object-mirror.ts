/**
 * Persistent shared objects (the classroom's whiteboard and chat history) written through to Redis
 * in cluster mode, one hash per room (directory-keys.ts), so a room placed again on another origin
 * after its owner died comes back with them: the new owner fetches the room's hash before it admits
 * the room's first client (origin-cluster.ts) and its SharedObjectStore loads from that.
 *
 * Writes are coalesced per object (the latest state wins; one write in flight per object) and kept
 * while Redis is unavailable, to be written when it answers again; a room fetched while Redis is
 * down starts from this origin's disk copy, if any.
 */
import type { Redis } from 'ioredis';
import { ioredis } from './ioredis.ts';
import type { Logger } from '#common/logger.ts';
import type { SharedObjectMirror, StoredSharedObject } from '../shared-objects/persistence.ts';
import type { DirectoryKeys } from './directory-keys.ts';

export class RedisSharedObjectMirror implements SharedObjectMirror {
  readonly #redis: Redis;
  readonly #keys: DirectoryKeys;
  readonly #log: Logger;
  /** Latest state not yet written, by `roomKey \0 name`. */
  readonly #pending = new Map<string, { roomKey: string; stored: StoredSharedObject }>();
  #writing: Promise<void> | null = null;
  #retryTimer: NodeJS.Timeout | null = null;
  #closed = false;

  constructor(url: string, keys: DirectoryKeys, log: Logger) {
    this.#keys = keys;
    this.#log = log;
    this.#redis = new (ioredis().Redis)(url, { enableOfflineQueue: false, maxRetriesPerRequest: 0, retryStrategy: (attempt) => Math.min(attempt * 100, 1000) });
    this.#redis.on('error', (error: Error) => this.#log.debug('redis connection error', { error: error.message }));
    this.#redis.on('ready', () => this.#writeSoon());
  }

  /** Objects not yet written to Redis (waiting for it, or in flight). */
  get pendingWrites(): number { return this.#pending.size; }

  /** Whether some of the room's objects are not in Redis yet. */
  pendingFor(roomKey: string): boolean {
    for (const entry of this.#pending.values()) if (entry.roomKey === roomKey) return true;
    return false;
  }

  save(roomKey: string, stored: StoredSharedObject): void {
    this.#pending.set(`${roomKey}\0${stored.name}`, { roomKey, stored });
    this.#writeSoon();
  }

  /** The room's persistent objects as Redis has them; none when Redis does not answer within `timeoutMs`. */
  async fetchRoom(roomKey: string, timeoutMs = 2000): Promise<StoredSharedObject[]> {
    let timer: NodeJS.Timeout | undefined;
    try {
      const entries = await Promise.race([
        this.#redis.hgetall(this.#keys.sharedObjects(roomKey)),
        new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs); }),
      ]);
      const objects: StoredSharedObject[] = [];
      for (const [name, text] of Object.entries(entries)) {
        try {
          objects.push(JSON.parse(text) as StoredSharedObject);
        } catch {
          this.#log.warn('mirrored shared object is not JSON, skipped', { room: roomKey, name });
        }
      }
      return objects;
    } catch (error) {
      this.#log.warn('shared objects not fetched from Redis: the room starts from this origin\'s copy', { room: roomKey, error: (error as Error).message });
      return [];
    } finally {
      clearTimeout(timer);
    }
  }

  /** Writes what is pending (waits for it while Redis answers), then disconnects. */
  async close(): Promise<void> {
    this.#closed = true;
    if (this.#retryTimer) clearTimeout(this.#retryTimer);
    await this.#writing;
    if (this.#pending.size > 0 && this.#redis.status === 'ready') await this.#writePending();
    if (this.#pending.size > 0) this.#log.warn('shared objects not written to Redis at shutdown', { objects: this.#pending.size });
    this.#redis.disconnect();
  }

  #writeSoon(): void {
    if (this.#writing || this.#pending.size === 0 || this.#closed) return;
    this.#writing = this.#writePending().then((written) => {
      this.#writing = null;
      if (this.#pending.size === 0 || this.#closed) return;
      // Saved meanwhile: written at once. Redis did not take the batch: again once it is back (or in a second).
      if (written) this.#writeSoon();
      else this.#retryTimer ??= setTimeout(() => { this.#retryTimer = null; this.#writeSoon(); }, 1000);
    });
  }

  /** Writes what is pending in one pipeline; false when Redis did not take it. */
  async #writePending(): Promise<boolean> {
    const batch = [...this.#pending];
    try {
      const pipeline = this.#redis.pipeline();
      for (const [, { roomKey, stored }] of batch) pipeline.hset(this.#keys.sharedObjects(roomKey), stored.name, JSON.stringify(stored));
      const results = await pipeline.exec();
      batch.forEach(([key, entry], i) => {
        if (results?.[i]?.[0]) return;
        // Written, unless a newer state came meanwhile.
        if (this.#pending.get(key) === entry) this.#pending.delete(key);
      });
      return results?.every(([error]) => !error) ?? false;
    } catch (error) {
      this.#log.debug('shared objects wait for Redis', { objects: batch.length, error: (error as Error).message });
      return false;
    }
  }
}
