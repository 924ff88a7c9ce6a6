/**
 * A CommonJS package loaded the first time it is used, not when the process starts. For the big
 * packages only some processes need: ioredis (only with --cluster) and node-datachannel (only
 * once a browser comes over WebRTC). Loaded at start, the two cost every edge's restart some 0.05
 * CPU-seconds, 7 MB and libdatachannel's 4 threads; the memory a kill -9 must also free before the
 * edge's connections close (README, "The edge"). The load is synchronous: constructors stay as
 * they are.
 */
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

/** `specifier`'s exports, required on the first call (the module a static import of it would give). */
export function lazyRequire<T>(specifier: string): () => T {
  let loaded: T | undefined;
  return () => (loaded ??= require(specifier) as T);
}
