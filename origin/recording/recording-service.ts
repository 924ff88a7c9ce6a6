/**
 * The origin's recording service: publishes of type `record`/`append` get a recorder, rooms
 * being recorded get one recorder per published stream plus a manifest, and `--record-rooms
 * always` records every room while anyone publishes in it. Applications use the `Recordings`
 * part (startRoom/stopRoom/isRoomRecording, the `room` event); sessions report publishes.
 * At start it repairs recordings a crash left unfinished, then builds the listing's index
 * (recording-index.ts), which every recorder keeps up to date; `close()` finishes every recording.
 */
import { EventEmitter } from 'node:events';
import type { Logger } from '#common/logger.ts';
import { RunningTotals } from '#common/metrics/running-totals.ts';
import type { Recordings, RecordingsEvents, RoomRecordingInfo, RecordablePublish } from '../core/origin-context.ts';
import { FlvRecorder, type FlvRecorderOptions, type RecordingTarget } from './flv-recorder.ts';
import { repairUnfinished } from './flv-repair.ts';
import { RecordingIndex } from './recording-index.ts';
import { RecordingNameError, RecordingStore } from './recording-store.ts';
import { RoomRecorder } from './room-recorder.ts';

export type RecordRooms = 'always' | 'never';

/** What the service has recorded, for metrics. */
export interface RecordingStats {
  /** Files being written now (a failed recording no longer counts). */
  open: number;
  /** Rooms being recorded now. */
  rooms: number;
  /** Bytes written to recordings since the start. */
  bytesWritten: number;
  /** Recordings that failed (disk full, I/O error, a disk too slow) since the start. */
  failures: number;
  /** Recordings started (their file opened) since the start. */
  started: number;
  /** Recordings finished with their final metadata since the start (failed ones not counted). */
  finished: number;
  /** Unfinished recordings (a crash's) repaired at the start. */
  repaired: number;
}

export interface RecordingServiceOptions {
  /** The recordings folder. */
  root: string;
  recordRooms: RecordRooms;
  recorder: FlvRecorderOptions;
}

export class RecordingService extends EventEmitter<RecordingsEvents> implements Recordings {
  readonly store: RecordingStore;
  /** What `GET /api/recordings` lists. */
  readonly index: RecordingIndex;
  readonly #options: RecordingServiceOptions;
  readonly #log: Logger;
  readonly #rooms = new Map<string, RoomRecorder>();
  /** Recorders of `record`/`append` publishes. */
  readonly #streamRecorders = new Map<RecordablePublish, FlvRecorder>();
  /** Publishers per scope path, so a room recording started later finds who already publishes. */
  readonly #publishers = new Map<string, Set<RecordablePublish>>();
  readonly #stopping = new Set<Promise<unknown>>();
  /** Every recorder from its start until it finished, for the byte total. */
  readonly #recorders = new RunningTotals<FlvRecorder, 'bytesWritten'>(['bytesWritten'], (recorder) => recorder);
  #failures = 0;
  #started = 0;
  #finished = 0;
  #repaired = 0;

  constructor(options: RecordingServiceOptions, log: Logger) {
    super();
    this.#options = options;
    this.#log = log;
    this.store = new RecordingStore(options.root);
    this.index = new RecordingIndex(this.store, log);
  }

  /** Creates the folder, repairs what a crash left unfinished, and lists what is there. */
  async init(): Promise<void> {
    await this.store.init();
    const repaired = await repairUnfinished(this.store, this.#log);
    this.#repaired += repaired.length;
    await this.index.build();
    this.#log.info('recordings ready', { folder: this.store.root, repaired: repaired.length, recordRooms: this.#options.recordRooms });
  }

  async startRoom(scopePath: string, by?: string): Promise<RoomRecordingInfo> {
    let room = this.#rooms.get(scopePath);
    if (!room) {
      room = new RoomRecorder(this.store, this.index, scopePath, by, this.#log);
      this.#rooms.set(scopePath, room);
      this.#log.info('room recording started', { room: scopePath, by });
      for (const publisher of this.#publishers.get(scopePath) ?? []) this.#recordInRoom(room, publisher);
      this.emit('room', scopePath, true);
    }
    try {
      await room.dir;
    } catch (error) {
      await this.stopRoom(scopePath);
      throw error;
    }
    return room.info;
  }

  async stopRoom(scopePath: string): Promise<RoomRecordingInfo | null> {
    const room = this.#rooms.get(scopePath);
    if (!room) return null;
    this.#rooms.delete(scopePath);
    const info = await this.#track(room.stop());
    this.#log.info('room recording stopped', { room: scopePath, manifest: this.store.relative(info.manifest) });
    this.emit('room', scopePath, false);
    return info;
  }

  get stats(): RecordingStats {
    let open = 0;
    for (const recorder of this.#recorders.liveItems()) if (!recorder.failed) open++;
    return {
      open, rooms: this.#rooms.size, bytesWritten: this.#recorders.totals().bytesWritten, failures: this.#failures,
      started: this.#started, finished: this.#finished, repaired: this.#repaired,
    };
  }

  isRoomRecording(scopePath: string): boolean {
    return this.#rooms.has(scopePath);
  }

  findMedia(scopePath: string, name: string): Promise<{ path: string; kind: 'flv' | 'mp3' } | null> {
    return this.store.findMedia(scopePath, name);
  }

  /** A publish started: record it if its type asks for it or its room is being recorded. */
  publishStarted(publish: RecordablePublish): void {
    let set = this.#publishers.get(publish.scopePath);
    if (!set) this.#publishers.set(publish.scopePath, (set = new Set()));
    set.add(publish);
    if (publish.type !== 'live') this.#recordStream(publish);
    const room = this.#rooms.get(publish.scopePath);
    if (room) this.#recordInRoom(room, publish);
    else if (this.#options.recordRooms === 'always') {
      this.startRoom(publish.scopePath, 'always').catch((error: Error) => this.#log.error('cannot start the room recording', { room: publish.scopePath, error: error.message }));
    }
  }

  /** A publish stopped: finish its recordings (Record.Stop goes out now, before Unpublish.Success). */
  publishStopped(publish: RecordablePublish): void {
    this.#publishers.get(publish.scopePath)?.delete(publish);
    if (this.#publishers.get(publish.scopePath)?.size === 0) this.#publishers.delete(publish.scopePath);
    const recorder = this.#streamRecorders.get(publish);
    if (recorder) {
      this.#streamRecorders.delete(publish);
      if (!recorder.failed) publish.recordStatus('status', 'NetStream.Record.Stop', `Stopped recording ${publish.name}.`);
      this.#track(recorder.finish());
    }
    const room = this.#rooms.get(publish.scopePath);
    if (room?.has(publish)) {
      this.#track(room.remove(publish));
      if (this.#options.recordRooms === 'always' && room.publisherCount === 0 && !this.#publishers.has(publish.scopePath)) {
        void this.stopRoom(publish.scopePath);
      }
    }
  }

  /** Finishes every recording (origin shutdown). */
  async close(): Promise<void> {
    for (const [publish, recorder] of this.#streamRecorders) {
      this.#streamRecorders.delete(publish);
      this.#track(recorder.finish());
    }
    await Promise.all([...this.#rooms.keys()].map((scopePath) => this.stopRoom(scopePath)));
    await Promise.all(this.#stopping);
    this.index.close();
  }

  #track<T>(promise: Promise<T>): Promise<T> {
    this.#stopping.add(promise);
    void promise.finally(() => this.#stopping.delete(promise)).catch(() => undefined);
    return promise;
  }

  #recordStream(publish: RecordablePublish): void {
    const base = RecordingStore.recordName(publish.name);
    const target: Promise<RecordingTarget> = this.store.scopeDir(publish.scopePath).then((dir) =>
      publish.type === 'append' ? this.store.openForAppend(dir, base) : this.store.createUnique(dir, base).then((t) => ({ ...t, created: true })));
    const recorder = this.#recorder(publish, target);
    this.#streamRecorders.set(publish, recorder);
  }

  #recordInRoom(room: RoomRecorder, publish: RecordablePublish): void {
    const base = RecordingStore.fileSafe(publish.name);
    const target = room.dir.then((dir) => this.store.createUnique(dir, base)).then((t) => ({ ...t, created: true }));
    room.add(publish, this.#recorder(publish, target));
  }

  #recorder(publish: RecordablePublish, target: Promise<RecordingTarget>): FlvRecorder {
    const recorder = new FlvRecorder(publish.stream, target, this.#options.recorder, this.#log.with({ stream: publish.stream.key }));
    this.#recorders.open(recorder);
    recorder.once('finished', (summary) => {
      this.index.recordingClosed(summary);
      this.#recorders.close(recorder);
      if (!recorder.failed) this.#finished++;
    });
    recorder.once('started', (path, appendedAtMs) => {
      this.index.recordingOpened(path);
      this.#started++;
      const file = this.store.relative(path);
      this.#log.info('recording started', { stream: publish.stream.key, file, type: publish.type, appendedAt: appendedAtMs || undefined });
      publish.recordStatus('status', 'NetStream.Record.Start', `Started recording ${publish.name}.`);
    });
    recorder.once('failed', (error) => {
      this.#failures++;
      if (error instanceof RecordingNameError) publish.recordStatus('error', 'NetStream.Record.NoAccess', error.message);
      else publish.recordStatus('error', 'NetStream.Record.Failed', `Recording ${publish.name} failed: ${error.message}`);
    });
    return recorder;
  }
}
