/**
 * Code loaded the first time it is used, not when the process starts: what only some processes,
 * or only some clients, need. The big CommonJS packages come through lazyRequire: ioredis (only
 * with --cluster) and node-datachannel (only once a browser comes over WebRTC); loaded at start,
 * the two cost every edge's restart some 0.05 CPU-seconds, 7 MB and libdatachannel's 4 threads,
 * the memory a kill -9 must also free before the edge's connections close (README, "The edge").
 * yaml too, only with a config file (--config, --print-config; common/config-file.ts). And one ES
 * module of ours, the edge's cluster mode (gateway/link/cluster-links.ts with the Redis directory's
 * modules, only with --cluster): Node requires an ES module without a top-level await synchronously,
 * and the edge makes its links in a constructor.
 * That load is synchronous: constructors stay as they are. Our other ES modules (and ESM-only
 * packages) come through lazyImport, where the first use can wait: the edge's WebRTC sessions, RTP and transcoders (the first
 * WHIP/WHEP or WebSocket offer), jose (the first token checked), ws (the first WebSocket,
 * websocket-upgrades.ts): an edge restarts with fewer modules to load before its clients can come
 * back (README, "Start time").
 */
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

/** `specifier`'s exports, required on the first call (the module a static import of it would give). */
export function lazyRequire<T>(specifier: string): () => T {
  let loaded: T | undefined;
  return () => (loaded ??= require(specifier) as T);
}

/**
 * What `load` gives, loaded on the first call; every later call gets the same promise. `load` is
 * the caller's own `() => import('./module.ts')` (or a few of them), so the specifier resolves from
 * the caller's file and the type checker sees the module's exports.
 */
export function lazyImport<T>(load: () => Promise<T>): () => Promise<T> {
  let loading: Promise<T> | undefined;
  return () => (loading ??= load());
}
