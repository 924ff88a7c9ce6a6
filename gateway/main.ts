/**
 * Command-line entry of the edge (`npm run start:edge`): reads the configuration, starts the edge
 * (RTMP listener and origin link), reports what the ffmpeg it finds lets it transcode, and drains
 * on SIGINT/SIGTERM (common/graceful-shutdown.ts).
 */
import { startCompileCache } from '#common/compile-cache.ts';

// Before the edge's modules load (hence the dynamic imports): a restart reads them compiled from disk.
startCompileCache();
const { checkFfmpeg, logFfmpegCapabilities } = await import('#common/ffmpeg-capabilities.ts');
// ffmpeg is asked while the edge loads (it runs on the other core): asked once the edge was up, its
// spawn held the link's handshake up by 60-180 ms on a 2-core machine (README, "ffmpeg at start").
const ffmpeg = checkFfmpeg();
const { runService } = await import('#common/service-main.ts');
const { loadEdgeConfig } = await import('./config.ts');
const { Edge } = await import('./edge.ts');

const edge = await runService(process.argv.slice(2), (argv) => loadEdgeConfig(argv, process.env), (config) => new Edge(config));
logFfmpegCapabilities(await ffmpeg, edge.log);
