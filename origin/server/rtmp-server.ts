/**
 * The origin's RTMP ports (plain, and RTMPS when configured): every socket a port accepts (by its
 * address's limits first) gets its own connection and session. It owns the sessions it created so
 * `close()` stops listening and closes every client; the connection limit (`hasRoom`) is the
 * origin's, over its direct clients and its edges' together.
 */
import type { AddressInfo, Socket } from 'node:net';
import { TLSSocket } from 'node:tls';
import { RtmpConnection, type RtmpConnectionOptions } from '#common/rtmp-connection.ts';
import type { FlashPolicy } from '#common/flash-policy.ts';
import { RtmpListener, type TlsFiles } from '#common/rtmp-listener.ts';
import type { AddressLease, AddressLimits } from '#common/address-limits.ts';
import type { Logger } from '#common/logger.ts';
import { LogThrottle } from '#common/log-throttle.ts';
import { countClientRefusal } from '../origin-metrics.ts';
import type { SessionTransport } from '#common/session-transport.ts';
import type { RtmpSession } from '../session/rtmp-session.ts';

export interface RtmpServerOptions {
  host: string;
  /** One listener per entry: the RTMP port, and the RTMPS port with its certificate. */
  ports: Array<{ port: number; tls: TlsFiles | null }>;
  /** The origin's per-address limits, asked before anything else. */
  addresses: AddressLimits;
  /** Whether one more client fits the origin's maxConnections (which counts its edges' clients too). */
  hasRoom: () => boolean;
  /** For the refusal's log line. */
  maxConnections: number;
  connection: Partial<RtmpConnectionOptions> & { handshakeTimeoutMs: number };
  /** Answered to a Flash Player's policy request on any of the ports. */
  policy: FlashPolicy;
  /** The origin's one session factory, shared with the edge link (same options whichever way a client came); `protocol` says which port. */
  createSession: (transport: SessionTransport, protocol: 'rtmp' | 'rtmps') => RtmpSession;
}

export class RtmpServer {
  readonly #options: RtmpServerOptions;
  readonly #log: Logger;
  readonly #listeners: RtmpListener[];
  readonly #sessions = new Set<RtmpSession>();
  readonly #refusalWarnings: LogThrottle;

  constructor(options: RtmpServerOptions, log: Logger) {
    this.#options = options;
    this.#log = log;
    this.#refusalWarnings = new LogThrottle(log);
    this.#listeners = options.ports.map(({ port, tls }) => new RtmpListener({
      host: options.host, port, tls, policy: options.policy, handshakeTimeoutMs: options.connection.handshakeTimeoutMs,
      addresses: options.addresses, accept: (socket, lease) => this.#accept(socket, lease),
    }, log));
  }

  get sessionCount(): number { return this.#sessions.size; }

  /** Listens on every port; resolves with each one's scheme and address, in the order configured. */
  listen(): Promise<Array<{ scheme: 'rtmp' | 'rtmps'; address: AddressInfo }>> {
    return Promise.all(this.#listeners.map(async (listener) => ({ scheme: listener.scheme, address: await listener.listen() })));
  }

  /** Stops accepting clients (a shutdown); those connected stay until close(). */
  stopListening(): void {
    // Not awaited: a listener's close completes only once the sockets it accepted are gone.
    for (const listener of this.#listeners) void listener.close();
  }

  /** Tells every connected client the server is shutting down; returns those told (they are still connected). */
  notifyShutdown(): RtmpSession[] {
    return [...this.#sessions].filter((session) => session.notifyShutdown());
  }

  async close(): Promise<void> {
    this.#refusalWarnings.close();
    const closed = Promise.all(this.#listeners.map((listener) => listener.close()));
    for (const session of this.#sessions) session.close(null);
    await closed;
  }

  #accept(socket: Socket, lease: AddressLease): void {
    if (!this.#options.hasRoom()) {
      countClientRefusal('rtmp', 'max_connections');
      this.#refusalWarnings.warn(`${socket.remoteAddress} max_connections`, 'connection refused: too many clients', () => ({
        peer: socket.remoteAddress, limit: this.#options.maxConnections, topAddresses: this.#options.addresses.describeTopHolders(),
      }));
      socket.destroy();
      return;
    }
    const connection = new RtmpConnection(socket, { ...this.#options.connection, onHandshakeDone: () => lease.handshakeDone() }, this.#log);
    const session = this.#options.createSession(connection, socket instanceof TLSSocket ? 'rtmps' : 'rtmp');
    this.#sessions.add(session);
    session.on('close', () => this.#sessions.delete(session));
  }
}
