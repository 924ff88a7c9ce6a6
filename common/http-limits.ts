/**
 * The limits every HTTP port of the project applies (the edge's HTTP server, the origin's HTTP API),
 * set on a node:http server before it listens: header size, the time a request's headers and whole
 * request may take (a slowloris client that sends a header line now and then is answered 408 and
 * closed), keep-alive bounded in time and in requests, and per-address limits on its connections
 * (common/address-limits.ts): a connection over them gets 429 with a text body and is closed. Request
 * bodies are bounded where they are read (readBoundedBody, readJson).
 */
import type { IncomingMessage, Server } from 'node:http';
import type { Socket } from 'node:net';
import { STATUS_CODES } from './node-http.ts';
import { AddressRefusal, type AddressLease, type AddressLimits } from './address-limits.ts';

export interface HttpLimitSettings {
  /** A request's headers must have arrived within this time (slowloris); also bounds a connection that sends nothing. */
  httpHeadersTimeoutMs: number;
  /** A whole request (headers and body) must have arrived within this time. */
  httpRequestTimeoutMs: number;
  /** Largest request head (request line and headers). */
  httpMaxHeaderBytes: number;
  /** A kept-alive connection with no request for this long is closed. */
  httpKeepAliveTimeoutMs: number;
  /** Requests one kept-alive connection may carry; then it is closed (0: no limit). */
  httpMaxRequestsPerSocket: number;
}

/** How often the server checks its connections against the header and request timeouts (Node's default is 30 s). */
function checkingIntervalMs(limits: HttpLimitSettings): number {
  return Math.max(100, Math.min(1000, limits.httpHeadersTimeoutMs / 4));
}

/** A plain HTTP answer written straight onto a connection the server has not parsed a request of yet. */
function rawResponse(status: number, text: string): string {
  const body = `${text}\n`;
  return `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}\r\nconnection: close\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
}

/** How long a refused connection is kept for its 429 to be read. */
const REFUSED_LINGER_MS = 1000;

/**
 * Applies `limits` and per-address admission to `server`, once its request and upgrade listeners
 * are on it and before it listens.
 */
export function applyHttpLimits(server: Server, limits: HttpLimitSettings, addresses: AddressLimits): void {
  server.headersTimeout = limits.httpHeadersTimeoutMs;
  server.requestTimeout = Math.max(limits.httpRequestTimeoutMs, limits.httpHeadersTimeoutMs);
  server.keepAliveTimeout = limits.httpKeepAliveTimeoutMs;
  server.maxRequestsPerSocket = limits.httpMaxRequestsPerSocket;
  // Read when each connection's parser is made, and when the server starts listening.
  Object.assign(server, { maxHeaderSize: limits.httpMaxHeaderBytes, connectionsCheckingInterval: checkingIntervalMs(limits) });
  const leases = new WeakMap<Socket, AddressLease>();
  const refused = new WeakSet<Socket>();
  server.on('connection', (socket: Socket) => {
    const admitted = addresses.admit(socket.remoteAddress, 'http');
    if (admitted instanceof AddressRefusal) {
      refused.add(socket);
      socket.on('error', () => socket.destroy());
      socket.end(rawResponse(429, admitted.message));
      // Time for the answer to leave; a client that keeps its half open is not waited for.
      setTimeout(() => socket.destroy(), REFUSED_LINGER_MS).unref();
      return;
    }
    leases.set(socket, admitted);
    socket.once('close', () => admitted.release());
  });
  // The server parses what a refused connection sends anyway: its requests must reach no handler
  // (an FLV request would open a viewer). Every request and upgrade passes here first; a connection
  // that sent its first request is past its handshake.
  for (const event of ['request', 'upgrade'] as const) {
    const handlers = server.listeners(event) as Array<(req: IncomingMessage, ...rest: unknown[]) => void>;
    server.removeAllListeners(event);
    server.on(event, (req: IncomingMessage, ...rest: unknown[]) => {
      const socket = req.socket;
      if (refused.has(socket)) return;
      leases.get(socket)?.handshakeDone();
      for (const handler of handlers) handler.call(server, req, ...rest);
    });
  }
}
