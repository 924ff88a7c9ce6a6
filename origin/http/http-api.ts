/**
 * The origin's HTTP API (node:http, bound like the RTMP listener): the recordings listing and
 * FLV/MP3 downloads with byte ranges. Routes are a small table of (method, pattern, handler)
 * so later issues add theirs with `route()`; errors become JSON `{ error }` with a status code.
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from '#common/logger.ts';
import type { RecordingStore } from '../recording/recording-store.ts';

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

export class HttpApi {
  readonly #server: Server;
  readonly #routes: Array<{ method: string; pattern: RegExp; handler: RouteHandler }> = [];
  readonly #log: Logger;
  readonly #host: string;
  readonly #port: number;

  constructor(options: { host: string; port: number; recordings: RecordingStore }, log: Logger) {
    this.#log = log;
    this.#host = options.host;
    this.#port = options.port;
    this.#server = createServer((req, res) => void this.#handle(req, res));
    const store = options.recordings;
    this.route('GET', /^\/api\/recordings$/, async (_req, res) => this.json(res, 200, await store.list()));
    this.route('GET', /^\/recordings\/(.+)$/, async (req, res, match) => {
      let rel: string;
      try {
        rel = decodeURIComponent(match[1]!);
      } catch {
        throw new HttpError(400, 'bad path encoding');
      }
      const path = await store.resolveRelative(rel, Object.keys(CONTENT_TYPES));
      if (!path) throw new HttpError(404, `no recording ${rel}`);
      await this.#sendFile(req, res, path);
    });
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
      this.#server.once('error', reject);
      this.#server.listen(this.#port, this.#host, () => {
        this.#server.off('error', reject);
        resolve(this.#server.address() as AddressInfo);
      });
    });
  }

  async close(): Promise<void> {
    if (!this.#server.listening) return;
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    this.#server.closeAllConnections();
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
