/**
 * Edge configuration: defaults, then the config file's `edge` section (`--config FILE`), then
 * environment (EDGE_*), then command-line flags (common/config-file.ts). An edge joins a cluster by
 * configuration alone: where the origin(s) are and the shared link secret. Every limit the edge
 * enforces is a setting here, named, described (README's table is made from these descriptions)
 * and checked.
 */
import { hostname } from 'node:os';
import { z } from 'zod';
import { CLIENT_LIMIT_FLAGS, clientLimitSettings, defaultClientLimits } from '#common/client-limits.ts';
import { parseFlags } from '#common/service-main.ts';
import { checkListenerConfig, defaultListenerConfig, LISTENER_FLAGS, listenerSettings } from '#common/listener-config.ts';
import {
  ConfigError, defaultLogSettings, LOG_FLAGS, flagLayers, mergeLayers, milliseconds, port, printableSettings, printConfigAndExit, processSettings, readConfigFile, readSecretFile,
  settingFlag, takeConfigOptions, text, usageOf, wholeNumber, type CommandLine, type Layer, type SettingFlag,
} from '#common/config-file.ts';
import { SHUTDOWN_DEADLINE_MS } from '#common/graceful-shutdown.ts';
import { defaultRtmptLimits, type RtmptLimits } from './rtmpt/rtmpt-limits.ts';
import { defaultBrowserLimits, type BrowserLimits } from './browser/ws-session.ts';
import { DEFAULT_AUTH_TIMEOUT_MS } from './link/origin-link.ts';

export interface OriginAddress {
  host: string;
  port: number;
}

/** The origin's default link port (Red5's MRTMP port). */
export const DEFAULT_LINK_PORT = 9035;
/** The origin's default HTTP API port (origin/config.ts's httpPort, `npm start`'s). */
export const DEFAULT_ORIGIN_HTTP_PORT = 8086;

/** `http://HOST:PORT`, an IPv6 host in brackets. */
export function httpUrlOf(host: string, port: number): string {
  return `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
}

/** Where the edge reaches the origin's HTTP API: `originHttp`, else the first origin's host on the default port. */
export function originHttpUrl(config: Pick<EdgeConfig, 'originHttp' | 'origins'>): URL {
  return new URL(config.originHttp ?? httpUrlOf(config.origins[0]!.host, DEFAULT_ORIGIN_HTTP_PORT));
}

/** `HOST`, `HOST:PORT` or `[IPv6]:PORT` (the port defaults to 9035). */
export function parseOriginAddress(entry: string): OriginAddress {
  const colon = entry.lastIndexOf(':');
  const bracketed = entry.startsWith('[');
  const hasPort = colon > 0 && (!bracketed || entry.lastIndexOf(']') < colon) && (bracketed || entry.indexOf(':') === colon);
  const host = (hasPort ? entry.slice(0, colon) : entry).replace(/^\[|\]$/g, '');
  const port = hasPort ? Number(entry.slice(colon + 1)) : DEFAULT_LINK_PORT;
  if (!host || !Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`expected HOST:PORT, got ${JSON.stringify(entry)}`);
  return { host, port };
}

const webrtcPort = wholeNumber(0, 65535).refine((p) => p === 0 || p >= 1024, 'expected 0 (any) or a port from 1024');

const originAddress = z.union([
  text().transform((entry, context) => {
    try {
      return parseOriginAddress(entry);
    } catch (error) {
      context.issues.push({ code: 'custom', message: (error as Error).message, input: entry });
      return z.NEVER;
    }
  }),
  z.strictObject({ host: text(), port: wholeNumber(1, 65535) }),
], { error: 'expected "HOST:PORT" or { host, port }' });

const browserSettings = z.strictObject({
  maxSessions: wholeNumber(1).describe('Browser connections (/ws) this edge accepts.'),
  maxMessageBytes: wholeNumber(1024).describe('Largest message accepted from a browser; larger ones get too_large.'),
  messagesPerSecond: wholeNumber(1).describe('Sustained messages per second per connection.'),
  burst: wholeNumber(1).describe('Messages allowed at once above messagesPerSecond.'),
  maxStrikes: wholeNumber(1).describe('Invalid or over-limit messages tolerated before the connection is closed (1008).'),
  maxPendingCalls: wholeNumber(1).describe('Calls (browser to origin) awaiting an answer at once.'),
  maxSharedObjects: wholeNumber(1).describe('Shared objects one connection may use at once.'),
  maxSignallingBytes: wholeNumber(1024).describe('Largest webrtc.publish / webrtc.play message (an SDP offer as JSON).'),
  maxWebRtcSessions: wholeNumber(0).describe('WebRTC sessions (publishing or playing) one connection may have at once.'),
  offersPerSecond: wholeNumber(1).describe('WebRTC offers per second per connection (each costs a peer connection, maybe an ffmpeg).'),
  offerBurst: wholeNumber(1).describe('Offers allowed at once above offersPerSecond (a page joining a room plays everyone at once).'),
  maxBufferedBytes: wholeNumber(64 * 1024).describe('Unsent bytes to one browser (its /ws socket, or an HTTP-FLV or WS-FLV viewer) past which it is considered gone and closed.'),
  idleTimeoutMs: milliseconds(1000, 3_600_000).describe('A browser\'s WebSocket (/ws, WS-FLV) is pinged every half of this; one that answered nothing within it is closed.'),
} satisfies Record<keyof BrowserLimits, z.ZodType>);

const rtmptSettings = {
  rtmptIdleTimeoutMs: milliseconds(100, 3_600_000).describe('An RTMPT session with no request (send or idle poll) for this long is closed.'),
  rtmptMaxQueuedBytes: wholeNumber(64 * 1024, 1024 ** 3).describe('Bytes queued for one RTMPT client\'s polls past which its session is closed (leave room for a joiner\'s cached GOP).'),
  rtmptMaxReplyBytes: wholeNumber(1024, 64 * 1024 * 1024).describe('At most this many queued bytes in one RTMPT reply.'),
  rtmptMaxBodyBytes: wholeNumber(4096, 256 * 1024 * 1024).describe('Largest RTMPT request body (what a client sends in one request).'),
} satisfies Record<keyof RtmptLimits, z.ZodType>;

export const edgeSettings = z.strictObject({
  origins: z.array(originAddress).describe('Origins\' link addresses (HOST:PORT, port 9035 by default), tried in turn when the link is lost. Required, unless cluster is set.'),
  cluster: text().regex(/^rediss?:\/\/\S+$/, 'expected redis://HOST:PORT').nullable().describe('Cluster mode: the Redis directory (redis://HOST:PORT) whose origins this edge links to, one link each, routing every client to its room\'s owner (origins is then not used; set originHttp); null: one link to origins.'),
  secret: text().describe('Shared link secret proven to the origin (and by it); never sent, masked by --print-config. Required, or secretFile.'),
  secretFile: text().nullable().describe('File holding the link secret, instead of secret.'),
  name: text().max(64).describe('This edge\'s name in the origin\'s registry (letters, digits, . _ : @ -).'),
  bind: text().describe('Address of the RTMP, RTMPS and HTTP listeners.'),
  rtmpPort: port().describe('RTMP port (0: any free port).'),
  httpPort: port().describe('HTTP port: web client, /ws, HTTP/WS-FLV, RTMPT, WHIP/WHEP, /metrics (0: any free port).'),
  publicUrl: z.string().refine((url) => url === '' || URL.canParse(url), 'expected a URL (rtmp://HOST:PORT)')
    .describe('Where clients reach this edge, for the origin\'s /api/edges/pick (empty: rtmp://BIND:PORT).'),
  originTls: z.boolean().describe('The link to the origin is TLS.'),
  originCaFile: text().nullable().describe('CA certificate (PEM file) that signed the origin\'s link certificate (null: the system\'s CAs); needs originTls.'),
  tokenSecret: text().nullable().describe('The origin\'s token signing secret (masked by --print-config): with it the edge itself refuses a bad, expired, foreign-signed or other room\'s token on WHIP, WHEP, HTTP/WS-FLV and the /ws join (401/403, forbidden) before opening a session on the link; null with no tokenSecretFile: the origin decides alone.'),
  tokenSecretFile: text().nullable().describe('File holding the origin\'s token signing secret (its dataDir/token-secret, or its tokenSecretFile), instead of tokenSecret.'),
  originHttp: z.string().refine((url) => /^http:\/\/[^/?#]+\/?$/.test(url) && URL.canParse(url), 'expected http://HOST:PORT').nullable()
    .describe(`The origin's HTTP API (http://HOST:PORT), where the edge forwards the pages' /api/recordings and /recordings/... (null: the first origin's host, port ${DEFAULT_ORIGIN_HTTP_PORT}).`),
  ...clientLimitSettings,
  ...listenerSettings,
  loadIntervalMs: milliseconds(100).describe('Load reports to the origin this often.'),
  linkPingIntervalMs: milliseconds(100).describe('Link pings this often; a link silent for three intervals is dropped.'),
  linkAuthTimeoutMs: milliseconds(100).describe('The link must be authenticated within this time after connecting, else the next origin is tried.'),
  reconnectMinMs: milliseconds(10).describe('Reconnect delay after a failed attempt to link: starts here, doubles per failed attempt (50..100 % of each step, at random). A link that worked (up for a second) is redialled at once when lost.'),
  reconnectRefusedMaxMs: milliseconds(10).describe('Longest reconnect delay after an attempt the origin\'s host refused or reset at once (an origin restarting): cheap to repeat, so kept short (reconnectMaxMs bounds it too).'),
  reconnectMaxMs: milliseconds(10).describe('Longest reconnect delay after any other failed attempt: timed out, unreachable, TLS, or refused by the origin itself (secret, edge name, version).'),
  connectHoldMs: milliseconds(100).describe('A client that connects while the link is down is held this long for it, then gets NetConnection.Connect.Failed.'),
  maxHeldMessages: wholeNumber(1).describe('Messages kept from a held client; one more closes it.'),
  statsIntervalMs: milliseconds(0, 3_600_000).describe('Link and client counters logged this often (0: never).'),
  webrtcBind: text().nullable().describe('Address WebRTC media binds and announces (ICE host candidate; null: bind, or every interface when that is a wildcard).'),
  webrtcPortRangeBegin: webrtcPort.describe('First UDP port WebRTC media may use (0 with webrtcPortRangeEnd 0: any).'),
  webrtcPortRangeEnd: webrtcPort.describe('Last UDP port WebRTC media may use.'),
  webrtcGatheringTimeoutMs: milliseconds(100, 60_000).describe('ICE candidates are gathered for at most this long before an answer is sent.'),
  keyframeIntervalMs: milliseconds(500, 60_000).describe('A WebRTC publisher is asked for a keyframe at least this often.'),
  webrtcMaxBitrate: wholeNumber(100_000, 50_000_000).describe('The video bit rate (bit/s) a WebRTC publisher is told it may send.'),
  flvPublisherWaitMs: milliseconds(1000, 3_600_000).describe('An HTTP-FLV or WS-FLV viewer that had nothing to receive for this long (nobody publishes the stream) is closed.'),
  ...rtmptSettings,
  browser: browserSettings.describe('Browsers on the WebSocket application channel (/ws).'),
  ...processSettings,
});

export type EdgeConfig = z.output<typeof edgeSettings>;

export const defaultEdgeConfig: Omit<EdgeConfig, 'origins' | 'secret' | 'publicUrl'> = {
  cluster: null,
  secretFile: null,
  name: hostname(),
  bind: '0.0.0.0',
  rtmpPort: 1935,
  httpPort: 8080,
  originTls: false,
  originCaFile: null,
  tokenSecret: null,
  tokenSecretFile: null,
  originHttp: null,
  ...defaultClientLimits,
  ...defaultListenerConfig,
  ...defaultRtmptLimits,
  loadIntervalMs: 2000,
  linkPingIntervalMs: 5000,
  linkAuthTimeoutMs: DEFAULT_AUTH_TIMEOUT_MS,
  reconnectMinMs: 100,
  reconnectRefusedMaxMs: 250,
  reconnectMaxMs: 5000,
  connectHoldMs: 10_000,
  maxHeldMessages: 256,
  statsIntervalMs: 0,
  webrtcBind: null,
  webrtcPortRangeBegin: 0,
  webrtcPortRangeEnd: 0,
  webrtcGatheringTimeoutMs: 2000,
  keyframeIntervalMs: 2000,
  webrtcMaxBitrate: 2_000_000,
  flvPublisherWaitMs: 30_000,
  browser: defaultBrowserLimits,
  ...defaultLogSettings,
  shutdownDeadlineMs: SHUTDOWN_DEADLINE_MS,
};

/** What --print-config masks. */
const EDGE_SECRETS = ['secret', 'tokenSecret'] as const;

function portRange(value: string): Record<string, unknown> {
  const match = /^(\d+)-(\d+)$/.exec(value);
  if (!match) throw new Error(`expected FIRST-LAST, got ${JSON.stringify(value)}`);
  return { webrtcPortRangeBegin: Number(match[1]), webrtcPortRangeEnd: Number(match[2]) };
}

export const EDGE_FLAGS: readonly SettingFlag[] = [
  settingFlag('origin', 'origins', 'list', { env: 'EDGE_ORIGIN', value: 'HOST:PORT,...' }),
  settingFlag('cluster', 'cluster', 'text', { env: 'EDGE_CLUSTER', value: 'redis://HOST:PORT' }),
  settingFlag('secret', 'secret', 'text', { env: 'EDGE_SECRET', value: 'S' }),
  settingFlag('secret-file', 'secretFile', 'text', { env: 'EDGE_SECRET_FILE', value: 'FILE' }),
  settingFlag('name', 'name', 'text', { env: 'EDGE_NAME', value: 'NAME' }),
  settingFlag('bind', 'bind', 'text', { env: 'EDGE_BIND', value: 'ADDR' }),
  settingFlag('rtmp-port', 'rtmpPort', 'number', { env: 'EDGE_RTMP_PORT' }),
  settingFlag('http-port', 'httpPort', 'number', { env: 'EDGE_HTTP_PORT' }),
  settingFlag('public-url', 'publicUrl', 'text', { env: 'EDGE_PUBLIC_URL', value: 'rtmp://HOST:PORT' }),
  { flag: 'origin-tls', boolean: true, keys: ['originTls'], set: () => ({ originTls: true }) },
  settingFlag('origin-ca', 'originCaFile', 'text', { value: 'FILE' }),
  settingFlag('token-secret-file', 'tokenSecretFile', 'text', { env: 'EDGE_TOKEN_SECRET_FILE', value: 'FILE' }),
  settingFlag('origin-http', 'originHttp', 'text', { env: 'EDGE_ORIGIN_HTTP', value: 'http://HOST:PORT' }),
  settingFlag('ping-interval-ms', 'pingIntervalMs', 'number'),
  settingFlag('media-flush-ms', 'mediaFlushMs', 'number', { env: 'EDGE_MEDIA_FLUSH_MS' }),
  settingFlag('stats-interval-ms', 'statsIntervalMs', 'number'),
  ...CLIENT_LIMIT_FLAGS,
  ...LOG_FLAGS,
  ...LISTENER_FLAGS,
  settingFlag('webrtc-bind', 'webrtcBind', 'text', { value: 'ADDR' }),
  { flag: 'webrtc-ports', value: 'FIRST-LAST', keys: ['webrtcPortRangeBegin', 'webrtcPortRangeEnd'], set: portRange },
  settingFlag('keyframe-interval-ms', 'keyframeIntervalMs', 'number'),
  settingFlag('webrtc-max-bitrate', 'webrtcMaxBitrate', 'number', { value: 'BPS' }),
  settingFlag('rtmpt-idle-timeout-ms', 'rtmptIdleTimeoutMs', 'number'),
  settingFlag('rtmpt-max-queued-bytes', 'rtmptMaxQueuedBytes', 'number'),
  settingFlag('rtmpt-max-reply-bytes', 'rtmptMaxReplyBytes', 'number'),
  settingFlag('rtmpt-max-body-bytes', 'rtmptMaxBodyBytes', 'number'),
  settingFlag('flv-publisher-wait-ms', 'flvPublisherWaitMs', 'number'),
];

/** The edge's command line; its usage is made from EDGE_FLAGS, but for where the origins are and the secret's two ways, given once. */
export const EDGE_COMMAND_LINE: CommandLine = {
  command: 'node gateway/main.ts',
  sections: ['edge'],
  flags: EDGE_FLAGS,
  written: [
    '(--origin HOST:PORT[,HOST:PORT...] [--origin-http http://HOST:PORT] | --cluster redis://HOST:PORT --origin-http http://HOST:PORT)',
    '(--secret S | --secret-file FILE)',
  ],
};

const EDGE_USAGE = usageOf(EDGE_COMMAND_LINE);

/** `npm start`'s (main.ts) flags for its local edge, beside the origin's: the rest of its settings come from the origin's and the config file's edge section. */
export const LOCAL_EDGE_FLAGS: readonly SettingFlag[] = [
  settingFlag('edge-port', 'rtmpPort', 'number'),
  settingFlag('edge-http-port', 'httpPort', 'number'),
  settingFlag('edge-rtmps-port', 'rtmpsPort', 'number'),
  settingFlag('edge-name', 'name', 'text', { value: 'NAME' }),
];

/** Checks what only makes sense together, once every layer is merged (the listeners' settings and the link's are checked by each loader). */
export function checkEdgeConfig(config: Pick<EdgeConfig, 'webrtcPortRangeBegin' | 'webrtcPortRangeEnd' | 'reconnectMinMs' | 'reconnectMaxMs'>): void {
  if ((config.webrtcPortRangeBegin === 0) !== (config.webrtcPortRangeEnd === 0)) throw new ConfigError('webrtcPortRangeBegin and webrtcPortRangeEnd (--webrtc-ports) are both 0 (any port) or both ports');
  if (config.webrtcPortRangeBegin > config.webrtcPortRangeEnd) throw new ConfigError('webrtcPortRangeBegin must not be above webrtcPortRangeEnd');
  if (config.reconnectMinMs > config.reconnectMaxMs) throw new ConfigError('reconnectMinMs must not be above reconnectMaxMs');
}

/** `--print-config`'s view of the edge: the secret masked, the rest as a config file holds it. */
export function printableEdgeConfig(config: Partial<EdgeConfig>): Record<string, unknown> {
  return printableSettings(config, edgeSettings, EDGE_SECRETS);
}

/** The edge's command line (`node gateway/main.ts`): `--config FILE`, environment, flags; `--print-config` prints and exits. */
export function loadEdgeConfig(argv: string[], env: NodeJS.ProcessEnv): EdgeConfig {
  const options = takeConfigOptions(argv);
  const values = parseFlags(options.rest, EDGE_FLAGS.filter((entry) => !entry.boolean).map((entry) => entry.flag), EDGE_FLAGS.filter((entry) => entry.boolean).map((entry) => entry.flag), EDGE_USAGE);
  const file = options.file === null ? {} : readConfigFile(options.file, { edge: edgeSettings }).edge;
  const layers = flagLayers(edgeSettings, EDGE_FLAGS, values, env, EDGE_USAGE);
  const layered: Layer<EdgeConfig>[] = [['the config file', file], ['the environment', layers.env], ['the flags', layers.flags]];
  const config = mergeLayers<EdgeConfig>({ ...defaultEdgeConfig, origins: [], secret: '', publicUrl: '' }, layered, [['secret', 'secretFile'], ['tokenSecret', 'tokenSecretFile']]);
  if (config.origins.length === 0 && config.cluster === null) throw new ConfigError(`--origin (EDGE_ORIGIN, edge.origins) is required\n${EDGE_USAGE}`);
  if (config.origins.length === 0 && config.originHttp === null) throw new ConfigError(`cluster mode without --origin needs --origin-http (EDGE_ORIGIN_HTTP, edge.originHttp): where the pages' recordings are asked for\n${EDGE_USAGE}`);
  if (config.secretFile !== null) config.secret = readSecretFile(config.secretFile, 'secretFile').trim();
  if (!config.secret) throw new ConfigError(`--secret or --secret-file (EDGE_SECRET, EDGE_SECRET_FILE, edge.secret, edge.secretFile) is required\n${EDGE_USAGE}`);
  if (config.tokenSecretFile !== null) config.tokenSecret = readSecretFile(config.tokenSecretFile, 'tokenSecretFile');
  if (config.tokenSecret !== null && Buffer.byteLength(config.tokenSecret) < 32) throw new ConfigError('the token secret (tokenSecret, tokenSecretFile) must be at least 32 bytes, as the origin\'s is');
  if (config.originCaFile !== null && !config.originTls) throw new ConfigError('originCaFile (--origin-ca) needs originTls (--origin-tls)');
  checkListenerConfig(config);
  checkEdgeConfig(config);
  if (options.print) printConfigAndExit({ edge: printableEdgeConfig(config) }, options.print);
  return config;
}
