/**
 * Limits every server that takes clients applies the same way (origin and edge): a client
 * must behave the same whichever it connects to, so the numbers live in one place, as settings
 * of both processes' configurations (common/config-file.ts). The per-address ones are applied by
 * common/address-limits.ts, the HTTP ones by common/http-limits.ts.
 */
import { z } from 'zod';
import { MAX_MESSAGE_LENGTH } from '#protocol/rtmp/chunk-encoder.ts';
import { settingFlag, wholeNumber, type SettingFlag } from './config-file.ts';

export const clientLimitSettings = {
  maxConnections: wholeNumber(1).describe('Clients accepted at once (at the edge: of every protocol); one more is refused.'),
  handshakeTimeoutMs: wholeNumber(1, 600_000).describe('A client must complete the RTMP handshake (or a Flash policy request) within this time.'),
  idleTimeoutMs: wholeNumber(1000, 3_600_000).describe('An RTMP client that sends nothing at all (not even ping responses or acknowledgements) for this long is closed.'),
  pingIntervalMs: wholeNumber(100, 600_000).describe('Each RTMP client is pinged this often (round-trip time; keeps NATs open).'),
  mediaFlushMs: wholeNumber(0, 1000).describe('Media to a player is merged into one write per this many ms (0: a write per packet).'),
  maxPlayerBacklogBytes: wholeNumber(1024).describe('Unsent bytes per player past which its frames are dropped to the next keyframe.'),
  maxGopBytes: wholeNumber(1024).describe('Largest group of pictures cached per stream for instant start.'),
  maxMessageBytes: wholeNumber(1024, MAX_MESSAGE_LENGTH).describe('Largest RTMP message accepted from a client (RTMP itself allows 16 MiB - 1).'),
  connectTimeoutMs: wholeNumber(100, 600_000).describe('After its handshake an RTMP client must send connect within this time, whatever else it sends (acknowledgements, pings, chunk sizes do not count).'),
  maxConnectionsPerAddress: wholeNumber(1).describe('Connections one client address may hold at once, of every protocol (RTMP, RTMPT, HTTP and WebSocket connections, WebRTC sessions); one more is refused (RTMP: closed; HTTP: 429). A school behind one NAT address is one address.'),
  maxHandshakesPerAddress: wholeNumber(1).describe('Connections of one address still in their RTMP handshake (or before their first HTTP request) at once; one more is refused.'),
  connectionsPerSecondPerAddress: wholeNumber(1).describe('New connections one address may open per second, sustained (a token bucket); one more is refused.'),
  connectionBurstPerAddress: wholeNumber(1).describe('New connections one address may open at once above connectionsPerSecondPerAddress (a class opening the page together).'),
  httpHeadersTimeoutMs: wholeNumber(100, 600_000).describe('On every HTTP port: a request\'s headers must arrive within this time (slowloris; a connection that sends nothing is closed too), else 408.'),
  httpRequestTimeoutMs: wholeNumber(100, 3_600_000).describe('On every HTTP port: a whole request (headers and body) must arrive within this time, else 408.'),
  httpMaxHeaderBytes: wholeNumber(1024, 1024 * 1024).describe('On every HTTP port: largest request head (request line and headers), else 431.'),
  httpKeepAliveTimeoutMs: wholeNumber(100, 600_000).describe('On every HTTP port: a kept-alive connection with no request for this long is closed.'),
  httpMaxRequestsPerSocket: wholeNumber(0).describe('On every HTTP port: requests one kept-alive connection may carry, then it is closed (0: no limit).'),
};

export type ClientLimits = { [K in keyof typeof clientLimitSettings]: z.output<(typeof clientLimitSettings)[K]> };

export const defaultClientLimits: ClientLimits = {
  maxConnections: 5000,
  handshakeTimeoutMs: 10_000,
  idleTimeoutMs: 60_000,
  pingIntervalMs: 15_000,
  // Half of the write system calls at 30 fps, for at most 50 ms more latency; see README.
  mediaFlushMs: 50,
  maxPlayerBacklogBytes: 2 * 1024 * 1024,
  maxGopBytes: 32 * 1024 * 1024,
  maxMessageBytes: 8 * 1024 * 1024,
  connectTimeoutMs: 10_000,
  // A class of 30 behind one NAT address, each with a page, a WebSocket, players and a publisher, fits many times over.
  maxConnectionsPerAddress: 200,
  maxHandshakesPerAddress: 50,
  connectionsPerSecondPerAddress: 50,
  connectionBurstPerAddress: 200,
  httpHeadersTimeoutMs: 10_000,
  httpRequestTimeoutMs: 30_000,
  httpMaxHeaderBytes: 16 * 1024,
  httpKeepAliveTimeoutMs: 5_000,
  httpMaxRequestsPerSocket: 1000,
};

/** Flags of the limits an operator (or a test) most often sets, the same on both processes. */
export const CLIENT_LIMIT_FLAGS: readonly SettingFlag[] = [
  settingFlag('connect-timeout-ms', 'connectTimeoutMs', 'number'),
  settingFlag('max-connections-per-address', 'maxConnectionsPerAddress', 'number'),
  settingFlag('max-handshakes-per-address', 'maxHandshakesPerAddress', 'number'),
  settingFlag('connections-per-second-per-address', 'connectionsPerSecondPerAddress', 'number'),
  settingFlag('connection-burst-per-address', 'connectionBurstPerAddress', 'number'),
  settingFlag('http-headers-timeout-ms', 'httpHeadersTimeoutMs', 'number'),
];

/** Just the client limits of a larger configuration, to hand to another server of the same process. */
export function clientLimitsOf(config: ClientLimits): ClientLimits {
  const limits = {} as Record<keyof ClientLimits, number>;
  for (const key of Object.keys(defaultClientLimits) as Array<keyof ClientLimits>) limits[key] = config[key];
  return limits;
}
