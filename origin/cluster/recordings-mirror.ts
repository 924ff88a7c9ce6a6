/**
 * Room recordings in cluster mode: what cannot move (the FLV files on an origin's disk) is published
 * to Redis with the origin it lives on, so the cluster lists it even when that origin is dead, and a
 * room recorded again on another owner reads as one room manifest across origins.
 *
 * A room recording session is a folder `<room>/rec-<UTC time>/` with its manifest.json
 * (room-recorder.ts); names are per session, so sessions on different origins never clash. When a
 * session stops, its origin writes the manifests of the room's folder into the room's hash
 * (`cg:recordings:ROOM`: manifest path -> { origin, manifest }) and adds the room to the set of
 * recorded rooms; at start it publishes every manifest it holds (recordings made before a restart,
 * or before --cluster; one a crash cut short keeps `stoppedAt: null`). A room records one session at a
 * time, so what a stop publishes is final; a session that starts while the start's walk runs is written
 * again, final, when it stops. Writes Redis did not take are tried again when it answers.
 * The room's manifest across origins is its hash's sessions in start order, each with its origin.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { ioredis } from './ioredis.ts';
import { z } from 'zod';
import type { Logger } from '#common/logger.ts';
import type { RecordingStore } from '../recording/recording-store.ts';
import { parseStored, type DirectoryKeys } from './directory-keys.ts';

const manifestFile = z.object({
  stream: z.string(),
  file: z.string().nullable(),
  startedAt: z.string(),
  offsetMs: z.number(),
  durationMs: z.number().nullable(),
  failed: z.boolean(),
}).passthrough();

const roomManifest = z.object({
  room: z.string(),
  startedAt: z.string(),
  stoppedAt: z.string().nullable(),
  by: z.string().nullable(),
  files: z.array(manifestFile),
}).passthrough();

const publishedSession = z.object({ origin: z.string().min(1), manifest: roomManifest });

/** One recording session of a room as the cluster lists it. */
export type ClusterRecordingSession = z.infer<typeof publishedSession> & {
  /** The manifest's path in its origin's recordings folder (`classroom/math/rec-20261203T050000Z/manifest.json`). */
  path: string;
};

/** The parts of the origin's recordings folder the mirror reads. */
export type RecordingFolder = Pick<RecordingStore, 'scopeDir' | 'relative' | 'walk'>;

export class ClusterRecordings {
  readonly #redis: Redis;
  readonly #keys: DirectoryKeys;
  readonly #originId: string;
  readonly #folder: RecordingFolder;
  readonly #log: Logger;
  /** Sessions Redis has not taken yet, by manifest path. */
  readonly #pending = new Map<string, { room: string; value: string }>();
  #closed = false;

  constructor(url: string, keys: DirectoryKeys, originId: string, folder: RecordingFolder, log: Logger) {
    this.#keys = keys;
    this.#originId = originId;
    this.#folder = folder;
    this.#log = log;
    this.#redis = new (ioredis().Redis)(url, { enableOfflineQueue: false, maxRetriesPerRequest: 0, retryStrategy: (attempt) => Math.min(attempt * 100, 1000) });
    this.#redis.on('error', (error: Error) => this.#log.debug('redis connection error', { error: error.message }));
    this.#redis.on('ready', () => void this.#writePending());
  }

  /** Publishes every room manifest this origin holds (at start: none is being written). */
  async publishAll(): Promise<void> {
    for (const path of await this.#folder.walk('manifest.json')) await this.#queue(path);
    await this.#writePending();
  }

  /** A room's recording session stopped here: the room's manifests are published (none of its sessions runs now). */
  async roomRecordingStopped(roomKey: string): Promise<void> {
    const dir = await this.#folder.scopeDir(roomKey);
    const sessions = (await readdir(dir, { withFileTypes: true })).filter((entry) => entry.isDirectory() && entry.name.startsWith('rec-'));
    for (const session of sessions) await this.#queue(join(dir, session.name, 'manifest.json'));
    await this.#writePending();
  }

  /** Every published session, or only `roomKey`'s, in room then start order. */
  async sessions(roomKey: string | null): Promise<ClusterRecordingSession[]> {
    const rooms = roomKey === null ? (await this.#redis.smembers(this.#keys.recordedRooms)).sort() : [roomKey];
    const sessions: ClusterRecordingSession[] = [];
    for (const room of rooms) {
      const entries = Object.entries(await this.#redis.hgetall(this.#keys.recordings(room)));
      const parsed = entries.flatMap(([path, text]) => {
        const session = parseStored(text, publishedSession);
        return session ? [{ ...session, path }] : [];
      });
      sessions.push(...parsed.sort((a, b) => a.manifest.startedAt.localeCompare(b.manifest.startedAt) || a.path.localeCompare(b.path)));
    }
    return sessions;
  }

  async close(): Promise<void> {
    this.#closed = true;
    if (this.#pending.size > 0 && this.#redis.status === 'ready') await this.#writePending();
    this.#redis.disconnect();
  }

  /** Reads a manifest: it waits to be written to Redis. */
  async #queue(path: string): Promise<void> {
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch {
      return; // a session folder whose manifest was never written (a crash at its start)
    }
    const manifest = parseStored(text, roomManifest);
    if (!manifest) return;
    this.#pending.set(this.#folder.relative(path), { room: manifest.room, value: JSON.stringify({ origin: this.#originId, manifest }) });
  }

  async #writePending(): Promise<void> {
    if (this.#pending.size === 0 || this.#redis.status !== 'ready') return;
    const batch = [...this.#pending];
    try {
      const pipeline = this.#redis.pipeline();
      for (const [path, { room, value }] of batch) {
        pipeline.hset(this.#keys.recordings(room), path, value);
        pipeline.sadd(this.#keys.recordedRooms, room);
      }
      const results = await pipeline.exec();
      batch.forEach(([path, entry], i) => {
        if (!results?.[2 * i]?.[0] && !results?.[2 * i + 1]?.[0] && this.#pending.get(path) === entry) this.#pending.delete(path);
      });
    } catch (error) {
      if (!this.#closed) this.#log.warn('recordings wait for Redis to be listed in the cluster', { sessions: batch.length, error: (error as Error).message });
    }
  }
}
