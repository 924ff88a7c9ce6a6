/**
 * `npm start`: the whole cluster of one machine in one process, on defaults: an origin (direct RTMP
 * on 1936, edge link on 9035, HTTP API on 8086) and one edge linked to it (RTMP on 1935, where
 * clients go). The link secret comes from the origin's settings (--link-secret, --link-secret-file,
 * ORIGIN_LINK_SECRET, the config file) or is generated once into <data-dir>/link-secret (mode 0600),
 * so edges on other machines can be given the same file. `npm run start:origin` / `start:edge` run one side.
 *
 * Configuration: `--config FILE` with an `origin` and an `edge` section (README, "Configuration"),
 * every origin flag and variable (see origin/config.ts), plus --edge-port N (1935), --edge-http-port N
 * (8080), --edge-rtmps-port N (off; with --tls-cert/--tls-key), --edge-name NAME. The edge, where
 * clients go, takes the origin's client limits, bind address, TLS files, Flash policy allow list and
 * policy port (843) unless its own section sets them; its link goes to this origin, so the edge
 * section has no origins, secret, origin TLS or token secret (it checks tokens with the origin's own);
 * the log settings (level, levels per component, format) and the shutdown deadline are the
 * process's (the origin section's). `--print-config` prints both sections.
 * SIGTERM/SIGINT drain the edge, then stop the origin (common/graceful-shutdown.ts).
 */
import { hostname } from 'node:os';
import type { z } from 'zod';
import type { Logger } from '#common/logger.ts';
import type { ServiceAddresses } from '#common/ready-report.ts';
import type { OriginConfig } from './origin/config.ts';
import { startCompileCache } from '#common/compile-cache.ts';

// Before the modules of the origin and the edge load (hence the dynamic imports): a restart reads them compiled from disk.
startCompileCache();
const { checkFfmpeg, logFfmpegCapabilities } = await import('#common/ffmpeg-capabilities.ts');
// The edge's transcoders run ffmpeg: it is asked what it can do while the rest loads (on the other
// core), not once started, where its spawn held the local edge's link up (gateway/main.ts).
const ffmpeg = checkFfmpeg();
const { parseFlags, runService } = await import('#common/service-main.ts');
const { storedSecret } = await import('#common/stored-secret.ts');
const { clientLimitsOf } = await import('#common/client-limits.ts');
const { checkListenerConfig } = await import('#common/listener-config.ts');
const { isWildcardAddress } = await import('#common/listen.ts');
const { ConfigError, readConfigFile, flagLayers, mergeLayers, printConfigAndExit, takeConfigOptions, usageOf } = await import('#common/config-file.ts');
const { ORIGIN_COMMAND_LINE, ORIGIN_FLAGS, originConfigFrom, originSettings, printableOriginConfig } = await import('./origin/config.ts');
const { Origin } = await import('./origin/origin.ts');
const { checkEdgeConfig, httpUrlOf, defaultEdgeConfig, edgeSettings, LOCAL_EDGE_FLAGS, printableEdgeConfig } = await import('./gateway/config.ts');
const { Edge } = await import('./gateway/edge.ts');

/** The local edge's settings: an edge's, but its link (to this process's origin) and what the whole process shares. */
const localEdgeSettings = edgeSettings.omit({ origins: true, cluster: true, secret: true, secretFile: true, originTls: true, originCaFile: true, tokenSecret: true, tokenSecretFile: true, originHttp: true, logLevel: true, logLevels: true, logFormat: true, shutdownDeadlineMs: true });
type LocalEdgeConfig = z.output<typeof localEdgeSettings>;

const { cluster: _cluster, secretFile: _secretFile, originTls: _originTls, originCaFile: _originCaFile, tokenSecret: _tokenSecret, tokenSecretFile: _tokenSecretFile, originHttp: _originHttp, logLevel: _logLevel, logLevels: _logLevels, logFormat: _logFormat, shutdownDeadlineMs: _deadline, ...edgeDefaults } = defaultEdgeConfig;
const defaultLocalEdgeConfig: LocalEdgeConfig = { ...edgeDefaults, name: `${hostname()}-edge`, publicUrl: '' };

/** The origin's command line and the local edge's flags. */
const commandLine = { ...ORIGIN_COMMAND_LINE, command: 'npm start --', sections: ['origin', 'edge'], flags: [...ORIGIN_FLAGS, ...LOCAL_EDGE_FLAGS] };
const usage = usageOf(commandLine);

interface LocalClusterConfig {
  origin: OriginConfig;
  edge: LocalEdgeConfig;
  logLevel: OriginConfig['logLevel'];
  logLevels: OriginConfig['logLevels'];
  logFormat: OriginConfig['logFormat'];
  shutdownDeadlineMs: number;
}

/** The origin's settings (its direct RTMP port moves to 1936 unless set), and the local edge's over what it takes from them. */
function loadConfig(argv: string[]): LocalClusterConfig {
  const options = takeConfigOptions(argv);
  const values = parseFlags(options.rest, commandLine.flags.map((entry) => entry.flag), [], usage);
  const file = options.file === null ? null : readConfigFile(options.file, { origin: originSettings, edge: localEdgeSettings });
  const origin = originConfigFrom({ file: file?.origin, flags: values, env: process.env, defaults: { rtmpPort: 1936 }, usage });
  const fromOrigin: Partial<LocalEdgeConfig> = {
    ...clientLimitsOf(origin), bind: origin.bind, tlsCert: origin.tlsCert, tlsKey: origin.tlsKey, policyDomains: origin.policyDomains, policyPort: origin.policyPort,
  };
  const edge = mergeLayers(defaultLocalEdgeConfig, [
    ['the origin\'s settings', fromOrigin],
    ['the config file', file?.edge ?? {}],
    ['the flags', flagLayers(localEdgeSettings, LOCAL_EDGE_FLAGS, values, {}, usage).flags],
  ]);
  if (edge.rtmpsPort !== null && edge.tlsCert === null) throw new ConfigError('the edge\'s rtmpsPort (--edge-rtmps-port, edge.rtmpsPort) needs tlsCert and tlsKey (--tls-cert, --tls-key)');
  checkListenerConfig(edge, true);
  checkEdgeConfig(edge);
  if (options.print) printConfigAndExit({ origin: printableOriginConfig(origin), edge: printableEdgeConfig(edge) }, options.print);
  return { origin, edge, logLevel: origin.logLevel, logLevels: origin.logLevels, logFormat: origin.logFormat, shutdownDeadlineMs: origin.shutdownDeadlineMs };
}

/** Where this process's edge dials its own origin's listener bound to `address`. */
function loopbackIfWildcard(address: string): string {
  return isWildcardAddress(address) ? '127.0.0.1' : address;
}

/** The origin and its local edge as one service: the edge starts once the origin's link listens. */
class LocalCluster {
  readonly origin: InstanceType<typeof Origin>;
  readonly log: Logger;
  readonly #edgeConfig: LocalEdgeConfig;
  readonly #linkSecret: string;
  readonly #shutdownDeadlineMs: number;
  #edge: InstanceType<typeof Edge> | null = null;

  constructor(config: LocalClusterConfig) {
    this.#linkSecret = config.origin.linkSecret ?? storedSecret(config.origin.dataDir, 'link-secret');
    this.#edgeConfig = config.edge;
    this.#shutdownDeadlineMs = config.shutdownDeadlineMs;
    // One process, one master policy port: the edge's (clients reach the edge).
    this.origin = new Origin({ ...config.origin, linkSecret: this.#linkSecret, policyPort: null });
    this.log = this.origin.log;
  }

  async start(): Promise<void> {
    const { link, http } = await this.origin.start();
    if (!link) throw new Error('the origin did not start its link listener');
    this.#edge = new Edge({
      ...this.#edgeConfig,
      origins: [{ host: loopbackIfWildcard(link.address), port: link.port }],
      // In cluster mode the local edge follows the same directory: its clients go to their room's owner, this origin or another.
      cluster: this.origin.config.cluster,
      secret: this.#linkSecret,
      secretFile: null,
      originTls: false,
      originCaFile: null,
      // The origin's own token secret: the local edge refuses bad tokens before they reach the link.
      tokenSecret: this.origin.config.tokenSecret ?? storedSecret(this.origin.config.dataDir, 'token-secret'),
      tokenSecretFile: null,
      // The pages' recordings (forwarded by the edge) are this origin's.
      originHttp: httpUrlOf(loopbackIfWildcard(http.address), http.port),
      logLevel: this.origin.config.logLevel,
      logLevels: this.origin.config.logLevels,
      logFormat: this.origin.config.logFormat,
      shutdownDeadlineMs: this.#shutdownDeadlineMs,
    });
    await this.#edge.start();
  }

  listening(): ServiceAddresses {
    return { ...this.origin.listening(), ...this.#edge?.listening() };
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

const cluster = await runService(process.argv.slice(2), loadConfig, (config) => new LocalCluster(config));
logFfmpegCapabilities(await ffmpeg, cluster.log);
