/**
 * The HTTP side of WebRTC signalling (WHIP publishing, WHEP playing): `POST PREFIX/APP/ROOM.../STREAM`
 * with an SDP offer hands it to the endpoint's WebRtcSignaller (webrtc-signalling.ts: codecs, room,
 * session, answer; the WebSocket channel uses the same one) and answers 201 Created with the SDP
 * answer and a Location (`PREFIX/resource/ID`) that `DELETE` ends; CORS and OPTIONS for browsers on
 * other origins. The edge gathers its ICE candidates before answering, so no trickle (PATCH is 405).
 * Errors are plain text: 400 for a bad path or offer (the SDP error's code and reason), 403 when the
 * origin refuses, 401 without a valid token (the edge checks a token itself when it has the token
 * secret, else the origin), 503 when the edge is full or has no link, 413 for an oversize offer, 415 for
 * another content type.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '#common/logger.ts';
import { LogThrottle } from '#common/log-throttle.ts';
import { decodeSdp, defaultSdpLimits } from '#protocol/sdp/sdp.ts';
import { readBoundedBody, RequestAborted, sendText, type EdgeHttpServer } from '../http/edge-http-server.ts';
import { parseAppStreamPath } from '../http/stream-path.ts';
import { connectArgsWith, requestTcUrl } from '../session/link-client.ts';
import { requestToken } from '#common/request-token.ts';
import type { EdgeTokenCheck } from '../http/edge-token-check.ts';
import type { SessionRegistry } from '../session/session-registry.ts';
import { badOfferRefusal, SignallingRefusal, WebRtcSignaller, type SignalledSession, type SignallingOrigin, type SignallingProtocol } from './webrtc-signalling.ts';

/** Who an HTTP-signalled session speaks for: the endpoint's protocol, this edge's URL as the browser used it (connect's tcUrl), the browser's address and its token. */
function requestOrigin(req: IncomingMessage, protocol: string, token: string | null): SignallingOrigin {
  return { protocol, tcUrl: requestTcUrl(req, 'http'), remoteAddress: req.socket.remoteAddress ?? 'unknown', remotePort: req.socket.remotePort ?? 0, connectArgs: connectArgsWith(token) };
}

/** The offer's text: bytes that are not UTF-8 are a bad offer (400), not text with replacement characters. */
function offerText(body: Buffer): string {
  try {
    return decodeSdp(body);
  } catch (error) {
    throw badOfferRefusal(error);
  }
}

/** How an endpoint's requests are checked at the edge (see EdgeTokenCheck). */
export interface EndpointAccess {
  tokens: EdgeTokenCheck;
  route: 'whip' | 'whep';
  right: 'publish' | 'play';
}

/** Past this much, an oversize offer is not even read to its end: the connection is cut. */
const MAX_DISCARDED_BYTES = 16 * 1024 * 1024;

export class SignallingEndpoint<Choice> {
  /** The transport-neutral part, also used by the WebSocket channel. */
  readonly signaller: WebRtcSignaller<Choice>;
  readonly #protocol: SignallingProtocol<Choice>;
  readonly #access: EndpointAccess;
  readonly #log: Logger;
  /** Refused requests are a client's doing: their lines are rate-limited per address and status. */
  readonly #refusalWarnings: LogThrottle;
  readonly #resourcePrefix: string;
  /** Resource id (the session's id on the link) -> its session, while it lasts. */
  readonly #resources = new Map<string, SignalledSession['session']>();

  /**
   * `access`: the edge's token check (before a session is opened, when it has the token secret),
   * with this endpoint's name in the metrics and what its sessions do.
   */
  constructor(http: EdgeHttpServer, sessions: SessionRegistry, protocol: SignallingProtocol<Choice>, access: EndpointAccess, log: Logger) {
    this.signaller = new WebRtcSignaller(sessions, protocol);
    this.#protocol = protocol;
    this.#access = access;
    this.#log = log;
    this.#refusalWarnings = new LogThrottle(log);
    this.#resourcePrefix = `${protocol.prefix}resource/`;
    http.route(protocol.prefix, (req, res, url) => this.#handle(req, res, url), { prefix: true });
    http.onClose(() => { for (const session of this.#resources.values()) session.close('the edge is stopping'); });
  }

  /** Sessions open through this endpoint. */
  get count(): number { return this.#resources.size; }

  async #handle(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const name = this.#protocol.name;
    res.setHeader('access-control-allow-origin', '*');
    res.setHeader('access-control-expose-headers', 'location');
    try {
      if (req.method === 'OPTIONS') {
        res.writeHead(204, { 'access-control-allow-methods': 'POST, DELETE, OPTIONS', 'access-control-allow-headers': 'content-type, authorization' });
        return void res.end();
      }
      if (url.pathname.startsWith(this.#resourcePrefix)) return this.#resource(req, res, url.pathname.slice(this.#resourcePrefix.length));
      if (req.method !== 'POST') throw new SignallingRefusal(405, `POST an SDP offer to ${this.#protocol.prefix}<app>/<room...>/<stream>`);
      await this.#open(req, res, url);
    } catch (error) {
      if (error instanceof RequestAborted) {
        this.#refusalWarnings.warn(`${req.socket.remoteAddress} aborted`, `${name} request aborted before its body was read`, { path: url.pathname, peer: req.socket.remoteAddress });
        res.destroy();
        return;
      }
      const status = error instanceof SignallingRefusal ? error.status : 500;
      if (status === 500) this.#log.error(`${name} request failed`, { error: (error as Error).stack ?? String(error) });
      else this.#refusalWarnings.warn(`${req.socket.remoteAddress} ${status}`, `${name} request refused`, { status, path: url.pathname, reason: (error as Error).message, peer: req.socket.remoteAddress });
      sendText(res, status, `${(error as Error).message}\n`);
    }
  }

  async #open(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const prefix = this.#protocol.prefix;
    let target: { app: string; stream: string };
    try {
      target = parseAppStreamPath(url.pathname.slice(prefix.length), `expected ${prefix}<app>/<room...>/<stream>`);
    } catch (error) {
      throw new SignallingRefusal(400, (error as Error).message);
    }
    if (!/^application\/sdp\b/i.test(req.headers['content-type'] ?? '')) throw new SignallingRefusal(415, 'the offer must be application/sdp');
    const body = await readBoundedBody(req, defaultSdpLimits.maxBytes, MAX_DISCARDED_BYTES);
    if (!body) throw new SignallingRefusal(413, `the offer is larger than ${defaultSdpLimits.maxBytes} bytes`);
    const token = requestToken(req);
    const { tokens, route, right } = this.#access;
    const refused = await tokens.refusal(route, token, target.app, right);
    if (refused) throw new SignallingRefusal(refused.httpStatus, refused.message);
    const { session, answer } = await this.signaller.open({ ...target, offer: offerText(body), origin: requestOrigin(req, this.#protocol.name.toLowerCase(), token) });
    const resource = String(session.id);
    this.#resources.set(resource, session);
    session.once('close', () => this.#resources.delete(resource));
    const sdp = await answer;
    res.writeHead(201, { 'content-type': 'application/sdp', location: `${this.#resourcePrefix}${resource}`, 'cache-control': 'no-store' });
    res.end(sdp);
  }

  #resource(req: IncomingMessage, res: ServerResponse, resource: string): void {
    const session = this.#resources.get(resource);
    if (!session) throw new SignallingRefusal(404, `no such ${this.#protocol.name} session`);
    if (req.method === 'PATCH') throw new SignallingRefusal(405, 'no trickle ICE: the answer carries every candidate');
    if (req.method !== 'DELETE') throw new SignallingRefusal(405, 'DELETE ends the session');
    session.close(`ended by the client (${this.#protocol.name} DELETE)`);
    res.writeHead(200, { 'content-length': 0 });
    res.end();
  }
}
