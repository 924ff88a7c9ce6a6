/**
 * The edge's RTMPT limits and their defaults, part of EdgeConfig (gateway/config.ts, with flags);
 * the RTMPT server logs each with its name when it bites.
 */

export interface RtmptLimits {
  /** A session with no request (send or idle poll) for this long is closed. */
  rtmptIdleTimeoutMs: number;
  /**
   * Bytes queued for one client's polls past which its session is closed. Media is dropped to
   * keyframes long before (maxPlayerBacklogBytes); this catches a client that stopped polling while
   * control kept coming, and must leave room for a joiner's cached GOP (sent whatever the backlog).
   */
  rtmptMaxQueuedBytes: number;
  /** At most this many queued bytes in one reply. */
  rtmptMaxReplyBytes: number;
  /** Largest request body (what a client sends in one request). */
  rtmptMaxBodyBytes: number;
}

export const defaultRtmptLimits: RtmptLimits = {
  rtmptIdleTimeoutMs: 30_000,
  // The largest cached GOP (maxGopBytes, 32 MiB) plus twice the player backlog limit (2 MiB).
  rtmptMaxQueuedBytes: 36 * 1024 * 1024,
  rtmptMaxReplyBytes: 256 * 1024,
  rtmptMaxBodyBytes: 4 * 1024 * 1024,
};

