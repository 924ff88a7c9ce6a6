/**
 * The origin's HTTP API (node:http, on loopback unless `--http-bind` says otherwise): the
 * recordings listing (paged, from the in-memory index: recording/recording-index.ts) and FLV/MP3
 * downloads with byte ranges, for the admin token or a token whose room holds them (recordings of
 * children are nobody else's business), and minting tokens
 * (`POST /api/tokens`, admin). Routes are a small table of (method, pattern, handler): other
 * modules mount theirs with `route()` (the edge registry's /api/edges; the admin API, admin-api.ts,
 * which checks its callers with `caller()`); errors become JSON `{ error }` with a status code (401
 * without a valid token, 403 with one that does not allow it).
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { createServer } from '#common/node-http.ts';
import type { AddressInfo } from 'node:net';
import type { Logger } from '#common/logger.ts';
import { requestToken } from '#common/request-token.ts';
import type { RecordingStore } from '../recording/recording-store.ts';
import type { RecordingIndex } from '../recording/recording-index.ts';
import { AccessDeniedError } from '#common/auth/access-denied.ts';
import type { Authorizer } from '../auth/authorizer.ts';
import type { Identity } from '#common/auth/identity.ts';
import { parseTtl, type TokenClaims } from '#common/auth/tokens.ts';
import { countAccessRefusal } from '../origin-metrics.ts';

export type RouteHandler = (req: IncomingMessage, res: ServerResponse, match: RegExpExecArray) => Promise<void> | void;

/** An error with the HTTP status it answers with. */
export class HttpError extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

const CONTENT_TYPES: Readonly<Record<string, string>> = { '.flv': 'video/x-flv', '.mp3': 'audio/mpeg' };
/** Listing entries per page unless `?limit=` says otherwise, and the most it may ask for. */
export const LISTING_DEFAULT_LIMIT = 100;
export const LISTING_MAX_LIMIT = 1000;
/** A token request body is a few claims: anything larger is refused unread. */
const MAX_JSON_BODY_BYTES = 16 * 1024;

/** A small JSON object body; HttpError 400/413 for anything else. `optional`: an empty body reads as `{}`. */
export async function readJson(req: IncomingMessage, options: { optional?: boolean } = {}): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_JSON_BODY_BYTES) throw new HttpError(413, `the body is larger than ${MAX_JSON_BODY_BYTES} bytes`);
    chunks.push(chunk as Buffer);
  }
  if (size === 0 && options.optional) return {};
  let body: unknown;
  try {
    body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new HttpError(400, 'the body is not JSON');
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new HttpError(400, 'the body must be a JSON object');
  return body as Record<string, unknown>;
}

/** Parses a single `bytes=a-b`, `bytes=a-` or `bytes=-n` range; null when it cannot be served (416). */
export function parseRange(header: string, size: number): { start: number; end: number } | null {
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === '' && m[2] === '')) return null;
  let start: number;
  let end: number;
  if (m[1] === '') {
    const suffix = Number(m[2]);
    if (suffix === 0) return null;
    start = Math.max(0, size - suffix);
    end = size - 1;
  } else {
    start = Number(m[1]);
    end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  }
  if (start >= size || start > end) return null;
  return { start, end };
}

/** `?limit=` of the listing: a whole number from 1 to LISTING_MAX_LIMIT (HttpError 400 otherwise); absent, the default. */
export function listingLimit(value: string | null): number {
  if (value === null) return LISTING_DEFAULT_LIMIT;
  const limit = /^\d{1,7}$/.test(value) ? Number(value) : NaN;
  if (!(limit >= 1 && limit <= LISTING_MAX_LIMIT)) throw new HttpError(400, `limit must be a whole number from 1 to ${LISTING_MAX_LIMIT}, not ${JSON.stringify(value)}`);
  return limit;
}

export class HttpApi {
  /** The node:http server, for the limits every HTTP port applies (common/http-limits.ts) before it listens. */
  readonly server: Server;
  readonly #routes: Array<{ method: string; pattern: RegExp; handler: RouteHandler }> = [];
  readonly #log: Logger;
  readonly #host: string;
  readonly #port: number;

  readonly #authorizer: Authorizer;

  constructor(options: { host: string; port: number; recordings: RecordingStore; recordingIndex: RecordingIndex; authorizer: Authorizer }, log: Logger) {
    this.#log = log;
    this.#host = options.host;
    this.#port = options.port;
    this.#authorizer = options.authorizer;
    this.server = createServer((req, res) => void this.#handle(req, res));
    const store = options.recordings;
    const index = options.recordingIndex;
    this.route('GET', /^\/api\/recordings$/, async (req, res) => {
      const identity = await this.caller(req, 'recordings.read');
      const query = new URL(req.url ?? '/', 'http://origin').searchParams;
      // `?room=classroom/math`: that room's only (a page lists its own room's, whoever's token it holds).
      const room = query.get('room');
      const limit = listingLimit(query.get('limit'));
      const after = query.get('after');
      if (after === '') throw new HttpError(400, 'after must be the `next` cursor of the previous page (a path), not empty');
      const page = index.page({ after, limit, under: room === null ? null : `${room.replace(/\/+$/, '')}/`, visible: (path) => identity.ownsRecording(path) });
      // The next page's URL, as this one was asked for but after its last path (no token: the caller sends its own).
      const next = page.continueAfter === null ? null : `/api/recordings?${new URLSearchParams({ ...(room === null ? {} : { room }), limit: String(limit), after: page.continueAfter })}`;
      this.json(res, 200, { files: page.files, rooms: page.rooms, next });
    });
    this.route('GET', /^\/recordings\/(.+)$/, async (req, res, match) => {
      let rel: string;
      try {
        rel = decodeURIComponent(match[1]!);
      } catch {
        throw new HttpError(400, 'bad path encoding');
      }
      const identity = await this.caller(req, 'recordings.read');
      if (!identity.ownsRecording(rel)) throw new HttpError(403, `this token is for ${identity.room}, not ${rel}`);
      const path = await store.resolveRelative(rel, Object.keys(CONTENT_TYPES));
      if (!path) throw new HttpError(404, `no recording ${rel}`);
      await this.#sendFile(req, res, path);
    });
    this.route('POST', /^\/api\/tokens$/, async (req, res) => {
      await this.caller(req, 'tokens.mint');
      const body = await readJson(req);
      let ttlSeconds: number;
      try {
        ttlSeconds = parseTtl(typeof body.ttl === 'string' || typeof body.ttl === 'number' ? String(body.ttl) : '2h');
      } catch (error) {
        throw new HttpError(400, (error as Error).message);
      }
      const claims = { sub: body.sub ?? body.name, name: body.name, room: body.room, role: body.role, ...(body.can !== undefined ? { can: body.can } : {}) } as TokenClaims;
      let token: string;
      try {
        token = await this.#authorizer.tokens.sign(claims, ttlSeconds);
      } catch (error) {
        throw new HttpError(400, (error as Error).message);
      }
      this.#log.info('token minted', { sub: String(claims.sub), room: String(claims.room), role: String(claims.role), ttlSeconds });
      this.json(res, 201, { token, expiresAt: new Date(Date.now() + ttlSeconds * 1000).toISOString() });
    });
  }

  /** Who calls, from the request's token, if it may `right`: else HttpError 401 (no valid token) or 403. Routes mounted from other modules (admin-api.ts) use it too. */
  async caller(req: IncomingMessage, right: Parameters<Identity['may']>[0]): Promise<Identity> {
    try {
      const identity = await this.#authorizer.http(requestToken(req));
      if (!identity.may(right)) throw new AccessDeniedError('auth.forbidden', `a ${identity.role} token may not use this (${right})`);
      return identity;
    } catch (error) {
      if (!(error instanceof AccessDeniedError)) throw error;
      countAccessRefusal('http', error.code);
      throw new HttpError(error.httpStatus, error.message);
    }
  }

  /** Adds a route; the first whose method and pattern match the path handles the request. */
  route(method: string, pattern: RegExp, handler: RouteHandler): void {
    this.#routes.push({ method, pattern, handler });
  }

  json(res: ServerResponse, status: number, body: unknown): void {
    const text = JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) });
    res.end(text);
  }

  listen(): Promise<AddressInfo> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.#port, this.#host, () => {
        this.server.off('error', reject);
        resolve(this.server.address() as AddressInfo);
      });
    });
  }

  async close(): Promise<void> {
    if (!this.server.listening) return;
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeAllConnections();
    await closed;
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = new URL(req.url ?? '/', 'http://origin').pathname;
    try {
      for (const route of this.#routes) {
        const match = route.pattern.exec(path);
        if (!match) continue;
        if (route.method !== req.method && !(route.method === 'GET' && req.method === 'HEAD')) continue;
        await route.handler(req, res, match);
        return;
      }
      throw new HttpError(404, 'not found');
    } catch (error) {
      const status = error instanceof HttpError ? error.status : 500;
      if (status === 500) this.#log.error('HTTP request failed', { method: req.method, path, error: (error as Error).message });
      if (!res.headersSent) this.json(res, status, { error: (error as Error).message });
      else res.destroy();
    }
  }

  async #sendFile(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
    const size = (await stat(path)).size;
    const headers: Record<string, string | number> = {
      'content-type': CONTENT_TYPES[path.slice(path.lastIndexOf('.'))] ?? 'application/octet-stream',
      'accept-ranges': 'bytes',
    };
    let start = 0;
    let end = size - 1;
    let status = 200;
    const range = req.headers.range;
    if (range) {
      const parsed = parseRange(range, size);
      if (!parsed) {
        res.writeHead(416, { 'content-range': `bytes */${size}` });
        res.end();
        return;
      }
      ({ start, end } = parsed);
      status = 206;
      headers['content-range'] = `bytes ${start}-${end}/${size}`;
    }
    headers['content-length'] = size === 0 ? 0 : end - start + 1;
    res.writeHead(status, headers);
    if (req.method === 'HEAD' || size === 0) {
      res.end();
      return;
    }
    const stream = createReadStream(path, { start, end });
    stream.on('error', (error) => {
      this.#log.warn('download failed', { path, error: error.message });
      res.destroy();
    });
    stream.pipe(res);
  }
}
