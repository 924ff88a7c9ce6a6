/**
 * A small RTMP client: handshake, connect, calls with awaited results, NetStream commands, and
 * the messages the server sends back as events. The project's own tests and benchmarks use it
 * where no outside client exposes what must be checked (status codes, AMF3, raw bytes).
 */
import { EventEmitter, once } from 'node:events';
import { connect as tcpConnect, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { AmfObject, AmfValue } from '#protocol/amf/types.ts';
import { decodeCommand, encodeCommand, type RtmpCommand } from '#protocol/rtmp/command.ts';
import { decodeSharedObject, sharedObjectMessage, type SharedObjectMessage } from '#protocol/rtmp/shared-object.ts';
import { ChunkDecoder } from '#protocol/rtmp/chunk-decoder.ts';
import { ChunkEncoder } from '#protocol/rtmp/chunk-encoder.ts';
import { pingResponseMessage, parseUserControl, setChunkSizeMessage } from '#protocol/rtmp/control.ts';
import { ClientHandshake } from '#protocol/rtmp/handshake.ts';
import { ChunkStreamId, MessageType, UserControlEvent, type RtmpMessage } from '#protocol/rtmp/message.ts';
import { RemoteSharedObject } from './remote-shared-object.ts';
import { RtmpTransactions } from './rtmp-transactions.ts';

export { RtmpCallError } from './rtmp-transactions.ts';

export interface RtmpClientOptions {
  /** objectEncoding sent in connect (3 asks for AMF3 command messages). */
  objectEncoding?: 0 | 3;
  flashVer?: string;
  /** Extra connect arguments after the command object. */
  connectArgs?: AmfValue[];
  digestHandshake?: boolean;
  timeoutMs?: number;
  /** The local address to connect from (a test's second client address on loopback, 127.0.0.2). */
  localAddress?: string;
}

export interface RtmpClientEvents {
  /** onStatus for a NetStream or the NetConnection (streamId 0). */
  status: [streamId: number, info: AmfObject];
  /** Any command the server sends that is not a reply to one of our calls. */
  command: [command: RtmpCommand, streamId: number];
  /** Audio, video and data messages. */
  media: [message: RtmpMessage];
  /** A shared object message (type 19 or 16), decoded. */
  sharedObject: [message: SharedObjectMessage];
  /** Every message received, before any handling (for tests of the wire format). */
  message: [message: RtmpMessage];
  close: [];
}

/** A method the server may call on this client (NetConnection.client); its return value is the `_result`. */
export type ClientMethod = (...args: AmfValue[]) => AmfValue | Promise<AmfValue>;

export class RtmpClient<S extends Duplex = Socket> extends EventEmitter<RtmpClientEvents> {
  /** The byte stream under the client: a TCP socket, or any Duplex (a test's RTMPT tunnel). */
  readonly socket: S;
  readonly #decoder = new ChunkDecoder({ maxMessageSize: 32 * 1024 * 1024 });
  readonly #encoder = new ChunkEncoder();
  readonly #transactions = new RtmpTransactions();
  readonly #methods = new Map<string, ClientMethod>();
  #amf3 = false;
  #closed = false;

  private constructor(socket: S) {
    super();
    this.socket = socket;
  }

  /** Opens a TCP connection and completes the handshake (no RTMP connect yet). */
  static async open(host: string, port: number, options: RtmpClientOptions = {}): Promise<RtmpClient> {
    const socket = tcpConnect({ host, port, ...(options.localAddress ? { localAddress: options.localAddress } : {}) });
    socket.setNoDelay(true);
    await once(socket, 'connect');
    return RtmpClient.over(socket, options);
  }

  /** Completes the handshake over a byte stream that is open already (no RTMP connect yet). */
  static async over<S extends Duplex>(stream: S, options: RtmpClientOptions = {}): Promise<RtmpClient<S>> {
    const client = new RtmpClient(stream);
    await new Promise<void>((resolve, reject) => {
      const handshake = new ClientHandshake({ digest: options.digestHandshake ?? true });
      const timer = setTimeout(() => reject(new Error('handshake timeout')), options.timeoutMs ?? 5000);
      const fail = (error: Error) => { clearTimeout(timer); reject(error); };
      stream.once('error', fail);
      const onData = (data: Buffer) => {
        try {
          const step = handshake.push(data);
          if (step.send) stream.write(step.send);
          if (!step.done) return;
          clearTimeout(timer);
          stream.off('data', onData);
          stream.off('error', fail);
          client.#attach();
          if (step.rest.length) client.#onData(step.rest);
          resolve();
        } catch (error) {
          fail(error as Error);
        }
      };
      stream.on('data', onData);
      stream.write(handshake.start());
    });
    return client;
  }

  /** Opens `rtmp://host:port/app` and sends connect; resolves with the Connect.Success info. */
  static async connect(url: string, options: RtmpClientOptions = {}): Promise<{ client: RtmpClient; info: AmfObject }> {
    const parsed = new URL(url);
    const client = await RtmpClient.open(parsed.hostname, Number(parsed.port || 1935), options);
    return client.connectUrl(url, options);
  }

  /** Sends connect to the app of `url` (its path and query); closes the client if that fails. */
  async connectUrl(url: string, options: RtmpClientOptions = {}): Promise<{ client: RtmpClient<S>; info: AmfObject }> {
    const parsed = new URL(url);
    const app = parsed.pathname.replace(/^\//, '') + parsed.search;
    try {
      const info = await this.connectApp(app, url, options);
      return { client: this, info };
    } catch (error) {
      this.close();
      throw error;
    }
  }

  async connectApp(app: string, tcUrl: string, options: RtmpClientOptions = {}): Promise<AmfObject> {
    const commandObject: AmfObject = {
      app, flashVer: options.flashVer ?? 'LNX 11,2,202,235', tcUrl, fpad: false, capabilities: 15,
      audioCodecs: 3575, videoCodecs: 252, videoFunction: 1, objectEncoding: options.objectEncoding ?? 0,
    };
    const [, info] = await this.#call('connect', commandObject, options.connectArgs ?? [], 0);
    const result = (info ?? {}) as AmfObject;
    this.#amf3 = result.objectEncoding === 3;
    return result;
  }

  get closed(): boolean { return this.#closed; }
  /** True once connect answered objectEncoding 3 (commands go as type 17, shared objects as 16). */
  get amf3(): boolean { return this.#amf3; }

  /** Answers the server's calls of `method` (unknown methods get `_error`, as Flash does). */
  onCall(method: string, handler: ClientMethod): void {
    this.#methods.set(method, handler);
  }

  /** A remote shared object on this connection; call `connect()` on it to use it. */
  sharedObject(name: string, persistent = false): RemoteSharedObject {
    return new RemoteSharedObject(this, name, persistent);
  }

  /** Sends a shared object message in this connection's encoding. */
  sendSharedObject(message: SharedObjectMessage): void {
    this.send(sharedObjectMessage(message, this.#amf3), ChunkStreamId.Command);
  }

  /** NetConnection.call: resolves with the values after the command object of `_result`. */
  async call(method: string, ...args: AmfValue[]): Promise<AmfValue[]> {
    const [, ...values] = await this.#call(method, null, args, 0);
    return values;
  }

  async createStream(): Promise<number> {
    const [id] = await this.call('createStream');
    if (typeof id !== 'number') throw new Error(`createStream returned ${String(id)}`);
    return id;
  }

  /** Sends a command on a NetStream without waiting (publish, play, pause, ...). */
  streamCommand(streamId: number, name: string, ...args: AmfValue[]): void {
    this.send(encodeCommand({ name, transactionId: 0, commandObject: null, args }, streamId, this.#amf3), ChunkStreamId.Data);
  }

  /** Resolves with the first onStatus on `streamId` whose code matches. */
  waitForStatus(streamId: number, code: string | RegExp, timeoutMs = 5000): Promise<AmfObject> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => { this.off('status', onStatus); reject(new Error(`no ${String(code)} on stream ${streamId} within ${timeoutMs} ms`)); }, timeoutMs);
      const onStatus = (id: number, info: AmfObject) => {
        const c = String(info.code);
        if (id === streamId && (typeof code === 'string' ? c === code : code.test(c))) {
          clearTimeout(timer);
          this.off('status', onStatus);
          resolve(info);
        }
      };
      this.on('status', onStatus);
    });
  }

  setChunkSize(size: number): void {
    this.send(setChunkSizeMessage(size), ChunkStreamId.Control);
    this.#encoder.chunkSize = size;
  }

  send(message: RtmpMessage, chunkStreamId: number): void {
    if (!this.#closed) this.socket.write(this.#encoder.encode(message, chunkStreamId));
  }

  /** Writes bytes as they are (for tests of hostile input). */
  sendRaw(bytes: Buffer): void {
    if (!this.#closed) this.socket.write(bytes);
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.socket.destroy();
    this.#transactions.rejectAll(new Error('connection closed'));
    this.emit('close');
  }

  #call(method: string, commandObject: AmfValue, args: AmfValue[], streamId: number): Promise<AmfValue[]> {
    return this.#transactions.open(method, (transactionId) =>
      this.send(encodeCommand({ name: method, transactionId, commandObject, args }, streamId, this.#amf3), ChunkStreamId.Command));
  }

  #attach(): void {
    this.socket.on('data', (data) => this.#onData(data));
    this.socket.on('close', () => this.close());
    this.socket.on('error', () => this.close());
  }

  #onData(data: Buffer): void {
    let messages: RtmpMessage[];
    try {
      messages = this.#decoder.push(data);
    } catch {
      this.close();
      return;
    }
    for (const message of messages) this.#onMessage(message);
  }

  #onMessage(message: RtmpMessage): void {
    this.emit('message', message);
    switch (message.type) {
      case MessageType.UserControl: {
        const event = parseUserControl(message.payload);
        if (event.event === UserControlEvent.PingRequest) this.send(pingResponseMessage(event.timestamp ?? 0), ChunkStreamId.Control);
        return;
      }
      case MessageType.CommandAmf0:
      case MessageType.CommandAmf3:
        return this.#onCommand(decodeCommand(message), message.streamId);
      case MessageType.Audio:
      case MessageType.Video:
      case MessageType.DataAmf0:
      case MessageType.DataAmf3:
        this.emit('media', message);
        return;
      case MessageType.SharedObjectAmf0:
      case MessageType.SharedObjectAmf3:
        this.emit('sharedObject', decodeSharedObject(message));
        return;
    }
  }

  #onCommand(command: RtmpCommand, streamId: number): void {
    if (this.#transactions.settle(command)) return;
    if (command.name === 'onStatus') {
      this.emit('status', streamId, (command.args[0] ?? {}) as AmfObject);
      return;
    }
    this.emit('command', command, streamId);
    if (command.name !== '_result' && command.name !== '_error') this.#answer(command, streamId);
  }

  /** Runs a server call on a registered method and answers it when the server asked (transaction != 0). */
  #answer(command: RtmpCommand, streamId: number): void {
    const method = this.#methods.get(command.name);
    const tx = command.transactionId;
    const reply = (name: '_result' | '_error', value: AmfValue) => {
      if (tx !== 0) this.send(encodeCommand({ name, transactionId: tx, commandObject: null, args: [value] }, streamId, this.#amf3), ChunkStreamId.Command);
    };
    const failed = (description: string) => reply('_error', { level: 'error', code: 'NetConnection.Call.Failed', description });
    if (!method) {
      if (streamId === 0) failed(`Method not found (${command.name}).`);
      return;
    }
    Promise.resolve()
      .then(() => method(...command.args))
      .then((value) => reply('_result', value), (error: Error) => failed(error.message));
  }
}
