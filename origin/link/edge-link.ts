/**
 * One connected edge, on the origin: authenticates it (Hello, Challenge, Auth, AuthOk: mutual
 * HMAC proofs, no secret on the wire), then runs its clients' sessions (SessionOpen, Message,
 * SessionClose) on the origin's ordinary RtmpSession, relays live streams to it once per stream
 * (LinkRelay), answers and sends pings, and keeps its load report for the registry.
 *
 * Writes go straight to the socket, Nagle off: control frames (replies, calls, shared objects,
 * session and subscription frames) are never held or dropped; only media, through each
 * subscription's LiveDelivery, is dropped when the link lags. A malformed frame or a link loss
 * closes this link only, and every session on it (publishers unpublish, players detach).
 */
import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import { edgeProof, newLinkNonce, originProof, proofMatches } from '#protocol/link/link-auth.ts';
import { encodeLinkFrame, LINK_PROTOCOL_VERSION, LinkFrameDecoder, LinkFrameKind, LinkProtocolError, type LinkFrame } from '#protocol/link/link-frame.ts';
import { failureReason } from '#common/failure-reason.ts';
import type { RtmpMessage } from '#protocol/rtmp/message.ts';
import type { Logger } from '#common/logger.ts';
import type { SessionTransport } from '#common/session-transport.ts';
import { LinkRelay } from './link-relay.ts';
import { LogThrottle } from '#common/log-throttle.ts';
import { LinkSession, type LinkSessionHost } from './link-session.ts';
import type { LinkWriter } from './link-subscription.ts';
import { countClientRefusal, countEdgeLinkClose, countEdgeRefusal, type ClientRefusalCode, type EdgeRefusalCode } from '../origin-metrics.ts';

export interface EdgeLinkOptions {
  secret: string;
  /** Link backlog beyond which media is dropped to the next keyframe. */
  maxMediaBacklogBytes: number;
  /** Link backlog beyond which the edge is considered gone (it stopped reading) and disconnected. */
  maxBacklogBytes: number;
  pingIntervalMs: number;
  /** Largest RTMP message a client may send; bounds the link frames accepted. */
  maxMessageBytes: number;
  /** Hello through Auth must be done within this time. */
  authTimeoutMs: number;
  /**
   * Whether one more session of this edge (holding `sessions` now) may open: null, or why not, as
   * the reason of the SessionClose that refuses it (the origin's maxConnections counts an edge's
   * clients with its direct ones, and maxSessionsPerEdge caps each edge).
   */
  admitSession: (sessions: number) => { reason: ClientRefusalCode; message: string } | null;
  createSession: (transport: SessionTransport) => unknown;
}

/** Where an authenticated edge registers; returns why it is refused, or null. */
export interface EdgeDirectory {
  register(link: EdgeLink): string | null;
  unregister(link: EdgeLink): void;
}

export interface EdgeLinkEvents {
  close: [reason: string | null];
}

/** An edge name must be something an operator can read in logs and URLs. */
const EDGE_NAME = /^[\w.:@-]{1,64}$/;
/** hello: waiting for Hello; auth: Challenge sent, waiting for Auth; ready: authenticated. */
type Phase = 'hello' | 'auth' | 'ready' | 'closed';

export class EdgeLink extends EventEmitter<EdgeLinkEvents> implements LinkSessionHost, LinkWriter {
  /** `host:port` of the edge as this origin sees it. */
  readonly address: string;
  readonly connectedAt = new Date();
  readonly relay: LinkRelay;
  readonly #socket: Socket;
  readonly #options: EdgeLinkOptions;
  readonly #directory: EdgeDirectory;
  #log: Logger;
  readonly #decoder: LinkFrameDecoder;
  readonly #sessions = new Map<number, LinkSession>();
  #phase: Phase = 'hello';
  #edgeName = '';
  #edgeNonce = Buffer.alloc(0);
  readonly #originNonce = newLinkNonce();
  #registered = false;
  #authenticatedAt = 0;
  #timer: NodeJS.Timeout;
  #lastReceivedAt = Date.now();
  #pingId = 0;
  #pingSentAt = 0;
  #lastPongAt = 0;
  #rttMs: number | null = null;
  #load: Record<string, unknown> | null = null;
  #loadAt = 0;
  #overflowing = false;
  /** Refused sessions of a full origin or edge come in floods: their lines are rate-limited by reason. */
  readonly #refusalWarnings: LogThrottle;

  constructor(socket: Socket, options: EdgeLinkOptions, directory: EdgeDirectory, log: Logger) {
    super();
    this.#socket = socket;
    this.#options = options;
    this.#directory = directory;
    this.address = `${socket.remoteAddress ?? 'unknown'}:${socket.remotePort ?? 0}`;
    this.#log = log.with({ edgeAddress: this.address });
    this.#refusalWarnings = new LogThrottle(this.#log);
    this.#decoder = new LinkFrameDecoder(options.maxMessageBytes + 1024);
    this.relay = new LinkRelay(this, options.maxMediaBacklogBytes, this.#log);
    // Every frame is written at once: the latency goal leaves no room for Nagle's delays.
    socket.setNoDelay(true);
    socket.on('data', (data: Buffer) => this.#onData(data));
    socket.on('end', () => this.close(null));
    socket.on('close', () => this.close(null));
    socket.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'ECONNRESET' || error.code === 'EPIPE') this.close('connection reset');
      else this.close(`socket error: ${error.message}`);
    });
    this.#timer = setTimeout(() => this.close(`authentication not completed within ${options.authTimeoutMs} ms`), options.authTimeoutMs);
    this.#timer.unref();
  }

  /** The edge's name from Hello ('' until then). */
  get edgeName(): string { return this.#edgeName; }
  get authenticated(): boolean { return this.#phase === 'ready'; }
  get closed(): boolean { return this.#phase === 'closed'; }
  get authenticatedAt(): number { return this.#authenticatedAt; }
  /** Bytes written to the link and not yet taken by the edge. */
  get backlogBytes(): number { return this.#socket.writableLength; }
  /** Bytes read from and written to this link's connection. */
  get bytesIn(): number { return this.#socket.bytesRead; }
  get bytesOut(): number { return this.#socket.bytesWritten; }
  get rttMs(): number | null { return this.#rttMs; }
  /** When the last Pong came (0: none yet). */
  get lastPongAt(): number { return this.#lastPongAt; }
  /** The edge's last Load report (its own JSON object), null before the first. */
  get load(): Record<string, unknown> | null { return this.#load; }
  get loadAt(): number { return this.#loadAt; }
  get sessionCount(): number { return this.#sessions.size; }

  /** Writes one frame now. A link that stopped reading is closed rather than buffered forever. */
  write(frame: LinkFrame): void {
    if (this.#phase === 'closed') return;
    this.#socket.write(encodeLinkFrame(frame));
    if (this.#socket.writableLength > this.#options.maxBacklogBytes && !this.#overflowing) {
      this.#overflowing = true;
      // Not from inside the caller's stack (a player or a session mid-send): on the next turn.
      setImmediate(() => this.close(`edge not reading: link backlog ${this.#socket.writableLength} bytes passes maxLinkBacklogBytes ${this.#options.maxBacklogBytes}`));
    }
  }

  sendMessage(linkSessionId: number, message: RtmpMessage): void {
    this.write({ kind: LinkFrameKind.Message, sessionId: linkSessionId, type: message.type, timestamp: message.timestamp, streamId: message.streamId, payload: message.payload });
  }

  sessionClosed(session: LinkSession, reason: string | null): void {
    if (this.#sessions.get(session.linkSessionId) !== session) return;
    this.#sessions.delete(session.linkSessionId);
    this.write({ kind: LinkFrameKind.SessionClose, sessionId: session.linkSessionId, reason: reason ?? '' });
  }

  /** Closes the link and every session on it; `reason` null for an orderly close by the edge. */
  close(reason: string | null, graceful = false): void {
    if (this.#phase === 'closed') return;
    const wasReady = this.#phase === 'ready';
    this.#phase = 'closed';
    this.#refusalWarnings.close();
    clearTimeout(this.#timer);
    clearInterval(this.#timer);
    if (this.#registered) this.#directory.unregister(this);
    if (reason) {
      this.#log.warn('edge link closed', { edge: this.#edgeName || undefined, address: this.address, reason, sessions: this.#sessions.size });
      countEdgeLinkClose(reason);
    }
    else if (wasReady) this.#log.info('edge disconnected', { edge: this.#edgeName, address: this.address, sessions: this.#sessions.size });
    const sessions = [...this.#sessions.values()];
    this.#sessions.clear();
    for (const session of sessions) session.end(reason ?? 'edge link closed');
    this.relay.close();
    if (graceful) {
      // Let a refusal reach the edge before the connection goes.
      this.#socket.end();
      setTimeout(() => this.#socket.destroy(), 1000).unref();
    } else {
      this.#socket.destroy();
    }
    this.emit('close', reason);
  }

  #onData(data: Buffer): void {
    if (this.#phase === 'closed') return;
    this.#lastReceivedAt = Date.now();
    try {
      for (const frame of this.#decoder.push(data)) {
        if (this.closed) return;
        this.#onFrame(frame);
      }
    } catch (error) {
      this.close(failureReason(error, this.#log, 'a link frame'));
    }
  }

  #onFrame(frame: LinkFrame): void {
    if (this.#phase === 'hello') {
      if (frame.kind !== LinkFrameKind.Hello) throw new LinkProtocolError('link.unauthenticated', `frame of kind ${frame.kind} before Hello`);
      return this.#onHello(frame);
    }
    if (this.#phase === 'auth') {
      if (frame.kind !== LinkFrameKind.Auth) throw new LinkProtocolError('link.unauthenticated', `frame of kind ${frame.kind} before authentication completed`);
      return this.#onAuth(frame);
    }
    switch (frame.kind) {
      case LinkFrameKind.SessionOpen:
        return this.#openSession(frame);
      case LinkFrameKind.Message: {
        const session = this.#sessions.get(frame.sessionId);
        // A client the origin just closed may still have frames in flight: not an error.
        if (!session) return this.#log.debug('message for an unknown session', { session: frame.sessionId, type: frame.type });
        // The payload is copied: media is kept in the stream's cache and would otherwise pin the read buffer.
        session.receive({ type: frame.type, timestamp: frame.timestamp, streamId: frame.streamId, payload: Buffer.from(frame.payload) });
        return;
      }
      case LinkFrameKind.SessionClose: {
        const session = this.#sessions.get(frame.sessionId);
        if (!session) return;
        this.#sessions.delete(frame.sessionId);
        session.end(frame.reason || null);
        return;
      }
      case LinkFrameKind.Ping:
        return this.write({ kind: LinkFrameKind.Pong, id: frame.id });
      case LinkFrameKind.Pong:
        if (frame.id === this.#pingId) {
          this.#lastPongAt = Date.now();
          this.#rttMs = this.#lastPongAt - this.#pingSentAt;
        }
        return;
      case LinkFrameKind.Load:
        return this.#onLoad(frame.report);
      default:
        throw new LinkProtocolError('link.unexpected_frame', `an edge may not send frames of kind ${frame.kind}`);
    }
  }

  #onHello(frame: Extract<LinkFrame, { kind: typeof LinkFrameKind.Hello }>): void {
    this.#edgeName = frame.edgeName;
    if (frame.version !== LINK_PROTOCOL_VERSION) {
      return this.#refuse('unsupported_version', `unsupported link protocol version ${frame.version} (this origin speaks ${LINK_PROTOCOL_VERSION})`);
    }
    if (!EDGE_NAME.test(frame.edgeName)) return this.#refuse('bad_name', 'bad edge name (1..64 of letters, digits, . _ : @ -)');
    this.#log = this.#log.with({ edge: frame.edgeName });
    this.#edgeNonce = Buffer.from(frame.edgeNonce);
    this.#phase = 'auth';
    this.write({ kind: LinkFrameKind.Challenge, version: LINK_PROTOCOL_VERSION, originNonce: this.#originNonce });
  }

  #onAuth(frame: Extract<LinkFrame, { kind: typeof LinkFrameKind.Auth }>): void {
    const expected = edgeProof(this.#options.secret, this.#edgeName, this.#originNonce, this.#edgeNonce);
    if (!proofMatches(frame.proof, expected)) return this.#refuse('wrong_secret', 'authentication failed (wrong secret)');
    const refusal = this.#directory.register(this);
    if (refusal) return this.#refuse('name_in_use', refusal);
    this.#registered = true;
    this.#phase = 'ready';
    this.#authenticatedAt = Date.now();
    this.write({ kind: LinkFrameKind.AuthOk, proof: originProof(this.#options.secret, this.#edgeName, this.#originNonce, this.#edgeNonce) });
    this.#log.info('edge linked', { edge: this.#edgeName, address: this.address });
    clearTimeout(this.#timer);
    this.#timer = setInterval(() => this.#tick(), this.#options.pingIntervalMs);
    this.#timer.unref();
    this.#ping();
  }

  /** AuthFailed with the reason, a WARN naming the edge and its address, a count by `code`, and close. */
  #refuse(code: EdgeRefusalCode, reason: string): void {
    this.#log.warn('edge refused', { edge: this.#edgeName.slice(0, 64), address: this.address, reason });
    countEdgeRefusal(code);
    this.write({ kind: LinkFrameKind.AuthFailed, reason });
    this.close(null, true);
  }

  #openSession(frame: Extract<LinkFrame, { kind: typeof LinkFrameKind.SessionOpen }>): void {
    if (this.#sessions.has(frame.sessionId)) throw new LinkProtocolError('link.duplicate_session', `session ${frame.sessionId} is already open`);
    const refusal = this.#options.admitSession(this.#sessions.size);
    if (refusal) {
      countClientRefusal('link', refusal.reason);
      this.#refusalWarnings.warn(refusal.reason, 'edge session refused', { edge: this.#edgeName, peer: `${frame.remoteAddress}:${frame.remotePort}`, reason: refusal.message }, this.#log);
      this.write({ kind: LinkFrameKind.SessionClose, sessionId: frame.sessionId, reason: refusal.message });
      return;
    }
    const session = new LinkSession(this, frame.sessionId, frame, this.#log);
    this.#sessions.set(frame.sessionId, session);
    session.log.debug('edge session opened', { edge: this.#edgeName, peer: `${frame.remoteAddress}:${frame.remotePort}`, protocol: frame.protocol });
    this.#options.createSession(session);
  }

  #onLoad(report: string): void {
    let parsed: unknown;
    try {
      parsed = JSON.parse(report);
    } catch {
      parsed = null;
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      this.#log.warn('load report ignored: not a JSON object', { edge: this.#edgeName, bytes: report.length });
      return;
    }
    const load = parsed as Record<string, unknown>;
    if (load.draining === true && this.#load?.draining !== true) this.#log.info('edge draining: no new users are sent to it', { edge: this.#edgeName });
    this.#load = load;
    this.#loadAt = Date.now();
  }

  #ping(): void {
    this.#pingId = (this.#pingId + 1) >>> 0;
    this.#pingSentAt = Date.now();
    this.write({ kind: LinkFrameKind.Ping, id: this.#pingId });
  }

  #tick(): void {
    // Silence for six ping intervals (no Pong, nothing at all): the link is dead even if TCP has not noticed.
    const silentMs = Date.now() - this.#lastReceivedAt;
    if (silentMs > 6 * this.#options.pingIntervalMs) {
      this.close(`no frame from the edge for ${Math.round(silentMs / 1000)} s`);
      return;
    }
    this.#ping();
  }
}
