/**
 * Command-line entry of the edge (`npm run start:edge`): reads the configuration, starts the edge
 * (RTMP listener and origin link), reports what the ffmpeg it finds lets it transcode, and drains
 * on SIGINT/SIGTERM (common/graceful-shutdown.ts).
 */
import { checkFfmpeg, logFfmpegCapabilities } from '#common/ffmpeg-capabilities.ts';
import { runService } from '#common/service-main.ts';
import { loadEdgeConfig } from './config.ts';
import { Edge } from './edge.ts';

const edge = await runService(process.argv.slice(2), (argv) => loadEdgeConfig(argv, process.env), (config) => new Edge(config));
logFfmpegCapabilities(await checkFfmpeg(), edge.log);
