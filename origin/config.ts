/**
 * Origin configuration: defaults, then environment (ORIGIN_*), then command-line flags.
 * Every limit the origin enforces is here, named, so none is silent.
 */
import { secretFromFile } from '#common/stored-secret.ts';
import { parseAuthPolicies, type AuthPolicy } from './auth/authorizer.ts';
import type { LogLevel } from '#common/logger.ts';
import { defaultClientLimits, type ClientLimits } from '#common/client-limits.ts';
import { parseFlags, parseLogLevel } from '#common/service-main.ts';
import { defaultListenerConfig, LISTENER_FLAGS, LISTENER_USAGE, loadListenerConfig, type ListenerConfig } from '#common/listener-config.ts';

/** The origin applies the same client limits and listener settings as the edge (common/). */
export interface OriginConfig extends ClientLimits, ListenerConfig {
  bind: string;
  rtmpPort: number;
  dataDir: string;
  applications: string[];
  maxStreamsPerConnection: number;
  /** Largest remote shared object (its slots' names and AMF0-encoded values); a change beyond is refused. */
  maxSharedObjectBytes: number;
  /** Shared objects one room (scope) may hold; a use beyond is refused. */
  maxSharedObjectsPerRoom: number;
  /** Shared object changes, sends and clears one client may make per second (and in one burst). */
  maxSharedObjectChangesPerSecond: number;
  /** A server-to-client call (Client.invoke) fails if the client has not answered within this time. */
  callTimeoutMs: number;
  /** Chat messages the classroom keeps per room (oldest dropped first). */
  maxChatHistory: number;
  /** HTTP API port (0: any free port). */
  httpPort: number;
  /** Address of the HTTP API (recordings, tokens, edges): loopback unless the operator opens it. */
  httpBind: string;
  /** Record every room while anyone publishes in it ('always'), or only when asked ('never'). */
  recordRooms: 'always' | 'never';
  /** Recorders write queued tags at least this often. */
  recordFlushMs: number;
  /** A recorder whose queue passes this many bytes (the disk does not keep up) fails with Record.Failed. */
  maxRecordQueueBytes: number;
  /** onMetaData reserved at the start of each recording; bounds its keyframe index (thinned beyond). */
  recordMetadataReserveBytes: number;
  /** VOD players send this much media (ms of stream time) ahead of real time. */
  vodReadAheadMs: number;
  /** Port edges link to (0: any free port). */
  linkPort: number;
  /** Address the edge link listens on; null: the same as `bind`. */
  linkBind: string | null;
  /** Shared secret edges prove they know; null: no link listener at all (never unauthenticated edges). */
  linkSecret: string | null;
  /** TLS certificate and key (PEM files) for the edge link; both or neither. */
  linkTlsCert: string | null;
  linkTlsKey: string | null;
  /** Link backlog beyond which a subscription's media is dropped to the next keyframe (control frames never are). */
  maxLinkMediaBacklogBytes: number;
  /** An edge whose link backlog passes this (it stopped reading, even control frames pile up) is disconnected. */
  maxLinkBacklogBytes: number;
  /** The origin pings each edge this often (round-trip time; an edge is healthy with a Pong within 3 intervals). */
  linkPingIntervalMs: number;
  /** Authorization policy per application (origin/auth/authorizer.ts); unlisted ones get the default (classroom required, others legacy). */
  authPolicies: Map<string, AuthPolicy>;
  /** Token signing secret; null: generated once into <dataDir>/token-secret. */
  tokenSecret: string | null;
  logLevel: LogLevel;
}

export const defaultOriginConfig: OriginConfig = {
  bind: '0.0.0.0',
  rtmpPort: 1935,
  dataDir: './data',
  applications: ['live', 'classroom'],
  ...defaultClientLimits,
  ...defaultListenerConfig,
  maxStreamsPerConnection: 32,
  maxSharedObjectBytes: 1024 * 1024,
  maxSharedObjectsPerRoom: 64,
  maxSharedObjectChangesPerSecond: 50,
  callTimeoutMs: 10_000,
  maxChatHistory: 500,
  httpPort: 8086,
  httpBind: '127.0.0.1',
  recordRooms: 'never',
  recordFlushMs: 500,
  maxRecordQueueBytes: 16 * 1024 * 1024,
  // About 4000 keyframes: over an hour at one keyframe a second before the index is thinned.
  recordMetadataReserveBytes: 75_000,
  vodReadAheadMs: 1000,
  linkPort: 9035,
  linkBind: null,
  linkSecret: null,
  linkTlsCert: null,
  linkTlsKey: null,
  maxLinkMediaBacklogBytes: 4 * 1024 * 1024,
  maxLinkBacklogBytes: 64 * 1024 * 1024,
  linkPingIntervalMs: 5000,
  authPolicies: new Map(),
  tokenSecret: null,
  logLevel: 'info',
};

const usage = `usage: node origin/main.ts [--bind ADDR] [--rtmp-port N] [--data-dir DIR] [--apps a,b] [--handshake-timeout MS] [--ping-interval-ms MS] [--media-flush-ms MS]
  [--http-port N] [--http-bind ADDR] [--record-rooms always|never] [--record-flush-ms MS] [--so-max-bytes N] [--so-max-changes-per-second N] [--call-timeout-ms MS] [--log-level debug|info|warn|error]
  ${LISTENER_USAGE}
  [--link-port N] [--link-bind ADDR] [--link-secret S | --link-secret-file FILE] [--link-tls-cert FILE --link-tls-key FILE]
  [--auth APP=required|optional|legacy,...] [--token-secret-file FILE]
  environment: ORIGIN_BIND, ORIGIN_RTMP_PORT, ORIGIN_DATA_DIR, ORIGIN_APPS, ORIGIN_MEDIA_FLUSH_MS, ORIGIN_HTTP_PORT, ORIGIN_HTTP_BIND, ORIGIN_RECORD_ROOMS,
  ORIGIN_LINK_PORT, ORIGIN_LINK_BIND, ORIGIN_LINK_SECRET, ORIGIN_AUTH, LOG_LEVEL`;

function port(value: string, what: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new Error(`${what} must be a port number, got ${JSON.stringify(value)}\n${usage}`);
  return n;
}

function milliseconds(value: string, what: string, min: number): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > 600_000) throw new Error(`${what} must be a whole number of milliseconds >= ${min}, got ${JSON.stringify(value)}\n${usage}`);
  return n;
}

function positive(value: string, what: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${what} must be a whole number >= 1, got ${JSON.stringify(value)}\n${usage}`);
  return n;
}

/** The edge link's flags: port, address, the shared secret (inline or from a file), TLS files. */
function loadLinkConfig(config: OriginConfig, values: Record<string, string | boolean | undefined>, env: NodeJS.ProcessEnv): void {
  const text = (name: string): string | undefined => {
    const value = values[name];
    return typeof value === 'string' ? value : undefined;
  };
  const linkPort = text('link-port') ?? env.ORIGIN_LINK_PORT;
  if (linkPort) config.linkPort = port(linkPort, '--link-port');
  const linkBind = text('link-bind') ?? env.ORIGIN_LINK_BIND;
  if (linkBind) config.linkBind = linkBind;
  const secretFile = text('link-secret-file');
  // A file keeps the secret out of the process list; trailing newlines from editors are not part of it.
  const secret = secretFile ? secretFromFile(secretFile) : text('link-secret') ?? env.ORIGIN_LINK_SECRET;
  if (secret !== undefined) {
    if (secret.length === 0) throw new Error(`the link secret must not be empty\n${usage}`);
    config.linkSecret = secret;
  }
  config.linkTlsCert = text('link-tls-cert') ?? null;
  config.linkTlsKey = text('link-tls-key') ?? null;
  if ((config.linkTlsCert === null) !== (config.linkTlsKey === null)) throw new Error(`--link-tls-cert and --link-tls-key go together\n${usage}`);
}

export function loadOriginConfig(argv: string[], env: NodeJS.ProcessEnv): OriginConfig {
  const values = parseFlags(argv, [
    'bind', 'rtmp-port', 'data-dir', 'apps', 'log-level', 'handshake-timeout', 'ping-interval-ms', 'media-flush-ms', 'so-max-bytes', 'so-max-changes-per-second', 'call-timeout-ms', 'http-port', 'http-bind', 'record-rooms', 'record-flush-ms', 'link-port', 'link-bind', 'link-secret', 'link-secret-file', 'link-tls-cert', 'link-tls-key', 'auth', 'token-secret-file', ...LISTENER_FLAGS,
  ], [], usage);
  const config = { ...defaultOriginConfig, ...loadListenerConfig(values, usage) };
  const bind = values.bind ?? env.ORIGIN_BIND;
  if (bind) config.bind = bind;
  const rtmpPort = values['rtmp-port'] ?? env.ORIGIN_RTMP_PORT;
  if (rtmpPort) config.rtmpPort = port(rtmpPort, '--rtmp-port');
  const dataDir = values['data-dir'] ?? env.ORIGIN_DATA_DIR;
  if (dataDir) config.dataDir = dataDir;
  const apps = values.apps ?? env.ORIGIN_APPS;
  if (apps) config.applications = apps.split(',').map((a) => a.trim()).filter(Boolean);
  const handshakeTimeout = values['handshake-timeout'];
  if (handshakeTimeout) config.handshakeTimeoutMs = milliseconds(handshakeTimeout, '--handshake-timeout', 1);
  if (values['ping-interval-ms']) config.pingIntervalMs = milliseconds(values['ping-interval-ms'], '--ping-interval-ms', 100);
  const mediaFlush = values['media-flush-ms'] ?? env.ORIGIN_MEDIA_FLUSH_MS;
  if (mediaFlush) config.mediaFlushMs = milliseconds(mediaFlush, '--media-flush-ms', 0);
  if (values['so-max-bytes']) config.maxSharedObjectBytes = positive(values['so-max-bytes'], '--so-max-bytes');
  if (values['so-max-changes-per-second']) config.maxSharedObjectChangesPerSecond = positive(values['so-max-changes-per-second'], '--so-max-changes-per-second');
  if (values['call-timeout-ms']) config.callTimeoutMs = milliseconds(values['call-timeout-ms'], '--call-timeout-ms', 1);
  const httpPort = values['http-port'] ?? env.ORIGIN_HTTP_PORT;
  if (httpPort) config.httpPort = port(httpPort, '--http-port');
  const httpBind = values['http-bind'] ?? env.ORIGIN_HTTP_BIND;
  if (httpBind) config.httpBind = httpBind;
  const recordRooms = values['record-rooms'] ?? env.ORIGIN_RECORD_ROOMS;
  if (recordRooms) {
    if (recordRooms !== 'always' && recordRooms !== 'never') throw new Error(`--record-rooms must be always or never\n${usage}`);
    config.recordRooms = recordRooms;
  }
  const recordFlush = values['record-flush-ms'];
  if (recordFlush) config.recordFlushMs = milliseconds(recordFlush, '--record-flush-ms', 10);
  if (config.recordFlushMs > 1000) throw new Error(`--record-flush-ms must be at most 1000 (crash safety needs a flush a second)\n${usage}`);
  loadLinkConfig(config, values, env);
  const auth = values.auth ?? env.ORIGIN_AUTH;
  if (auth) {
    try {
      config.authPolicies = parseAuthPolicies(auth);
    } catch (error) {
      throw new Error(`${(error as Error).message}\n${usage}`);
    }
  }
  if (values['token-secret-file']) config.tokenSecret = secretFromFile(values['token-secret-file']);
  const level = values['log-level'] ?? env.LOG_LEVEL;
  if (level) config.logLevel = parseLogLevel(level, usage);
  return config;
}
