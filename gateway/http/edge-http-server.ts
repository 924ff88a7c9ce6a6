/**
 * The edge's HTTP server (--http-port, default 8080): a small router of exact and prefix routes for
 * plain requests, plus WebSocket upgrade routes by path. Serves the browser classroom as built by
 * `npm run build` (`web-client/dist`: hashed assets below /assets/ cached for good, the rest
 * revalidated) and `/vendor/mpegts.js`; other parts register their routes (`route`, `upgrade`) before `start()`.
 * Files are resolved inside their folder only (no `..`, no symlink out), GET/HEAD only.
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { createServer, STATUS_CODES } from '#common/node-http.ts';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { createReadStream } from 'node:fs';
import { realpath, stat } from 'node:fs/promises';
import { extname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { listen } from '#common/listen.ts';
import type { Logger } from '#common/logger.ts';

/** Handles one request; `url` is parsed, its pathname already decoded-safe as routed. */
export type HttpHandler = (req: IncomingMessage, res: ServerResponse, url: URL) => void | Promise<void>;
/** Handles one upgrade request (WebSocket); must take over or destroy the socket. */
export type UpgradeHandler = (req: IncomingMessage, socket: Duplex, head: Buffer, url: URL) => void;

interface Route<H> {
  /** Exact path, or a prefix ending in '/' when `prefix` is set. */
  path: string;
  prefix: boolean;
  handler: H;
}

const repoRoot = resolve(fileURLToPath(new URL('../..', import.meta.url)));
/** The built browser classroom (web-client/build.ts). */
export const WEB_CLIENT_DIR = join(repoRoot, 'web-client', 'dist');
/** Below this path of WEB_CLIENT_DIR every file is named by its content: it never changes. */
const HASHED_ASSETS = 'assets/';
export const MPEGTS_DIST_DIR = join(repoRoot, 'node_modules', 'mpegts.js', 'dist');

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.map': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.txt': 'text/plain; charset=utf-8',
};

function findRoute<H>(routes: Route<H>[], pathname: string): Route<H> | undefined {
  return routes.find((r) => r.path === pathname) ?? routes.filter((r) => r.prefix && pathname.startsWith(r.path))
    .sort((a, b) => b.path.length - a.path.length)[0];
}

/** The client went away before its request body was complete. */
export class RequestAborted extends Error {}

/**
 * A request's body, or null when it is over `maxBytes`: the rest is then read and dropped, so
 * memory stays bounded and the refusal can be answered on the same connection instead of a reset.
 * Past `discardUpTo` bytes even that stops and the request is destroyed (RequestAborted).
 */
export function readBoundedBody(req: IncomingMessage, maxBytes: number, discardUpTo = Infinity): Promise<Buffer | null> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const abort = () => reject(new RequestAborted('request aborted'));
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= maxBytes) chunks.push(chunk);
      else chunks.length = 0;
      if (size > discardUpTo) req.destroy();
    });
    req.once('end', () => resolve(size <= maxBytes ? Buffer.concat(chunks, size) : null));
    req.once('error', abort).once('close', abort); // after 'end' these settle nothing
  });
}

/** Answers an upgrade request (WebSocket) with an HTTP error instead, `reason` as a plain-text body, and closes. */
export function refuseUpgrade(socket: Duplex, status: number, reason = ''): void {
  const body = reason ? `${reason}\n` : '';
  socket.end(`HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}\r\nconnection: close\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
}

export function sendText(res: ServerResponse, status: number, text: string): void {
  if (res.headersSent) { res.destroy(); return; }
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' });
  res.end(text);
}

/**
 * Resolves `relative` (a URL path below a mount point) inside `root`, or null when it would leave
 * it: decoded segments with `..`, NUL or backslashes are refused, and the real path is checked
 * against the real root so a symlink cannot lead out.
 */
export async function resolveInside(root: string, relative: string): Promise<string | null> {
  let decoded: string;
  try {
    decoded = decodeURIComponent(relative);
  } catch {
    return null;
  }
  if (decoded.includes('\0') || decoded.includes('\\')) return null;
  const segments = decoded.split('/').filter((s) => s !== '' && s !== '.');
  if (segments.some((s) => s === '..')) return null;
  try {
    const realRoot = await realpath(root);
    let real = await realpath(join(realRoot, ...segments));
    if (real !== realRoot && !real.startsWith(realRoot + sep)) return null;
    if ((await stat(real)).isDirectory()) real = join(real, 'index.html');
    const info = await stat(real);
    return info.isFile() ? real : null;
  } catch {
    return null;
  }
}

/**
 * A handler serving files of `root` below URL prefix `mount` (ending in '/'). Files are revalidated
 * (`no-cache`) unless `immutable` says their path (below `mount`) names content that never changes.
 */
export function staticFiles(root: string, mount: string, immutable: (path: string) => boolean = () => false): HttpHandler {
  return async (req, res, url) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('allow', 'GET, HEAD');
      return sendText(res, 405, 'method not allowed\n');
    }
    const path = url.pathname.slice(mount.length);
    const file = await resolveInside(root, path);
    if (!file) return sendText(res, 404, 'not found\n');
    const size = (await stat(file)).size;
    res.writeHead(200, {
      'content-type': CONTENT_TYPES[extname(file).toLowerCase()] ?? 'application/octet-stream',
      'content-length': size, 'cache-control': immutable(path) ? 'public, max-age=31536000, immutable' : 'no-cache', 'x-content-type-options': 'nosniff',
    });
    if (req.method === 'HEAD') { res.end(); return; }
    createReadStream(file).on('error', () => res.destroy()).pipe(res);
  };
}

export class EdgeHttpServer {
  readonly server: Server;
  readonly #log: Logger;
  readonly #routes: Route<HttpHandler>[] = [];
  readonly #upgrades: Route<UpgradeHandler>[] = [];
  readonly #closers: (() => void | Promise<void>)[] = [];

  constructor(log: Logger) {
    this.#log = log;
    this.server = createServer((req, res) => this.#onRequest(req, res));
    this.server.on('upgrade', (req, socket, head) => this.#onUpgrade(req, socket, head));
    this.server.on('clientError', (_error, socket) => socket.destroy());
    this.route('/vendor/', staticFiles(MPEGTS_DIST_DIR, '/vendor/'), { prefix: true });
    this.route('/', staticFiles(WEB_CLIENT_DIR, '/', (path) => path.startsWith(HASHED_ASSETS)), { prefix: true });
  }

  /** Adds a route: exact path, or (prefix) every path below `path` (longest prefix wins; exact first). */
  route(path: string, handler: HttpHandler, options: { prefix?: boolean } = {}): void {
    this.#routes.push({ path, prefix: options.prefix ?? false, handler });
  }

  /** Adds a WebSocket (upgrade) route; unmatched upgrades get 404 and are closed. */
  upgrade(path: string, handler: UpgradeHandler, options: { prefix?: boolean } = {}): void {
    this.#upgrades.push({ path, prefix: options.prefix ?? false, handler });
  }

  /** Run on close (before the listener closes): a route's owner ends its sockets and processes. */
  onClose(closer: () => void | Promise<void>): void {
    this.#closers.push(closer);
  }

  async start(port: number, host: string): Promise<AddressInfo> {
    const address = await listen(this.server, port, host);
    const shown = address.address.includes(':') ? `[${address.address}]` : address.address;
    this.#log.info('HTTP listening', { address: `http://${shown}:${address.port}` });
    return address;
  }

  async close(): Promise<void> {
    for (const closer of this.#closers.splice(0)) {
      try {
        await closer();
      } catch (error) {
        this.#log.error('error while closing an HTTP route', { error: (error as Error).message });
      }
    }
    if (!this.server.listening) return;
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeAllConnections();
    await closed;
  }

  #onRequest(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://edge');
    const route = findRoute(this.#routes, url.pathname);
    if (!route) return sendText(res, 404, 'not found\n');
    Promise.resolve()
      .then(() => route.handler(req, res, url))
      .catch((error: Error) => {
        this.#log.error('HTTP handler failed', { path: url.pathname, error: error.stack ?? String(error) });
        sendText(res, 500, 'internal error\n');
      });
  }

  #onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const url = new URL(req.url ?? '/', 'http://edge');
    const route = findRoute(this.#upgrades, url.pathname);
    socket.on('error', () => socket.destroy());
    if (!route) {
      return refuseUpgrade(socket, 404);
    }
    try {
      route.handler(req, socket, head, url);
    } catch (error) {
      this.#log.error('upgrade handler failed', { path: url.pathname, error: (error as Error).stack ?? String(error) });
      socket.destroy();
    }
  }
}
