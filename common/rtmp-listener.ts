/**
 * An RTMP port, plain or TLS (RTMPS): admits sockets by their address's limits (a socket over them
 * is closed at once), answers a Flash Player's socket policy request that arrives on it instead of
 * a handshake, and hands every other socket to `accept` with its lease on the address's limits.
 * The origin and the edge each open one per configured port and give them the same `accept`, so a
 * client is the same session whichever port it came through.
 */
import { createServer as createPlainServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import { readFileSync } from 'node:fs';
import { listen } from './listen.ts';
import type { Logger } from './logger.ts';
import { LogThrottle } from './log-throttle.ts';
import { AddressRefusal, type AddressLease, type AddressLimits } from './address-limits.ts';
import { answerPolicyRequest, sniffPolicyRequest, type FlashPolicy } from './flash-policy.ts';

export interface TlsFiles {
  /** PEM certificate chain and private key. */
  certFile: string;
  keyFile: string;
}

export interface RtmpListenerOptions {
  host: string;
  port: number;
  /** RTMPS: TLS with this certificate; null for plain RTMP. */
  tls: TlsFiles | null;
  policy: FlashPolicy;
  /** A socket must have sent its first bytes (or completed TLS) within this time. */
  handshakeTimeoutMs: number;
  /** The process's per-address limits, asked before anything else. */
  addresses: AddressLimits;
  /**
   * Takes an RTMP client's socket (already flowing bytes are kept for it) and its lease: the new
   * owner calls `lease.handshakeDone()` when the RTMP handshake completes; the lease is released
   * when the socket closes.
   */
  accept: (socket: Socket, lease: AddressLease) => void;
}

export class RtmpListener {
  readonly #options: RtmpListenerOptions;
  readonly #log: Logger;
  /** Silent sockets are a client's doing: their lines are rate-limited per address. */
  readonly #warnings: LogThrottle;
  readonly #server: Server;
  readonly #sockets = new Set<Socket>();
  /** 'rtmp' or 'rtmps', for logs and addresses. */
  readonly scheme: 'rtmp' | 'rtmps';

  constructor(options: RtmpListenerOptions, log: Logger) {
    this.#options = options;
    this.#log = log;
    this.#warnings = new LogThrottle(log);
    this.scheme = options.tls ? 'rtmps' : 'rtmp';
    const onSocket = (socket: Socket) => void this.#onSocket(socket);
    if (options.tls) {
      // Read now, so a missing or unreadable file stops the start with its own error.
      const server = createTlsServer({ cert: readFileSync(options.tls.certFile), key: readFileSync(options.tls.keyFile), handshakeTimeout: options.handshakeTimeoutMs }, onSocket);
      server.on('tlsClientError', (error, socket) => {
        this.#log.warn('RTMPS client refused: TLS failed', { peer: socket.remoteAddress, error: error.message });
        socket.destroy();
      });
      this.#server = server;
    } else {
      this.#server = createPlainServer(onSocket);
    }
  }

  listen(): Promise<AddressInfo> {
    return listen(this.#server, this.#options.port, this.#options.host);
  }

  /** Stops accepting; sockets already handed to `accept` are their owner's to close. */
  close(): Promise<void> {
    this.#warnings.close();
    for (const socket of this.#sockets) socket.destroy();
    return new Promise((resolve) => {
      if (!this.#server.listening) return resolve();
      this.#server.close(() => resolve());
    });
  }

  async #onSocket(socket: Socket): Promise<void> {
    const lease = this.#options.addresses.admit(socket.remoteAddress, this.scheme);
    if (lease instanceof AddressRefusal) {
      // Before its handshake RTMP has no way to say why: the refusal is counted and logged.
      socket.destroy();
      return;
    }
    socket.once('close', () => lease.release());
    // Until it is handed over, a socket is this listener's: bounded in time, closed on close().
    this.#sockets.add(socket);
    const timer = setTimeout(() => {
      this.#warnings.warn(`${socket.remoteAddress} handshake_timeout`, 'closing connection: no handshake or policy request in time', { peer: socket.remoteAddress, ms: this.#options.handshakeTimeoutMs });
      socket.destroy();
    }, this.#options.handshakeTimeoutMs);
    const onError = () => socket.destroy();
    socket.on('error', onError);
    const kind = await sniffPolicyRequest(socket);
    clearTimeout(timer);
    this.#sockets.delete(socket);
    socket.off('error', onError);
    if (socket.destroyed) return;
    if (kind === 'policy') {
      this.#log.info('Flash socket policy sent', { peer: socket.remoteAddress, port: this.#options.port });
      answerPolicyRequest(socket, this.#options.policy);
      return;
    }
    this.#options.accept(socket, lease);
    socket.resume();
  }
}
