/**
 * The origin's recordings on the edge's HTTP port: `GET /api/recordings` (the listing, `?room=`
 * narrowing it) and `GET /recordings/<path>` (the FLV and MP3 files, Range requests included so a
 * player can seek) are forwarded to the origin's HTTP API (`originHttp`) with the caller's token
 * (Authorization header or `?token=`), because pages reach only the edge and the origin's API listens
 * on loopback. The origin decides who may read what (401/403 pass through as it answers them); the
 * body is streamed both ways (never a whole file in memory, and a client that stops reading stops the
 * origin's read); an origin that cannot be reached is a 502 saying so.
 */
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import { request as httpRequest } from '#common/node-http.ts';
import type { Logger } from '#common/logger.ts';
import { sendText, type EdgeHttpServer } from './edge-http-server.ts';

/** Request headers the origin needs to answer as it would answer the page itself. */
const FORWARDED_REQUEST_HEADERS = ['authorization', 'range', 'if-range', 'accept'] as const;
/** Headers of one hop only (RFC 9110 7.6.1): never forwarded. */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'te', 'trailer']);
/** The origin must answer (headers) within this time; the body then flows at the client's pace. */
export const ORIGIN_RESPONSE_TIMEOUT_MS = 10_000;

export class OriginRecordingsProxy {
  readonly #origin: URL;
  readonly #log: Logger;
  readonly #inFlight = new Set<IncomingMessage>();

  /** Mounts the routes on `http`; `origin` is the origin's HTTP API (http://HOST:PORT). */
  constructor(http: EdgeHttpServer, origin: URL, log: Logger) {
    this.#origin = origin;
    this.#log = log;
    const forward = (req: IncomingMessage, res: ServerResponse, url: URL) => this.#forward(req, res, url);
    http.route('/api/recordings', forward);
    http.route('/recordings/', forward, { prefix: true });
    http.onClose(() => { for (const upstream of this.#inFlight) upstream.destroy(); });
  }

  #forward(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('allow', 'GET, HEAD');
      sendText(res, 405, 'method not allowed\n');
      return Promise.resolve();
    }
    const headers: Record<string, string> = {};
    for (const name of FORWARDED_REQUEST_HEADERS) {
      const value = req.headers[name];
      if (typeof value === 'string') headers[name] = value;
    }
    // The path as the router matched it (dot segments resolved), so nothing but these routes is reached on the origin.
    const target = new URL(url.pathname + url.search, this.#origin);
    return new Promise((resolve) => {
      const upstream = httpRequest(target, { method: req.method, headers });
      upstream.setTimeout(ORIGIN_RESPONSE_TIMEOUT_MS, () => upstream.destroy(new Error(`no answer within ${ORIGIN_RESPONSE_TIMEOUT_MS} ms`)));
      upstream.on('error', (error) => {
        this.#log.warn('origin HTTP API unreachable', { path: url.pathname, origin: this.#origin.host, error: error.message });
        if (!res.headersSent) sendText(res, 502, `the origin's HTTP API (${this.#origin.host}) cannot be reached: ${error.message}\n`);
        else res.destroy();
        resolve();
      });
      upstream.on('response', (answer) => {
        upstream.setTimeout(0);
        this.#inFlight.add(answer);
        res.writeHead(answer.statusCode ?? 502, passedHeaders(answer.headers));
        answer.pipe(res);
        answer.on('error', () => res.destroy());
        answer.once('close', () => { this.#inFlight.delete(answer); resolve(); });
      });
      // The page went away (closed the player, seeked elsewhere): stop reading the file on the origin.
      res.once('close', () => { if (!res.writableFinished) upstream.destroy(); });
      upstream.end();
    });
  }
}

function passedHeaders(headers: IncomingHttpHeaders): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined && !HOP_BY_HOP.has(name)) out[name] = value;
  }
  return out;
}
