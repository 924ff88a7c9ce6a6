/**
 * The page's side of the edge's WebSocket protocol v1 (`/ws`, README "Browser protocol"): opens the
 * socket, joins a room, calls the classroom's methods and answers the server's calls, keeps the shared
 * objects in use up to date, and carries WebRTC signalling (`webrtc.publish` / `webrtc.play`). Every
 * message is typed from protocol/browser/browser-protocol.ts, the definitions the edge validates
 * against. Each server message is also dispatched as an event of its type (and as `message`); the
 * socket's end is a `close` event. Runs in the browser and, with Node's WebSocket, in unit tests.
 */
import type {
  CallId, ClientMessage, JsonValue, ServerMessage, ServerMessageOf, ServerMessageType,
} from '../../../protocol/browser/browser-protocol.ts';

/** A refusal by the edge or the origin: the protocol's error `code`, and for WebRTC the HTTP-like `status`. */
export class ClassroomError extends Error {
  readonly code: string;
  readonly status: number | undefined;
  readonly info: JsonValue | undefined;
  constructor(code: string, message: string, status?: number, info?: JsonValue) {
    super(message);
    this.name = 'ClassroomError';
    this.code = code;
    this.status = status;
    this.info = info;
  }
}

/** The socket closed (or could not open); `closeCode` is the WebSocket's. */
export class ConnectionClosedError extends ClassroomError {
  readonly closeCode: number;
  constructor(message: string, closeCode = 0) {
    super('closed', message);
    this.name = 'ConnectionClosedError';
    this.closeCode = closeCode;
  }
}

/** What opens a WebSocket: the browser's (and Node's) constructor, or a test's. */
export type WebSocketFactory = (url: string) => WebSocket;
const defaultSocket: WebSocketFactory = (url) => new WebSocket(url);

export interface SharedObjectState {
  data: Record<string, JsonValue>;
  version: number;
}

export interface CloseDetail { code: number; reason: string }

/** A method the server may call on this page (NetConnection.client): its value is the answer. */
export type ClientMethod = (...args: JsonValue[]) => JsonValue | void | Promise<JsonValue | void>;

interface Pending { resolve(value: unknown): void; reject(error: Error): void }

const JOIN_KEY = 'joined';

function asRecord(value: JsonValue): Record<string, JsonValue> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? value : {};
}

export class ClassroomClient extends EventTarget {
  readonly #ws: WebSocket;
  #nextId = 1;
  readonly #pending = new Map<CallId, Pending>();
  /** Shared objects in use: name -> data and version, kept by so.sync and so.change. */
  readonly sharedObjects = new Map<string, SharedObjectState>();
  /** Methods the server may call on this page. */
  readonly methods = new Map<string, ClientMethod>();
  #closed = false;

  private constructor(ws: WebSocket) {
    super();
    this.#ws = ws;
  }

  /** Opens the WebSocket (`url` like ws://HOST:PORT/ws); resolves once the edge said hello. */
  static open(url: string, openSocket: WebSocketFactory = defaultSocket): Promise<ClassroomClient> {
    const ws = openSocket(url);
    const client = new ClassroomClient(ws);
    return new Promise((resolve, reject) => {
      ws.onerror = () => reject(new ConnectionClosedError(`cannot open ${url}`));
      ws.onclose = (e) => {
        reject(new ConnectionClosedError(`${url} closed before hello (${e.code} ${e.reason})`, e.code));
        client.#onClose(e.code, e.reason);
      };
      ws.onmessage = (e) => {
        let message: ServerMessage;
        try {
          message = JSON.parse(String(e.data)) as ServerMessage;
        } catch {
          return; // the edge sends JSON only
        }
        if (message.type === 'hello') resolve(client);
        client.#onMessage(message);
      };
    });
  }

  get open(): boolean { return this.#ws.readyState === this.#ws.OPEN; }

  /** Sends a protocol message (or a raw string, as tests of the edge's validation do). */
  send(message: ClientMessage | string): void {
    if (this.#ws.readyState !== this.#ws.OPEN) return;
    this.#ws.send(typeof message === 'string' ? message : JSON.stringify(message));
  }

  /** Joins `room`; resolves with connect's info, rejects with a ClassroomError (`forbidden`, `join_failed`, `no_origin`). */
  join(room: string, name: string, role?: string, token?: string): Promise<Record<string, JsonValue>> {
    const message: ClientMessage = { type: 'join', room, name };
    if (role !== undefined) message.role = role;
    if (token !== undefined) message.token = token;
    return this.#request(message, JOIN_KEY) as Promise<Record<string, JsonValue>>;
  }

  /** Calls a classroom method; resolves with its result, rejects with a ClassroomError (`call_failed`, ...). */
  call<T = JsonValue>(method: string, ...args: JsonValue[]): Promise<T> {
    const id = this.#nextId++;
    return this.#request({ type: 'call', id, method, args }, id) as Promise<T>;
  }

  chat(text: string): Promise<JsonValue> { return this.call('sendChat', text); }
  drawStroke(points: number[], color = 0xdd2222, width = 2): Promise<JsonValue> { return this.call('drawStroke', { points, color, width }); }

  /** Uses a shared object; resolves with its data after the first sync. */
  async useSharedObject(name: string, persistent = false): Promise<Record<string, JsonValue>> {
    const synced = this.waitFor('so.sync', (m) => m.name === name);
    this.send({ type: 'so.use', name, persistent });
    return asRecord((await synced).data);
  }
  setSlot(name: string, key: string, value: JsonValue): void { this.send({ type: 'so.set', name, key, value }); }
  deleteSlot(name: string, key: string): void { this.send({ type: 'so.delete', name, key }); }
  releaseSharedObject(name: string): void { this.send({ type: 'so.release', name }); this.sharedObjects.delete(name); }

  /**
   * WebRTC signalled on this channel, in the joined room: sends the SDP offer (ICE gathered) to
   * publish or play `stream`; resolves with the session and the answer, rejects with a
   * ClassroomError carrying `code` and `status`. A `webrtc.closed` event tells when it ends.
   */
  publishWebRtc(stream: string, sdp: string): Promise<{ session: number; sdp: string }> { return this.#webRtc('webrtc.publish', stream, sdp); }
  playWebRtc(stream: string, sdp: string): Promise<{ session: number; sdp: string }> { return this.#webRtc('webrtc.play', stream, sdp); }
  stopWebRtc(session: number): void { this.send({ type: 'webrtc.stop', session }); }

  /** Resolves with the next server message of `type` that `match` accepts; rejects after `timeoutMs` or when the socket closes. */
  waitFor<T extends ServerMessageType>(type: T, match: (message: ServerMessageOf<T>) => boolean = () => true, timeoutMs = 10_000): Promise<ServerMessageOf<T>> {
    return new Promise((resolve, reject) => {
      const done = () => {
        clearTimeout(timer);
        this.removeEventListener(type, on);
        this.removeEventListener('close', closed);
      };
      const timer = setTimeout(() => { done(); reject(new ClassroomError('timeout', `no ${type} within ${timeoutMs} ms`)); }, timeoutMs);
      const on = (e: Event) => {
        const message = (e as CustomEvent<ServerMessageOf<T>>).detail;
        if (!match(message)) return;
        done();
        resolve(message);
      };
      const closed = () => { done(); reject(new ConnectionClosedError(`connection closed while waiting for ${type}`)); };
      this.addEventListener(type, on);
      this.addEventListener('close', closed);
    });
  }

  /** Listens to server messages of `type`; returns what removes the listener. */
  on<T extends ServerMessageType>(type: T, listener: (message: ServerMessageOf<T>) => void): () => void {
    const on = (e: Event) => listener((e as CustomEvent<ServerMessageOf<T>>).detail);
    this.addEventListener(type, on);
    return () => this.removeEventListener(type, on);
  }

  close(code = 1000, reason = ''): void {
    this.#ws.close(code, reason);
  }

  #webRtc(type: 'webrtc.publish' | 'webrtc.play', stream: string, sdp: string): Promise<{ session: number; sdp: string }> {
    const id = this.#nextId++;
    return this.#request({ type, id, stream, sdp }, id) as Promise<{ session: number; sdp: string }>;
  }

  #request(message: ClientMessage, key: CallId): Promise<unknown> {
    if (this.#closed) return Promise.reject(new ConnectionClosedError('connection closed'));
    return new Promise((resolve, reject) => {
      this.#pending.set(key, { resolve, reject });
      this.send(message);
    });
  }

  #settle(key: CallId, outcome: { error: ServerMessageOf<'error'> } | { value: unknown }): boolean {
    const pending = this.#pending.get(key);
    if (!pending) return false;
    this.#pending.delete(key);
    if ('error' in outcome) pending.reject(new ClassroomError(outcome.error.code, outcome.error.message, outcome.error.status, outcome.error.info));
    else pending.resolve(outcome.value);
    return true;
  }

  #emit(type: string, detail: unknown): void { this.dispatchEvent(new CustomEvent(type, { detail })); }

  #onMessage(m: ServerMessage): void {
    switch (m.type) {
      case 'joined': this.#settle(JOIN_KEY, { value: m.info }); break;
      case 'result': this.#settle(m.id, { value: m.value }); break;
      case 'webrtc.answer': this.#settle(m.id, { value: { session: m.session, sdp: m.sdp } }); break;
      case 'error': {
        // A refused join carries no id: it answers the pending join.
        const joinRefusal = m.code === 'join_failed' || ((m.code === 'forbidden' || m.code === 'no_origin') && this.#pending.has(JOIN_KEY));
        if (joinRefusal) this.#settle(JOIN_KEY, { error: m });
        else if (m.id !== undefined) this.#settle(m.id, { error: m });
        break;
      }
      case 'call': void this.#answer(m); break;
      case 'so.sync': this.sharedObjects.set(m.name, { data: structuredClone(asRecord(m.data)), version: m.version }); break;
      case 'so.change': {
        const so = this.sharedObjects.get(m.name) ?? { data: {}, version: 0 };
        if (m.cleared) so.data = {};
        Object.assign(so.data, m.changed);
        for (const key of m.deleted) delete so.data[key];
        so.version = m.version;
        this.sharedObjects.set(m.name, so);
        break;
      }
      default: break;
    }
    this.#emit(m.type, m);
    this.#emit('message', m);
  }

  async #answer(m: ServerMessageOf<'call'>): Promise<void> {
    const method = this.methods.get(m.method);
    try {
      if (!method) throw new Error(`Method not found (${m.method}).`);
      const value = await method(...m.args);
      if (m.id !== null) this.send({ type: 'result', id: m.id, value: value ?? null });
    } catch (error) {
      if (m.id !== null) this.send({ type: 'error', id: m.id, message: (error as Error).message });
    }
  }

  #onClose(code: number, reason: string): void {
    this.#closed = true;
    for (const pending of this.#pending.values()) pending.reject(new ConnectionClosedError(`connection closed (${code} ${reason})`, code));
    this.#pending.clear();
    this.#emit('close', { code, reason } satisfies CloseDetail);
  }
}
