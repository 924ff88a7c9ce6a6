/**
 * The session transport of one client of an edge, as the origin sees it: the edge terminates RTMP
 * (handshake, chunking, acknowledgements, pings) and this object turns the client's messages on
 * the link into `message` events and the session's replies into Message frames. The origin's
 * RtmpSession runs on it exactly as on a socket, with the client's real address and `via` = the
 * edge's name. Live media does not go through here: the edge's relay carries one copy per stream.
 */
import { EventEmitter } from 'node:events';
import type { RtmpMessage } from '#protocol/rtmp/message.ts';
import { failureReason } from '#common/failure-reason.ts';
import type { Logger } from '#common/logger.ts';
import type { MediaPacket } from '#common/media/media-packet.ts';
import type { LiveStream } from '#common/media/live-stream.ts';
import { nextSessionId, type LiveRelay, type LiveRelayHandle, type SessionTransport, type SessionTransportEvents } from '#common/session-transport.ts';

/** The edge's relay, which needs to know whose NetStream attaches (implemented by LinkRelay). */
export interface SessionRelay {
  attach(linkSessionId: number, streamId: number, stream: LiveStream): LiveRelayHandle;
}

/** What a link session needs of its edge link (implemented by EdgeLink). */
export interface LinkSessionHost {
  readonly edgeName: string;
  readonly backlogBytes: number;
  readonly relay: SessionRelay;
  sendMessage(linkSessionId: number, message: RtmpMessage): void;
  /** The origin ends the session: SessionClose goes to the edge, the link forgets it. */
  sessionClosed(session: LinkSession, reason: string | null): void;
}

export interface LinkSessionOrigin {
  remoteAddress: string;
  remotePort: number;
  /** What the client speaks at the edge (`rtmp`, later `ws`, ...), for logs. */
  protocol: string;
}

export class LinkSession extends EventEmitter<SessionTransportEvents> implements SessionTransport {
  /** Process-wide, like a socket session's (application code sees it as the client id). */
  readonly id = nextSessionId();
  /** The edge's own id for this session: the key of its frames on the link. */
  readonly linkSessionId: number;
  readonly remoteAddress: string;
  readonly remotePort: number;
  readonly protocol: string;
  readonly via: string;
  readonly log: Logger;
  /** The edge's relay, bound to this session: players of this client attach through it. */
  readonly liveRelay: LiveRelay;
  readonly #host: LinkSessionHost;
  #closed = false;
  #bytesReceived = 0;
  #bytesSent = 0;

  constructor(host: LinkSessionHost, linkSessionId: number, origin: LinkSessionOrigin, log: Logger) {
    super();
    this.#host = host;
    this.linkSessionId = linkSessionId;
    this.remoteAddress = origin.remoteAddress;
    this.remotePort = origin.remotePort;
    this.protocol = origin.protocol;
    this.via = host.edgeName;
    // Every line of this client's life carries its session id (here and at its edge) and its own address.
    this.log = log.with({ session: `conn#${this.id}`, edgeSession: linkSessionId, peer: `${origin.remoteAddress}:${origin.remotePort}` });
    this.liveRelay = { attach: (streamId, stream) => host.relay.attach(linkSessionId, streamId, stream) };
  }

  get closed(): boolean { return this.#closed; }
  /**
   * Payload bytes of this client's RTMP messages on the link, each way: its commands and what it
   * publishes, the replies and statuses it gets. Not the live media it plays: the edge's relay
   * carries that once for all its clients. (The admin API lists them; the edge counts the wire.)
   */
  get bytesReceived(): number { return this.#bytesReceived; }
  get bytesSent(): number { return this.#bytesSent; }
  /** The link's backlog: a VOD player over the link waits on it like on a socket's. */
  get backlogBytes(): number { return this.#host.backlogBytes; }

  /** The edge does chunking and flow control with its client: nothing to announce from here. */
  sendServerParameters(): void {}

  /** The chunk stream is the edge's choice (it chunks); the message travels as a message. */
  send(message: RtmpMessage, _chunkStreamId: number): void {
    if (this.#closed) return;
    this.#bytesSent += message.payload.length;
    this.#host.sendMessage(this.linkSessionId, message);
  }

  /** Only VOD and legacy paths use this for edge clients; live media goes through the relay. */
  sendMedia(packet: MediaPacket, streamId: number): void {
    this.send({ type: packet.type, streamId, timestamp: packet.timestamp, payload: packet.payload }, packet.chunkStreamId);
  }

  /** The origin ends the session (SessionClose to the edge). */
  close(reason: string | null): void {
    if (this.#closed) return;
    this.#host.sessionClosed(this, reason);
    this.end(reason);
  }

  /** The session ended on the edge's side (its SessionClose, or the link is gone): nothing is sent. */
  end(reason: string | null): void {
    if (this.#closed) return;
    this.#closed = true;
    if (reason) this.log.info('edge session closed', { edge: this.via, peer: `${this.remoteAddress}:${this.remotePort}`, reason });
    this.emit('close', reason);
  }

  /** A Message frame from the edge. A protocol violation by the client closes this session only. */
  receive(message: RtmpMessage): void {
    if (this.#closed) return;
    this.#bytesReceived += message.payload.length;
    try {
      this.emit('message', message);
    } catch (error) {
      this.close(failureReason(error, this.log, 'an edge client message'));
    }
  }
}
