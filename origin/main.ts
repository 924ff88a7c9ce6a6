/**
 * Command-line entry of the origin only (`npm run start:origin`): reads the configuration, starts
 * the origin, and stops it gracefully on SIGINT/SIGTERM (common/graceful-shutdown.ts). The origin
 * runs no ffmpeg, so it does not check for one (the edge does).
 */
import { runService } from '#common/service-main.ts';
import { loadOriginConfig } from './config.ts';
import { Origin } from './origin.ts';

await runService(process.argv.slice(2), (argv) => loadOriginConfig(argv, process.env), (config) => new Origin(config));
