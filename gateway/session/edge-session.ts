/**
 * One RTMP client of the edge, over TCP or an RTMPT tunnel. The edge terminates RTMP (handshake, chunking, acknowledgements,
 * pings: RtmpConnection) and carries everything else over the link as Message frames keyed by the
 * connection's id; the origin runs the client's session. The session remembers just enough to
 * survive a link loss: a client that only plays is kept, told its streams stopped, and replayed to
 * the next origin (connect, the same createStreams so stream ids match, its plays); any other
 * client is told NetConnection.Connect.Closed and closed, since what it had (a publish, shared
 * objects, a call in flight) cannot be carried over transparently. A client that connects while
 * the link is down is held (for connectHoldMs, at most maxHeldMessages of its messages) until it is back.
 */
import { EventEmitter, once } from 'node:events';
import type { AmfObject } from '#protocol/amf/types.ts';
import { decodeCommand, encodeCommand, type RtmpCommand } from '#protocol/rtmp/command.ts';
import { ChunkStreamId, MessageType, retainedMessage, type RtmpMessage } from '#protocol/rtmp/message.ts';
import { LinkFrameKind, type LinkFrame } from '#protocol/link/link-frame.ts';
import type { RtmpConnection, RtmpSocket } from '#common/rtmp-connection.ts';
import type { EdgeClientSession } from './session-registry.ts';
import { countHeldConnect } from '../edge-metrics.ts';

/** Where the session's frames go: the origin link (false while it is down). */
export interface LinkSender {
  send(frame: LinkFrame): boolean;
}

export interface EdgeSessionEvents {
  /** The session is ending: nothing more is written to the client (its relay players must stop). */
  closing: [];
  close: [];
}

/** Chunk stream a message from the origin is written on, by message type. */
function chunkStreamFor(type: number): number {
  switch (type) {
    case MessageType.Audio: return ChunkStreamId.Audio;
    case MessageType.Video: return ChunkStreamId.Video;
    case MessageType.DataAmf0:
    case MessageType.DataAmf3: return ChunkStreamId.Data;
    case MessageType.UserControl: return ChunkStreamId.Control;
    default: return ChunkStreamId.Command;
  }
}

/** Protocol control the edge does itself for its client; the origin's would desynchronise chunking. */
const EDGE_CONTROL_TYPES = new Set<number>([
  MessageType.SetChunkSize, MessageType.Abort, MessageType.Acknowledgement, MessageType.WindowAckSize, MessageType.SetPeerBandwidth,
]);

function tryDecode(message: RtmpMessage): RtmpCommand | null {
  try {
    return decodeCommand(message);
  } catch {
    return null; // the origin answers malformed commands itself
  }
}

const CLOSE_GRACE_MS = 2000;

/** How a client that connects while the link is down is held (EdgeConfig). */
export interface ConnectHoldLimits {
  /** It waits this long for the link before Connect.Failed. */
  connectHoldMs: number;
  /** Messages kept meanwhile; one more closes it. */
  maxHeldMessages: number;
}

/** Commands that get no `_result` (stream commands, replies, notifications), whatever their transaction id. */
const UNANSWERED = new Set(['_result', '_error', 'onStatus', 'play', 'play2', 'publish', 'pause', 'seek', 'receiveAudio', 'receiveVideo',
  'closeStream', 'deleteStream', 'FCSubscribe', 'FCUnsubscribe']);

export class EdgeSession extends EventEmitter<EdgeSessionEvents> implements EdgeClientSession {
  readonly connection: RtmpConnection;
  /** A real RTMP client: counted, and the relay writes its streams to its connection. */
  readonly internal = false;
  readonly #socket: RtmpSocket;
  readonly #link: LinkSender;
  /** How the client reached the edge, for the origin's SessionOpen: 'rtmp', 'rtmps' or 'rtmpt'. */
  readonly protocol: string;
  /** SessionOpen was sent on the current link connection. */
  #open = false;
  #connect: RtmpMessage | null = null;
  #amf3 = false;
  readonly #createStreams: RtmpMessage[] = [];
  /** The play command of each NetStream that plays (replayed after a link loss). */
  readonly #plays = new Map<number, RtmpMessage>();
  readonly #publishing = new Set<number>();
  #usesSharedObjects = false;
  /** Transaction ids of the client's calls still awaiting `_result`/`_error`. */
  readonly #pendingCalls = new Set<number>();
  /** Transactions replayed to a new origin: the client had their answers already. */
  readonly #swallow = new Set<number>();
  /** Kept through a link loss, waiting for the link to replay this session. */
  #waiting = false;
  /** Connected while the link was down: what the client sent since, until the link is up. */
  #held: RtmpMessage[] | null = null;
  #holdTimer: NodeJS.Timeout | null = null;
  readonly #hold: ConnectHoldLimits;
  #closing = false;
  #closed = false;

  constructor(connection: RtmpConnection, socket: RtmpSocket, link: LinkSender, protocol: string, hold: ConnectHoldLimits) {
    super();
    this.#hold = hold;
    this.connection = connection;
    this.#socket = socket;
    this.#link = link;
    this.protocol = protocol;
    connection.on('message', (message) => this.#onClientMessage(message));
    connection.on('close', () => this.#onClose());
  }

  get id(): number { return this.connection.id; }
  get log() { return this.connection.log; }
  get mediaOutput(): RtmpConnection { return this.connection; }
  get playingStreams(): number { return this.#plays.size; }

  /** A message of this session from the origin. */
  deliver(message: RtmpMessage): void {
    if (this.#closing || EDGE_CONTROL_TYPES.has(message.type)) return;
    if (message.type === MessageType.CommandAmf0 || message.type === MessageType.CommandAmf3) {
      const command = tryDecode(message);
      if (command && (command.name === '_result' || command.name === '_error')) {
        if (this.#swallow.delete(command.transactionId)) return;
        this.#pendingCalls.delete(command.transactionId);
      }
    }
    this.connection.send(message, chunkStreamFor(message.type));
  }

  /** The origin ended the session: the client gets what was already sent, then the connection closes. */
  closeFromOrigin(reason: string): void {
    this.#open = false;
    this.log.info('session closed by the origin', { reason: reason || undefined });
    this.#closeAfterWrites();
  }

  /** The link dropped: keep a client that only plays, tell everyone else the connection is gone. */
  linkLost(): void {
    if (this.#closing || this.#held) return;
    this.#open = false;
    this.#swallow.clear();
    if (!this.#connect) return this.#closeAfterWrites();
    const replayable = this.#publishing.size === 0 && !this.#usesSharedObjects && this.#pendingCalls.size === 0;
    if (replayable) {
      this.#waiting = true;
      for (const streamId of this.#plays.keys()) this.#status(streamId, 'NetStream.Play.UnpublishNotify', 'The stream stopped: the edge lost its origin and is reconnecting.');
      this.log.info('link lost: player kept, will resume on reconnect', { streams: this.#plays.size });
      return;
    }
    this.#status(0, 'NetConnection.Connect.Closed', 'The edge lost its link to the origin.');
    this.log.info('link lost: session closed', { publishing: this.#publishing.size, sharedObjects: this.#usesSharedObjects, pendingCalls: this.#pendingCalls.size });
    this.#closeAfterWrites();
  }

  /** The link is up again: replay a kept session so the new origin knows it as before. */
  linkUp(): void {
    if (this.#held && !this.#closing) return this.#release(this.#held);
    if (!this.#waiting || this.#closing) return;
    this.#waiting = false;
    if (!this.#openSession()) return;
    for (const message of [this.#connect!, ...this.#createStreams]) {
      const command = tryDecode(message);
      if (command) this.#swallow.add(command.transactionId);
      this.#forward(message);
    }
    for (const streamId of [...this.#plays.keys()].sort((a, b) => a - b)) this.#forward(this.#plays.get(streamId)!);
    this.log.info('session replayed to the origin', { streams: this.#createStreams.length, plays: this.#plays.size });
  }

  close(reason: string | null): void {
    this.connection.close(reason);
  }

  /** The edge is stopping: a connected client is told NetConnection.Connect.AppShutdown (as FMS and Red5 say it), then its connection ends. */
  shutdown(): Promise<void> {
    const closed = this.#closed ? Promise.resolve() : once(this, 'close').then(() => undefined);
    if (!this.#closing) {
      if (this.#connect) this.#status(0, 'NetConnection.Connect.AppShutdown', 'The edge is shutting down.', 'error');
      this.#closeAfterWrites();
    }
    return closed;
  }

  #onClientMessage(message: RtmpMessage): void {
    if (this.#closing) return;
    if (message.type === MessageType.SharedObjectAmf0 || message.type === MessageType.SharedObjectAmf3) this.#usesSharedObjects = true;
    const command = message.type === MessageType.CommandAmf0 || message.type === MessageType.CommandAmf3 ? tryDecode(message) : null;
    if (command?.name === 'connect' && !this.#connect) return this.#onConnect(message, command);
    if (!this.#connect) {
      this.close(`'${command?.name ?? `message type ${message.type}`}' before connect`);
      return;
    }
    if (command) this.#track(command, message);
    if (this.#held) {
      if (this.#held.length >= this.#hold.maxHeldMessages) this.close(`more than ${this.#hold.maxHeldMessages} messages while waiting for the origin link`);
      else this.#held.push(retainedMessage(message));
      return;
    }
    if (this.#waiting) {
      // Link down: a call cannot be answered by anyone; other messages have nowhere to go.
      if (command && command.transactionId !== 0 && message.streamId === 0 && !UNANSWERED.has(command.name)) {
        this.#pendingCalls.delete(command.transactionId);
        this.connection.send(encodeCommand({ name: '_error', transactionId: command.transactionId, commandObject: null,
          args: [{ level: 'error', code: 'NetConnection.Call.Failed', description: 'The edge is reconnecting to the origin.' }] }, message.streamId, this.#amf3), ChunkStreamId.Command);
      }
      return;
    }
    this.#forward(message);
  }

  #onConnect(message: RtmpMessage, command: RtmpCommand): void {
    this.#connect = retainedMessage(message);
    this.#amf3 = ((command.commandObject ?? {}) as AmfObject).objectEncoding === 3;
    // The edge does the chunking for its client, so the server parameters are the edge's.
    this.connection.sendServerParameters();
    this.#pendingCalls.add(command.transactionId);
    if (this.#openSession()) return this.#forward(message);
    // The link is down (an origin restarting): hold the client a while rather than refuse it at once.
    this.#held = [];
    this.#holdTimer = setTimeout(() => {
      this.#held = null;
      this.connection.send(encodeCommand({ name: '_error', transactionId: command.transactionId, commandObject: null,
        args: [{ level: 'error', code: 'NetConnection.Connect.Failed', description: 'The edge has no link to the origin; try again shortly.' }] }, 0, this.#amf3), ChunkStreamId.Command);
      this.log.warn('connect refused: no origin link', { waitedMs: this.#hold.connectHoldMs });
      this.#closeAfterWrites();
    }, this.#hold.connectHoldMs);
    this.#holdTimer.unref();
    this.log.info('connect held until the origin link is up');
    countHeldConnect();
  }

  /** A client held at connect: the link is up, so its connect and what followed go to the origin now. */
  #release(held: RtmpMessage[]): void {
    if (!this.#openSession()) return;
    if (this.#holdTimer) clearTimeout(this.#holdTimer);
    this.#held = null;
    for (const message of [this.#connect!, ...held]) this.#forward(message);
    this.log.info('held connect sent to the origin', { messages: held.length });
  }

  /** What a link loss must know: calls in flight, streams created, played and published. */
  #track(command: RtmpCommand, message: RtmpMessage): void {
    const tx = command.transactionId;
    // Only calls the origin answers are in flight: ffmpeg and librtmp number play, publish and
    // deleteStream too, but nothing ever answers those with _result.
    if (tx !== 0 && message.streamId === 0 && !UNANSWERED.has(command.name)) this.#pendingCalls.add(tx);
    switch (command.name) {
      case 'createStream':
        this.#createStreams.push(retainedMessage(message));
        return;
      case 'play':
        if (message.streamId === 0) return;
        if (command.args[0] === false || command.args[0] === '') this.#plays.delete(message.streamId);
        else this.#plays.set(message.streamId, retainedMessage(message));
        this.#publishing.delete(message.streamId);
        return;
      case 'publish':
        if (message.streamId === 0) return;
        this.#publishing.add(message.streamId);
        this.#plays.delete(message.streamId);
        return;
      case 'closeStream':
      case 'deleteStream': {
        const id = message.streamId !== 0 ? message.streamId : command.args[0];
        if (typeof id !== 'number') return;
        this.#plays.delete(id);
        this.#publishing.delete(id);
        return;
      }
    }
  }

  #openSession(): boolean {
    this.#open = this.#link.send({
      kind: LinkFrameKind.SessionOpen, sessionId: this.id,
      remoteAddress: this.connection.remoteAddress, remotePort: this.connection.remotePort, protocol: this.protocol,
    });
    return this.#open;
  }

  #forward(message: RtmpMessage): void {
    if (!this.#open) return;
    this.#link.send({ kind: LinkFrameKind.Message, sessionId: this.id, type: message.type, timestamp: message.timestamp, streamId: message.streamId, payload: message.payload });
  }

  #status(streamId: number, code: string, description: string, level: 'status' | 'error' = 'status'): void {
    this.connection.send(encodeCommand({ name: 'onStatus', transactionId: 0, commandObject: null,
      args: [{ level, code, description }] }, streamId, this.#amf3), ChunkStreamId.Command);
  }

  /** Ends the client's connection after what was written reached it (a last status or reply). */
  #closeAfterWrites(): void {
    if (this.#closing) return;
    this.#closing = true;
    this.emit('closing');
    this.connection.flush();
    this.#socket.end();
    setTimeout(() => this.connection.close(null), CLOSE_GRACE_MS).unref();
  }

  #onClose(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#closing = true;
    if (this.#holdTimer) clearTimeout(this.#holdTimer);
    if (this.#open) this.#link.send({ kind: LinkFrameKind.SessionClose, sessionId: this.id, reason: 'client disconnected' });
    this.#open = false;
    this.emit('close');
  }
}
