/**
 * The origin's RTMP listener: accepts sockets and gives each its own connection and session.
 * It owns the sessions it created so `close()` stops listening and closes every client.
 */
import { createServer, type AddressInfo, type Server } from 'node:net';
import { RtmpConnection, type RtmpConnectionOptions } from '#common/rtmp-connection.ts';
import { listen } from '#common/listen.ts';
import type { Logger } from '#common/logger.ts';
import type { SessionTransport } from '#common/session-transport.ts';
import type { RtmpSession } from '../session/rtmp-session.ts';

export interface RtmpServerOptions {
  host: string;
  port: number;
  maxConnections: number;
  connection: Partial<RtmpConnectionOptions>;
  /** The origin's one session factory, shared with the edge link (same options whichever way a client came). */
  createSession: (transport: SessionTransport) => RtmpSession;
}

export class RtmpServer {
  readonly #options: RtmpServerOptions;
  readonly #log: Logger;
  readonly #server: Server;
  readonly #sessions = new Set<RtmpSession>();

  constructor(options: RtmpServerOptions, log: Logger) {
    this.#options = options;
    this.#log = log;
    this.#server = createServer((socket) => {
      if (this.#sessions.size >= this.#options.maxConnections) {
        this.#log.warn('connection refused: too many clients', { peer: socket.remoteAddress, limit: this.#options.maxConnections });
        socket.destroy();
        return;
      }
      const session = this.#options.createSession(new RtmpConnection(socket, this.#options.connection, this.#log));
      this.#sessions.add(session);
      session.on('close', () => this.#sessions.delete(session));
    });
  }

  get sessionCount(): number { return this.#sessions.size; }

  listen(): Promise<AddressInfo> {
    return listen(this.#server, this.#options.port, this.#options.host);
  }

  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    for (const session of this.#sessions) session.close(null);
    await closed;
  }
}
