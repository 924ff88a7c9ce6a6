/**
 * The command-line life of a server process (origin, edge, or both): load the configuration (a
 * bad flag, setting or config file is reported and exits 2), set up logging (level, levels per
 * component, format: common/logger.ts), start (a failure is logged, exit 1), and stop gracefully
 * on SIGINT/SIGTERM within the configured deadline, at once on a second signal
 * (common/graceful-shutdown.ts). With `--ready-fd N` it then writes the
 * ready report (common/ready-report.ts) naming every address it listens on.
 */
import { parseArgs } from 'node:util';
import { saveCompileCache } from './compile-cache.ts';
import { exitOnSignals } from './graceful-shutdown.ts';
import { configureLogging, type Logger, type LogSettings } from './logger.ts';
import { takeReadyFd, writeReadyReport, type ServiceAddresses } from './ready-report.ts';
import { nativeWritesStatus } from './native/write-many.ts';

export interface Service {
  readonly log: Logger;
  start(): Promise<unknown>;
  close(): Promise<void>;
  /** The graceful stop a signal asks for (tell clients, drain); close() when absent. */
  shutdown?(): Promise<void>;
  /** What it listens on once started (the ready report). */
  listening(): ServiceAddresses;
}

/**
 * Runs a service until a signal stops it; resolves with the started service. `argv`: the command
 * line; `load` gets it without `--ready-fd`.
 */
export async function runService<C extends LogSettings & { shutdownDeadlineMs: number }, S extends Service>(argv: readonly string[], load: (argv: string[]) => C, create: (config: C) => S): Promise<S> {
  let config: C;
  let readyFd: number | null;
  try {
    const ready = takeReadyFd(argv);
    readyFd = ready.fd;
    config = load(ready.rest);
  } catch (error) {
    console.error((error as Error).message);
    process.exit(2);
  }
  configureLogging(config);
  const service = create(config);
  // The modules are loaded: into the compile cache with them now, so that the next start finds them
  // even if this one is killed with -9, and before clients can come (a first start writes hundreds
  // of files, 0.4 s; a start that found them all writes nothing).
  saveCompileCache();
  try {
    await service.start();
  } catch (error) {
    service.log.error('cannot start', { error: (error as Error).message });
    await service.close().catch(() => undefined);
    process.exit(1);
  }
  // How merged media writes reach the sockets (common/direct-write.ts): without the addon, at more CPU per player.
  service.log.info('media writes', { sockets: nativeWritesStatus });
  exitOnSignals(service.log, () => (service.shutdown ? service.shutdown() : service.close()), { deadlineMs: config.shutdownDeadlineMs });
  if (readyFd !== null) writeReadyReport(readyFd, service.listening());
  return service;
}

/**
 * Strict command-line parsing of string and boolean flags; `--help` prints `usage` and exits.
 * Unknown flags throw (node's message and the usage), so a typo never passes silently.
 */
export function parseFlags<S extends string, B extends string>(argv: string[], strings: readonly S[], booleans: readonly B[], usage: string): Partial<Record<S, string> & Record<B, boolean>> {
  const options: Record<string, { type: 'string' | 'boolean' }> = { help: { type: 'boolean' } };
  for (const flag of strings) options[flag] = { type: 'string' };
  for (const flag of booleans) options[flag] = { type: 'boolean' };
  let values;
  try {
    ({ values } = parseArgs({ args: argv, options, strict: true }));
  } catch (error) {
    throw new Error(`${(error as Error).message}\n${usage}`);
  }
  if (values.help) {
    console.log(usage);
    process.exit(0);
  }
  return values as Partial<Record<S, string> & Record<B, boolean>>;
}
