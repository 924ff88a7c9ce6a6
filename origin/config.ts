/**
 * Origin configuration: defaults, then the config file's `origin` section (`--config FILE`), then
 * environment (ORIGIN_*), then command-line flags (common/config-file.ts). Every limit the origin
 * enforces is a setting here, named, described (README's table is made from these descriptions)
 * and checked, so none is silent.
 */
import { z } from 'zod';
import { SHUTDOWN_DEADLINE_MS } from '#common/graceful-shutdown.ts';
import { AUTH_POLICIES, defaultAuthPolicy } from './auth/authorizer.ts';
import { CLIENT_LIMIT_FLAGS, clientLimitSettings, defaultClientLimits } from '#common/client-limits.ts';
import { parseFlags } from '#common/service-main.ts';
import { checkListenerConfig, defaultListenerConfig, LISTENER_FLAGS, listenerSettings } from '#common/listener-config.ts';
import {
  ConfigError, defaultLogSettings, LOG_FLAGS, flagLayers, mergeLayers, milliseconds, port, printableSettings, printConfigAndExit, processSettings, readConfigFile, readSecretFile,
  settingFlag, takeConfigOptions, text, usageOf, wholeNumber, type CommandLine, type Layer, type SettingFlag,
} from '#common/config-file.ts';

export const originSettings = z.strictObject({
  bind: text().describe('Address of the RTMP (and RTMPS) listeners.'),
  rtmpPort: port().describe('RTMP port (0: any free port).'),
  dataDir: text().describe('Recordings, shared objects and generated secrets.'),
  applications: z.array(text().regex(/^[^/\s]+$/, 'expected an application name (no slash or space)')).min(1).describe('Applications clients may connect to.'),
  ...clientLimitSettings,
  ...listenerSettings,
  maxStreamsPerConnection: wholeNumber(1).describe('NetStreams one connection may hold at once.'),
  maxSharedObjectBytes: wholeNumber(1).describe('Largest remote shared object (its slots\' names and AMF0-encoded values); a change beyond is refused.'),
  maxSharedObjectsPerRoom: wholeNumber(1).describe('Shared objects one room (scope) may hold; a use beyond is refused.'),
  maxSharedObjectChangesPerSecond: wholeNumber(1).describe('Shared object changes, sends and clears (and classroom writes) one client may make per second (and in one burst).'),
  callTimeoutMs: milliseconds(1).describe('A server-to-client call (Client.invoke) fails if the client has not answered within this time.'),
  maxChatHistory: wholeNumber(0).describe('Chat messages the classroom keeps per room (oldest dropped first).'),
  httpPort: port().describe('HTTP API port (recordings, tokens, edges, /metrics; 0: any free port).'),
  httpBind: text().describe('Address of the HTTP API: loopback unless the operator opens it.'),
  recordRooms: z.enum(['always', 'never']).describe('Record every room while anyone publishes in it (always), or only when asked (never).'),
  recordFlushMs: milliseconds(10, 1000).describe('Recorders write queued tags at least this often (at most 1000: crash safety needs a flush a second).'),
  maxRecordQueueBytes: wholeNumber(64 * 1024).describe('A recorder whose queue passes this (the disk does not keep up) fails with Record.Failed.'),
  recordMetadataReserveBytes: wholeNumber(1024).describe('onMetaData reserved at the start of each recording; bounds its keyframe index (thinned beyond).'),
  vodReadAheadMs: milliseconds(0, 60_000).describe('VOD players are sent this much media (ms of stream time) ahead of real time.'),
  maxVodMp3Bytes: wholeNumber(1024).describe('Largest MP3 file played as VOD (read whole into memory); a larger one fails to play.'),
  linkPort: port().describe('Port edges link to (0: any free port).'),
  linkBind: text().nullable().describe('Address the edge link listens on (null: bind).'),
  linkSecret: text().nullable().describe('Shared secret edges prove they know (masked by --print-config); null with no linkSecretFile: no link listener (never unauthenticated edges).'),
  linkSecretFile: text().nullable().describe('File holding the link secret (a trailing newline is not part of it), instead of linkSecret.'),
  linkTlsCert: text().nullable().describe('Certificate (PEM file) for the edge link; with linkTlsKey the link is TLS.'),
  linkTlsKey: text().nullable().describe('Private key (PEM file) for the edge link.'),
  linkAuthTimeoutMs: milliseconds(100).describe('An edge must send Hello and prove the secret within this time.'),
  maxLinkMediaBacklogBytes: wholeNumber(64 * 1024).describe('Link backlog beyond which a subscription\'s media is dropped to the next keyframe (control frames never are).'),
  maxSessionsPerEdge: wholeNumber(1).describe('Client sessions one edge may hold on this origin at once; one more is refused (SessionClose). An edge\'s sessions also count against maxConnections, with the direct clients.'),
  maxLinkBacklogBytes: wholeNumber(1024 * 1024).describe('An edge whose link backlog passes this (it stopped reading, even control frames pile up) is disconnected.'),
  linkPingIntervalMs: milliseconds(100).describe('Each edge is pinged this often (round-trip time; healthy with a Pong within 3 intervals).'),
  cluster: text().regex(/^rediss?:\/\/\S+$/, 'expected redis://HOST:PORT').nullable().describe('Cluster mode: the Redis directory (redis://HOST:PORT) this origin registers in and owns rooms through; null: one origin, every room here.'),
  clusterOriginId: text().nullable().describe('This origin\'s name in the cluster (null: HOSTNAME:LINKPORT).'),
  clusterRoomGraceMs: milliseconds(0, 86_400_000).describe('Cluster mode: a room that ended here (its last client left) lets its placement go after this long unused, so room counts stay balanced; a member back within it finds the room here.'),
  clusterLinkAddress: text().nullable().describe('HOST:PORT edges reach this origin\'s link at, as registered in the cluster (null: the link\'s bound address, the host name for a wildcard one).'),
  authPolicies: z.record(text(), z.enum(AUTH_POLICIES))
    .transform((policies) => new Map(Object.entries(policies)))
    .describe('Authorization policy per application (required, optional, legacy); unlisted ones: classroom required, others legacy.'),
  anonymousPublish: z.array(text().regex(/^[^/\s]+$/, 'expected an application name (no slash or space)'))
    .describe('Applications under the optional policy whose clients without a token may publish too (anonymous students or viewers otherwise only play).'),
  tokenSecret: text().nullable().describe('Token signing secret (masked by --print-config); null with no tokenSecretFile: generated once into token-secret in dataDir.'),
  tokenSecretFile: text().nullable().describe('File holding the token signing secret, instead of tokenSecret.'),
  ...processSettings,
});

export type OriginConfig = z.output<typeof originSettings>;

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
  maxVodMp3Bytes: 64 * 1024 * 1024,
  linkPort: 9035,
  linkBind: null,
  linkSecret: null,
  linkSecretFile: null,
  linkTlsCert: null,
  linkTlsKey: null,
  linkAuthTimeoutMs: 5000,
  maxLinkMediaBacklogBytes: 4 * 1024 * 1024,
  maxLinkBacklogBytes: 64 * 1024 * 1024,
  // An edge's own maxConnections by default: a full edge fits, a broken or hostile one cannot take more.
  maxSessionsPerEdge: 5000,
  linkPingIntervalMs: 5000,
  cluster: null,
  clusterOriginId: null,
  clusterRoomGraceMs: 30_000,
  clusterLinkAddress: null,
  authPolicies: new Map(),
  anonymousPublish: [],
  tokenSecret: null,
  tokenSecretFile: null,
  ...defaultLogSettings,
  shutdownDeadlineMs: SHUTDOWN_DEADLINE_MS,
};

/** What --print-config masks. */
const ORIGIN_SECRETS = ['linkSecret', 'tokenSecret'] as const;

/** Settings that say one thing two ways: a layer that sets one overrides what lower layers gave the other. */
const ORIGIN_ALTERNATIVES = [['linkSecret', 'linkSecretFile'], ['tokenSecret', 'tokenSecretFile']] as const;

/** `--auth classroom=required,live=legacy` as the mapping the file holds (its policies checked by the schema). */
function authPolicyEntries(text: string): Record<string, string> {
  const policies: Record<string, string> = {};
  for (const entry of text.split(',').map((e) => e.trim()).filter(Boolean)) {
    const [app, policy, ...rest] = entry.split('=').map((part) => part.trim());
    if (!app || policy === undefined || rest.length > 0) throw new Error(`expected APP=${AUTH_POLICIES.join('|')} entries, got ${JSON.stringify(entry)}`);
    policies[app] = policy;
  }
  return policies;
}

export const ORIGIN_FLAGS: readonly SettingFlag[] = [
  settingFlag('bind', 'bind', 'text', { env: 'ORIGIN_BIND', value: 'ADDR' }),
  settingFlag('rtmp-port', 'rtmpPort', 'number', { env: 'ORIGIN_RTMP_PORT' }),
  settingFlag('data-dir', 'dataDir', 'text', { env: 'ORIGIN_DATA_DIR', value: 'DIR' }),
  settingFlag('apps', 'applications', 'list', { env: 'ORIGIN_APPS', value: 'APP,...' }),
  settingFlag('handshake-timeout', 'handshakeTimeoutMs', 'number'),
  settingFlag('ping-interval-ms', 'pingIntervalMs', 'number'),
  settingFlag('media-flush-ms', 'mediaFlushMs', 'number', { env: 'ORIGIN_MEDIA_FLUSH_MS' }),
  settingFlag('so-max-bytes', 'maxSharedObjectBytes', 'number'),
  settingFlag('so-max-changes-per-second', 'maxSharedObjectChangesPerSecond', 'number'),
  settingFlag('call-timeout-ms', 'callTimeoutMs', 'number'),
  settingFlag('http-port', 'httpPort', 'number', { env: 'ORIGIN_HTTP_PORT' }),
  settingFlag('http-bind', 'httpBind', 'text', { env: 'ORIGIN_HTTP_BIND', value: 'ADDR' }),
  settingFlag('record-rooms', 'recordRooms', 'text', { env: 'ORIGIN_RECORD_ROOMS', value: originSettings.shape.recordRooms.options.join('|') }),
  settingFlag('record-flush-ms', 'recordFlushMs', 'number'),
  ...CLIENT_LIMIT_FLAGS,
  settingFlag('max-sessions-per-edge', 'maxSessionsPerEdge', 'number'),
  ...LISTENER_FLAGS,
  settingFlag('link-port', 'linkPort', 'number', { env: 'ORIGIN_LINK_PORT' }),
  settingFlag('link-bind', 'linkBind', 'text', { env: 'ORIGIN_LINK_BIND', value: 'ADDR' }),
  settingFlag('link-secret', 'linkSecret', 'text', { env: 'ORIGIN_LINK_SECRET', value: 'S' }),
  settingFlag('link-secret-file', 'linkSecretFile', 'text', { value: 'FILE' }),
  settingFlag('link-tls-cert', 'linkTlsCert', 'text', { value: 'FILE' }),
  settingFlag('link-tls-key', 'linkTlsKey', 'text', { value: 'FILE' }),
  settingFlag('cluster', 'cluster', 'text', { env: 'ORIGIN_CLUSTER', value: 'redis://HOST:PORT' }),
  settingFlag('cluster-origin-id', 'clusterOriginId', 'text', { env: 'ORIGIN_CLUSTER_ORIGIN_ID', value: 'NAME' }),
  settingFlag('cluster-link-address', 'clusterLinkAddress', 'text', { env: 'ORIGIN_CLUSTER_LINK_ADDRESS', value: 'HOST:PORT' }),
  settingFlag('cluster-room-grace-ms', 'clusterRoomGraceMs', 'number', { env: 'ORIGIN_CLUSTER_ROOM_GRACE_MS' }),
  { flag: 'auth', env: 'ORIGIN_AUTH', value: `APP=${AUTH_POLICIES.join('|')},...`, keys: ['authPolicies'], set: (value) => ({ authPolicies: authPolicyEntries(value) }) },
  settingFlag('anonymous-publish', 'anonymousPublish', 'list', { env: 'ORIGIN_ANONYMOUS_PUBLISH', value: 'APP,...' }),
  settingFlag('token-secret-file', 'tokenSecretFile', 'text', { value: 'FILE' }),
  ...LOG_FLAGS,
];

/** The origin's command line; its usage is made from ORIGIN_FLAGS, but for the link secret's two ways, given once. */
export const ORIGIN_COMMAND_LINE: CommandLine = {
  command: 'node origin/main.ts',
  sections: ['origin'],
  flags: ORIGIN_FLAGS,
  written: ['[--link-secret S | --link-secret-file FILE]'],
};

const ORIGIN_USAGE = usageOf(ORIGIN_COMMAND_LINE);

/** Where the origin's settings come from, lowest first after its defaults. */
export interface OriginSources {
  /** The config file's `origin` section, checked (readConfigFile). */
  file?: Partial<OriginConfig>;
  /** Parsed flags (parseFlags with ORIGIN_FLAGS). */
  flags: Record<string, string | boolean | undefined>;
  env: NodeJS.ProcessEnv;
  /** Defaults of this way of running the origin (`npm start` moves its RTMP port). */
  defaults?: Partial<OriginConfig>;
  /** Shown after a bad flag or variable. */
  usage?: string;
}

/** The origin's effective settings: every layer merged and checked, secrets read from their files. */
export function originConfigFrom(sources: OriginSources): OriginConfig {
  const { env, flags } = flagLayers(originSettings, ORIGIN_FLAGS, sources.flags, sources.env, sources.usage);
  const layers: Layer<OriginConfig>[] = [['the defaults', sources.defaults ?? {}], ['the config file', sources.file ?? {}], ['the environment', env], ['the flags', flags]];
  const config = mergeLayers(defaultOriginConfig, layers, ORIGIN_ALTERNATIVES);
  checkListenerConfig(config);
  if ((config.linkTlsCert === null) !== (config.linkTlsKey === null)) throw new ConfigError('linkTlsCert and linkTlsKey (--link-tls-cert, --link-tls-key) go together');
  // A file keeps the secret out of the process list.
  if (config.linkSecretFile !== null) config.linkSecret = readSecretFile(config.linkSecretFile, 'linkSecretFile');
  if (config.linkSecret === '') throw new ConfigError(`the link secret must not be empty (${config.linkSecretFile})`);
  if (config.tokenSecretFile !== null) config.tokenSecret = readSecretFile(config.tokenSecretFile, 'tokenSecretFile');
  for (const app of config.anonymousPublish) {
    const policy = config.authPolicies.get(app) ?? defaultAuthPolicy(app);
    if (policy !== 'optional') throw new ConfigError(`anonymousPublish (--anonymous-publish) lists ${app}, whose policy is ${policy}: anonymous clients exist only under optional (--auth ${app}=optional)`);
  }
  if (config.tokenSecret === '') throw new ConfigError(`the token secret must not be empty (${config.tokenSecretFile})`);
  return config;
}

/** `--print-config`'s view of the origin: secret values masked, the rest as a config file holds it. */
export function printableOriginConfig(config: OriginConfig): Record<string, unknown> {
  return printableSettings(config, originSettings, ORIGIN_SECRETS);
}

/** The origin's command line (`node origin/main.ts`): `--config FILE`, environment, flags; `--print-config` prints and exits. */
export function loadOriginConfig(argv: string[], env: NodeJS.ProcessEnv): OriginConfig {
  const options = takeConfigOptions(argv);
  const flags = parseFlags(options.rest, ORIGIN_FLAGS.map((entry) => entry.flag), [], ORIGIN_USAGE);
  const file = options.file === null ? undefined : readConfigFile(options.file, { origin: originSettings }).origin;
  const config = originConfigFrom({ file, flags, env, usage: ORIGIN_USAGE });
  if (options.print) printConfigAndExit({ origin: printableOriginConfig(config) }, options.print);
  return config;
}
