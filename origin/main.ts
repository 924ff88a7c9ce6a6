/**
 * Command-line entry of the origin only (`npm run start:origin`): reads the configuration, starts
 * the origin, and stops it gracefully on SIGINT/SIGTERM (common/graceful-shutdown.ts). The origin
 * runs no ffmpeg, so it does not check for one (the edge does).
 */
import { startCompileCache } from '#common/compile-cache.ts';

// Before the origin's modules load (hence the dynamic imports): a restart reads them compiled from disk.
startCompileCache();
const { runService } = await import('#common/service-main.ts');
const { loadOriginConfig } = await import('./config.ts');
const { Origin } = await import('./origin.ts');

await runService(process.argv.slice(2), (argv) => loadOriginConfig(argv, process.env), (config) => new Origin(config));
