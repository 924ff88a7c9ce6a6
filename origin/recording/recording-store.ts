/**
 * The recordings folder (`<dataDir>/recordings/<scope path>/`): which names may be recorded,
 * where a recording or a file to play lives, unique names so nothing is ever overwritten, and
 * walking the folder (the listing is recording-index.ts's). Every path it hands out has been
 * checked to lie inside the folder after symlinks are resolved, so no name can reach a file outside it.
 */
import { open, mkdir, readdir, realpath, stat, type FileHandle } from 'node:fs/promises';
import { join, relative, resolve, sep } from 'node:path';
import { OriginError } from '../core/errors.ts';

/** A name refused for recording (NetStream.Record.NoAccess). */
export class RecordingNameError extends OriginError {}

export type MediaFileKind = 'flv' | 'mp3';

/** Sidecar that marks a recording as unfinished until its metadata is final. */
export const UNFINISHED_SUFFIX = '.recording';
const MAX_RECORD_NAME = 200;
const RECORD_NAME = /^[^\u0000-\u001f\u007f/\\:]+$/;

export class RecordingStore {
  readonly root: string;
  #realRoot: string | null = null;

  constructor(root: string) {
    this.root = resolve(root);
  }

  /** Creates the folder; must run before any other method. */
  async init(): Promise<void> {
    await mkdir(this.root, { recursive: true });
    this.#realRoot = await realpath(this.root);
  }

  /**
   * A stream name as a file base name for `record`/`append`: one path segment, no separators,
   * control characters, `:` or leading dot (which also rules out `.` and `..`).
   */
  static recordName(name: string): string {
    const bare = name.split('?')[0]!.replace(/^flv:/, '').replace(/\.flv$/, '');
    if (bare.length === 0 || bare.length > MAX_RECORD_NAME || !RECORD_NAME.test(bare) || bare.startsWith('.')) {
      throw new RecordingNameError('record.bad_name', `${JSON.stringify(name)} cannot be recorded: names are 1..${MAX_RECORD_NAME} characters without separators, ':', control characters or a leading dot`);
    }
    return bare;
  }

  /** Any stream name made safe as a file base name (room recordings record whatever is published). */
  static fileSafe(name: string): string {
    const safe = name.replace(/[^\w.-]/g, '_').replace(/^\.+/, '_').slice(0, MAX_RECORD_NAME);
    return safe || '_';
  }

  /** The folder for a scope path (already validated by parseScope), created and checked. */
  async scopeDir(scopePath: string, ...sub: string[]): Promise<string> {
    const dir = join(this.root, ...scopePath.split('/'), ...sub);
    await mkdir(dir, { recursive: true });
    await this.#checkInside(dir);
    return dir;
  }

  /**
   * Creates `<base>.flv` in `dir`, or `<base>-1.flv`, `<base>-2.flv`... when taken: exclusive
   * creation, so two recorders can never share a file and nothing is overwritten.
   */
  async createUnique(dir: string, base: string): Promise<{ path: string; handle: FileHandle }> {
    for (let i = 0; ; i++) {
      const path = join(dir, i === 0 ? `${base}.flv` : `${base}-${i}.flv`);
      try {
        return { path, handle: await open(path, 'wx+') };
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST' || i >= 10_000) throw error;
      }
    }
  }

  /** Opens `<base>.flv` for appending (created when missing); `created` tells which. */
  async openForAppend(dir: string, base: string): Promise<{ path: string; handle: FileHandle; created: boolean }> {
    const path = join(dir, `${base}.flv`);
    try {
      const handle = await open(path, 'r+');
      await this.#checkInside(path);
      return { path, handle, created: false };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      return { path, handle: await open(path, 'wx+'), created: true };
    }
  }

  /**
   * The file a `play` name refers to in a scope, or null: `name`, `name.flv`, `flv:name`,
   * `mp3:name`, `name.mp3`. Names may have `/` segments (room recordings live in sub-folders).
   */
  async findMedia(scopePath: string, name: string): Promise<{ path: string; kind: MediaFileKind } | null> {
    let kind: MediaFileKind = 'flv';
    let base = name;
    const prefix = /^(flv|mp3):/.exec(base);
    if (prefix) {
      kind = prefix[1] as MediaFileKind;
      base = base.slice(prefix[0].length);
    } else if (base.endsWith('.mp3')) {
      kind = 'mp3';
    }
    base = base.replace(/\.(flv|mp3)$/, '');
    const segments = base.split('/');
    if (segments.some((s) => s === '' || s === '.' || s === '..' || /[\u0000-\u001f\u007f\\]/.test(s))) return null;
    const path = join(this.root, ...scopePath.split('/'), ...segments) + `.${kind}`;
    return (await this.isInsideFile(path)) ? { path, kind } : null;
  }

  /** A relative path from the HTTP API (`live/a.flv`) as an absolute path inside the folder, or null. */
  async resolveRelative(relPath: string, extensions: readonly string[]): Promise<string | null> {
    const segments = relPath.split('/');
    if (segments.some((s) => s === '' || s === '.' || s === '..' || /[\u0000-\u001f\u007f\\]/.test(s))) return null;
    if (!extensions.some((ext) => relPath.endsWith(ext))) return null;
    const path = join(this.root, ...segments);
    return (await this.isInsideFile(path)) ? path : null;
  }

  /** Relative path with `/` separators, as listings and manifests show it. */
  relative(path: string): string {
    return relative(this.root, path).split(sep).join('/');
  }

  /** True when `path` is a regular file whose real location is inside the folder. */
  async isInsideFile(path: string): Promise<boolean> {
    try {
      if (!(await stat(path)).isFile()) return false;
      await this.#checkInside(path);
      return true;
    } catch {
      return false;
    }
  }

  async #checkInside(path: string): Promise<void> {
    const root = this.#realRoot ?? (await realpath(this.root));
    const real = await realpath(path);
    if (real !== root && !real.startsWith(root + sep)) {
      throw new RecordingNameError('record.outside', `${path} resolves outside the recordings folder`);
    }
  }

  /**
   * Visits `from` (a folder inside this one) and every folder and regular file below it, folders
   * before what they hold; symlinks are not followed, so nothing outside the folder is reached.
   */
  async visitTree(from: string, visit: { folder?: (path: string) => void; file?: (path: string) => void }): Promise<void> {
    visit.folder?.(from);
    for (const entry of await readdir(from, { withFileTypes: true })) {
      const path = join(from, entry.name);
      if (entry.isDirectory()) await this.visitTree(path, visit);
      else if (entry.isFile()) visit.file?.(path);
    }
  }

  /** Every file with this suffix under the folder, sorted. */
  async walk(suffix: string): Promise<string[]> {
    const found: string[] = [];
    await this.visitTree(this.root, { file: (path) => { if (path.endsWith(suffix)) found.push(path); } });
    return found.sort();
  }
}
