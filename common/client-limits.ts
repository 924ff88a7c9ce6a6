/**
 * Limits every server that takes RTMP clients applies the same way (origin and edge): a client
 * must behave the same whichever it connects to, so the numbers live in one place, as settings
 * of both processes' configurations (common/config-file.ts).
 */
import { z } from 'zod';
import { MAX_MESSAGE_LENGTH } from '#protocol/rtmp/chunk-encoder.ts';
import { wholeNumber } from './config-file.ts';

export const clientLimitSettings = {
  maxConnections: wholeNumber(1).describe('Clients accepted at once (at the edge: of every protocol); one more is refused.'),
  handshakeTimeoutMs: wholeNumber(1, 600_000).describe('A client must complete the RTMP handshake (or a Flash policy request) within this time.'),
  idleTimeoutMs: wholeNumber(1000, 3_600_000).describe('An RTMP client that sends nothing at all (not even ping responses or acknowledgements) for this long is closed.'),
  pingIntervalMs: wholeNumber(100, 600_000).describe('Each RTMP client is pinged this often (round-trip time; keeps NATs open).'),
  mediaFlushMs: wholeNumber(0, 1000).describe('Media to a player is merged into one write per this many ms (0: a write per packet; see README, the fan-out benchmark).'),
  maxPlayerBacklogBytes: wholeNumber(1024).describe('Unsent bytes per player past which its frames are dropped to the next keyframe.'),
  maxGopBytes: wholeNumber(1024).describe('Largest group of pictures cached per stream for instant start.'),
  maxMessageBytes: wholeNumber(1024, MAX_MESSAGE_LENGTH).describe('Largest RTMP message accepted from a client (RTMP itself allows 16 MiB - 1).'),
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
};

/** Just the client limits of a larger configuration, to hand to another server of the same process. */
export function clientLimitsOf(config: ClientLimits): ClientLimits {
  const limits = {} as Record<keyof ClientLimits, number>;
  for (const key of Object.keys(defaultClientLimits) as Array<keyof ClientLimits>) limits[key] = config[key];
  return limits;
}
