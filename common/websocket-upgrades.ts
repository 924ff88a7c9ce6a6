/**
 * WebSocket upgrades on a server's own HTTP port (ws's `noServer` mode: the browser channel /ws and
 * WS-FLV playback on the edge), with ws loaded by the first upgrade rather than at every start:
 * some 15 modules a restarted edge no longer loads before its clients can come back (README,
 * "Start time"; common/lazy-require.ts).
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { ServerOptions, WebSocket, WebSocketServer } from 'ws';
import { lazyImport } from './lazy-require.ts';

const ws = lazyImport(() => import('ws'));

export class WebSocketUpgrades {
  readonly #options: ServerOptions;
  /** Made by the first upgrade. */
  #server: WebSocketServer | null = null;

  /** `options`: ws's server options (maxPayload, perMessageDeflate, ...), for a server without a port of its own. */
  constructor(options: Omit<ServerOptions, 'noServer' | 'server' | 'port' | 'host'>) {
    this.#options = { ...options, noServer: true };
  }

  /**
   * Completes an upgrade the HTTP server handed over (ws answers a bad handshake itself); `accept`
   * gets the WebSocket. The first one waits for ws to load (a socket closed meanwhile is dropped):
   * `admit` is asked once it is loaded, with nothing awaited between it and `accept`, so the limits
   * it checks hold however many upgrades came during the load; false: it refused the socket itself.
   */
  async handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, admit: () => boolean, accept: (ws: WebSocket) => void): Promise<void> {
    const { WebSocketServer } = await ws();
    if (socket.destroyed || !admit()) return;
    this.#server ??= new WebSocketServer(this.#options);
    this.#server.handleUpgrade(req, socket, head, accept);
  }

  /** The WebSockets open now. */
  get clients(): Iterable<WebSocket> {
    return this.#server?.clients ?? [];
  }

  close(): void {
    this.#server?.close();
  }
}
