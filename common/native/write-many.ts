/**
 * Loads the native batch writer (common/native/write-many.c, built into build/native/ by
 * scripts/build-native.sh, from scripts/setup.sh and `npm run build`): one call writes a buffer each
 * to many descriptors. Where it was not built (no C compiler when setup ran, or setup not run) or
 * does not load, `writeMany` is null and direct writes go one `fs.writeSync` at a time
 * (common/direct-write.ts); `nativeWritesStatus` says which, for the log line each process writes
 * at start.
 */
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

/** results[i] = bytes written to fds[i] (maybe fewer than buffers[i] holds), or -errno; for i < count. */
export type WriteMany = (fds: Int32Array, buffers: readonly Buffer[], results: Int32Array, count: number) => void;

export const nativeWriteManyPath = fileURLToPath(new URL('../../build/native/write-many.node', import.meta.url));

function load(): { writeMany: WriteMany | null; status: string } {
  try {
    const addon = createRequire(import.meta.url)(nativeWriteManyPath) as { writeMany?: unknown };
    if (typeof addon.writeMany !== 'function') return { writeMany: null, status: `${nativeWriteManyPath} has no writeMany: writing one descriptor at a time` };
    return { writeMany: addon.writeMany as WriteMany, status: `native batch writes (${nativeWriteManyPath})` };
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === 'MODULE_NOT_FOUND' ? 'not built (scripts/setup.sh builds it with a C compiler)' : (error as Error).message;
    return { writeMany: null, status: `native batch writes unavailable, ${reason}: writing one descriptor at a time` };
  }
}

const loaded = load();
export const writeMany: WriteMany | null = loaded.writeMany;
export const nativeWritesStatus: string = loaded.status;
