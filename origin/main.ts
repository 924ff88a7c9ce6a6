/**
 * Command-line entry of the origin only (`npm run start:origin`): reads the configuration, starts
 * the origin, and stops it cleanly on SIGINT/SIGTERM.
 */
import { runService } from '#common/service-main.ts';
import { loadOriginConfig } from './config.ts';
import { Origin } from './origin.ts';

await runService(() => loadOriginConfig(process.argv.slice(2), process.env), (config) => new Origin(config));
