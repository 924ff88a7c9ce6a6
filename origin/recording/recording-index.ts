/**
 * The recordings listing, kept in memory so that `GET /api/recordings` reads no file: built by one
 * scan of the folder at start (after crash repair), then kept up to date by what happens to it.
 * - Our recorders say when a file opens (listed as `recording: true`) and when it is finished (its
 *   final size, duration and codecs, from what the recorder wrote; one metadata read of that file
 *   when the recorder could not say), and room recorders hand over each manifest they save.
 * - Anything else (a file an operator copies in, moves, or deletes) is seen by watching every folder
 *   of the tree (fs.watch, one inotify watch per folder): chosen over "rescan a folder on a miss"
 *   because a listing cannot miss what it does not know of, deletions show too, and no request pays
 *   for it. A path that changes is read again once it has been quiet for SETTLE_MS (a copy in
 *   progress changes all along); a new folder is watched and scanned. Where a folder cannot be
 *   watched (the kernel's watch limit) it is logged: what is copied there shows at the next start.
 * Pages are slices of one sorted order of paths (files and room manifests together, by path in
 * UTF-16 code unit order), so a cursor (`after`: the last path of the previous page) gives every
 * entry that exists throughout the paging exactly once, whatever is added meanwhile.
 */
import { watch, type FSWatcher } from 'node:fs';
import { lstat, open, readFile } from 'node:fs/promises';
import { basename, sep } from 'node:path';
import type { Logger } from '#common/logger.ts';
import type { AmfValue } from '#protocol/amf/types.ts';
import { FlvReader, FlvTagType } from '#protocol/flv/flv.ts';
import { decodeOnMetaData } from '#protocol/flv/flv-index.ts';
import type { RecordingSummary } from './flv-recorder.ts';
import { UNFINISHED_SUFFIX, type MediaFileKind, type RecordingStore } from './recording-store.ts';

export interface RecordingListEntry {
  /** Relative to the recordings folder, with `/` separators: `live/lesson.flv`. */
  path: string;
  kind: MediaFileKind;
  size: number;
  modified: string;
  /** An unfinished recording (being written, or left by a crash and not yet repaired). */
  recording: boolean;
  duration?: number;
  videocodecid?: number;
  audiocodecid?: number;
  width?: number;
  height?: number;
}

export interface RoomManifestEntry {
  path: string;
  manifest: unknown;
}

/** One page of the listing. */
export interface ListingPage {
  files: RecordingListEntry[];
  rooms: RoomManifestEntry[];
  /** The last path of this page when more entries follow (the next page's `after`), else null. */
  continueAfter: string | null;
}

export interface ListingQuery {
  /** Entries after this path (exclusive); null: from the start. */
  after: string | null;
  /** Entries in the page at most (files and manifests together). */
  limit: number;
  /** Only paths under this folder (`classroom/math/`, ending in `/`); null: all. */
  under: string | null;
  /** Whether the caller may see a path (its token's room). */
  visible: (path: string) => boolean;
}

const MANIFEST_NAME = 'manifest.json';
/** A changed path is read again once no event came for it this long (a copy changes it until it ends). */
const SETTLE_MS = 250;
/** Bytes read from the start of a file to find its onMetaData. */
const METADATA_PROBE_BYTES = 256 * 1024;

export class RecordingIndex {
  readonly #store: RecordingStore;
  readonly #log: Logger;
  readonly #files = new Map<string, RecordingListEntry>();
  readonly #rooms = new Map<string, RoomManifestEntry>();
  /** Every listed path (files and manifests), sorted: a page is a walk from a binary search. */
  readonly #order: string[] = [];
  /** Files our recorders are writing: the recorder reports them, their write events are ignored. */
  readonly #writing = new Set<string>();
  /** Bumped on every change of a path, so a disk read that a newer change overtook is dropped. */
  readonly #versions = new Map<string, number>();
  /** By absolute folder path. */
  readonly #watchers = new Map<string, FSWatcher>();
  /** Paths waiting to settle before they are read again, by absolute path. */
  readonly #settling = new Map<string, NodeJS.Timeout>();
  #closed = false;

  constructor(store: RecordingStore, log: Logger) {
    this.#store = store;
    this.#log = log;
  }

  /** Listed files and manifests. */
  get size(): number {
    return this.#order.length;
  }

  /** The one scan at start: every file's metadata read once, every folder watched. */
  async build(): Promise<void> {
    const started = performance.now();
    await this.#scan(this.#store.root);
    this.#log.info('recordings indexed', { files: this.#files.size, rooms: this.#rooms.size, folders: this.#watchers.size, ms: Math.round(performance.now() - started) });
  }

  /** A page of what `query` may see, in path order. */
  page(query: ListingQuery): ListingPage {
    let at = query.after === null ? 0 : this.#firstAbove(query.after);
    if (query.under !== null) at = Math.max(at, this.#firstAtOrAbove(query.under));
    const files: RecordingListEntry[] = [];
    const rooms: RoomManifestEntry[] = [];
    let last: string | null = null;
    for (; at < this.#order.length; at++) {
      const path = this.#order[at]!;
      if (query.under !== null && !path.startsWith(query.under)) break;
      if (!query.visible(path)) continue;
      if (files.length + rooms.length === query.limit) return { files, rooms, continueAfter: last };
      const file = this.#files.get(path);
      if (file) files.push(file);
      else rooms.push(this.#rooms.get(path)!);
      last = path;
    }
    return { files, rooms, continueAfter: null };
  }

  /** A recorder opened `path` (absolute): listed as being recorded from now on. */
  recordingOpened(path: string): void {
    const rel = this.#store.relative(path);
    this.#writing.add(rel);
    this.#bump(rel);
    const known = this.#files.get(rel);
    this.#set(rel, { ...known, path: rel, kind: 'flv', size: known?.size ?? 0, modified: new Date().toISOString(), recording: true });
  }

  /** A recorder finished: its entry from what it wrote, or from one read of the file when it could not say. */
  recordingClosed(summary: RecordingSummary): void {
    if (!summary.path) return; // it failed before its file was opened
    const rel = this.#store.relative(summary.path);
    this.#writing.delete(rel);
    this.#bump(rel);
    if (summary.failed || summary.metadata === null || summary.modified === null) {
      this.#reread(summary.path);
      return;
    }
    // The file's own time, not the clock's: the watcher's read of the same file (its last writes
    // are seen after this) then lists the same entry.
    this.#set(rel, { path: rel, kind: 'flv', size: summary.bytes, modified: summary.modified.toISOString(), recording: false, ...listedMetadata(summary.metadata) });
  }

  /** A room recorder saved its manifest at `path` (absolute). */
  manifestSaved(path: string, manifest: unknown): void {
    const rel = this.#store.relative(path);
    this.#bump(rel);
    this.#setRoom(rel, { path: rel, manifest: structuredClone(manifest) });
  }

  /** Stops watching (origin shutdown). */
  close(): void {
    this.#closed = true;
    for (const watcher of this.#watchers.values()) watcher.close();
    this.#watchers.clear();
    for (const timer of this.#settling.values()) clearTimeout(timer);
    this.#settling.clear();
  }

  /** Watches `folder` and everything below it, and lists what it holds. */
  async #scan(folder: string): Promise<void> {
    const files: string[] = [];
    try {
      await this.#store.visitTree(folder, { folder: (path) => this.#watch(path), file: (path) => files.push(path) });
    } catch (error) {
      // The folder went away while it was read: its parent's watcher reports that.
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
    for (const file of files) await this.#refresh(file);
  }

  #watch(folder: string): void {
    if (this.#closed || this.#watchers.has(folder)) return;
    try {
      const watcher = watch(folder, { persistent: false }, (_event, name) => {
        if (name) this.#changed(`${folder}${sep}${name.toString()}`);
      });
      watcher.on('error', (error) => {
        this.#log.warn('cannot watch a recordings folder any more: what is copied into it shows at the next start', { folder: this.#store.relative(folder), error: error.message });
        this.#unwatch(folder);
      });
      this.#watchers.set(folder, watcher);
    } catch (error) {
      this.#log.warn('cannot watch a recordings folder: what is copied into it shows at the next start', { folder: this.#store.relative(folder), error: (error as Error).message });
    }
  }

  #unwatch(folder: string): void {
    this.#watchers.get(folder)?.close();
    this.#watchers.delete(folder);
  }

  /** The watcher saw `path` change: read it again once it has settled. */
  #changed(path: string): void {
    // A marker tells whether its recording is finished: that is its file's entry.
    const target = path.endsWith(UNFINISHED_SUFFIX) ? path.slice(0, -UNFINISHED_SUFFIX.length) : path;
    if (this.#closed || this.#writing.has(this.#store.relative(target))) return;
    clearTimeout(this.#settling.get(target));
    const timer = setTimeout(() => {
      this.#settling.delete(target);
      this.#reread(target);
    }, SETTLE_MS);
    timer.unref();
    this.#settling.set(target, timer);
  }

  #reread(path: string): void {
    this.#refresh(path).catch((error: Error) => this.#log.warn('cannot read a recording for the listing', { file: this.#store.relative(path), error: error.message }));
  }

  /** Lists `path` (absolute) as it is on disk now: a file, a new folder (scanned), or gone. */
  async #refresh(path: string): Promise<void> {
    const rel = this.#store.relative(path);
    if (this.#writing.has(rel)) return;
    const version = this.#bump(rel);
    const current = () => !this.#closed && this.#versions.get(rel) === version;
    const info = await lstat(path).catch(() => null);
    if (!current()) return;
    if (!info) {
      this.#forget(path);
    } else if (info.isDirectory()) {
      if (!this.#watchers.has(path)) await this.#scan(path);
    } else if (info.isFile() && basename(path) === MANIFEST_NAME) {
      let manifest: unknown;
      try {
        manifest = JSON.parse(await readFile(path, 'utf8'));
      } catch {
        return; // damaged (an atomic rewrite never leaves it half written): left as it was
      }
      if (current()) this.#setRoom(rel, { path: rel, manifest });
    } else if (info.isFile() && (path.endsWith('.flv') || path.endsWith('.mp3'))) {
      const kind: MediaFileKind = path.endsWith('.mp3') ? 'mp3' : 'flv';
      const recording = (await lstat(path + UNFINISHED_SUFFIX).catch(() => null))?.isFile() ?? false;
      const metadata = kind === 'flv' ? listedMetadata(await readMetadata(path)) : {};
      if (current()) this.#set(rel, { path: rel, kind, size: info.size, modified: info.mtime.toISOString(), recording, ...metadata });
    }
  }

  /** `path` (absolute) is gone: its entry, or every entry and watcher below it. */
  #forget(path: string): void {
    const rel = this.#store.relative(path);
    const below = `${rel}/`;
    const at = this.#firstAtOrAbove(rel);
    let end = at;
    while (end < this.#order.length && (this.#order[end] === rel || this.#order[end]!.startsWith(below))) end++;
    for (const gone of this.#order.splice(at, end - at)) {
      this.#files.delete(gone);
      this.#rooms.delete(gone);
    }
    for (const folder of [...this.#watchers.keys()]) {
      if (folder === path || folder.startsWith(path + sep)) this.#unwatch(folder);
    }
  }

  #bump(rel: string): number {
    const version = (this.#versions.get(rel) ?? 0) + 1;
    this.#versions.set(rel, version);
    return version;
  }

  #set(rel: string, entry: RecordingListEntry): void {
    if (!this.#files.has(rel) && !this.#rooms.has(rel)) this.#insert(rel);
    this.#files.set(rel, entry);
  }

  #setRoom(rel: string, entry: RoomManifestEntry): void {
    if (!this.#files.has(rel) && !this.#rooms.has(rel)) this.#insert(rel);
    this.#rooms.set(rel, entry);
  }

  #insert(rel: string): void {
    this.#order.splice(this.#firstAtOrAbove(rel), 0, rel);
  }

  /** Index of the first path >= `key` (binary search). */
  #firstAtOrAbove(key: string): number {
    let low = 0;
    let high = this.#order.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (this.#order[middle]! < key) low = middle + 1;
      else high = middle;
    }
    return low;
  }

  /** Index of the first path > `key`. */
  #firstAbove(key: string): number {
    const at = this.#firstAtOrAbove(key);
    return this.#order[at] === key ? at + 1 : at;
  }
}

/** The onMetaData at the start of an FLV file, or null (also when the file is gone). */
export async function readMetadata(path: string): Promise<Record<string, AmfValue> | null> {
  const handle = await open(path, 'r').catch(() => null);
  if (!handle) return null;
  try {
    const buffer = Buffer.alloc(METADATA_PROBE_BYTES);
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0);
    const tags = new FlvReader().push(buffer.subarray(0, bytesRead));
    const script = tags.find((tag) => tag.type === FlvTagType.Script);
    return script ? decodeOnMetaData(script.data) : null;
  } catch {
    return null;
  } finally {
    await handle.close();
  }
}

/** What the listing shows of a file's onMetaData. */
function listedMetadata(meta: Record<string, AmfValue> | null): Partial<RecordingListEntry> {
  if (!meta) return {};
  const out: Partial<RecordingListEntry> = {};
  for (const key of ['duration', 'videocodecid', 'audiocodecid', 'width', 'height'] as const) {
    const value = meta[key];
    if (typeof value === 'number') out[key] = value;
  }
  return out;
}
