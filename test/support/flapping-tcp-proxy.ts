/**
 * A TCP relay on loopback between an edge and its origin's link port that the fault tests and
 * bench/faults.ts cut and restore on purpose: `cut()` resets every relayed connection and refuses
 * new ones (reset at once) until `restore()`, as a network path that goes down and comes back
 * does to the edge. Bytes pass through untouched while it is up.
 */
import { connect, createServer, type Server, type Socket } from 'node:net';
import { once } from 'node:events';

export class FlappingTcpProxy {
  readonly #targetHost: string;
  readonly #targetPort: number;
  readonly #server: Server;
  readonly #pairs = new Set<[Socket, Socket]>();
  #up = true;
  /** Times the path was cut. */
  cuts = 0;

  constructor(targetHost: string, targetPort: number) {
    this.#targetHost = targetHost;
    this.#targetPort = targetPort;
    this.#server = createServer((socket) => this.#accept(socket));
  }

  /** Listens on 127.0.0.1 (a free port unless given); resolves with `HOST:PORT` to give the edge as its origin. */
  async listen(port = 0): Promise<string> {
    this.#server.listen(port, '127.0.0.1');
    await once(this.#server, 'listening');
    const address = this.#server.address();
    if (address === null || typeof address === 'string') throw new Error('the proxy has no TCP address');
    return `127.0.0.1:${address.port}`;
  }

  get up(): boolean { return this.#up; }

  /** Connections relayed right now. */
  get connections(): number { return this.#pairs.size; }

  /** The path goes down: every relayed connection is reset, new ones are reset as they come. */
  cut(): void {
    if (!this.#up) return;
    this.#up = false;
    this.cuts++;
    for (const [client, target] of this.#pairs) {
      client.resetAndDestroy();
      target.resetAndDestroy();
    }
    this.#pairs.clear();
  }

  /** The path is back: new connections are relayed again. */
  restore(): void {
    this.#up = true;
  }

  async close(): Promise<void> {
    this.cut();
    const closed = once(this.#server, 'close');
    this.#server.close();
    await closed;
  }

  #accept(client: Socket): void {
    if (!this.#up) {
      client.resetAndDestroy();
      return;
    }
    const target = connect({ host: this.#targetHost, port: this.#targetPort });
    const pair: [Socket, Socket] = [client, target];
    this.#pairs.add(pair);
    const drop = () => {
      this.#pairs.delete(pair);
      client.destroy();
      target.destroy();
    };
    client.setNoDelay(true);
    target.setNoDelay(true);
    client.pipe(target);
    target.pipe(client);
    for (const socket of pair) {
      socket.on('error', drop);
      socket.on('close', drop);
    }
  }
}
