/**
 * The HTTP side both WebRTC signalling endpoints share (WHIP publishing, WHEP playing): `POST
 * PREFIX/APP/ROOM.../STREAM` with an SDP offer creates a session on the link, registered and counted
 * like any client, and answers 201 Created with the SDP answer and a Location (`PREFIX/resource/ID`)
 * that `DELETE` ends; CORS and OPTIONS for browsers on other origins. The edge gathers its ICE
 * candidates before answering, so no trickle (PATCH is 405). Errors are plain text: 400 for a bad
 * path or offer (the SDP error's code and reason), 403 when the origin refuses, 503 when the edge
 * is full or has no link, 413 for an oversize offer, 415 for another content type.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '#common/logger.ts';
import { ProtocolError } from '#protocol/errors.ts';
import { defaultSdpLimits, parseSdp, type SdpMediaSection } from '#protocol/sdp/sdp.ts';
import { readBoundedBody, RequestAborted, sendText, type EdgeHttpServer } from '../http/edge-http-server.ts';
import { parseAppStreamPath } from '../http/stream-path.ts';
import { requestTcUrl } from '../session/link-client.ts';
import type { EdgeClientSession, SessionRegistry } from '../session/session-registry.ts';

export class HttpRefusal extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

/** Who a signalled session speaks for: its protocol, this edge's URL as the browser used it (connect's tcUrl) and the browser's address. */
export function requestOrigin(req: IncomingMessage, protocol: string): { protocol: string; tcUrl: string; remoteAddress: string; remotePort: number } {
  return { protocol, tcUrl: requestTcUrl(req, 'http'), remoteAddress: req.socket.remoteAddress ?? 'unknown', remotePort: req.socket.remotePort ?? 0 };
}

/** Past this much, an oversize offer is not even read to its end: the connection is cut. */
const MAX_DISCARDED_BYTES = 16 * 1024 * 1024;

/** A session a signalling endpoint made, and how to start it once registered: resolves with the SDP answer, rejects with the origin's reason. */
export interface SignalledSession {
  /** Any LinkClientSession (whatever events of its own it adds). */
  session: EdgeClientSession & { once(event: 'close', listener: () => void): unknown };
  start(): Promise<string>;
}

/** What one endpoint (WHIP, WHEP) adds to the shared handling. */
export interface SignallingProtocol<Choice> {
  /** 'WHIP' or 'WHEP', for messages and logs. */
  name: string;
  /** The URL prefix, with both slashes: '/whip/'. */
  prefix: string;
  /** Picks what the session uses from the offer's sections; throws SdpError (a 400) when nothing fits. */
  choose(sections: SdpMediaSection[]): Choice;
  /** Makes the (not yet started) session for the request. */
  create(request: { app: string; stream: string; offer: string; choice: Choice; req: IncomingMessage }): SignalledSession;
}

export class SignallingEndpoint<Choice> {
  readonly #protocol: SignallingProtocol<Choice>;
  readonly #sessions: SessionRegistry;
  readonly #log: Logger;
  readonly #resourcePrefix: string;
  /** Resource id (the session's id on the link) -> its session, while it lasts. */
  readonly #resources = new Map<string, SignalledSession['session']>();

  constructor(http: EdgeHttpServer, sessions: SessionRegistry, protocol: SignallingProtocol<Choice>, log: Logger) {
    this.#protocol = protocol;
    this.#sessions = sessions;
    this.#log = log;
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
      if (req.method !== 'POST') throw new HttpRefusal(405, `POST an SDP offer to ${this.#protocol.prefix}<app>/<room...>/<stream>`);
      await this.#open(req, res, url);
    } catch (error) {
      if (error instanceof RequestAborted) {
        this.#log.warn(`${name} request aborted before its body was read`, { path: url.pathname });
        res.destroy();
        return;
      }
      const status = error instanceof HttpRefusal ? error.status : 500;
      if (status === 500) this.#log.error(`${name} request failed`, { error: (error as Error).stack ?? String(error) });
      else this.#log.warn(`${name} request refused`, { status, path: url.pathname, reason: (error as Error).message });
      sendText(res, status, `${(error as Error).message}\n`);
    }
  }

  async #open(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const prefix = this.#protocol.prefix;
    let target: { app: string; stream: string };
    try {
      target = parseAppStreamPath(url.pathname.slice(prefix.length), `expected ${prefix}<app>/<room...>/<stream>`);
    } catch (error) {
      throw new HttpRefusal(400, (error as Error).message);
    }
    if (!/^application\/sdp\b/i.test(req.headers['content-type'] ?? '')) throw new HttpRefusal(415, 'the offer must be application/sdp');
    const body = await readBoundedBody(req, defaultSdpLimits.maxBytes, MAX_DISCARDED_BYTES);
    if (!body) throw new HttpRefusal(413, `the offer is larger than ${defaultSdpLimits.maxBytes} bytes`);
    const offer = body.toString('utf8');
    let choice: Choice;
    try {
      choice = this.#protocol.choose(parseSdp(offer));
    } catch (error) {
      if (error instanceof ProtocolError) throw new HttpRefusal(400, `${error.code}: ${error.message}`);
      throw error;
    }
    if (!this.#sessions.hasRoom) throw new HttpRefusal(503, 'the edge has too many clients');
    const { session, start } = this.#protocol.create({ ...target, offer, choice, req });
    const resource = String(session.id);
    this.#sessions.add(session);
    this.#resources.set(resource, session);
    session.once('close', () => {
      this.#sessions.remove(session);
      this.#resources.delete(resource);
    });
    let answer: string;
    try {
      answer = await start();
    } catch (error) {
      const reason = (error as Error).message;
      throw new HttpRefusal(/no link/.test(reason) ? 503 : 403, reason);
    }
    res.writeHead(201, { 'content-type': 'application/sdp', location: `${this.#resourcePrefix}${resource}`, 'cache-control': 'no-store' });
    res.end(answer);
  }

  #resource(req: IncomingMessage, res: ServerResponse, resource: string): void {
    const session = this.#resources.get(resource);
    if (!session) throw new HttpRefusal(404, `no such ${this.#protocol.name} session`);
    if (req.method === 'PATCH') throw new HttpRefusal(405, 'no trickle ICE: the answer carries every candidate');
    if (req.method !== 'DELETE') throw new HttpRefusal(405, 'DELETE ends the session');
    session.close(`ended by the client (${this.#protocol.name} DELETE)`);
    res.writeHead(200, { 'content-length': 0 });
    res.end();
  }
}
