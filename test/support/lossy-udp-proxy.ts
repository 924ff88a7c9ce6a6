/**
 * A UDP relay between a browser and one WebRTC port of the edge that loses packets on purpose, to
 * test loss repair: of the RTP packets of the payload types given, going in the direction given,
 * it drops every `dropEvery`-th, each sequence number once (the retransmission passes). It reads
 * only the RTP header, which SRTP leaves in the clear; ICE, DTLS and RTCP pass untouched. The
 * browser is pointed at it by rewriting the port of the edge's SDP answer (`rewriteAnswer`); the
 * edge must learn the browser only through it (the offer without candidates: OFFER_WITHOUT_CANDIDATES).
 */
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { once } from 'node:events';

/** For the page's window.rewriteOffer: the offer without the browser's candidates, so the edge reaches it only through the relay. */
export const OFFER_WITHOUT_CANDIDATES = (sdp: string): string => sdp.replace(/^a=candidate:.*\r?\n/gm, '');

export type LossDirection = 'to-edge' | 'to-browser';

export interface LossOptions {
  direction: LossDirection;
  /** RTP payload types to drop from (the video's, as the answer has it). */
  payloadTypes: number[];
  dropEvery: number;
}

/** True for an RTP (not RTCP, STUN or DTLS) packet of one of `payloadTypes`; its sequence number. */
function rtpSequenceNumber(data: Buffer, payloadTypes: readonly number[]): number | null {
  if (data.length < 12 || data[0]! >> 6 !== 2 || (data[1]! >= 192 && data[1]! <= 223)) return null;
  return payloadTypes.includes(data[1]! & 0x7f) ? data.readUInt16BE(2) : null;
}

export class LossyUdpProxy {
  /** Sequence numbers dropped. */
  readonly dropped = new Set<number>();
  readonly #socket: Socket;
  readonly #edgePort: number;
  readonly #options: LossOptions;
  #browser: RemoteInfo | null = null;
  #seen = 0;

  private constructor(socket: Socket, edgePort: number, options: LossOptions) {
    this.#socket = socket;
    this.#edgePort = edgePort;
    this.#options = options;
    socket.on('message', (data, from) => this.#relay(data, from));
  }

  /** A relay on 127.0.0.1 in front of the edge's 127.0.0.1:`edgePort`. */
  static async start(edgePort: number, options: LossOptions): Promise<LossyUdpProxy> {
    const socket = createSocket('udp4');
    socket.bind(0, '127.0.0.1');
    await once(socket, 'listening');
    // A test that fails before closing it must still end.
    socket.unref();
    return new LossyUdpProxy(socket, edgePort, options);
  }

  get port(): number { return this.#socket.address().port; }

  /** The edge's SDP answer with this relay's port for the edge's (one bundled transport). */
  static edgePortOf(answer: string): number {
    const match = /^a=candidate:\S+ 1 UDP \d+ 127\.0\.0\.1 (\d+) typ host/m.exec(answer);
    if (!match) throw new Error(`no 127.0.0.1 host candidate in the answer:\n${answer}`);
    return Number(match[1]);
  }

  rewriteAnswer(answer: string): string {
    const edgePort = String(this.#edgePort);
    return answer.replace(/^(m=\S+ )(\d+)/gm, (line, head, port) => (port === edgePort ? `${head}${this.port}` : line))
      .replace(/^(a=candidate:\S+ 1 UDP \d+ 127\.0\.0\.1 )(\d+)/gm, (line, head, port) => (port === edgePort ? `${head}${this.port}` : line));
  }

  close(): void {
    this.#socket.close();
  }

  #relay(data: Buffer, from: RemoteInfo): void {
    const fromEdge = from.port === this.#edgePort;
    if (!fromEdge) this.#browser = from;
    if (this.#drops(data, fromEdge ? 'to-browser' : 'to-edge')) return;
    if (fromEdge) {
      if (this.#browser) this.#socket.send(data, this.#browser.port, this.#browser.address);
    } else {
      this.#socket.send(data, this.#edgePort, '127.0.0.1');
    }
  }

  #drops(data: Buffer, direction: LossDirection): boolean {
    if (direction !== this.#options.direction) return false;
    const sequenceNumber = rtpSequenceNumber(data, this.#options.payloadTypes);
    if (sequenceNumber === null || this.dropped.has(sequenceNumber)) return false;
    if (++this.#seen % this.#options.dropEvery !== 0) return false;
    this.dropped.add(sequenceNumber);
    return true;
  }
}
