/**
 * The origin's listener for edges (port 9035 by default, as Red5's MRTMP), plain TCP or TLS:
 * each connection becomes an EdgeLink, which must authenticate before anything else. Only
 * started when a shared secret is configured: unauthenticated edges are never accepted.
 * It owns its links, so `close()` stops listening and closes every link and its sessions.
 */
import { readFileSync } from 'node:fs';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import { listen } from '#common/listen.ts';
import type { Logger } from '#common/logger.ts';
import type { SessionTransport } from '#common/session-transport.ts';
import { EdgeLink, type EdgeDirectory, type EdgeLinkOptions } from './edge-link.ts';

export interface LinkServerOptions {
  host: string;
  port: number;
  secret: string;
  /** PEM files; null for plain TCP (on a private network). */
  tls: { certFile: string; keyFile: string } | null;
  link: Omit<EdgeLinkOptions, 'secret' | 'createSession' | 'authTimeoutMs' | 'admitSession'>;
  /** Whether an edge holding `sessions` may open one more (EdgeLinkOptions.admitSession). */
  admitSession: EdgeLinkOptions['admitSession'];
  /** An edge has this long to send Hello and prove the secret. */
  authTimeoutMs: number;
  createSession: (transport: SessionTransport) => unknown;
}

export class LinkServer {
  readonly #options: LinkServerOptions;
  readonly #directory: EdgeDirectory;
  readonly #log: Logger;
  readonly #server: Server;
  readonly #links = new Set<EdgeLink>();

  constructor(options: LinkServerOptions, directory: EdgeDirectory, log: Logger) {
    this.#options = options;
    this.#directory = directory;
    this.#log = log;
    const accept = (socket: Socket) => this.#accept(socket);
    if (options.tls) {
      const tlsServer = createTlsServer({ cert: readFileSync(options.tls.certFile), key: readFileSync(options.tls.keyFile) }, accept);
      tlsServer.on('tlsClientError', (error, socket) => this.#log.warn('edge TLS handshake failed', { address: `${socket.remoteAddress}:${socket.remotePort}`, error: error.message }));
      this.#server = tlsServer;
    } else {
      this.#server = createServer(accept);
    }
  }

  get linkCount(): number { return this.#links.size; }

  listen(): Promise<AddressInfo> {
    return listen(this.#server, this.#options.port, this.#options.host);
  }

  /** Stops accepting edges (a shutdown); linked ones stay until close(). */
  stopListening(): void {
    if (this.#server.listening) this.#server.close();
  }

  async close(): Promise<void> {
    // The callback comes once every link's socket is gone as well.
    const closed = new Promise<void>((resolve) => this.#server.listening ? this.#server.close(() => resolve()) : resolve());
    for (const link of [...this.#links]) link.close(null);
    await closed;
  }

  #accept(socket: Socket): void {
    const link = new EdgeLink(socket, {
      ...this.#options.link, secret: this.#options.secret, authTimeoutMs: this.#options.authTimeoutMs, createSession: this.#options.createSession,
      admitSession: this.#options.admitSession,
    }, this.#directory, this.#log);
    this.#links.add(link);
    link.on('close', () => this.#links.delete(link));
  }
}
