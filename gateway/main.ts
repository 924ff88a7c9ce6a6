/**
 * Command-line entry of the edge (`npm run start:edge`): reads the configuration, starts the edge
 * (RTMP listener and origin link), and stops it cleanly on SIGINT/SIGTERM.
 */
import { runService } from '#common/service-main.ts';
import { loadEdgeConfig } from './config.ts';
import { Edge } from './edge.ts';

await runService(() => loadEdgeConfig(process.argv.slice(2), process.env), (config) => new Edge(config));
