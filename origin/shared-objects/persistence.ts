/**
 * Disk storage of persistent shared objects: one JSON file per object at
 * `<dataDir>/shared-objects/<scope path>/<name>.json`. Each save writes a temporary file, syncs
 * it and renames it over the old one, so a crash leaves the old or the new state, never half of
 * each. Slot values are kept as base64 AMF (AMF3 through the 0x11 switch) so every value type —
 * dates, byte arrays, typed objects — comes back exactly. Saves of one object are coalesced:
 * at most one write in flight and one pending.
 *
 * In cluster mode (`--cluster`) a mirror (origin/cluster/shared-object-mirror.ts) gets every save too,
 * written through to Redis under the room, and a room placed on this origin is prefetched from it
 * before its first client is admitted, so a room that moved from a dead origin comes back with them.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, renameSync } from 'node:fs';
import { mkdir, open, rename } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { amf0Decode, amf0Encode } from '#protocol/amf/amf0.ts';
import type { AmfValue } from '#protocol/amf/types.ts';
import type { Logger } from '#common/logger.ts';
import type { SharedObject, SharedObjectSnapshot } from './shared-object.ts';

export interface StoredSharedObject {
  format: 1;
  name: string;
  version: number;
  savedAt: string;
  /** Slot name -> base64 of the value's AMF encoding. */
  slots: Record<string, string>;
}

interface FileState {
  writing: Promise<void> | null;
  /** The latest state to write once the current write is done. */
  pending: SharedObjectSnapshot | null;
  /** The newest state saved or being saved: what a load returns until it is on disk. */
  latest: SharedObjectSnapshot;
}

let tempCounter = 0;

/** Where saved objects are also written, by room (cluster mode). */
export interface SharedObjectMirror {
  save(scopePath: string, stored: StoredSharedObject): void;
}

/** An object's state as stored (slots as base64 AMF). */
export function storedSharedObject(name: string, snapshot: SharedObjectSnapshot): StoredSharedObject {
  // fromEntries defines properties, so a slot named '__proto__' stays a slot.
  const slots = Object.fromEntries([...snapshot.slots].map(([key, value]) => [key, amf0Encode([value], { avmPlus: true }).toString('base64')]));
  return { format: 1, name, version: snapshot.version, savedAt: new Date().toISOString(), slots };
}

/** A stored state back as a snapshot; throws on anything that is not one. */
export function sharedObjectSnapshot(stored: StoredSharedObject): SharedObjectSnapshot {
  if (stored.format !== 1 || typeof stored.version !== 'number' || typeof stored.slots !== 'object' || stored.slots === null) {
    throw new Error('not a stored shared object (format 1)');
  }
  const slots = new Map<string, AmfValue>();
  for (const [key, data] of Object.entries(stored.slots)) slots.set(key, amf0Decode(Buffer.from(data, 'base64'))[0]);
  return { version: stored.version, slots };
}

export class SharedObjectStore {
  readonly directory: string;
  readonly #log: Logger;
  readonly #files = new Map<string, FileState>();
  /** States fetched from the mirror for a room placed here, by file: newer than the disk's (the room ran elsewhere). */
  readonly #prefetched = new Map<string, SharedObjectSnapshot>();
  /** Cluster mode: every save also goes there. */
  mirror: SharedObjectMirror | null = null;

  constructor(directory: string, log: Logger) {
    this.directory = directory;
    this.#log = log;
  }

  /**
   * The file of an object. Scope paths were validated by parseScope (no '..', no control
   * characters); the object name is percent-encoded, or hashed when that would be too long.
   */
  fileOf(scopePath: string, name: string): string {
    const encoded = encodeURIComponent(name);
    const base = encoded.length <= 200 ? encoded : `~${createHash('sha256').update(name).digest('hex')}`;
    return join(this.directory, ...scopePath.split('/'), `${base}.json`);
  }

  /**
   * The saved state, or null. Synchronous: it runs once, when the object is first used after a
   * start, and the file is bounded by maxSharedObjectBytes. A file that cannot be read is moved
   * aside (`.corrupt`) and logged, and the object starts empty.
   */
  load(scopePath: string, name: string): SharedObjectSnapshot | null {
    const file = this.fileOf(scopePath, name);
    // A room destroyed and made again at once: its last state may still be on its way to disk.
    const saving = this.#files.get(file);
    if (saving) return { version: saving.latest.version, slots: new Map(saving.latest.slots) };
    const prefetched = this.#prefetched.get(file);
    if (prefetched) {
      this.#prefetched.delete(file);
      return prefetched;
    }
    if (!existsSync(file)) return null;
    try {
      const snapshot = sharedObjectSnapshot(JSON.parse(readFileSync(file, 'utf8')) as StoredSharedObject);
      this.#log.info('shared object loaded', { scope: scopePath, name, version: snapshot.version, slots: snapshot.slots.size });
      return snapshot;
    } catch (error) {
      const aside = `${file}.corrupt`;
      this.#log.error('persistent shared object unreadable, starting empty', { file, moved: aside, error: (error as Error).message });
      renameSync(file, aside);
      return null;
    }
  }

  /**
   * States of a room's objects as the mirror had them, for the room about to run here: the next
   * load of each returns it (unless a save of this process is newer). Undecodable ones are skipped.
   */
  prefetch(scopePath: string, objects: StoredSharedObject[]): void {
    for (const stored of objects) {
      const file = this.fileOf(scopePath, stored.name);
      if (this.#files.has(file)) continue;
      try {
        this.#prefetched.set(file, sharedObjectSnapshot(stored));
      } catch (error) {
        this.#log.error('mirrored shared object unreadable, skipped', { scope: scopePath, name: stored.name, error: (error as Error).message });
      }
    }
  }

  /** Schedules a save of the object's current state. */
  save(scopePath: string, object: SharedObject): void {
    const file = this.fileOf(scopePath, object.name);
    const snapshot = object.snapshot();
    this.#prefetched.delete(file);
    this.mirror?.save(scopePath, storedSharedObject(object.name, snapshot));
    let state = this.#files.get(file);
    if (!state) {
      state = { writing: null, pending: null, latest: snapshot };
      this.#files.set(file, state);
    }
    state.pending = snapshot;
    state.latest = snapshot;
    if (!state.writing) this.#drain(file, object.name, state);
  }

  /** Resolves when every scheduled save is on disk. */
  async flush(): Promise<void> {
    while (this.#files.size > 0) {
      await Promise.all([...this.#files.values()].map((state) => state.writing));
    }
  }

  #drain(file: string, name: string, state: FileState): void {
    const snapshot = state.pending;
    if (!snapshot) {
      this.#files.delete(file);
      return;
    }
    state.pending = null;
    state.writing = this.#write(file, name, snapshot)
      .catch((error: Error) => this.#log.error('cannot save shared object', { file, error: error.message }))
      .then(() => {
        state.writing = null;
        this.#drain(file, name, state);
      });
  }

  async #write(file: string, name: string, snapshot: SharedObjectSnapshot): Promise<void> {
    const stored = storedSharedObject(name, snapshot);
    await mkdir(dirname(file), { recursive: true });
    const temp = `${file}.tmp-${process.pid}-${++tempCounter}`;
    const handle = await open(temp, 'w');
    try {
      await handle.writeFile(JSON.stringify(stored, null, 1));
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, file);
  }
}
