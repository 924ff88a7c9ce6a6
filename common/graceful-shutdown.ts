/**
 * How a server process stops on SIGTERM or SIGINT (systemd's stop, Ctrl-C): the first signal starts
 * the service's graceful shutdown (stop accepting, tell clients, finish recordings, save shared
 * objects) under a deadline that forces the exit, logged, when it passes; a second signal exits at
 * once. Files stay readable either way: a recording is valid FLV at every moment and one left
 * unfinished is repaired at the next start (origin/recording/flv-repair.ts).
 */
import { constants } from 'node:os';
import type { Logger } from './logger.ts';

/** The whole graceful shutdown must fit in this; the systemd units give 15 s before their SIGKILL. */
export const SHUTDOWN_DEADLINE_MS = 10_000;
/**
 * How long told clients (RTMP AppShutdown, WebSocket 1001) get to leave by themselves before they
 * are disconnected: an application that reacts to AppShutdown (ffmpeg stops on it) leaves at once,
 * a player that ignores it stays, and this bounds what it costs the shutdown.
 */
export const SHUTDOWN_NOTICE_MS = 1000;

/** Exit codes a supervisor can tell apart: 0 clean, 1 deadline passed or shutdown failed, 128+N a second signal N. */
export const EXIT_CLEAN = 0;
export const EXIT_FORCED = 1;

export interface ShutdownSignalOptions {
  deadlineMs?: number;
  signals?: readonly NodeJS.Signals[];
  /** Ends the process (process.exit); a test may observe it instead. */
  exit?: (code: number) => void;
}

/**
 * Runs `shutdown` on the first of `signals` and exits 0 when it is done; exits 1 when it fails or
 * the deadline passes first, and 128 + the signal's number at once on a second signal. Returns a
 * function that removes the signal handlers.
 */
export function exitOnSignals(log: Logger, shutdown: () => Promise<void>, options: ShutdownSignalOptions = {}): () => void {
  const deadlineMs = options.deadlineMs ?? SHUTDOWN_DEADLINE_MS;
  const exit = options.exit ?? ((code: number) => process.exit(code));
  let stopping = false;
  let deadline: NodeJS.Timeout | undefined;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) {
      clearTimeout(deadline);
      log.warn('second signal: exiting at once', { signal });
      exit(128 + (constants.signals[signal] ?? 0));
      return;
    }
    stopping = true;
    const startedAt = Date.now();
    log.info('shutting down', { signal, deadlineMs });
    deadline = setTimeout(() => {
      log.error('shutdown deadline passed: exiting now', { deadlineMs });
      exit(EXIT_FORCED);
    }, deadlineMs);
    shutdown().then(() => {
      clearTimeout(deadline);
      log.info('shut down', { ms: Date.now() - startedAt });
      exit(EXIT_CLEAN);
    }, (error: Error) => {
      clearTimeout(deadline);
      log.error('shutdown failed', { error: error.stack ?? String(error) });
      exit(EXIT_FORCED);
    });
  };
  const signals = options.signals ?? ['SIGTERM', 'SIGINT'];
  for (const signal of signals) process.on(signal, onSignal);
  return () => {
    clearTimeout(deadline);
    for (const signal of signals) process.off(signal, onSignal);
  };
}

/** Resolves once every promise has settled or `ms` passed, whichever comes first: true when all settled. */
export async function settledWithin(promises: readonly Promise<unknown>[], ms: number): Promise<boolean> {
  if (promises.length === 0) return true;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => { timer = setTimeout(() => resolve(false), ms); });
  const settled = await Promise.race([Promise.allSettled(promises).then(() => true), timeout]);
  clearTimeout(timer);
  return settled;
}
