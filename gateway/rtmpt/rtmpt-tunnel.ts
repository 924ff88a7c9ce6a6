/**
 * One RTMPT session's byte stream, standing where a TCP socket stands for an RTMP client
 * (`RtmpSocket`), so an RTMPT client is an ordinary EdgeSession over an ordinary RtmpConnection.
 * What the connection writes waits in a queue until the client's next HTTP request takes it (each
 * reply: a polling-delay byte, then queued bytes); what the client POSTs comes out as `data`.
 * `writableLength` is that queue, so the relay's slow-player logic drops a slow poller to
 * keyframes like any player; past `maxQueuedBytes` (a client that stopped polling while control
 * kept coming) the session is closed. The tunnel also keeps the session's request state: the last
 * sequence number, when it was last polled, and the order its requests are handled in.
 */
import { EventEmitter } from 'node:events';
import type { Logger } from '#common/logger.ts';
import type { RtmpSocket } from '#common/rtmp-connection.ts';

export interface RtmptTunnelEvents {
  /** Bytes the client POSTed. */
  data: [data: Buffer];
  /** Never emitted (the client ends a session with /close, which destroys it); declared as RtmpSocket listens for them. */
  end: [];
  error: [error: Error];
  close: [];
}

export interface RtmptTunnelLimits {
  /** Bytes queued for the client's polls past which the session is closed. */
  maxQueuedBytes: number;
  /** At most this many queued bytes go out in one reply. */
  maxReplyBytes: number;
}

/** As Red5: the delay grows after this many empty replies in a row... */
const EMPTY_REPLIES_BEFORE_BACKOFF = 10;
/** ...doubling up to this (the byte sent is the delay + 1, so 0x01..0x21). */
const MAX_POLLING_DELAY = 32;
/** The reply byte that tells the client the server closed the session. */
const CLOSED_MARKER = Buffer.of(0);

export class RtmptTunnel extends EventEmitter<RtmptTunnelEvents> implements RtmpSocket {
  /** The session id in the client's URLs (/send/ID/SEQ). */
  readonly id: string;
  readonly remoteAddress: string;
  readonly remotePort: number;
  readonly log: Logger;
  readonly #limits: RtmptTunnelLimits;
  #queue: Buffer[] = [];
  #queuedBytes = 0;
  #bytesWritten = 0;
  #pollingDelay = 0;
  #emptyReplies = 0;
  #lastSequence = -1;
  #lastRequestAt = Date.now();
  /** The previous request's handling: requests of a session are handled in the order they came. */
  #previousRequest: Promise<void> = Promise.resolve();
  #ended = false;
  #overflowed = false;
  #destroyed = false;

  constructor(id: string, peer: { address: string; port: number }, limits: RtmptTunnelLimits, log: Logger) {
    super();
    this.id = id;
    this.remoteAddress = peer.address;
    this.remotePort = peer.port;
    this.#limits = limits;
    this.log = log.with({ tunnel: id, peer: `${peer.address}:${peer.port}` });
  }

  get writableLength(): number { return this.#queuedBytes; }
  get bytesWritten(): number { return this.#bytesWritten; }
  get destroyed(): boolean { return this.#destroyed; }
  /** Closed because its outgoing queue passed rtmptMaxQueuedBytes. */
  get overflowed(): boolean { return this.#overflowed; }
  /** Milliseconds since the client's last request. */
  get idleMs(): number { return Date.now() - this.#lastRequestAt; }

  /** Queues bytes for the client's next poll; past the limit the session is closed instead. */
  write(data: Buffer): boolean {
    if (this.#destroyed || this.#ended || this.#overflowed) return false;
    if (this.#queuedBytes + data.length > this.#limits.maxQueuedBytes) {
      this.#overflowed = true;
      this.log.warn('RTMPT outgoing queue over the limit (the client does not poll fast enough): closing the session',
        { peer: this.remoteAddress, queuedBytes: this.#queuedBytes, limit: 'rtmptMaxQueuedBytes', rtmptMaxQueuedBytes: this.#limits.maxQueuedBytes });
      // Not from inside the writer's call (a relay fanning out, a session replying): close on the next turn.
      setImmediate(() => this.destroy());
      return false;
    }
    this.#queue.push(data);
    this.#queuedBytes += data.length;
    return true;
  }

  /** Nothing to merge: bytes wait for a poll anyway. */
  cork(): void {}
  uncork(): void {}

  /** No more writes; the queue still goes out on the next polls, then the client is told the session closed. */
  end(): void {
    this.#ended = true;
  }

  /** Ends the session at once; its queue is released. */
  destroy(): void {
    if (this.#destroyed) return;
    this.#destroyed = true;
    this.#queue = [];
    this.#queuedBytes = 0;
    this.emit('close');
  }

  /**
   * A request of this session arrived with sequence number `sequence`: true when it is above the
   * last one (as Flash and ffmpeg count), which also counts as a poll for the idle timeout.
   */
  acceptRequest(sequence: number): boolean {
    if (sequence <= this.#lastSequence) return false;
    this.#lastSequence = sequence;
    this.#lastRequestAt = Date.now();
    return true;
  }

  /** Runs `handle` after every earlier request of this session was handled. */
  inOrder(handle: () => Promise<void>): Promise<void> {
    const run = this.#previousRequest.then(handle);
    this.#previousRequest = run.catch(() => undefined);
    return run;
  }

  /** Bytes the client POSTed. */
  receive(data: Buffer): void {
    if (!this.#destroyed && data.length > 0) this.emit('data', data);
  }

  /**
   * The body of the reply to a send or idle request: the polling delay (reset when there is data,
   * growing while there is none), then at most `maxReplyBytes` of the queue. Once the session has
   * ended and its queue is empty, a single 0 byte (the session is over) and the tunnel is destroyed.
   */
  reply(): Buffer {
    if (this.#overflowed || (this.#ended && this.#queuedBytes === 0)) {
      this.destroy();
      return CLOSED_MARKER;
    }
    if (this.#queuedBytes > 0) {
      this.#pollingDelay = 0;
      this.#emptyReplies = 0;
    } else if (++this.#emptyReplies > EMPTY_REPLIES_BEFORE_BACKOFF) {
      this.#pollingDelay = Math.min(MAX_POLLING_DELAY, Math.max(1, this.#pollingDelay) * 2);
    }
    const parts = [Buffer.of(this.#pollingDelay + 1), ...this.#take(this.#limits.maxReplyBytes)];
    return parts.length === 1 ? parts[0]! : Buffer.concat(parts);
  }

  /** Takes up to `maxBytes` from the front of the queue (splitting a buffer if it must). */
  #take(maxBytes: number): Buffer[] {
    const taken: Buffer[] = [];
    let room = maxBytes;
    let whole = 0;
    for (; whole < this.#queue.length && room > 0; whole++) {
      const head = this.#queue[whole]!;
      if (head.length > room) {
        taken.push(head.subarray(0, room));
        this.#queue[whole] = head.subarray(room);
        room = 0;
        break;
      }
      taken.push(head);
      room -= head.length;
    }
    this.#queue.splice(0, whole);
    const bytes = maxBytes - room;
    this.#queuedBytes -= bytes;
    this.#bytesWritten += bytes;
    return taken;
  }
}
