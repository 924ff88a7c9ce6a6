/**
 * The part every edge session that talks to the origin through a LinkClient shares (FLV viewers,
 * WebRTC publishers, ...): its id, delivering the origin's messages to the client, ending when the
 * origin or the link ends it, and closing once (SessionClose to the origin, then `close` event).
 * A subclass says what it does on close (`ended`) and why it leaves (`leaveReason`).
 */
import { EventEmitter } from 'node:events';
import type { MediaOutput } from '#common/media/live-delivery.ts';
import type { Logger } from '#common/logger.ts';
import { nextSessionId } from '#common/session-transport.ts';
import type { AmfValue } from '#protocol/amf/types.ts';
import type { RtmpMessage } from '#protocol/rtmp/message.ts';
import type { LinkSender } from './edge-session.ts';
import { LinkClient } from './link-client.ts';
import type { EdgeClientSession } from './session-registry.ts';

/** Who a link session speaks for and what it opens at the origin. */
export interface LinkSessionTarget {
  /** connect's app: `application/room`. */
  app: string;
  stream: string;
  /** How the client reached the edge ('http-flv', 'ws-flv', 'whip', 'transcoder', ...). */
  protocol: string;
  /** The URL of this edge the client used (connect's tcUrl). */
  tcUrl: string;
  remoteAddress: string;
  remotePort: number;
  /** connect's arguments (an application such as classroom wants a name); none when absent. */
  connectArgs?: AmfValue[];
}

export type LinkClientSessionEvents = {
  /** The session ended; `reason` says why (null when closed by its owner without one). */
  close: [reason: string | null];
};

export abstract class LinkClientSession<Events extends LinkClientSessionEvents & Record<keyof Events, unknown[]> = LinkClientSessionEvents> extends EventEmitter<Events> implements EdgeClientSession {
  readonly id = nextSessionId();
  readonly protocol: string;
  readonly internal: boolean;
  readonly log: Logger;
  protected readonly client: LinkClient;
  #closed = false;

  constructor(link: LinkSender, options: { protocol: string; remoteAddress: string; remotePort: number; internal?: boolean }, log: Logger) {
    super();
    this.protocol = options.protocol;
    this.internal = options.internal ?? false;
    this.log = log.with({ session: `${options.protocol}#${this.id}`, peer: `${options.remoteAddress}:${options.remotePort}` });
    this.client = new LinkClient(link, { sessionId: this.id, protocol: options.protocol, remoteAddress: options.remoteAddress, remotePort: options.remotePort, log: this.log });
  }

  abstract get mediaOutput(): MediaOutput | null;
  /** Sent to the origin in SessionClose when this side ends the session. */
  protected abstract get leaveReason(): string;
  /** Releases what the subclass holds, once, before the `close` event. */
  protected abstract ended(reason: string | null): void;

  get closed(): boolean { return this.#closed; }
  /** The origin's authorization refusal code (`auth.*`) for this session, if it refused one (LinkClient.accessDenied). */
  get accessDenied(): string | null { return this.client.accessDenied; }

  deliver(message: RtmpMessage): void {
    if (!this.#closed) this.client.deliver(message);
  }

  closeFromOrigin(reason: string): void {
    this.client.lost(reason);
    this.close(reason || 'closed by the origin');
  }

  /** Nothing to resume: a session that outlived a link loss would have been closed by linkLost. */
  linkUp(): void {}

  /** The link dropped: the session ends (browsers reconnect or publish again by themselves). */
  linkLost(): void {
    this.client.lost('link lost');
    this.close('the edge lost its link to the origin');
  }

  close(reason: string | null): void {
    if (this.#closed) return;
    this.#closed = true;
    this.ended(reason);
    this.client.close(this.leaveReason);
    (this as EventEmitter<LinkClientSessionEvents>).emit('close', reason);
  }
}
