/**
 * One recording session of a room: a folder `<room>/rec-<UTC time>/` holding one FLV per
 * stream published while it runs, and `manifest.json` describing the session (room, start and
 * stop times, who started it, participants, files and their offsets from the session start),
 * rewritten atomically (temp file + rename) whenever it changes, and handed to the listing's index.
 */
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '#common/logger.ts';
import type { RoomRecordingInfo } from '../core/origin-context.ts';
import type { FlvRecorder, RecordingSummary } from './flv-recorder.ts';
import type { RecordingIndex } from './recording-index.ts';
import type { RecordingStore } from './recording-store.ts';

export interface ManifestParticipant {
  clientId: number;
  stream: string;
  firstPublishedAt: string;
}

export interface ManifestFile {
  stream: string;
  clientId: number;
  /** Relative to the recordings folder. */
  file: string | null;
  startedAt: string;
  /** Milliseconds from the session start to this file's first tag. */
  offsetMs: number;
  stoppedAt: string | null;
  durationMs: number | null;
  failed: boolean;
}

export interface RoomManifest {
  room: string;
  startedAt: string;
  stoppedAt: string | null;
  by: string | null;
  participants: ManifestParticipant[];
  files: ManifestFile[];
}

/** What the room recorder needs to know about a publisher. */
export interface RoomPublisher {
  readonly name: string;
  readonly clientId: number;
}

export class RoomRecorder {
  readonly scopePath: string;
  readonly info: RoomRecordingInfo;
  /** The session folder, created asynchronously; recorders wait on it. */
  readonly dir: Promise<string>;
  readonly #store: RecordingStore;
  readonly #index: RecordingIndex;
  readonly #log: Logger;
  readonly #manifest: RoomManifest;
  readonly #recorders = new Map<RoomPublisher, FlvRecorder>();
  /** Files of publishers that left, still being finished: stop() waits for them. */
  readonly #finishing = new Set<Promise<unknown>>();
  #writes: Promise<void> = Promise.resolve();

  constructor(store: RecordingStore, index: RecordingIndex, scopePath: string, by: string | undefined, log: Logger) {
    this.#store = store;
    this.#index = index;
    this.#log = log;
    this.scopePath = scopePath;
    const startedAt = new Date();
    this.#manifest = { room: scopePath, startedAt: startedAt.toISOString(), stoppedAt: null, by: by ?? null, participants: [], files: [] };
    this.info = { room: scopePath, startedAt: this.#manifest.startedAt, manifest: '', ...(by === undefined ? {} : { by }) };
    this.dir = this.#createDir(startedAt);
  }

  get publisherCount(): number { return this.#recorders.size; }

  async #createDir(startedAt: Date): Promise<string> {
    const parent = await this.#store.scopeDir(this.scopePath);
    const stamp = `rec-${startedAt.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z')}`;
    for (let i = 0; ; i++) {
      const dir = join(parent, i === 0 ? stamp : `${stamp}-${i}`);
      try {
        await mkdir(dir);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'EEXIST' && i < 1000) continue;
        throw error;
      }
      this.info.manifest = join(dir, 'manifest.json');
      this.#queueSave();
      await this.#writes;
      return dir;
    }
  }

  /** Starts a file for this publisher; `recorder` is already subscribed to its stream. */
  add(publisher: RoomPublisher, recorder: FlvRecorder): void {
    const now = new Date().toISOString();
    if (!this.#manifest.participants.some((p) => p.clientId === publisher.clientId && p.stream === publisher.name)) {
      this.#manifest.participants.push({ clientId: publisher.clientId, stream: publisher.name, firstPublishedAt: now });
    }
    const entry: ManifestFile = {
      stream: publisher.name, clientId: publisher.clientId, file: null, startedAt: now,
      offsetMs: Date.now() - Date.parse(this.#manifest.startedAt), stoppedAt: null, durationMs: null, failed: false,
    };
    this.#manifest.files.push(entry);
    this.#recorders.set(publisher, recorder);
    recorder.once('started', (path) => {
      entry.file = this.#store.relative(path);
      this.#queueSave();
    });
    recorder.once('failed', () => {
      entry.failed = true;
      this.#queueSave();
    });
    recorder.once('finished', (summary: RecordingSummary) => {
      entry.stoppedAt = new Date().toISOString();
      entry.durationMs = Math.round(summary.durationMs);
      entry.startedAt = summary.startedAt.toISOString();
      entry.offsetMs = summary.startedAt.getTime() - Date.parse(this.#manifest.startedAt);
      this.#queueSave();
    });
    this.#queueSave();
  }

  /** The publisher stopped: its file is finished (the session goes on). */
  async remove(publisher: RoomPublisher): Promise<void> {
    const recorder = this.#recorders.get(publisher);
    if (!recorder) return;
    this.#recorders.delete(publisher);
    const finished = recorder.finish();
    this.#finishing.add(finished);
    try {
      await finished;
    } finally {
      this.#finishing.delete(finished);
    }
  }

  has(publisher: RoomPublisher): boolean {
    return this.#recorders.has(publisher);
  }

  /** Finishes every file and writes the final manifest. */
  async stop(): Promise<RoomRecordingInfo> {
    const recorders = [...this.#recorders.values()];
    this.#recorders.clear();
    await Promise.all([...recorders.map((r) => r.finish()), ...this.#finishing]);
    this.#manifest.stoppedAt = new Date().toISOString();
    this.info.stoppedAt = this.#manifest.stoppedAt;
    await this.dir.catch(() => undefined);
    this.#queueSave();
    await this.#writes;
    return this.info;
  }

  #queueSave(): void {
    if (!this.info.manifest) return; // the folder is not there yet; #createDir saves once it is
    this.#writes = this.#writes.then(() => this.#save()).catch((error: Error) => {
      this.#log.error('cannot write the room manifest', { room: this.scopePath, error: error.message });
    });
  }

  async #save(): Promise<void> {
    const temp = `${this.info.manifest}.tmp`;
    await writeFile(temp, JSON.stringify(this.#manifest, null, 2) + '\n');
    await rename(temp, this.info.manifest);
    this.#index.manifestSaved(this.info.manifest, this.#manifest);
  }
}
