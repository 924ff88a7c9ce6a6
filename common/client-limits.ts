/**
 * Limits every server that takes RTMP clients applies the same way (origin and edge): a client
 * must behave the same whichever it connects to, so the numbers live in one place.
 */
export interface ClientLimits {
  maxConnections: number;
  /** A client must complete the RTMP handshake within this time. */
  handshakeTimeoutMs: number;
  /** The server pings each RTMP client this often (round-trip time, and keeps NATs open). */
  pingIntervalMs: number;
  /** Media to a player is merged into one write per this many ms (0: a write per packet). */
  mediaFlushMs: number;
  /** Socket backlog per player beyond which frames are dropped to the next keyframe. */
  maxPlayerBacklogBytes: number;
  /** Largest group of pictures cached for instant start. */
  maxGopBytes: number;
  /** Largest RTMP message accepted from a client. */
  maxMessageBytes: number;
}

export const defaultClientLimits: ClientLimits = {
  maxConnections: 5000,
  handshakeTimeoutMs: 10_000,
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
