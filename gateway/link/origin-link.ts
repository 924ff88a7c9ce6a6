/**
 * The edge's side of the edge-origin link: one TCP (or TLS) connection carrying every client
 * session of this edge. Authenticates both ways (the edge proves the secret, and refuses an origin
 * that cannot prove it back), measures round-trip time, reports load, and when the link drops
 * reconnects, cycling through the configured origins: at once after losing a link that worked, then
 * with a jittered back-off whose cap depends on how the attempt failed (an origin host that refuses
 * at once is asked again within reconnectRefusedMaxMs; timeouts and the origin's own refusals back
 * off to reconnectMaxMs). Frames are written as they come (no merging): commands and calls must
 * never wait behind a timer.
 */
import { EventEmitter } from 'node:events';
import { readFileSync } from 'node:fs';
import { connect as tcpConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { Backoff } from '#common/backoff.ts';
import { LogThrottle } from '#common/log-throttle.ts';
import { edgeProof, newLinkNonce, originProof, proofMatches } from '#protocol/link/link-auth.ts';
import { encodeLinkFrame, LINK_PROTOCOL_VERSION, LinkFrameDecoder, LinkFrameKind, type LinkFrame } from '#protocol/link/link-frame.ts';
import { failureReason } from '#common/failure-reason.ts';
import type { Logger } from '#common/logger.ts';
import type { OriginAddress } from '../config.ts';

export interface OriginLinkOptions {
  origins: OriginAddress[];
  secret: string;
  edgeName: string;
  tls: boolean;
  caFile: string | null;
  pingIntervalMs: number;
  loadIntervalMs: number;
  /** The first delay after a failed attempt; it doubles per failed attempt. */
  reconnectMinMs: number;
  /** Longest delay after an attempt the origin's host refused or reset at once (LinkFailureKind 'refused'). */
  reconnectRefusedMaxMs: number;
  /** Longest delay after any other failed attempt (timed out, unreachable, refused by the origin itself). */
  reconnectMaxMs: number;
  /** The link must be authenticated within this time after connecting (default DEFAULT_AUTH_TIMEOUT_MS; EdgeConfig.linkAuthTimeoutMs). */
  authTimeoutMs?: number;
  /** The edge's load report (sent every loadIntervalMs while the link is up; `draining: true` takes it out of the origin's pick). */
  loadReport(): object;
}

/** Frames the origin sends once the link is authenticated (sessions and relay). */
export type OriginFrame = Exclude<LinkFrame, { kind: typeof LinkFrameKind.Hello | typeof LinkFrameKind.Challenge | typeof LinkFrameKind.Auth | typeof LinkFrameKind.AuthOk | typeof LinkFrameKind.AuthFailed | typeof LinkFrameKind.Ping | typeof LinkFrameKind.Pong | typeof LinkFrameKind.Load }>;

export interface OriginLinkEvents {
  /** Authenticated: sessions may open. */
  up: [origin: string];
  /** The link was lost: it redials in `retryInMs` (0: at once), null when it was closed. */
  down: [reason: string, retryInMs: number | null];
  /** An attempt to link failed before the link was up: refused, unreachable, TLS, ... (it tries again in `retryInMs`). */
  attemptFailed: [reason: string, retryInMs: number];
  frame: [frame: OriginFrame];
}

/** The default of authTimeoutMs. */
export const DEFAULT_AUTH_TIMEOUT_MS = 10_000;

/**
 * How an attempt failed, which decides how soon the next is made. `refused`: the origin's host
 * answered at once that nobody takes the link there (connection refused or reset, closed before the
 * handshake: an origin restarting, a cut path that rejects); asking again costs a packet each way,
 * so the delay stays within reconnectRefusedMaxMs. `other`: the attempt timed out, the host is
 * unreachable, TLS failed, or the origin itself refused this edge (secret, name, version): the
 * delay doubles up to reconnectMaxMs, not to hammer a black hole or an origin that said no.
 */
export type LinkFailureKind = 'refused' | 'other';

/** Socket errors that mean the host answered at once (LinkFailureKind 'refused'). */
const REFUSED_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE']);

/**
 * A link that stayed up this long was working: its loss is redialled at once. One lost sooner (an
 * origin that drops links as soon as they are made) counts as a failed attempt and backs off.
 */
export const STABLE_LINK_MS = 1000;

/** Jitter of the reconnect delays: each is 50..100 % of its step, so edges that lost the same origin spread their attempts. */
const RECONNECT_JITTER = 0.5;

/**
 * The moments of the link's last recovery from a loss (epoch milliseconds with fractions, this
 * machine's clock: comparable with another process's `performance.timeOrigin + performance.now()`).
 */
export interface LinkRecovery {
  /** The up link was found lost. */
  lostAt: number;
  /** The attempt that succeeded started (after `failedAttempts` failed ones). */
  dialedAt: number;
  /** Its TCP (or TLS) connection was made. */
  connectedAt: number;
  /** Authenticated: the link is up, kept sessions are replayed. */
  upAt: number;
  failedAttempts: number;
}

/** Now on the wall clock, with the monotonic clock's fractions. */
function wallClockMs(): number {
  return performance.timeOrigin + performance.now();
}

/** The failure kind of a socket error. */
function socketFailureKind(error: NodeJS.ErrnoException): LinkFailureKind {
  return error.code !== undefined && REFUSED_CODES.has(error.code) ? 'refused' : 'other';
}

type LinkState = 'idle' | 'connecting' | 'authenticating' | 'up' | 'closed';

export class OriginLink extends EventEmitter<OriginLinkEvents> {
  readonly #options: OriginLinkOptions;
  readonly #log: Logger;
  readonly #ca: Buffer | undefined;
  #state: LinkState = 'idle';
  #socket: Socket | null = null;
  #decoder = new LinkFrameDecoder();
  #edgeNonce: Buffer = Buffer.alloc(0);
  #originNonce: Buffer = Buffer.alloc(0);
  #originIndex = 0;
  readonly #backoff: Backoff;
  /** Attempt-failed lines, a few per origin and reason per interval: an origin down for long retried often must not fill the log. */
  readonly #attemptWarnings: LogThrottle;
  #retryTimer: NodeJS.Timeout | null = null;
  #authTimer: NodeJS.Timeout | null = null;
  #pingTimer: NodeJS.Timeout | null = null;
  #loadTimer: NodeJS.Timeout | null = null;
  #lastReceivedAt = 0;
  #nextPingId = 1;
  readonly #pingsSent = new Map<number, number>();
  #rttMs: number | null = null;
  #bytesIn = 0;
  #bytesOut = 0;
  #connectedTo = '';
  #attempt = 0;
  #upAt = 0;
  /** The current recovery: when the up link was lost (null when none is under way), the attempt under way, failed ones. */
  #lostAt: number | null = null;
  #dialedAt = 0;
  #connectedAt = 0;
  #failedSinceLoss = 0;
  #lastRecovery: LinkRecovery | null = null;

  constructor(options: OriginLinkOptions, log: Logger) {
    super();
    this.#options = options;
    this.#log = log;
    this.#backoff = new Backoff({ minMs: options.reconnectMinMs, maxMs: options.reconnectMaxMs, jitter: RECONNECT_JITTER });
    this.#attemptWarnings = new LogThrottle(log);
    this.#ca = options.caFile ? readFileSync(options.caFile) : undefined;
  }

  get isUp(): boolean { return this.#state === 'up'; }
  get rttMs(): number | null { return this.#rttMs; }
  /** Bytes read from and written to the link, over all its connections. */
  get bytesIn(): number { return this.#bytesIn + (this.#socket?.bytesRead ?? 0); }
  get bytesOut(): number { return this.#bytesOut + (this.#socket?.bytesWritten ?? 0); }
  /** Bytes written to the link and not yet taken by the kernel (frames are never queued elsewhere). */
  get backlogBytes(): number { return this.#socket?.writableLength ?? 0; }
  get origin(): string { return this.#connectedTo; }
  /** The last recovery from a lost link (null before the first loss was recovered). */
  get lastRecovery(): LinkRecovery | null { return this.#lastRecovery; }

  start(): void {
    if (this.#state !== 'idle') return;
    this.#connect();
  }

  /** Sends a frame at once; false when the link is not up (the frame is not queued). */
  send(frame: LinkFrame): boolean {
    if (this.#state !== 'up' || !this.#socket) return false;
    this.#socket.write(encodeLinkFrame(frame));
    return true;
  }

  /** Sends the load report now rather than at the next interval (the edge started draining); dropped while the link is down. */
  reportLoad(): void {
    this.#sendLoad();
  }

  close(): void {
    if (this.#state === 'closed') return;
    const wasUp = this.#state === 'up';
    this.#state = 'closed';
    if (this.#retryTimer) clearTimeout(this.#retryTimer);
    this.#teardown();
    this.#attemptWarnings.close();
    if (wasUp) this.emit('down', 'edge shutting down', null);
  }

  #connect(): void {
    const target = this.#options.origins[this.#originIndex % this.#options.origins.length]!;
    const address = `${target.host}:${target.port}`;
    this.#attempt++;
    this.#state = 'connecting';
    this.#dialedAt = wallClockMs();
    this.#decoder = new LinkFrameDecoder();
    this.#log.info('connecting to origin', { origin: address, tls: this.#options.tls, attempt: this.#attempt });
    const socket = this.#options.tls
      ? tlsConnect({ host: target.host, port: target.port, ca: this.#ca, servername: /^[\d.:]+$/.test(target.host) ? undefined : target.host })
      : tcpConnect({ host: target.host, port: target.port });
    this.#socket = socket;
    socket.setNoDelay(true);
    socket.once(this.#options.tls ? 'secureConnect' : 'connect', () => {
      if (this.#socket !== socket) return;
      this.#state = 'authenticating';
      this.#connectedAt = wallClockMs();
      this.#lastReceivedAt = Date.now();
      this.#edgeNonce = newLinkNonce();
      socket.write(encodeLinkFrame({ kind: LinkFrameKind.Hello, version: LINK_PROTOCOL_VERSION, edgeName: this.#options.edgeName, edgeNonce: this.#edgeNonce }));
    });
    socket.on('data', (data) => { if (this.#socket === socket) this.#onData(data, address); });
    socket.on('error', (error) => { if (this.#socket === socket) this.#lost(address, error.message, socketFailureKind(error)); });
    socket.on('close', () => { if (this.#socket === socket) this.#lost(address, 'connection closed by the origin', 'refused'); });
    const authTimeoutMs = this.#options.authTimeoutMs ?? DEFAULT_AUTH_TIMEOUT_MS;
    this.#authTimer = setTimeout(() => this.#lost(address, `not authenticated within ${authTimeoutMs} ms`), authTimeoutMs);
    this.#authTimer.unref();
  }

  #onData(data: Buffer, address: string): void {
    this.#lastReceivedAt = Date.now();
    let frames: LinkFrame[];
    try {
      frames = this.#decoder.push(data);
    } catch (error) {
      this.#lost(address, failureReason(error, this.#log, 'link data'));
      return;
    }
    for (const frame of frames) {
      if (this.#socket === null || this.#state === 'closed') return;
      this.#onFrame(frame, address);
    }
  }

  #onFrame(frame: LinkFrame, address: string): void {
    switch (frame.kind) {
      case LinkFrameKind.Challenge: {
        if (this.#state !== 'authenticating') return this.#lost(address, 'unexpected challenge');
        if (frame.version !== LINK_PROTOCOL_VERSION) return this.#lost(address, `origin speaks link version ${frame.version}, this edge ${LINK_PROTOCOL_VERSION}`);
        this.#originNonce = frame.originNonce;
        this.#socket!.write(encodeLinkFrame({ kind: LinkFrameKind.Auth, proof: edgeProof(this.#options.secret, this.#options.edgeName, frame.originNonce, this.#edgeNonce) }));
        return;
      }
      case LinkFrameKind.AuthOk: {
        if (this.#state !== 'authenticating' || this.#originNonce.length === 0) return this.#lost(address, 'AuthOk before the challenge');
        const expected = originProof(this.#options.secret, this.#options.edgeName, this.#originNonce, this.#edgeNonce);
        if (!proofMatches(frame.proof, expected)) {
          this.#log.error('origin failed to prove the link secret: refusing it', { origin: address });
          return this.#lost(address, 'origin proof mismatch');
        }
        this.#up(address);
        return;
      }
      case LinkFrameKind.AuthFailed:
        this.#log.error('origin refused this edge', { origin: address, reason: frame.reason });
        return this.#lost(address, `refused: ${frame.reason}`);
      case LinkFrameKind.Ping:
        this.#socket!.write(encodeLinkFrame({ kind: LinkFrameKind.Pong, id: frame.id }));
        return;
      case LinkFrameKind.Pong: {
        const sentAt = this.#pingsSent.get(frame.id);
        this.#pingsSent.delete(frame.id);
        if (sentAt !== undefined) this.#rttMs = Date.now() - sentAt;
        return;
      }
      case LinkFrameKind.Hello:
      case LinkFrameKind.Auth:
      case LinkFrameKind.Load:
        return this.#lost(address, `origin sent an edge-only frame (kind ${frame.kind})`);
      default:
        if (this.#state !== 'up') return this.#lost(address, `frame kind ${frame.kind} before authentication`);
        this.emit('frame', frame);
    }
  }

  #up(address: string): void {
    if (this.#authTimer) clearTimeout(this.#authTimer);
    this.#state = 'up';
    this.#connectedTo = address;
    this.#upAt = wallClockMs();
    if (this.#lostAt !== null) {
      this.#lastRecovery = { lostAt: this.#lostAt, dialedAt: this.#dialedAt, connectedAt: this.#connectedAt, upAt: this.#upAt, failedAttempts: this.#failedSinceLoss };
      this.#lostAt = null;
    }
    this.#attempt = 0;
    this.#log.info('link up', { origin: address });
    this.#pingTimer = setInterval(() => this.#ping(address), this.#options.pingIntervalMs);
    this.#loadTimer = setInterval(() => this.#sendLoad(), this.#options.loadIntervalMs);
    this.#ping(address); // the first round trip is known before the second load report
    this.#sendLoad();
    this.emit('up', address);
  }

  #ping(address: string): void {
    const silentMs = Date.now() - this.#lastReceivedAt;
    if (silentMs > 3 * this.#options.pingIntervalMs) return this.#lost(address, `origin silent for ${silentMs} ms`);
    const id = this.#nextPingId++ >>> 0;
    this.#pingsSent.set(id, Date.now());
    if (this.#pingsSent.size > 16) this.#pingsSent.delete(this.#pingsSent.keys().next().value!);
    this.send({ kind: LinkFrameKind.Ping, id });
  }

  #sendLoad(): void {
    this.send({ kind: LinkFrameKind.Load, report: JSON.stringify({ ...this.#options.loadReport(), rttMs: this.#rttMs }) });
  }

  /** The link or an attempt at it ended: the next attempt (to the next configured origin) is scheduled by how it ended. */
  #lost(address: string, reason: string, kind: LinkFailureKind = 'other'): void {
    if (this.#state === 'closed' || this.#socket === null) return;
    const wasUp = this.#state === 'up';
    this.#teardown();
    this.#originIndex++;
    const now = wallClockMs();
    if (wasUp) {
      this.#lostAt = now;
      this.#failedSinceLoss = 0;
    } else if (this.#lostAt !== null) {
      this.#failedSinceLoss++;
    }
    // A working link's loss is news: redial at once, the back-off starting over. A link lost as soon as it
    // was made backs off as a failed attempt would, whatever ended it (no reset: its steps keep doubling).
    const stable = wasUp && now - this.#upAt >= STABLE_LINK_MS;
    if (stable) this.#backoff.reset();
    const retryKind = wasUp ? 'other' : kind;
    const delay = stable ? 0 : this.#backoff.next(retryKind === 'refused' ? this.#options.reconnectRefusedMaxMs : undefined);
    this.#state = 'idle';
    if (wasUp) this.#log.warn('link lost', { origin: address, reason, reconnectInMs: delay });
    else this.#attemptWarnings.warn(`${address} ${reason}`, 'link attempt failed', { origin: address, reason, kind, reconnectInMs: delay });
    this.#retryTimer = setTimeout(() => { this.#retryTimer = null; this.#connect(); }, delay);
    if (wasUp) this.emit('down', reason, delay);
    else this.emit('attemptFailed', reason, delay);
  }

  #teardown(): void {
    for (const timer of [this.#authTimer, this.#pingTimer, this.#loadTimer]) if (timer) clearTimeout(timer);
    this.#authTimer = this.#pingTimer = this.#loadTimer = null;
    this.#pingsSent.clear();
    const socket = this.#socket;
    this.#socket = null;
    if (socket) {
      this.#bytesIn += socket.bytesRead;
      this.#bytesOut += socket.bytesWritten;
      socket.destroy();
    }
  }
}
