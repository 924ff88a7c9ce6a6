/**
 * Node's on-disk compile cache for the server processes (main.ts, origin/main.ts, gateway/main.ts).
 * At every start Node strips the types of each of our .ts modules (amaro) and compiles it: for an
 * edge that was 0.9 of the 1.54 CPU-seconds from its spawn to its ready report, which a restarted
 * edge makes its clients wait for. With the cache a start reads both from disk (the type-stripped
 * output too, in Node 24) and what is left is loading: about 0.65 CPU-seconds (README, "Stopping,
 * and running as a service").
 *
 * The entry points turn it on before they import the server's modules (static imports are all
 * loaded and compiled before any code of the entry runs, so those come by dynamic import after
 * it), and the service writes it out before it starts listening (saveCompileCache,
 * common/service-main.ts), so a process killed with -9 later has still left it for the next start;
 * Node also writes what was compiled later at a normal exit.
 *
 * Where: the folder NODE_COMPILE_CACHE names, else `node-compile-cache` in the OS's temporary folder
 * (os.tmpdir()); NODE_DISABLE_COMPILE_CACHE=1 turns it off. Entries are checked against the
 * source's content and Node's version: an edited file or another Node compiles afresh, never stale.
 */
import { enableCompileCache, flushCompileCache } from 'node:module';

/** Turns the cache on for every module loaded from now on (the modules loaded so far are not in it). */
export function startCompileCache(): void {
  // FAILED (a folder that cannot be made or written) only costs the start its speed: nothing to stop for.
  enableCompileCache();
}

/** Writes what was compiled so far to the cache folder now (nothing when the cache is off). */
export function saveCompileCache(): void {
  flushCompileCache();
}
