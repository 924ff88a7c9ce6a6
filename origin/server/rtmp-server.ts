/**
 * The origin's RTMP listener: accepts sockets and gives each its own connection and session.
 * It owns the sessions it created so `close()` stops listening and closes every client.
 */
import { createServer, type AddressInfo, type Server } from 'node:net';
import { RtmpConnection, type RtmpConnectionOptions } from '#common/rtmp-connection.ts';
import type { Logger } from '#common/logger.ts';
import type { OriginContext } from '../core/origin-context.ts';
import { RtmpSession, type SessionOptions } from '../session/rtmp-session.ts';

export interface RtmpServerOptions {
  host: string;
  port: number;
  maxConnections: number;
  connection: Partial<RtmpConnectionOptions>;
  session: SessionOptions;
}

export class RtmpServer {
  readonly #options: RtmpServerOptions;
  readonly #context: OriginContext;
  readonly #log: Logger;
  readonly #server: Server;
  readonly #sessions = new Set<RtmpSession>();

  constructor(options: RtmpServerOptions, context: OriginContext, log: Logger) {
    this.#options = options;
    this.#context = context;
    this.#log = log;
    this.#server = createServer((socket) => {
      if (this.#sessions.size >= this.#options.maxConnections) {
        this.#log.warn('connection refused: too many clients', { peer: socket.remoteAddress, limit: this.#options.maxConnections });
        socket.destroy();
        return;
      }
      const session = new RtmpSession(new RtmpConnection(socket, this.#options.connection, this.#log), this.#context, this.#options.session);
      this.#sessions.add(session);
      session.on('close', () => this.#sessions.delete(session));
    });
  }

  get sessionCount(): number { return this.#sessions.size; }

  listen(): Promise<AddressInfo> {
    return new Promise((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(this.#options.port, this.#options.host, () => {
        this.#server.off('error', reject);
        resolve(this.#server.address() as AddressInfo);
      });
    });
  }

  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    for (const session of this.#sessions) session.close(null);
    await closed;
  }
}
