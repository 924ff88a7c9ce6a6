/**
 * Bytes received from and sent to a server's own RTMP connections (the origin's direct clients, the
 * edge's RTMP, RTMPS and RTMPT clients), while they are open and after they closed, for metrics.
 * Each connection already counts its bytes; this only keeps the closed ones' totals.
 */
import type { RtmpConnection } from '../rtmp-connection.ts';
import { RunningTotals } from './running-totals.ts';

export class ConnectionTotals {
  readonly #totals = new RunningTotals<RtmpConnection, 'bytesReceived' | 'bytesSent'>(['bytesReceived', 'bytesSent'], (connection) => connection);

  /** Connections open now. */
  get live(): number { return this.#totals.live; }

  track(connection: RtmpConnection): void {
    this.#totals.open(connection);
    connection.once('close', () => this.#totals.close(connection));
  }

  totals(): { bytesReceived: number; bytesSent: number } {
    return this.#totals.totals();
  }
}
