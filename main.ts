/**
 * `npm start`: the whole cluster of one machine in one process, on defaults: an origin (direct RTMP
 * on 1936, edge link on 9035, HTTP API on 8086) and one edge linked to it (RTMP on 1935, where
 * clients go). The link secret comes from the origin's flags (--link-secret, --link-secret-file,
 * ORIGIN_LINK_SECRET) or is generated once into <data-dir>/link-secret (mode 0600), so edges on
 * other machines can be given the same file. `npm run start:origin` / `start:edge` run one side.
 *
 * Flags: every origin flag (see origin/config.ts), plus --edge-port N (1935), --edge-http-port N (8080),
 * --edge-rtmps-port N (off; with --tls-cert/--tls-key), --edge-name NAME. The edge, where clients go,
 * gets the client limits, the TLS files, the Flash policy allow list and the policy port (843).
 * SIGTERM/SIGINT drain the edge, then stop the origin (common/graceful-shutdown.ts).
 */
import { hostname } from 'node:os';
import type { Logger } from '#common/logger.ts';
import { runService } from '#common/service-main.ts';
import { checkFfmpeg, logFfmpegCapabilities } from '#common/ffmpeg-capabilities.ts';
import { storedSecret } from '#common/stored-secret.ts';
import { clientLimitsOf } from '#common/client-limits.ts';
import { isWildcardAddress } from '#common/listen.ts';
import { loadOriginConfig, type OriginConfig } from './origin/config.ts';
import { Origin } from './origin/origin.ts';
import { defaultEdgeConfig } from './gateway/config.ts';
import { Edge } from './gateway/edge.ts';

/** Origin flags, plus the edge's port and name (taken out before the origin's strict parser sees them). */
function loadConfig(argv: string[]): OriginConfig & { edgePort: number; edgeHttpPort: number; edgeRtmpsPort: number | null; edgeName: string } {
  const take = (flag: string) => {
    const i = argv.indexOf(flag);
    return i >= 0 ? argv.splice(i, 2)[1] : undefined;
  };
  const edgePort = Number(take('--edge-port') ?? 1935);
  const edgeHttpPort = Number(take('--edge-http-port') ?? 8080);
  const edgeName = take('--edge-name') ?? `${hostname()}-edge`;
  const edgeRtmps = take('--edge-rtmps-port');
  const edgeRtmpsPort = edgeRtmps === undefined ? null : Number(edgeRtmps);
  for (const [flag, port] of [['--edge-port', edgePort], ['--edge-http-port', edgeHttpPort], ['--edge-rtmps-port', edgeRtmpsPort ?? 0]] as const) {
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`${flag} must be a port number`);
  }
  // The edge takes 1935; the origin's direct RTMP port moves to 1936 unless set.
  const direct = argv.includes('--rtmp-port') || process.env.ORIGIN_RTMP_PORT ? [] : ['--rtmp-port', '1936'];
  const config = loadOriginConfig([...direct, ...argv], process.env);
  if (edgeRtmpsPort !== null && config.tls === null) throw new Error('--edge-rtmps-port needs --tls-cert and --tls-key');
  return { ...config, edgePort, edgeHttpPort, edgeRtmpsPort, edgeName };
}

/** The origin and its local edge as one service: the edge starts once the origin's link listens. */
class LocalCluster {
  readonly origin: Origin;
  readonly log: Logger;
  readonly #config: ReturnType<typeof loadConfig>;
  #edge: Edge | null = null;

  constructor(config: ReturnType<typeof loadConfig>) {
    config.linkSecret ??= storedSecret(config.dataDir, 'link-secret');
    this.#config = config;
    // One process, one master policy port: the edge's (clients reach the edge).
    this.origin = new Origin({ ...config, policyPort: null });
    this.log = this.origin.log;
  }

  async start(): Promise<void> {
    const { link } = await this.origin.start();
    if (!link) throw new Error('the origin did not start its link listener');
    const config = this.#config;
    this.#edge = new Edge({
      ...defaultEdgeConfig,
      name: config.edgeName,
      origins: [{ host: isWildcardAddress(link.address) ? '127.0.0.1' : link.address, port: link.port }],
      secret: config.linkSecret!,
      bind: config.bind,
      rtmpPort: config.edgePort,
      httpPort: config.edgeHttpPort,
      publicUrl: '',
      // The edge's clients get the limits the origin was given.
      ...clientLimitsOf(config),
      rtmpsPort: config.edgeRtmpsPort,
      tls: config.tls,
      policyDomains: config.policyDomains,
      policyPort: config.policyPort,
      logLevel: config.logLevel,
    });
    await this.#edge.start();
  }

  async close(): Promise<void> {
    await this.#edge?.close();
    await this.origin.close();
  }

  /** SIGTERM: the edge drains first (its clients are told and leave), then the origin (recordings finished, shared objects saved). */
  async shutdown(): Promise<void> {
    await this.#edge?.shutdown();
    await this.origin.shutdown();
  }
}

const cluster = await runService(() => loadConfig(process.argv.slice(2)), (config) => new LocalCluster(config));
// The edge's transcoders run ffmpeg: say once what it can do here.
logFfmpegCapabilities(await checkFfmpeg(), cluster.log);
