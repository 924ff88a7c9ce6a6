/**
 * WebRTC signalling over a browser's WebSocket channel (README "Browser protocol"): `webrtc.publish`
 * and `webrtc.play` carry an SDP offer for a stream of the room the browser joined (`classroom/ROOM`,
 * so the page needs no app paths); the edge's WebRtcSignaller, the one WHIP and WHEP use, makes it a
 * session of its own on the link (protocol `ws-webrtc`, in the edge's registry, limits and Load
 * report) and the answer goes back as `webrtc.answer`, a refusal as an `error` with a code and the
 * HTTP-like status. `webrtc.stop` ends one; `webrtc.closed` tells the browser when one ended, for
 * whatever reason; all of them end with the WebSocket. Each session connects as `{ mediaOf: NAME }`
 * (with the member's token): the classroom takes it as carrying that member's media, not as a member
 * of its own, so the roster lists the member once, with the streams it publishes this way.
 */
import type { Logger } from '#common/logger.ts';
import type { AmfObject } from '#protocol/amf/types.ts';
import { SignallingRefusal, type OpenedSession, type SignallingOrigin, type SignallingRequest } from '../webrtc/webrtc-signalling.ts';
import type { ServerMessage } from '#protocol/browser/browser-protocol.ts';
import { BadMessage, callId, internalErrorReply, safeName, str, type BrowserErrorCode, type Json } from './browser-message.ts';
import { TokenBucket } from '#common/token-bucket.ts';

/** What turns an offer into a session: a WebRtcSignaller (publishing or playing). */
export interface OfferSignaller {
  open(request: SignallingRequest): Promise<OpenedSession>;
}

export interface BrowserSignallers {
  publish: OfferSignaller;
  play: OfferSignaller;
}

/** The member the browser joined as: where its sessions go and who they speak for. */
export interface RoomMember {
  /** connect's app: `classroom/ROOM`. */
  app: string;
  name: string;
  role?: string;
  token?: string;
}

export const WEBRTC_PROTOCOL = 'ws-webrtc';

/** The message types of the signalling; a publish or play may be larger than other messages (an offer). */
export const WEBRTC_OFFER_TYPES: ReadonlySet<string> = new Set(['webrtc.publish', 'webrtc.play']);

/** The error code a browser gets for a refusal of each status. */
function refusalCode(status: number): BrowserErrorCode {
  if (status === 400) return 'bad_sdp';
  if (status === 503) return 'webrtc_unavailable';
  return 'webrtc_refused';
}

/** The limits of one connection's signalling (BrowserLimits). */
export interface WebRtcLimits {
  /** Largest offer message (bytes, so an `sdp` of at most as many characters). */
  maxSignallingBytes: number;
  maxWebRtcSessions: number;
  offersPerSecond: number;
  offerBurst: number;
}

type Reply = (message: ServerMessage) => void;

export class BrowserWebRtc {
  readonly #signallers: BrowserSignallers;
  readonly #origin: Omit<SignallingOrigin, 'connectArgs'>;
  readonly #limits: WebRtcLimits;
  readonly #offers: TokenBucket;
  readonly #reply: Reply;
  readonly #log: Logger;
  /** This connection's sessions, answered or still starting, by their id (the `session` of the messages). */
  readonly #sessions = new Map<number, OpenedSession['session']>();
  /** Offers whose session is not made yet (the first one loads the WebRTC modules): they count toward maxWebRtcSessions. */
  #opening = 0;
  #closed = false;

  constructor(signallers: BrowserSignallers, origin: Omit<SignallingOrigin, 'connectArgs'>, limits: WebRtcLimits, reply: Reply, log: Logger) {
    this.#signallers = signallers;
    this.#origin = origin;
    this.#limits = limits;
    this.#offers = new TokenBucket(limits.offersPerSecond, limits.offerBurst);
    this.#reply = reply;
    this.#log = log;
  }

  get size(): number { return this.#sessions.size + this.#opening; }

  /**
   * `webrtc.publish` or `webrtc.play` {id, stream, sdp} from a browser joined as `member`. A bad
   * message throws a BadMessage; the session's answer or refusal reaches the browser later.
   */
  offer(kind: 'publish' | 'play', m: Json, member: RoomMember): void {
    const id = callId(m);
    const stream = safeName(m, 'stream');
    const offer = str(m, 'sdp', this.#limits.maxSignallingBytes);
    if (this.size >= this.#limits.maxWebRtcSessions) throw new BadMessage('too_many_webrtc_sessions', `at most ${this.#limits.maxWebRtcSessions} WebRTC sessions per connection`);
    if (!this.#offers.take()) throw new BadMessage('rate_limited', `more than ${this.#limits.offerBurst} WebRTC offers at once or ${this.#limits.offersPerSecond} per second`);
    const connectArgs: AmfObject = { mediaOf: member.name };
    if (member.token !== undefined) connectArgs.token = member.token;
    this.#opening++;
    this.#signallers[kind].open({ app: member.app, stream, offer, origin: { ...this.#origin, connectArgs: [connectArgs] } }).then((opened) => {
      this.#opening--;
      // The browser left while its session was being made: the session ends with the others.
      if (this.#closed) return void opened.session.close('the browser disconnected');
      this.#track(kind, id, stream, opened);
    }, (error: Error) => {
      this.#opening--;
      if (this.#closed) return;
      if (error instanceof SignallingRefusal) return this.#refused(kind, id, stream, error);
      this.#reply(internalErrorReply(this.#log, `opening a WebRTC ${kind}`, error, id, { stream }));
    });
  }

  /** `webrtc.stop` {session}: ends one of this connection's sessions (`webrtc.closed` follows). */
  stop(m: Json): void {
    const session = typeof m.session === 'number' ? this.#sessions.get(m.session) : undefined;
    if (!session) throw new BadMessage('unknown_session', `no WebRTC session ${JSON.stringify(m.session ?? null)} on this connection`);
    session.close('ended by the browser (webrtc.stop)');
  }

  /** The WebSocket closed: every session of it ends. */
  close(): void {
    this.#closed = true;
    for (const session of [...this.#sessions.values()]) session.close('the browser disconnected');
    this.#sessions.clear();
  }

  #track(kind: 'publish' | 'play', id: string | number, stream: string, { session, answer }: OpenedSession): void {
    this.#sessions.set(session.id, session);
    /** Undefined while open; the reason once closed. */
    let ended: string | undefined;
    let answered = false;
    session.once('close', (reason) => {
      this.#sessions.delete(session.id);
      ended = reason ?? 'closed';
      if (answered) this.#reply({ type: 'webrtc.closed', id, session: session.id, reason: ended });
    });
    answer.then((sdp) => {
      if (this.#closed) return;
      answered = true;
      this.#reply({ type: 'webrtc.answer', id, session: session.id, sdp });
      this.#log.info(`WebRTC ${kind} answered`, { stream, session: session.id });
      // Closed between the answer and now: the browser learns it like any later end.
      if (ended !== undefined) this.#reply({ type: 'webrtc.closed', id, session: session.id, reason: ended });
    }, (error: Error) => {
      if (this.#closed) return;
      this.#refused(kind, id, stream, error instanceof SignallingRefusal ? error : new SignallingRefusal(403, error.message));
    });
  }

  #refused(kind: 'publish' | 'play', id: string | number, stream: string, refusal: SignallingRefusal): void {
    this.#log.info(`WebRTC ${kind} refused`, { stream, status: refusal.status, reason: refusal.message });
    this.#reply({ type: 'error', id, code: refusalCode(refusal.status), status: refusal.status, message: refusal.message });
  }
}
