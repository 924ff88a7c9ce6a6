/**
 * Edge configuration: defaults, then environment (EDGE_*), then command-line flags. An edge joins
 * a cluster by configuration alone: where the origin(s) are and the shared link secret.
 */
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import type { LogLevel } from '#common/logger.ts';
import { parseFlags, parseLogLevel } from '#common/service-main.ts';
import { defaultClientLimits, type ClientLimits } from '#common/client-limits.ts';
import { defaultListenerConfig, LISTENER_FLAGS, LISTENER_USAGE, loadListenerConfig, type ListenerConfig } from '#common/listener-config.ts';
import { defaultRtmptLimits, type RtmptLimits } from './rtmpt/rtmpt-limits.ts';

export interface OriginAddress {
  host: string;
  port: number;
}

/** The edge applies the same client limits as the origin (common/client-limits.ts), plus its RTMPT ones. */
export interface EdgeConfig extends ClientLimits, ListenerConfig, RtmptLimits {
  /** Origins' link addresses, tried in turn when the link is lost. */
  origins: OriginAddress[];
  /** Shared secret proven to the origin (and by it) over the link; never sent. */
  secret: string;
  /** This edge's name in the origin's registry. */
  name: string;
  bind: string;
  rtmpPort: number;
  /** The edge's HTTP port (web client, WebSocket /ws, HTTP/WS-FLV); 0 picks a free one. */
  httpPort: number;
  /** Where clients reach this edge (reported to the origin for "which edge should I use"). */
  publicUrl: string;
  originTls: boolean;
  /** CA certificate (PEM file) that signed the origin's link certificate; system CAs otherwise. */
  originCaFile: string | null;
  /** Load reports to the origin this often. */
  loadIntervalMs: number;
  /** Link pings this often; a link silent for three intervals is dropped. */
  linkPingIntervalMs: number;
  /** Reconnect delay: starts here, doubles per failed attempt, up to reconnectMaxMs. */
  reconnectMinMs: number;
  reconnectMaxMs: number;
  /** Link and client counters logged this often (0: never). */
  statsIntervalMs: number;
  /** Address WebRTC media binds and announces (ICE host candidate); null: the --bind address, or every interface when that is a wildcard. */
  webrtcBind: string | null;
  /** UDP ports WebRTC media may use (both 0: any). */
  webrtcPortRangeBegin: number;
  webrtcPortRangeEnd: number;
  /** A WebRTC publisher is asked for a keyframe at least this often (ms). */
  keyframeIntervalMs: number;
  /** The video bit rate a WebRTC publisher is told it may send (bit/s). */
  webrtcMaxBitrate: number;
  logLevel: LogLevel;
}

export const defaultEdgeConfig: Omit<EdgeConfig, 'origins' | 'secret' | 'publicUrl'> = {
  name: hostname(),
  bind: '0.0.0.0',
  rtmpPort: 1935,
  httpPort: 8080,
  originTls: false,
  originCaFile: null,
  ...defaultClientLimits,
  ...defaultListenerConfig,
  ...defaultRtmptLimits,
  loadIntervalMs: 2000,
  linkPingIntervalMs: 5000,
  reconnectMinMs: 250,
  reconnectMaxMs: 5000,
  statsIntervalMs: 0,
  webrtcBind: null,
  webrtcPortRangeBegin: 0,
  webrtcPortRangeEnd: 0,
  keyframeIntervalMs: 2000,
  webrtcMaxBitrate: 2_000_000,
  logLevel: 'info',
};

/** The origin's default link port (Red5's MRTMP port). */
export const DEFAULT_LINK_PORT = 9035;

const usage = `usage: node gateway/main.ts --origin HOST:PORT[,HOST:PORT...] (--secret S | --secret-file F) [--name NAME] [--bind ADDR] [--rtmp-port N] [--http-port N]
  [--public-url rtmp://HOST:PORT] [--origin-tls [--origin-ca FILE]] [--ping-interval-ms MS] [--media-flush-ms MS] [--stats-interval-ms MS] [--log-level debug|info|warn|error]
  ${LISTENER_USAGE}
  [--webrtc-bind ADDR] [--webrtc-ports FIRST-LAST] [--keyframe-interval-ms MS] [--webrtc-max-bitrate BPS]
  [--rtmpt-idle-timeout-ms MS] [--rtmpt-max-queued-bytes N] [--rtmpt-max-reply-bytes N] [--rtmpt-max-body-bytes N]
  environment: EDGE_ORIGIN, EDGE_SECRET, EDGE_SECRET_FILE, EDGE_NAME, EDGE_BIND, EDGE_RTMP_PORT, EDGE_HTTP_PORT, EDGE_PUBLIC_URL, EDGE_MEDIA_FLUSH_MS, LOG_LEVEL`;

/** RTMPT limits by flag, with the range each accepts. */
const RTMPT_FLAGS = [
  ['rtmpt-idle-timeout-ms', 'rtmptIdleTimeoutMs', 100, 3_600_000],
  ['rtmpt-max-queued-bytes', 'rtmptMaxQueuedBytes', 64 * 1024, 1024 ** 3],
  ['rtmpt-max-reply-bytes', 'rtmptMaxReplyBytes', 1024, 64 * 1024 * 1024],
  ['rtmpt-max-body-bytes', 'rtmptMaxBodyBytes', 4096, 256 * 1024 * 1024],
] as const satisfies readonly (readonly [string, keyof RtmptLimits, number, number])[];

function wholeNumber(value: string, what: string, min: number, max: number): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) throw new Error(`${what} must be a whole number in ${min}..${max}, got ${JSON.stringify(value)}\n${usage}`);
  return n;
}

export function parseOrigins(value: string): OriginAddress[] {
  return value.split(',').map((s) => s.trim()).filter(Boolean).map((entry) => {
    const colon = entry.lastIndexOf(':');
    const host = colon > 0 ? entry.slice(0, colon).replace(/^\[|\]$/g, '') : entry;
    const port = colon > 0 ? wholeNumber(entry.slice(colon + 1), '--origin port', 1, 65535) : DEFAULT_LINK_PORT;
    return { host, port };
  });
}

export function loadEdgeConfig(argv: string[], env: NodeJS.ProcessEnv): EdgeConfig {
  const values = parseFlags(argv,
    ['origin', 'secret', 'secret-file', 'name', 'bind', 'rtmp-port', 'http-port', 'public-url', 'origin-ca', 'ping-interval-ms', 'media-flush-ms', 'stats-interval-ms', 'log-level', 'webrtc-bind', 'webrtc-ports', 'keyframe-interval-ms', 'webrtc-max-bitrate',
      ...RTMPT_FLAGS.map(([flag]) => flag), ...LISTENER_FLAGS],
    ['origin-tls'], usage);
  const originList = values.origin ?? env.EDGE_ORIGIN;
  if (!originList) throw new Error(`--origin is required\n${usage}`);
  const origins = parseOrigins(originList);
  if (origins.length === 0) throw new Error(`--origin lists no address\n${usage}`);
  const secretFile = values['secret-file'] ?? env.EDGE_SECRET_FILE;
  const secret = values.secret ?? env.EDGE_SECRET ?? (secretFile ? readFileSync(secretFile, 'utf8').trim() : '');
  if (!secret) throw new Error(`--secret or --secret-file is required\n${usage}`);
  const config: EdgeConfig = { ...defaultEdgeConfig, ...loadListenerConfig(values, usage), origins, secret, publicUrl: '' };
  const name = values.name ?? env.EDGE_NAME;
  if (name) config.name = name;
  const bind = values.bind ?? env.EDGE_BIND;
  if (bind) config.bind = bind;
  const rtmpPort = values['rtmp-port'] ?? env.EDGE_RTMP_PORT;
  if (rtmpPort) config.rtmpPort = wholeNumber(rtmpPort, '--rtmp-port', 0, 65535);
  const httpPort = values['http-port'] ?? env.EDGE_HTTP_PORT;
  if (httpPort) config.httpPort = wholeNumber(httpPort, '--http-port', 0, 65535);
  config.publicUrl = values['public-url'] ?? env.EDGE_PUBLIC_URL ?? '';
  config.originTls = values['origin-tls'] ?? false;
  config.originCaFile = values['origin-ca'] ?? null;
  if (config.originCaFile && !config.originTls) throw new Error(`--origin-ca needs --origin-tls\n${usage}`);
  if (values['ping-interval-ms']) config.pingIntervalMs = wholeNumber(values['ping-interval-ms'], '--ping-interval-ms', 100, 600_000);
  const mediaFlush = values['media-flush-ms'] ?? env.EDGE_MEDIA_FLUSH_MS;
  if (mediaFlush) config.mediaFlushMs = wholeNumber(mediaFlush, '--media-flush-ms', 0, 1000);
  if (values['webrtc-bind']) config.webrtcBind = values['webrtc-bind'];
  const ports = values['webrtc-ports'];
  if (ports) {
    const match = /^(\d+)-(\d+)$/.exec(ports);
    if (!match) throw new Error(`--webrtc-ports must be FIRST-LAST, got ${JSON.stringify(ports)}\n${usage}`);
    config.webrtcPortRangeBegin = wholeNumber(match[1]!, '--webrtc-ports first port', 1024, 65535);
    config.webrtcPortRangeEnd = wholeNumber(match[2]!, '--webrtc-ports last port', config.webrtcPortRangeBegin, 65535);
  }
  if (values['keyframe-interval-ms']) config.keyframeIntervalMs = wholeNumber(values['keyframe-interval-ms'], '--keyframe-interval-ms', 500, 60_000);
  if (values['webrtc-max-bitrate']) config.webrtcMaxBitrate = wholeNumber(values['webrtc-max-bitrate'], '--webrtc-max-bitrate', 100_000, 50_000_000);
  const stats = values['stats-interval-ms'];
  if (stats) config.statsIntervalMs = wholeNumber(stats, '--stats-interval-ms', 0, 3_600_000);
  for (const [flag, key, min, max] of RTMPT_FLAGS) {
    const value = values[flag];
    if (value) config[key] = wholeNumber(value, `--${flag}`, min, max);
  }
  const level = values['log-level'] ?? env.LOG_LEVEL;
  if (level) config.logLevel = parseLogLevel(level, usage);
  return config;
}
