/**
 * Browsers over WebSocket (`/ws` on the edge's HTTP server): one BrowserSession per socket, which
 * becomes a session on the origin link exactly like an RTMP client (SessionOpen with the browser's
 * address, protocol 'ws', then an RTMP connect to `classroom/<room>` with { name, role, token }), so
 * the origin's application sees it like any other client. The browser speaks the JSON protocol v1
 * (README "Browser protocol"); this file turns it into calls of its LinkClient (the virtual RTMP
 * client on the link) and shared object messages, and what comes back into JSON, validates every
 * message (size, shape, types), rate-limits each connection, and closes a connection only after
 * repeated abuse. WebRTC signalling on the same channel (publishing and playing in the joined room,
 * each a session of its own) is browser-webrtc.ts. BrowserGateway owns the WebSocket server; the
 * sessions are in the edge's SessionRegistry, so browsers count against maxConnections and in the
 * Load report.
 */
import { EventEmitter, once } from 'node:events';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { RawData, WebSocket } from 'ws';
import type { Logger } from '#common/logger.ts';
import { countBrowserClose } from '../edge-metrics.ts';
import { RemoteSharedObject } from '#common/remote-shared-object.ts';
import { watchLiveness } from '#common/ws-keepalive.ts';
import { WebSocketUpgrades } from '#common/websocket-upgrades.ts';
import { nextSessionId } from '#common/session-transport.ts';
import type { AmfObject, AmfValue } from '#protocol/amf/types.ts';
import type { RtmpMessage } from '#protocol/rtmp/message.ts';
import { defaultSdpLimits } from '#protocol/sdp/sdp.ts';
import type { SharedObjectEvent } from '#protocol/rtmp/shared-object.ts';
import { RtmpCallError } from '#common/rtmp-transactions.ts';
import type { LinkSender } from '../session/edge-session.ts';
import { LinkClient, LinkClientClosedError, requestTcUrl, type ServerCall } from '../session/link-client.ts';
import type { EdgeClientSession, SessionRegistry } from '../session/session-registry.ts';
import { refuseUpgrade, type EdgeHttpServer } from '../http/edge-http-server.ts';
import type { EdgeTokenCheck } from '../http/edge-token-check.ts';
import { amfToJson, jsonToAmf, JsonAmfError, type JsonValue } from './amf-json.ts';
import { TokenBucket } from '#common/token-bucket.ts';
import { BrowserWebRtc, WEBRTC_OFFER_TYPES, WEBRTC_PROTOCOL, type BrowserSignallers, type RoomMember } from './browser-webrtc.ts';
import { BadMessage, callId, field, internalErrorReply, optStr, safeName, str, type BrowserErrorCode, type Json } from './browser-message.ts';
import { BROWSER_PROTOCOL_VERSION, type CallId, type ServerMessage } from '#protocol/browser/browser-protocol.ts';

export { BROWSER_PROTOCOL_VERSION };

export interface BrowserLimits {
  /** Largest message accepted (bytes); larger ones get `too_large`. */
  maxMessageBytes: number;
  /** Sustained messages per second per connection, and the burst allowed above it. */
  messagesPerSecond: number;
  burst: number;
  /** Invalid or over-limit messages tolerated before the connection is closed (1008). */
  maxStrikes: number;
  /** Calls (client -> origin) awaiting an answer at once. */
  maxPendingCalls: number;
  /** Shared objects one connection may use at once. */
  maxSharedObjects: number;
  /** Browser connections this edge accepts. */
  maxSessions: number;
  /** Largest `webrtc.publish`/`webrtc.play` (an SDP offer as JSON; other messages keep maxMessageBytes). */
  maxSignallingBytes: number;
  /** WebRTC sessions (publishing or playing) one connection may have at once. */
  maxWebRtcSessions: number;
  /** WebRTC offers per second per connection (each costs a peer connection, and an ffmpeg), and the burst above it (a page joining a room plays everyone at once). */
  offersPerSecond: number;
  offerBurst: number;
  /** Unsent bytes to one browser (or WS-FLV, HTTP-FLV viewer) past which it is considered gone. */
  maxBufferedBytes: number;
  /** A browser's WebSocket (/ws, WS-FLV) is pinged every half of this; one that answered nothing within it is closed. */
  idleTimeoutMs: number;
}

export const defaultBrowserLimits: BrowserLimits = {
  maxMessageBytes: 64 * 1024, messagesPerSecond: 50, burst: 100, maxStrikes: 50, maxPendingCalls: 64, maxSharedObjects: 32, maxSessions: 2000,
  // An offer at the SDP limit, every line break escaped in JSON (\r\n: 2 bytes become 4), and the other fields.
  maxSignallingBytes: 2 * defaultSdpLimits.maxBytes + 4096, maxWebRtcSessions: 16, offersPerSecond: 1, offerBurst: 16,
  maxBufferedBytes: 8 * 1024 * 1024, idleTimeoutMs: 30_000,
};

function amfArgs(m: Json): AmfValue[] {
  if (m.args === undefined) return [];
  if (!Array.isArray(m.args)) throw new BadMessage('bad_message', "'args' must be an array");
  return m.args.map((a) => amfValue(a));
}

function amfValue(value: unknown): AmfValue {
  try {
    return jsonToAmf(value);
  } catch (error) {
    if (error instanceof JsonAmfError) throw new BadMessage('bad_message', error.message);
    throw error;
  }
}

export interface BrowserSessionEvents {
  close: [];
}

export class BrowserSession extends EventEmitter<BrowserSessionEvents> implements EdgeClientSession {
  readonly id = nextSessionId();
  readonly protocol = 'ws';
  readonly internal = false;
  /** The application channel plays no streams (browsers play over HTTP/WS-FLV, or WebRTC sessions of their own). */
  readonly mediaOutput = null;
  readonly log: Logger;
  readonly #ws: WebSocket;
  readonly #client: LinkClient;
  readonly #limits: BrowserLimits;
  readonly #tokens: EdgeTokenCheck;
  readonly #remoteAddress: string;
  /** connect's tcUrl: the URL of this edge the browser opened. */
  readonly #tcUrl: string;
  #joined = false;
  #joining = false;
  /** Who the browser joined as, once joined: where its WebRTC sessions go. */
  #member: RoomMember | null = null;
  readonly #webrtc: BrowserWebRtc;
  /** Numbers the ids of chats sent without one. */
  #chats = 0;
  readonly #sharedObjects = new Map<string, RemoteSharedObject>();
  readonly #messages: TokenBucket;
  #strikes = 0;
  #droppedSinceNotice = 0;
  /** No more input is handled. */
  #closed = false;
  #finished = false;

  constructor(ws: WebSocket, req: IncomingMessage, link: LinkSender, signallers: BrowserSignallers, tokens: EdgeTokenCheck, limits: BrowserLimits, log: Logger) {
    super();
    this.#ws = ws;
    this.#tokens = tokens;
    this.#limits = limits;
    this.#messages = new TokenBucket(limits.messagesPerSecond, limits.burst);
    this.#remoteAddress = req.socket.remoteAddress ?? '';
    this.#tcUrl = requestTcUrl(req, 'ws');
    this.log = log.with({ session: `ws#${this.id}`, peer: `${this.#remoteAddress}:${req.socket.remotePort ?? 0}` });
    this.#client = new LinkClient(link, { sessionId: this.id, protocol: this.protocol, remoteAddress: this.#remoteAddress, remotePort: req.socket.remotePort ?? 0, log: this.log });
    this.#client.on('status', (streamId, info) => this.#relay('a stream status', () => ({ type: 'status', streamId, info: amfToJson(info) })));
    this.#client.on('call', (call) => this.#onServerCall(call));
    this.#webrtc = new BrowserWebRtc(signallers, { protocol: WEBRTC_PROTOCOL, tcUrl: this.#tcUrl, remoteAddress: this.#remoteAddress, remotePort: req.socket.remotePort ?? 0 },
      limits, (message) => this.#sendJson(message), this.log);
    ws.on('message', (data, isBinary) => this.#onMessage(data, isBinary));
    ws.on('close', () => this.#onClose());
    ws.on('error', (error) => { this.log.info('socket error', { error: error.message }); ws.terminate(); });
    watchLiveness(ws, limits.idleTimeoutMs, () => {
      this.log.info('browser answered no ping: closing', { idleTimeoutMs: limits.idleTimeoutMs });
      countBrowserClose('idle');
    });
    this.#sendJson({ type: 'hello', version: BROWSER_PROTOCOL_VERSION, maxMessageBytes: limits.maxMessageBytes, maxSignallingBytes: limits.maxSignallingBytes, messagesPerSecond: limits.messagesPerSecond });
  }

  /** A message of this session from the origin. */
  deliver(message: RtmpMessage): void {
    if (!this.#closed) this.#client.deliver(message);
  }

  /** The origin ended the session. */
  closeFromOrigin(reason: string): void {
    this.#client.lost(reason);
    this.#end(1000, reason || 'closed by the origin');
  }

  /** Nothing to resume: a browser that outlived a link loss would have been closed by linkLost. */
  linkUp(): void {}

  /** The link dropped: what this session had (calls, shared objects) cannot be carried over. */
  linkLost(): void {
    if (!this.#client.isOpen) return;
    this.#client.lost('link lost');
    this.#end(1011, 'the edge lost its link to the origin');
  }

  close(reason: string | null): void {
    this.#end(1011, reason ?? 'closed');
  }

  /** The edge is stopping: the browser gets `closed` and close code 1001 (going away); resolves once the socket has closed. */
  shutdown(): Promise<void> {
    const closed = this.#finished ? Promise.resolve() : once(this, 'close').then(() => undefined);
    this.#end(1001, 'the edge is stopping');
    return closed;
  }

  #end(code: number, reason: string): void {
    if (this.#closed) return;
    this.#sendJson({ type: 'closed', reason });
    this.log.info('closing', { reason });
    this.#ws.close(code, reason.slice(0, 120));
    setTimeout(() => this.#ws.terminate(), 2000).unref();
  }

  #sendJson(message: ServerMessage): void {
    if (this.#ws.readyState !== this.#ws.OPEN) return;
    // A browser that stops reading is not allowed to make the edge buffer without bound.
    if (this.#ws.bufferedAmount > this.#limits.maxBufferedBytes) {
      this.log.warn('browser not reading: closing', { bufferedBytes: this.#ws.bufferedAmount, maxBufferedBytes: this.#limits.maxBufferedBytes });
      countBrowserClose('not_reading');
      this.#ws.terminate();
      return;
    }
    this.#ws.send(JSON.stringify(message));
  }

  /**
   * Sends what `build` makes of values the origin sent. A value JSON cannot carry (one that contains
   * itself, or expands past amf-json.ts's budget; any Flash client can store one in a shared object
   * or pass one to a call) reaches the browser as an `unrepresentable` error instead, with the
   * call's id when it answers one, and the session goes on.
   */
  #relay(what: string, build: () => ServerMessage, id?: CallId): void {
    const message = this.#converted(what, build, id);
    if (message !== undefined) this.#sendJson(message);
  }

  /** `keys` of `slots` as JSON; a slot JSON cannot carry is left out and the browser told which (see #relay). */
  #slotsAsJson(owner: string, slots: Record<string, AmfValue>, keys: readonly string[]): Record<string, JsonValue> {
    const json: Record<string, JsonValue> = {};
    for (const key of keys) {
      const value = this.#asJson(`'${key}' of ${owner}`, slots[key]!);
      if (value !== undefined) json[key] = value;
    }
    return json;
  }

  /** `value` as JSON; undefined, and the browser told (see #relay), when JSON cannot carry it. */
  #asJson(what: string, value: AmfValue): JsonValue | undefined {
    return this.#converted(what, () => amfToJson(value));
  }

  /** What `convert` returns; undefined when it meets a value JSON cannot carry, which is logged and told to the browser. */
  #converted<T>(what: string, convert: () => T, id?: CallId): T | undefined {
    try {
      return convert();
    } catch (error) {
      if (!(error instanceof JsonAmfError)) throw error;
      this.log.warn('a value from the origin has no JSON form; not sent to the browser', { what, reason: error.message });
      this.#error('unrepresentable', `${what} cannot be sent as JSON: ${error.message}`, { id });
      return undefined;
    }
  }

  #error(code: BrowserErrorCode, message: string, extra: { id?: CallId | undefined; info?: JsonValue } = {}): void {
    this.#sendJson({ type: 'error', code, message, ...extra });
  }

  /** One more invalid message; closes the connection past maxStrikes. */
  #strike(what: string): void {
    if (++this.#strikes <= this.#limits.maxStrikes) return;
    this.log.warn('closing abusive browser connection', { strikes: this.#strikes, last: what, peer: this.#remoteAddress });
    countBrowserClose('abuse');
    this.#error('bad_message', `too many invalid or over-limit messages (${this.#limits.maxStrikes}); closing`);
    this.#ws.close(1008, 'too many invalid messages');
    setTimeout(() => this.#ws.terminate(), 1000).unref();
    this.#closed = true;
    this.#onClose();
  }

  #allow(): boolean {
    if (!this.#messages.take()) return false;
    this.#droppedSinceNotice = 0;
    return true;
  }

  #onMessage(data: RawData, isBinary: boolean): void {
    if (this.#closed) return;
    if (!this.#allow()) {
      // One reply per burst of dropped messages, not one per message (that would be a flood of our own).
      if (this.#droppedSinceNotice++ === 0) this.#error('rate_limited', `more than ${this.#limits.messagesPerSecond} messages per second; messages are being dropped`);
      if (this.#droppedSinceNotice % 100 === 0) this.#strike('flood');
      return;
    }
    const size = Array.isArray(data) ? data.reduce((n, b) => n + b.length, 0) : (data as Buffer | ArrayBuffer).byteLength;
    let id: string | number | undefined;
    try {
      const tooLarge = (limit: number) => new BadMessage('too_large', `message of ${size} bytes is larger than ${limit}`);
      const largest = Math.max(this.#limits.maxMessageBytes, this.#limits.maxSignallingBytes);
      if (size > largest) throw tooLarge(largest);
      if (isBinary) throw new BadMessage('bad_message', 'binary messages are not part of the protocol; send JSON text');
      let parsed: unknown;
      try {
        parsed = JSON.parse(Buffer.isBuffer(data) ? data.toString('utf8') : Buffer.concat(Array.isArray(data) ? data : [Buffer.from(data)]).toString('utf8'));
      } catch (error) {
        throw new BadMessage('bad_json', `not JSON: ${(error as Error).message}`);
      }
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new BadMessage('bad_message', 'a message is a JSON object with a "type"');
      const message = parsed as Json;
      // Only an SDP offer may exceed maxMessageBytes.
      if (size > this.#limits.maxMessageBytes && !WEBRTC_OFFER_TYPES.has(message.type as string)) throw tooLarge(this.#limits.maxMessageBytes);
      if ((typeof message.id === 'string' && message.id.length <= 64) || typeof message.id === 'number') id = message.id; // echoed in errors
      this.#handle(message);
    } catch (error) {
      if (!(error instanceof BadMessage)) {
        this.#sendJson(internalErrorReply(this.log, 'handling a browser message', error, id));
        return;
      }
      this.#error(error.code, error.message, { id });
      if (error.code === 'bad_json' || error.code === 'too_large' || error.code === 'bad_message') this.#strike(error.code);
    }
  }

  #handle(m: Json): void {
    const type = str(m, 'type', 32);
    if (type === 'ping') return this.#sendJson({ type: 'pong', id: typeof m.id === 'number' || typeof m.id === 'string' ? m.id : undefined });
    if (type === 'join') return this.#join(m);
    if (!this.#joined) throw new BadMessage('not_joined', `'${type}' before join`);
    switch (type) {
      case 'call':
        return this.#call(callId(m), str(m, 'method', 64), amfArgs(m));
      case 'chat':
        return this.#call(m.id === undefined ? `chat-${++this.#chats}` : callId(m), 'sendChat', [str(m, 'text', 2000)]);
      case 'result':
      case 'error':
        return this.#answerServerCall(m, type);
      case 'so.use':
      case 'so.set':
      case 'so.delete':
      case 'so.send':
      case 'so.release':
        return this.#sharedObject(type, m);
      case 'webrtc.publish':
        return this.#webrtc.offer('publish', m, this.#member!);
      case 'webrtc.play':
        return this.#webrtc.offer('play', m, this.#member!);
      case 'webrtc.stop':
        return this.#webrtc.stop(m);
      default:
        throw new BadMessage('bad_message', `unknown message type ${JSON.stringify(type)}`);
    }
  }

  #join(m: Json): void {
    if (this.#joined || this.#joining) throw new BadMessage('already_joined', 'this connection already joined a room');
    const room = safeName(m, 'room');
    const name = str(m, 'name', 64);
    const role = optStr(m, 'role', 16);
    const token = optStr(m, 'token', 1024);
    this.#joining = true;
    const member: RoomMember = { app: `classroom/${room}`, name, role, token };
    // With the token secret the edge refuses a bad token itself: no session is opened on the link for it.
    this.#tokens.refusal('ws', token ?? null, member.app).then(
      (refused) => {
        if (this.#closed) return;
        if (refused) return this.#refuseJoin('forbidden', refused.message, { error: refused.code, description: refused.message });
        this.#connect(member);
      },
      (error: Error) => {
        this.log.error('token check failed', { error: error.stack ?? String(error) });
        this.#joining = false;
        this.#error('join_failed', 'internal error');
      },
    );
  }

  /** Opens the session on the link and connects to the member's room. */
  #connect(member: RoomMember): void {
    if (!this.#client.open()) {
      this.#joining = false;
      return this.#error('no_origin', 'the edge has no link to the origin; try again shortly');
    }
    this.#member = member;
    const { app, name, role, token } = member;
    const connectArgs: AmfObject = { name };
    if (role !== undefined) connectArgs.role = role;
    if (token !== undefined) connectArgs.token = token;
    this.#client.connect(app, [connectArgs], { tcUrl: this.#tcUrl, flashVer: 'WS 1,0,0,0' }).then(
      (info) => this.#onConnectReply(true, info),
      (error: Error) => { if (!(error instanceof LinkClientClosedError)) this.#onConnectReply(false, error instanceof RtmpCallError ? error.info : null); },
    );
    this.log.info('join', { app, name, role, token: token !== undefined });
  }

  /** The join is refused (by the origin, or the edge's token check): the browser is told why, then the socket closes. */
  #refuseJoin(code: 'forbidden' | 'join_failed', reason: string, info: JsonValue): void {
    this.#joining = false;
    this.#error(code, `join refused: ${reason}`, { info });
    this.#end(1000, 'join refused');
  }

  #call(id: string | number, method: string, args: AmfValue[]): void {
    if (method === 'connect' || method.startsWith('_') || !/^[A-Za-z][A-Za-z0-9_.]*$/.test(method)) throw new BadMessage('bad_message', `'${method}' is not a method name a browser may call`);
    if (this.#client.pendingCalls >= this.#limits.maxPendingCalls) throw new BadMessage('too_many_calls', `at most ${this.#limits.maxPendingCalls} calls may await an answer`);
    this.#client.call(method, ...args).then(
      (values) => this.#relay(`the result of '${method}'`, () => ({ type: 'result', id, value: amfToJson(values[0] ?? null) }), id),
      (error: Error) => {
        if (!(error instanceof RtmpCallError)) return; // the session ended: the browser gets 'closed' instead
        const status = error.info;
        this.#relay(`the error of '${method}'`, () => ({ type: 'error', id, code: 'call_failed', message: String(status.description ?? status.code ?? 'call failed'), info: amfToJson(status) }), id);
      },
    );
  }

  #answerServerCall(m: Json, type: 'result' | 'error'): void {
    const tx = m.id;
    const answered = typeof tx === 'number' && (type === 'result'
      ? this.#client.answer(tx, amfValue(m.value ?? null))
      : this.#client.fail(tx, typeof m.message === 'string' ? m.message.slice(0, 500) : 'failed'));
    if (!answered) throw new BadMessage('bad_message', `'${type}' answers no call of the server (id ${JSON.stringify(tx ?? null)})`);
  }

  #sharedObject(type: string, m: Json): void {
    const name = str(m, 'name', 128);
    let so = this.#sharedObjects.get(name);
    if (type === 'so.use') {
      if (so) throw new BadMessage('bad_message', `shared object '${name}' is already in use`);
      if (this.#sharedObjects.size >= this.#limits.maxSharedObjects) throw new BadMessage('too_many_shared_objects', `at most ${this.#limits.maxSharedObjects} shared objects at once`);
      const persistent = field(m, 'persistent', 'boolean', { optional: true }) === true;
      so = new RemoteSharedObject(this.#client, name, persistent);
      this.#watch(so);
      this.#sharedObjects.set(name, so);
      so.connect(10_000).catch(() => {}); // the outcome reaches the browser as so.sync or so.status
      return;
    }
    if (!so) throw new BadMessage('bad_message', `shared object '${name}' is not in use (send so.use first)`);
    switch (type) {
      case 'so.set':
        return so.set(str(m, 'key', 256), amfValue(m.value ?? null));
      case 'so.delete':
        return so.remove(str(m, 'key', 256));
      case 'so.send':
        return so.send(str(m, 'handler', 64), ...amfArgs(m));
      case 'so.release':
        so.release();
        this.#sharedObjects.delete(name);
        return;
    }
  }

  /** Turns what the origin sends for a shared object into so.sync / so.change / so.message / so.status. */
  #watch(so: RemoteSharedObject): void {
    const name = so.name;
    so.on('sync', (events: SharedObjectEvent[], version: number) => {
      if (events.some((e) => e.kind === 'useSuccess')) {
        this.#sendJson({ type: 'so.sync', name, version, data: this.#slotsAsJson(`shared object '${name}'`, so.data, Object.keys(so.data)) });
        return;
      }
      const changedKeys: string[] = [];
      const deleted: string[] = [];
      let cleared = false;
      for (const e of events) {
        if (e.kind === 'change' || e.kind === 'success') {
          if (Object.hasOwn(so.data, e.key)) changedKeys.push(e.key);
        } else if (e.kind === 'remove') deleted.push(e.key);
        else if (e.kind === 'clear') cleared = true;
      }
      const changed = this.#slotsAsJson(`shared object '${name}'`, so.data, changedKeys);
      if (cleared || deleted.length || Object.keys(changed).length) this.#sendJson({ type: 'so.change', name, version, changed, deleted, cleared });
    });
    so.on('send', (handler, args) => this.#relay(`message '${handler}' of shared object '${name}'`, () => ({ type: 'so.message', name, handler, args: args.map((a) => amfToJson(a)) })));
    so.on('status', (code, level) => this.#sendJson({ type: 'so.status', name, code, level }));
  }

  /** A call of the server on this client (NetConnection.client): answered by {type:'result'|'error', id}. */
  #onServerCall(call: ServerCall): void {
    this.#relay(`the server's call of '${call.method}'`, () => ({ type: 'call', id: call.transactionId !== 0 ? call.transactionId : null, method: call.method, args: call.args.map((a) => amfToJson(a)) }));
  }

  #onConnectReply(ok: boolean, info: AmfValue): void {
    this.#joining = false;
    const status = (info ?? {}) as AmfObject;
    const infoJson = this.#asJson('the connect answer', info ?? null) ?? null;
    if (!ok) {
      const reason = String(status.application ?? status.description ?? status.code ?? 'refused');
      // The origin's authorization says why in `error` (auth.*): no, bad or expired token, another room's.
      const denied = typeof status.error === 'string' && status.error.startsWith('auth.');
      return this.#refuseJoin(denied ? 'forbidden' : 'join_failed', reason, infoJson);
    }
    this.#joined = true;
    this.#sendJson({ type: 'joined', info: infoJson });
  }

  #onClose(): void {
    if (this.#finished) return;
    this.#finished = true;
    this.#closed = true;
    this.#webrtc.close();
    this.#client.close('browser disconnected');
    for (const so of this.#sharedObjects.values()) so.removeAllListeners();
    this.#sharedObjects.clear();
    this.emit('close');
  }
}

/** The `/ws` endpoint: accepts WebSocket upgrades on the edge's HTTP server into the edge's sessions. */
export class BrowserGateway {
  readonly #wss: WebSocketUpgrades;
  readonly #sessions: SessionRegistry;
  readonly #link: LinkSender;
  readonly #signallers: BrowserSignallers;
  readonly #tokens: EdgeTokenCheck;
  readonly #log: Logger;
  readonly #limits: BrowserLimits;

  /** `tokens`: the edge's check of a join's token, before its session is opened on the link. */
  constructor(http: EdgeHttpServer, link: LinkSender, sessions: SessionRegistry, signallers: BrowserSignallers, tokens: EdgeTokenCheck, log: Logger, limits: Partial<BrowserLimits> = {}) {
    this.#link = link;
    this.#signallers = signallers;
    this.#tokens = tokens;
    this.#sessions = sessions;
    this.#log = log;
    this.#limits = { ...defaultBrowserLimits, ...limits };
    // Messages up to 16x the largest accepted (an offer) get a `too_large` reply; beyond that ws closes the socket (1009).
    const maxPayload = Math.max(this.#limits.maxMessageBytes, this.#limits.maxSignallingBytes) * 16;
    this.#wss = new WebSocketUpgrades({ maxPayload, perMessageDeflate: false });
    http.upgrade('/ws', (req, socket, head) => {
      this.#wss.handleUpgrade(req, socket, head, () => this.#admits(req, socket), (ws) => this.#accept(ws, req)).catch((error: Error) => {
        this.#log.error('browser upgrade failed', { error: error.stack ?? String(error) });
        socket.destroy();
      });
    });
    http.onClose(() => this.close());
  }

  /** Browsers have their own cap, and count against the edge's maxConnections like every client: false when refused (and answered). */
  #admits(req: IncomingMessage, socket: Duplex): boolean {
    if (!this.#sessions.hasRoom) {
      this.#sessions.logRefusal(this.#log, 'ws', req.socket.remoteAddress);
      refuseUpgrade(socket, 503, 'the edge has too many clients');
      return false;
    }
    if (this.size >= this.#limits.maxSessions) {
      this.#log.warn('browser refused: too many sessions', { limit: this.#limits.maxSessions });
      refuseUpgrade(socket, 503, 'the edge has too many browser sessions');
      return false;
    }
    return true;
  }

  get size(): number { return this.#sessions.count('ws'); }

  close(): void {
    for (const session of this.#sessions.ofProtocol('ws')) void session.shutdown?.();
    for (const ws of this.#wss.clients) ws.terminate();
    this.#wss.close();
  }

  #accept(ws: WebSocket, req: IncomingMessage): void {
    const session = new BrowserSession(ws, req, this.#link, this.#signallers, this.#tokens, this.#limits, this.#log);
    this.#sessions.add(session);
    session.log.info('browser connected', { peer: req.socket.remoteAddress });
    session.on('close', () => this.#sessions.remove(session));
  }
}
