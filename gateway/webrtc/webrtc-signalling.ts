/**
 * The transport-neutral part of WebRTC signalling, one piece for WHIP/WHEP (HTTP, webrtc-http.ts) and
 * the browser's WebSocket channel (gateway/browser/browser-webrtc.ts): from an SDP offer for
 * APP/STREAM it chooses the codecs, checks the edge has room, creates the session (a publish or a
 * play) for whoever signalled, keeps it in the edge's SessionRegistry (counted in the limits and the
 * Load report like any client) until it closes, and starts it. The outcome is the SDP answer or a
 * SignallingRefusal whose status says why, as HTTP would: 400 a bad offer (the SDP error's code and
 * reason), 401 or 403 the origin refused (401: no valid token), 429 the client's address holds too many
 * connections (a WebRTC session outlives the request that made it, so it holds a lease on its
 * address's limits of its own), 503 the edge is full or has no link to the origin.
 */
import { ProtocolError } from '#protocol/errors.ts';
import type { AmfValue } from '#protocol/amf/types.ts';
import { parseSdp, type SdpMediaSection } from '#protocol/sdp/sdp.ts';
import type { EdgeClientSession, SessionRegistry } from '../session/session-registry.ts';
import { originRefusalStatus } from '../http/edge-token-check.ts';
import { AddressRefusal } from '#common/address-limits.ts';

/** Why signalling failed; `status` is the HTTP status WHIP/WHEP answer with. */
export class SignallingRefusal extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

/** A bad offer (a ProtocolError: the SDP error's code and reason) as a 400; any other error as it is. */
export function badOfferRefusal(error: unknown): unknown {
  return error instanceof ProtocolError ? new SignallingRefusal(400, `${error.code}: ${error.message}`) : error;
}

/**
 * Who a signalled session speaks for: its protocol ('whip', 'whep', 'ws-webrtc'), this edge's URL as
 * the client used it (connect's tcUrl), the client's address, and the connect arguments its session
 * gives the origin's application (none for WHIP/WHEP; a classroom member's identity for the WebSocket channel).
 */
export interface SignallingOrigin {
  protocol: string;
  tcUrl: string;
  remoteAddress: string;
  remotePort: number;
  connectArgs?: AmfValue[];
}

/** A session a signalling protocol made, and how to start it once registered: resolves with the SDP answer, rejects with the origin's reason. */
export interface SignalledSession {
  /** Any LinkClientSession (whatever events of its own it adds). */
  session: EdgeClientSession & { readonly accessDenied: string | null; once(event: 'close', listener: (reason: string | null) => void): unknown };
  start(): Promise<string>;
}

/** What one kind of signalling (publishing, as WHIP; playing, as WHEP) adds to the shared handling. */
export interface SignallingProtocol<Choice> {
  /** 'WHIP' or 'WHEP', for messages and logs. */
  name: string;
  /** The HTTP URL prefix, with both slashes: '/whip/'. */
  prefix: string;
  /** Picks what the session uses from the offer's sections; throws SdpError (a 400) when nothing fits. */
  choose(sections: SdpMediaSection[]): Choice;
  /**
   * What makes the (not yet started) session for a request, loaded by the first offer: the sessions'
   * modules (WebRTC, RTP, transcoders) are not loaded by an edge no browser reached over WebRTC,
   * which a restarted edge's clients would wait for (common/lazy-require.ts lazyImport).
   */
  loadCreate(): Promise<CreateSession<Choice>>;
}

/** Makes the (not yet started) session for a request whose offer chose `choice`. */
export type CreateSession<Choice> = (request: { app: string; stream: string; offer: string; choice: Choice; origin: SignallingOrigin }) => SignalledSession;

/** An offer for APP/STREAM from `origin`. */
export interface SignallingRequest {
  app: string;
  stream: string;
  offer: string;
  origin: SignallingOrigin;
}

/** A registered session and its answer to come (rejects with a SignallingRefusal; the session is then closed). */
export interface OpenedSession {
  session: SignalledSession['session'];
  answer: Promise<string>;
}

export class WebRtcSignaller<Choice> {
  readonly protocol: SignallingProtocol<Choice>;
  readonly #sessions: SessionRegistry;

  constructor(sessions: SessionRegistry, protocol: SignallingProtocol<Choice>) {
    this.#sessions = sessions;
    this.protocol = protocol;
  }

  /**
   * Creates, registers and starts the session for an offer. A bad offer or a full edge rejects with
   * a SignallingRefusal (nothing was created); the origin's refusal rejects `answer`. The limits are
   * asked once the sessions' modules are loaded, with nothing awaited between them and the session's
   * registration, so offers racing the first load cannot pass a check together.
   */
  async open(request: SignallingRequest): Promise<OpenedSession> {
    let choice: Choice;
    try {
      choice = this.protocol.choose(parseSdp(request.offer));
    } catch (error) {
      throw badOfferRefusal(error);
    }
    const create = await this.protocol.loadCreate();
    const lease = this.#sessions.addresses.admit(request.origin.remoteAddress, this.protocol.name.toLowerCase());
    if (lease instanceof AddressRefusal) throw new SignallingRefusal(429, lease.message);
    lease.handshakeDone();
    if (!this.#sessions.hasRoom) {
      lease.release();
      throw new SignallingRefusal(503, 'the edge has too many clients');
    }
    let created: SignalledSession;
    try {
      created = create({ ...request, choice });
    } catch (error) {
      lease.release();
      // The WebRTC stack may refuse an offer our SDP reading let through (it leaves nothing behind).
      throw badOfferRefusal(error);
    }
    const { session, start } = created;
    this.#sessions.add(session);
    session.once('close', () => {
      lease.release();
      this.#sessions.remove(session);
    });
    // A session that did not start is closed whatever stopped it (a refused offer must leave no publisher behind).
    const answer = new Promise<string>((resolve) => resolve(start())).catch((error: Error) => {
      session.close(error.message);
      if (error instanceof ProtocolError) throw badOfferRefusal(error);
      throw new SignallingRefusal(originRefusalStatus(session.accessDenied) ?? (/no link/.test(error.message) ? 503 : 403), error.message);
    });
    return { session, answer };
  }
}
