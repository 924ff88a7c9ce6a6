/**
 * A virtual RTMP client on the origin link: what an edge session that does not speak RTMP itself
 * (a browser over WebSocket, an FLV viewer, a transcoder's input, later WebRTC) uses to appear at
 * the origin like any RTMP client. It opens the session (SessionOpen with protocol, address and
 * port), sends connect/createStream/publish/play/calls with real transaction ids and settles their
 * promises from the origin's `_result`/`_error` (RtmpTransactions), reports onStatus per stream and
 * the server's calls as events (answered with `answer`/`fail`), and sends SessionClose on close.
 */
import { EventEmitter } from 'node:events';
import type { AmfObject, AmfValue } from '#protocol/amf/types.ts';
import { LinkFrameKind } from '#protocol/link/link-frame.ts';
import { decodeCommand, encodeCommand, type RtmpCommand } from '#protocol/rtmp/command.ts';
import { MessageType, type RtmpMessage } from '#protocol/rtmp/message.ts';
import { decodeSharedObject, sharedObjectMessage, type SharedObjectMessage } from '#protocol/rtmp/shared-object.ts';
import { RtmpCallError, RtmpTransactions } from '#common/rtmp-transactions.ts';
import type { Logger } from '#common/logger.ts';
import { countEdgeInternalError } from '../edge-metrics.ts';
import { requestToken } from '#common/request-token.ts';
import type { LinkSender } from './edge-session.ts';

export interface LinkClientOptions {
  /** The edge session this client speaks for (its id on the link). */
  sessionId: number;
  /** How the real client reached the edge, for the origin: 'ws', 'http-flv', 'ws-flv', 'transcoder', ... */
  protocol: string;
  remoteAddress: string;
  remotePort: number;
  log: Logger;
}

/** A call of the server on this client (NetConnection.client); transaction 0 wants no answer. */
export interface ServerCall {
  transactionId: number;
  streamId: number;
  method: string;
  args: AmfValue[];
}

export interface LinkClientEvents {
  /** onStatus on a NetStream, or on the NetConnection (stream 0). */
  status: [streamId: number, info: AmfObject];
  call: [call: ServerCall];
  sharedObject: [message: SharedObjectMessage];
}

/** Pending calls and stream starts fail with this when the session ends before they are answered. */
export class LinkClientClosedError extends Error {}

/** Which status starts a stream command's promise (an error-level status on the stream fails it). */
interface StreamStart {
  command: string;
  code: string;
  resolve: (info: AmfObject) => void;
  reject: (error: Error) => void;
}

/**
 * The tcUrl of a client that came in over HTTP: the URL it used on this edge, without the query
 * (which may carry a token); `scheme` is the request's ('http' or 'ws'), 's' added over TLS.
 */
export function requestTcUrl(req: { url?: string; headers: { host?: string }; socket: { localAddress?: string; localPort?: number; encrypted?: boolean } }, scheme: 'http' | 'ws'): string {
  const host = req.headers.host ?? `${req.socket.localAddress ?? 'localhost'}:${req.socket.localPort ?? 0}`;
  const path = (req.url ?? '/').split('?')[0]!;
  return `${scheme}${req.socket.encrypted ? 's' : ''}://${host}${path}`;
}

/**
 * Connect arguments of a client that came in over HTTP (WHIP, WHEP, HTTP/WS-FLV): its token, from
 * `Authorization: Bearer TOKEN` or `?token=`, as `[{ token }]` for the origin to authorize (the
 * edge never decides who may do what); none without one. With a token, `?mediaOf=NAME` goes along
 * (`[{ token, mediaOf }]`): a classroom member's page that plays over WS-FLV connects as a media
 * connection of the member it already is, not as a second member of that name (the classroom checks
 * the token is NAME's).
 */
export function requestConnectArgs(req: { url?: string; headers: { authorization?: string } }): AmfValue[] {
  const token = requestToken(req);
  const url = req.url ?? '';
  const mediaOf = token && url.includes('?') ? new URLSearchParams(url.slice(url.indexOf('?') + 1)).get('mediaOf') : null;
  return mediaOf ? [{ token: token!, mediaOf }] : connectArgsWith(token);
}

/** Connect arguments carrying `token` (`[{ token }]`), or none without one. */
export function connectArgsWith(token: string | null): AmfValue[] {
  return token ? [{ token }] : [];
}

export class LinkClient extends EventEmitter<LinkClientEvents> {
  readonly #link: LinkSender;
  readonly #options: LinkClientOptions;
  readonly #transactions = new RtmpTransactions();
  /** Server calls awaiting this client's answer, by transaction id. */
  readonly #serverCalls = new Set<number>();
  readonly #streamStarts = new Map<number, StreamStart>();
  /** SessionOpen was sent and the session has not ended. */
  #open = false;
  #ended = false;
  /** The code (`auth.*`) of the origin's first authorization refusal of this client, if any. */
  #accessDenied: string | null = null;

  constructor(link: LinkSender, options: LinkClientOptions) {
    super();
    this.#link = link;
    this.#options = options;
  }

  get sessionId(): number { return this.#options.sessionId; }
  get isOpen(): boolean { return this.#open; }
  /** Calls of this client still awaiting `_result`/`_error`. */
  get pendingCalls(): number { return this.#transactions.pendingCount; }
  /**
   * The `error` code (`auth.no_token`, `auth.expired`, ...) of the first authorization refusal the
   * origin sent this client (a rejected connect, a failed publish or play); null while none. An
   * HTTP route answers 401 or 403 from it instead of a generic failure.
   */
  get accessDenied(): string | null { return this.#accessDenied; }

  /** Opens the session at the origin; false when the link is down (or this client has ended). */
  open(): boolean {
    if (this.#ended) return false;
    const { sessionId, remoteAddress, remotePort, protocol } = this.#options;
    this.#open = this.#link.send({ kind: LinkFrameKind.SessionOpen, sessionId, remoteAddress, remotePort, protocol });
    return this.#open;
  }

  /**
   * NetConnection.connect; resolves with the status object of `_result` (NetConnection.Connect.Success).
   * `commandObject` must name the real tcUrl this client used; the rest defaults to a client without codecs.
   */
  async connect(app: string, connectArgs: AmfValue[], commandObject: AmfObject & { tcUrl: string }): Promise<AmfObject> {
    const properties: AmfObject = {
      app, flashVer: `classroom-gateway ${this.#options.protocol}`, fpad: false, capabilities: 15,
      audioCodecs: 0, videoCodecs: 0, videoFunction: 0, objectEncoding: 0, ...commandObject,
    };
    const [, info] = await this.#request('connect', properties, connectArgs);
    return (info ?? {}) as AmfObject;
  }

  /** NetConnection.call: resolves with the values after the command object of `_result`. */
  async call(method: string, ...args: AmfValue[]): Promise<AmfValue[]> {
    const [, ...values] = await this.#request(method, null, args);
    return values;
  }

  async createStream(): Promise<number> {
    const [id] = await this.call('createStream');
    if (typeof id !== 'number') throw new Error(`createStream returned ${String(id)}`);
    return id;
  }

  /** NetStream.play; resolves on NetStream.Play.Start, rejects on an error status on the stream. */
  play(streamId: number, name: string, start = -2): Promise<AmfObject> {
    return this.#streamCommand(streamId, 'play', 'NetStream.Play.Start', [name, start]);
  }

  /** NetStream.publish; resolves on NetStream.Publish.Start, rejects on an error status on the stream. */
  publish(streamId: number, name: string, type: 'live' | 'record' | 'append' = 'live'): Promise<AmfObject> {
    return this.#streamCommand(streamId, 'publish', 'NetStream.Publish.Start', [name, type]);
  }

  /** NetStream.receiveAudio/receiveVideo: whether the origin should send this kind of media on the stream (no answer comes). */
  receiveMedia(streamId: number, kind: 'audio' | 'video', flag: boolean): void {
    this.#sendStreamCommand(streamId, kind === 'audio' ? 'receiveAudio' : 'receiveVideo', [flag]);
  }

  /** Answers a server call with `_result`; false when no call of the server awaits that answer. */
  answer(transactionId: number, value: AmfValue): boolean {
    return this.#reply(transactionId, '_result', value);
  }

  /** Answers a server call with `_error` (NetConnection.Call.Failed); false when none awaits it. */
  fail(transactionId: number, description: string): boolean {
    return this.#reply(transactionId, '_error', { level: 'error', code: 'NetConnection.Call.Failed', description });
  }

  /** Sends a shared object message (AMF0); with `on('sharedObject')` this is a SharedObjectConnection. */
  sendSharedObject(message: SharedObjectMessage): void {
    this.#send(sharedObjectMessage(message, false));
  }

  /** Media or data on a NetStream this client publishes (after `publish` resolved); dropped when the session is not open. */
  sendStreamMessage(message: RtmpMessage): void {
    if (!this.#ended) this.#send(message);
  }

  /** A message of this session from the origin. */
  deliver(message: RtmpMessage): void {
    if (this.#ended) return;
    try {
      switch (message.type) {
        case MessageType.CommandAmf0:
        case MessageType.CommandAmf3:
          return this.#onCommand(decodeCommand(message), message.streamId);
        case MessageType.SharedObjectAmf0:
        case MessageType.SharedObjectAmf3:
          this.emit('sharedObject', decodeSharedObject(message));
          return;
        default:
          return; // media reaches the session through the relay; data and user control are not for a virtual client
      }
    } catch (error) {
      this.#options.log.warn('undecodable message from the origin', { type: message.type, error: (error as Error).message });
      countEdgeInternalError('origin_message');
    }
  }

  /** The session is gone at the origin (SessionClose, link lost): nothing more is sent, pending calls fail. */
  lost(reason: string): void {
    this.#open = false;
    this.#end(reason);
  }

  /** Ends the session: SessionClose to the origin if it is open, and pending calls fail. */
  close(reason: string): void {
    if (this.#open) this.#link.send({ kind: LinkFrameKind.SessionClose, sessionId: this.sessionId, reason });
    this.lost(reason);
  }

  #end(reason: string): void {
    if (this.#ended) return;
    this.#ended = true;
    const error = new LinkClientClosedError(`session ended: ${reason}`);
    this.#transactions.rejectAll(error);
    const starts = [...this.#streamStarts.values()];
    this.#streamStarts.clear();
    for (const start of starts) start.reject(error);
    this.#serverCalls.clear();
  }

  #request(method: string, commandObject: AmfValue, args: AmfValue[]): Promise<AmfValue[]> {
    if (this.#ended || !this.#open) return Promise.reject(new LinkClientClosedError(`'${method}' on a session that is not open`));
    return this.#transactions.open(method, (transactionId) => this.#send(encodeCommand({ name: method, transactionId, commandObject, args }, 0)));
  }

  #streamCommand(streamId: number, command: string, code: string, args: AmfValue[]): Promise<AmfObject> {
    if (this.#ended || !this.#open) return Promise.reject(new LinkClientClosedError(`'${command}' on a session that is not open`));
    return new Promise((resolve, reject) => {
      this.#streamStarts.get(streamId)?.reject(new Error(`'${command}' replaced '${this.#streamStarts.get(streamId)!.command}' on stream ${streamId}`));
      this.#streamStarts.set(streamId, { command, code, resolve, reject });
      this.#sendStreamCommand(streamId, command, args);
    });
  }

  /** A NetStream command (transaction 0: answered, if at all, by an onStatus on the stream). */
  #sendStreamCommand(streamId: number, command: string, args: AmfValue[]): void {
    this.#send(encodeCommand({ name: command, transactionId: 0, commandObject: null, args }, streamId));
  }

  #reply(transactionId: number, name: '_result' | '_error', value: AmfValue): boolean {
    if (!this.#serverCalls.delete(transactionId)) return false;
    this.#send(encodeCommand({ name, transactionId, commandObject: null, args: [value] }, 0));
    return true;
  }

  #onCommand(command: RtmpCommand, streamId: number): void {
    if (this.#accessDenied === null && (command.name === '_error' || command.name === 'onStatus')) {
      // The info object: `_error`'s and `onStatus`'s first argument.
      const error = (command.args[0] as AmfObject | null | undefined)?.error;
      if (typeof error === 'string' && error.startsWith('auth.')) this.#accessDenied = error;
    }
    if (this.#transactions.settle(command)) return;
    if (command.name === 'onStatus') return this.#onStatus(streamId, (command.args[0] ?? {}) as AmfObject);
    if (command.name === '_result' || command.name === '_error') return; // answers no transaction of ours
    if (command.transactionId !== 0) this.#serverCalls.add(command.transactionId);
    this.emit('call', { transactionId: command.transactionId, streamId, method: command.name, args: command.args });
  }

  #onStatus(streamId: number, info: AmfObject): void {
    const start = this.#streamStarts.get(streamId);
    if (start && (info.code === start.code || info.level === 'error')) {
      this.#streamStarts.delete(streamId);
      if (info.code === start.code) start.resolve(info);
      else start.reject(new RtmpCallError(start.command, info));
    }
    this.emit('status', streamId, info);
  }

  #send(message: RtmpMessage): void {
    if (!this.#open) return;
    this.#link.send({ kind: LinkFrameKind.Message, sessionId: this.sessionId, type: message.type, timestamp: message.timestamp, streamId: message.streamId, payload: message.payload });
  }
}
