/**
 * What a server-side RTMP session needs from whatever carries its messages: a client's own
 * socket (RtmpConnection) or, on the origin, a client of an edge whose messages travel over the
 * edge link. Sessions depend on this interface, never on sockets, so a client behaves the same
 * whichever way it came in.
 */
import type { EventEmitter } from 'node:events';
import type { RtmpMessage } from '#protocol/rtmp/message.ts';
import type { Logger } from './logger.ts';
import type { LiveStream } from './media/live-stream.ts';
import type { MediaOutput } from './media/live-delivery.ts';

export interface SessionTransportEvents {
  /** Any message that is not protocol control (commands, data, media, shared objects). */
  message: [message: RtmpMessage];
  /** Closed; `reason` is null for an orderly close by the peer. */
  close: [reason: string | null];
}

/** What a live player asks of a relay: which media it wants right now. */
export interface LivePlayState {
  paused: boolean;
  audio: boolean;
  video: boolean;
}

export interface LiveRelayHandle {
  update(state: LivePlayState): void;
  detach(): void;
}

/**
 * A transport that delivers live media itself: an edge receives one copy of each stream over its
 * link and fans it out to its own clients, so the origin sends no per-client media.
 */
export interface LiveRelay {
  attach(streamId: number, stream: LiveStream): LiveRelayHandle;
}

export interface SessionTransport extends EventEmitter<SessionTransportEvents>, MediaOutput {
  /** Unique among the process's sessions, whichever transport they use. */
  readonly id: number;
  readonly remoteAddress: string;
  readonly remotePort: number;
  /** Name of the edge the client came through; null when it connected to this server directly. */
  readonly via: string | null;
  readonly log: Logger;
  readonly closed: boolean;
  /** Window, bandwidth and chunk size the server works with, sent when connect is accepted. */
  sendServerParameters(): void;
  send(message: RtmpMessage, chunkStreamId: number): void;
  close(reason: string | null): void;
  /** Non-null when live media reaches this client through a relay instead of `sendMedia`. */
  readonly liveRelay: LiveRelay | null;
}

let lastSessionId = 0;

/** Session ids are process-wide so direct and edge clients never share one. */
export function nextSessionId(): number {
  return ++lastSessionId;
}
