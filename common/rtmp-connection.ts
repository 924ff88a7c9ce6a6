/**
 * One RTMP connection over a socket: handshake, chunk stream in both directions, and the
 * protocol-control traffic (chunk size, acknowledgements, window, ping) that no application
 * cares about. Everything else comes out as `message` events. Used by the origin for direct
 * clients and by the edge for its clients (over TCP, or over an RTMPT tunnel: `RtmpSocket`).
 * Bad bytes close this connection only, with the codec's reason logged.
 */
import { EventEmitter } from 'node:events';
import { ProtocolError } from '#protocol/errors.ts';
import { ChunkDecoder, type ChunkDecoderLimits } from '#protocol/rtmp/chunk-decoder.ts';
import { ChunkEncoder } from '#protocol/rtmp/chunk-encoder.ts';
import {
  acknowledgementMessage, parseUint32Control, parseUserControl, pingRequestMessage, pingResponseMessage,
  setChunkSizeMessage, setPeerBandwidthMessage, windowAckSizeMessage,
} from '#protocol/rtmp/control.ts';
import { ServerHandshake } from '#protocol/rtmp/handshake.ts';
import { commandName } from '#protocol/rtmp/command.ts';
import { BandwidthLimit, ChunkStreamId, MessageType, UserControlEvent, type RtmpMessage } from '#protocol/rtmp/message.ts';
import { Logger } from './logger.ts';
import { LogThrottle } from './log-throttle.ts';
import { closeReasonCode } from './metrics/close-reasons.ts';
import { sharedWriteBatcher, type Flushable, type WriteBatcher } from './write-batcher.ts';
import { directWriter, type DirectWriter } from './direct-write.ts';
import { sharedInterval, type SharedInterval } from './shared-interval.ts';
import type { MediaPacket } from './media/media-packet.ts';
import type { MediaBatch } from './media/media-batch.ts';
import { nextSessionId, type SessionTransport, type SessionTransportEvents } from './session-transport.ts';

export interface RtmpConnectionOptions {
  /** The handshake must complete within this time. */
  handshakeTimeoutMs: number;
  /** After the handshake the peer must send `connect` within this time, whatever else it sends. */
  connectTimeoutMs: number;
  /** Called once when the handshake completes (the address's lease, common/address-limits.ts, stops counting it as a handshake). */
  onHandshakeDone?: (() => void) | undefined;
  /** A peer that sends nothing (not even a ping response or acknowledgement) for this long is closed. */
  idleTimeoutMs: number;
  /** How often the server pings the peer, which also measures round-trip time. */
  pingIntervalMs: number;
  /** Chunk size the server uses for what it sends. */
  chunkSize: number;
  /** Window acknowledgement size announced to the peer (and the peer bandwidth we ask for). */
  windowAckSize: number;
  decoderLimits: Partial<ChunkDecoderLimits>;
  /**
   * Media written with `sendEncoded` is held at most this long and merged into one write
   * (0 writes each packet at once). Trades a few milliseconds of latency for far fewer system calls.
   */
  mediaFlushMs: number;
  /** Pending media beyond this many bytes is written at once, whatever the interval. */
  mediaFlushBytes: number;
}

/**
 * What the connection needs of the byte stream under it. A net.Socket is one; the edge's RTMPT
 * tunnel (gateway/rtmpt/rtmpt-tunnel.ts) is another, whose writes wait in a queue for the client's
 * next HTTP poll.
 */
export interface RtmpSocket {
  readonly remoteAddress?: string | undefined;
  readonly remotePort?: number | undefined;
  /** Bytes written but not yet taken by the peer (a slow player is judged by this). */
  readonly writableLength: number;
  readonly bytesWritten: number;
  write(data: Buffer): unknown;
  cork(): void;
  uncork(): void;
  /** No more writes; what was written still reaches the peer. */
  end(): unknown;
  destroy(): unknown;
  setNoDelay?(noDelay: boolean): unknown;
  on(event: 'data', listener: (data: Buffer) => void): unknown;
  on(event: 'end', listener: () => void): unknown;
  on(event: 'close', listener: () => void): unknown;
  on(event: 'error', listener: (error: NodeJS.ErrnoException) => void): unknown;
}

export const defaultConnectionOptions: RtmpConnectionOptions = {
  handshakeTimeoutMs: 10_000,
  connectTimeoutMs: 10_000,
  idleTimeoutMs: 60_000,
  pingIntervalMs: 15_000,
  chunkSize: 4096,
  // nginx-rtmp's ack_window. librtmp (rtmpdump) acknowledges every tenth of the peer bandwidth we
  // ask for: at 2.5 MB a 1 Mbit/s player sent one every 2 s, 100 reads a second for 200 players.
  windowAckSize: 5_000_000,
  decoderLimits: {},
  mediaFlushMs: 0,
  mediaFlushBytes: 64 * 1024,
};


/** A client can make the server close it as often as it likes: the lines are rate-limited per address and reason. */
const closeWarnings = new LogThrottle(new Logger('rtmp'));

export class RtmpConnection extends EventEmitter<SessionTransportEvents> implements Flushable, SessionTransport {
  readonly id = nextSessionId();
  /** A socket of our own: the client reached this server directly. */
  readonly via = null;
  /** Media goes out through `sendMedia`, encoded once and shared. */
  readonly liveRelay = null;
  readonly remoteAddress: string;
  readonly remotePort: number;
  readonly log: Logger;
  readonly #socket: RtmpSocket;
  /** Writes to the descriptor itself while nothing is queued (common/direct-write.ts); null for TLS and RTMPT. */
  readonly #direct: DirectWriter | null;
  readonly #options: RtmpConnectionOptions;
  #handshake: ServerHandshake | null = new ServerHandshake();
  readonly #decoder: ChunkDecoder;
  readonly #encoder = new ChunkEncoder();
  #peerWindowAckSize = 0;
  #lastAckSent = 0;
  #lastReceivedAt = Date.now();
  /** When the handshake completed (0 before); the connect deadline counts from here. */
  #handshakeDoneAt = 0;
  /** The peer sent `connect`: the connect deadline no longer applies. */
  #connectSeen = false;
  #rttMs: number | null = null;
  /** This connection's deadlines and pings, checked on the process's shared one-second beat. */
  readonly #check: () => void;
  readonly #ticker: SharedInterval;
  #closed = false;
  readonly #batcher: WriteBatcher | null;
  #pending: Buffer[] = [];
  #pendingBytes = 0;

  constructor(socket: RtmpSocket, options: Partial<RtmpConnectionOptions>, log: Logger) {
    super();
    this.#socket = socket;
    this.#direct = directWriter(socket);
    this.#options = { ...defaultConnectionOptions, ...options };
    this.remoteAddress = socket.remoteAddress ?? 'unknown';
    this.remotePort = socket.remotePort ?? 0;
    // Every line of this client's life carries its session id and address.
    this.log = log.with({ session: `conn#${this.id}`, peer: `${this.remoteAddress}:${this.remotePort}` });
    this.#decoder = new ChunkDecoder(this.#options.decoderLimits);
    this.#batcher = this.#options.mediaFlushMs > 0 ? sharedWriteBatcher(this.#options.mediaFlushMs) : null;
    socket.setNoDelay?.(true);
    socket.on('data', (data) => this.#onData(data));
    socket.on('end', () => this.close(null));
    socket.on('error', (error: NodeJS.ErrnoException) => this.#onSocketError(error));
    socket.on('close', () => this.close(null));
    const started = Date.now();
    this.#tickMs = Math.min(1000, this.#options.pingIntervalMs);
    this.#check = () => this.#tick(started);
    this.#ticker = sharedInterval(this.#tickMs);
    this.#ticker.add(this.#check);
  }

  get closed(): boolean { return this.#closed; }
  /** Bytes written (or held for merging) but not yet taken by the kernel: how far this peer lags behind. */
  get backlogBytes(): number { return this.#socket.writableLength + this.#pendingBytes; }
  get chunkSize(): number { return this.#encoder.chunkSize; }
  get bytesReceived(): number { return this.#decoder.bytesReceived; }
  get bytesSent(): number { return this.#socket.bytesWritten + (this.#direct?.bytesDirect ?? 0); }
  /** Last measured ping round trip, null until the first ping response. */
  get rttMs(): number | null { return this.#rttMs; }

  /** Sends the window, bandwidth and chunk size the server works with (done at connect). */
  sendServerParameters(): void {
    this.send(windowAckSizeMessage(this.#options.windowAckSize), ChunkStreamId.Control);
    this.send(setPeerBandwidthMessage(this.#options.windowAckSize, BandwidthLimit.Dynamic), ChunkStreamId.Control);
    this.send(setChunkSizeMessage(this.#options.chunkSize), ChunkStreamId.Control);
    this.#encoder.chunkSize = this.#options.chunkSize;
  }

  send(message: RtmpMessage, chunkStreamId: number): void {
    if (this.#closed) return;
    this.flush();
    this.#write(this.#encoder.encode(message, chunkStreamId));
  }

  /** A live packet on this client's stream `streamId`: the chunks every player with this chunk size shares. */
  sendMedia(packet: MediaPacket, streamId: number): void {
    this.sendEncoded(packet.chunks(streamId, this.#encoder.chunkSize), packet.chunkStreamId);
  }

  /** Merged media writes (`mediaFlushMs` > 0): a live stream hands this connection its packets a batch at a time. */
  get mergesMediaWrites(): boolean { return this.#batcher !== null; }

  /** A live stream's batch on this client's stream `streamId`: its track-0 chunks, joined once for every player, in one write. */
  sendBatch(batch: MediaBatch, streamId: number): void {
    if (this.#closed) return;
    this.flush();
    for (const chunkStreamId of batch.chunkStreamIds) this.#encoder.forget(chunkStreamId);
    this.#write(batch.mainTrackChunks(streamId, this.#encoder.chunkSize));
  }

  /** Writes chunks encoded once for many connections (same chunk size, type-0 header on `chunkStreamId`). */
  sendEncoded(chunks: Buffer, chunkStreamId: number): void {
    if (this.#closed) return;
    this.#encoder.forget(chunkStreamId);
    if (!this.#batcher) {
      this.#write(chunks);
      return;
    }
    this.#pending.push(chunks);
    this.#pendingBytes += chunks.length;
    if (this.#pendingBytes >= this.#options.mediaFlushBytes) this.flush();
    else if (this.#pending.length === 1) this.#batcher.schedule(this);
  }

  /** Writes held media now, in one write. */
  flush(): void {
    if (this.#pending.length === 0) return;
    const pending = this.#pending;
    this.#pending = [];
    this.#pendingBytes = 0;
    this.#batcher!.cancel(this);
    if (this.#closed) return;
    this.#write(pending.length === 1 ? pending[0]! : Buffer.concat(pending));
  }

  #write(data: Buffer): void {
    if (this.#direct) this.#direct.write(data);
    else this.#socket.write(data);
  }

  /** Closes the connection; `reason` (null for a normal close) is logged and passed to `close` listeners. */
  close(reason: string | null): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#ticker.delete(this.#check);
    this.#batcher?.cancel(this);
    this.#pending = [];
    this.#pendingBytes = 0;
    if (reason) closeWarnings.warn(`${this.remoteAddress} ${closeReasonCode(reason)}`, 'closing connection', { peer: `${this.remoteAddress}:${this.remotePort}`, reason }, this.log);
    else this.log.debug('connection closed', { peer: `${this.remoteAddress}:${this.remotePort}` });
    this.#socket.destroy();
    this.emit('close', reason);
  }

  #onData(data: Buffer): void {
    if (this.#closed) return;
    this.#lastReceivedAt = Date.now();
    try {
      if (this.#handshake) {
        const step = this.#handshake.push(data);
        if (step.send) this.#write(step.send);
        if (!step.done) return;
        this.log.debug('handshake complete', { scheme: this.#handshake.scheme });
        this.#handshake = null;
        this.#handshakeDoneAt = Date.now();
        this.#options.onHandshakeDone?.();
        data = step.rest;
        if (data.length === 0) return;
      }
      for (const message of this.#decoder.push(data)) {
        if (this.#closed) return;
        this.#handleMessage(message);
      }
      this.#acknowledge();
    } catch (error) {
      if (error instanceof ProtocolError) {
        this.close(`${error.code}: ${error.message}`);
      } else {
        this.log.error('internal error while handling client data', { error: (error as Error).stack ?? String(error) });
        this.close('internal error');
      }
    }
  }

  #onSocketError(error: NodeJS.ErrnoException): void {
    // A peer that vanishes mid-write (killed, network gone) is an ordinary disconnect, not a fault.
    if (error.code === 'ECONNRESET' || error.code === 'EPIPE') this.close(null);
    else this.close(`socket error: ${error.message}`);
  }

  #handleMessage(message: RtmpMessage): void {
    switch (message.type) {
      case MessageType.SetChunkSize:
      case MessageType.Abort:
        return; // applied by the decoder itself
      case MessageType.Acknowledgement:
      case MessageType.SetPeerBandwidth:
        return; // we do not throttle on the peer's acknowledgements; the socket backlog is our signal
      case MessageType.WindowAckSize:
        this.#peerWindowAckSize = parseUint32Control(message.payload);
        return;
      case MessageType.UserControl: {
        const event = parseUserControl(message.payload);
        if (event.event === UserControlEvent.PingRequest) {
          this.send(pingResponseMessage(event.timestamp ?? 0), ChunkStreamId.Control);
          return;
        }
        if (event.event === UserControlEvent.PingResponse) {
          this.#rttMs = ((Date.now() >>> 0) - (event.timestamp ?? 0)) >>> 0;
          return;
        }
        break;
      }
    }
    if (!this.#connectSeen && commandName(message) === 'connect') this.#connectSeen = true;
    this.emit('message', message);
  }

  #acknowledge(): void {
    const received = this.#decoder.bytesReceived;
    if (this.#peerWindowAckSize > 0 && received - this.#lastAckSent >= this.#peerWindowAckSize) {
      this.#lastAckSent = received;
      this.send(acknowledgementMessage(received >>> 0), ChunkStreamId.Control);
    }
  }

  #lastPingAt = 0;
  #tickMs = 1000;
  #tick(started: number): void {
    const now = Date.now();
    if (this.#handshake) {
      if (now - started > this.#options.handshakeTimeoutMs) this.close('handshake timeout');
      return;
    }
    if (!this.#connectSeen && now - this.#handshakeDoneAt > this.#options.connectTimeoutMs) {
      this.close(`connect timeout: no connect within ${this.#options.connectTimeoutMs} ms of the handshake`);
      return;
    }
    if (now - this.#lastReceivedAt > this.#options.idleTimeoutMs) {
      this.close(`idle for ${Math.round((now - this.#lastReceivedAt) / 1000)} s`);
      return;
    }
    // Half a tick of slack: a timer may fire a millisecond early by Date.now(), and without the
    // slack a ping interval equal to the tick would skip every other ping.
    if (now - this.#lastPingAt >= this.#options.pingIntervalMs - this.#tickMs / 2) {
      this.#lastPingAt = now;
      this.send(pingRequestMessage(now >>> 0), ChunkStreamId.Control);
    }
  }
}
