/**
 * RTMPT (RTMP tunnelled through HTTP, as Red5 and FMS served it to classrooms behind proxies that
 * let only HTTP through) on the edge's HTTP port. POST /open/1 starts a session (the reply is its
 * id and a newline), POST /send/ID/SEQ carries the client's RTMP bytes, /idle/ID/SEQ polls,
 * /close/ID/SEQ ends it; a send or idle reply is a polling-delay byte, then the RTMP bytes queued
 * for the client (application/x-fcs, keep-alive). /fcs/ident2 gets 404 as from Red5.
 *
 * Each session is an RtmptTunnel given to the edge's `accept`, so it is an ordinary edge client:
 * the same EdgeSession and RtmpConnection as over TCP, the same limits and counts; a tunnel outlives
 * the HTTP connections that carry it, so each holds a lease on its address's limits of its own (over
 * them /open gets 429). Garbage
 * (not POST, a bad path or sequence number, a body over `rtmptMaxBodyBytes`) gets 400 and an
 * unknown session 404; such a request closes the session it names and no other. A session with no
 * request for `rtmptIdleTimeoutMs` is closed. GET /rtmpt/stats counts sessions and queued bytes.
 */
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '#common/logger.ts';
import type { RtmpSocket } from '#common/rtmp-connection.ts';
import { AddressRefusal, type AddressLease, type AddressLimits } from '#common/address-limits.ts';
import { LogThrottle } from '#common/log-throttle.ts';
import { readBoundedBody, RequestAborted, sendText, type EdgeHttpServer } from '../http/edge-http-server.ts';
import type { RtmptLimits } from './rtmpt-limits.ts';
import { RtmptTunnel } from './rtmpt-tunnel.ts';

/** Starts a client session over `socket`, admitted by `lease`; false when the edge refused it (too many clients). */
export type AcceptClient = (socket: RtmpSocket, lease: AddressLease) => boolean;

export interface RtmptStats {
  /** Sessions open now. */
  sessions: number;
  /** Sessions opened since the start. */
  opened: number;
  /** Sessions closed for want of requests (rtmptIdleTimeoutMs). */
  idleClosed: number;
  /** Sessions closed because the client did not poll fast enough (rtmptMaxQueuedBytes). */
  overflowClosed: number;
  /** Requests answered 400 or 404. */
  refused: number;
  /** Bytes waiting for polls, all sessions together, and in the fullest one. */
  queuedBytes: number;
  largestQueueBytes: number;
}

type TunnelCommand = 'send' | 'idle' | 'close';
type RtmptRequest = { command: 'open' } | { command: TunnelCommand; sessionId: string; sequence: number };

const TUNNEL_COMMANDS: readonly TunnelCommand[] = ['send', 'idle', 'close'];
const SESSION_ID = /^[0-9a-f]{24}$/;
const SEQUENCE = /^\d{1,10}$/;
const CONTENT_TYPE = 'application/x-fcs';

/** `/open/N` or `/CMD/SESSION/SEQ`; otherwise what is wrong, with the session id when one was readable. */
export function parseRtmptPath(pathname: string): RtmptRequest | { error: string; sessionId: string | null } {
  const [command, ...rest] = pathname.split('/').slice(1);
  if (command === 'open') return rest.length === 1 && SEQUENCE.test(rest[0]!) ? { command } : { error: 'expected /open/<n>', sessionId: null };
  const tunnelCommand = TUNNEL_COMMANDS.find((c) => c === command);
  if (!tunnelCommand) return { error: `unknown RTMPT command '${command}'`, sessionId: null };
  const sessionId = rest[0] !== undefined && SESSION_ID.test(rest[0]) ? rest[0] : null;
  if (rest.length !== 2 || !sessionId) return { error: `expected /${tunnelCommand}/<session>/<sequence>`, sessionId };
  if (!SEQUENCE.test(rest[1]!)) return { error: 'bad sequence number', sessionId };
  return { command: tunnelCommand, sessionId, sequence: Number(rest[1]) };
}

function sendFcs(res: ServerResponse, body: Buffer): void {
  res.writeHead(200, { 'content-type': CONTENT_TYPE, 'content-length': body.length, 'cache-control': 'no-cache' });
  res.end(body);
}

export class RtmptServer {
  readonly #limits: RtmptLimits;
  readonly #addresses: AddressLimits;
  readonly #accept: AcceptClient;
  readonly #log: Logger;
  /** Bad requests are a client's doing: their lines are rate-limited per address and status. */
  readonly #warnings: LogThrottle;
  readonly #tunnels = new Map<string, RtmptTunnel>();
  readonly #sweepTimer: NodeJS.Timeout;
  #opened = 0;
  #overflowClosed = 0;
  #idleClosed = 0;
  #refused = 0;

  constructor(http: EdgeHttpServer, limits: RtmptLimits, addresses: AddressLimits, accept: AcceptClient, log: Logger) {
    this.#limits = limits;
    this.#addresses = addresses;
    this.#accept = accept;
    this.#log = log;
    this.#warnings = new LogThrottle(log);
    for (const command of ['open', ...TUNNEL_COMMANDS]) {
      http.route(`/${command}/`, (req, res, url) => this.#onRequest(req, res, url), { prefix: true });
    }
    http.route('/fcs/', (_req, res, url) => {
      // Red5 answers ident2 with 404 unless configured; FMS-era clients then go on to /open/1.
      if (url.pathname === '/fcs/ident') sendFcs(res, Buffer.from('<fcs><Company>classroom-gateway</Company></fcs>'));
      else sendText(res, 404, 'not found\n');
    }, { prefix: true });
    http.route('/rtmpt/stats', (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' });
      res.end(JSON.stringify(this.stats));
    });
    http.onClose(() => this.close());
    this.#sweepTimer = setInterval(() => this.#closeIdle(), Math.max(100, Math.min(1000, limits.rtmptIdleTimeoutMs / 4)));
    this.#sweepTimer.unref();
  }

  get stats(): RtmptStats {
    let queuedBytes = 0;
    let largestQueueBytes = 0;
    for (const tunnel of this.#tunnels.values()) {
      queuedBytes += tunnel.writableLength;
      largestQueueBytes = Math.max(largestQueueBytes, tunnel.writableLength);
    }
    return { sessions: this.#tunnels.size, opened: this.#opened, idleClosed: this.#idleClosed, overflowClosed: this.#overflowClosed, refused: this.#refused, queuedBytes, largestQueueBytes };
  }

  close(): void {
    clearInterval(this.#sweepTimer);
    this.#warnings.close();
    for (const tunnel of [...this.#tunnels.values()]) tunnel.destroy();
  }

  async #onRequest(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const request = parseRtmptPath(url.pathname);
    const named = 'sessionId' in request && request.sessionId ? this.#tunnels.get(request.sessionId) : undefined;
    if (req.method !== 'POST') return this.#refuse(req, res, 400, 'RTMPT requests are POST', named);
    if ('error' in request) return this.#refuse(req, res, 400, request.error, named);
    try {
      if (request.command === 'open') return await this.#open(req, res);
      const tunnel = named;
      if (!tunnel) return this.#refuse(req, res, 404, 'unknown RTMPT session', undefined);
      if (!tunnel.acceptRequest(request.sequence)) return this.#refuse(req, res, 400, `sequence number ${request.sequence} is not above the session's last`, tunnel);
      const body = readBoundedBody(req, this.#limits.rtmptMaxBodyBytes);
      body.catch(() => undefined); // awaited in its turn below; an abort before then must not count as unhandled
      await tunnel.inOrder(async () => this.#handle(request.command, tunnel, await body, req, res));
    } catch (error) {
      if (!(error instanceof RequestAborted)) throw error;
      res.destroy();
    }
  }

  async #open(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (!(await readBoundedBody(req, this.#limits.rtmptMaxBodyBytes))) return this.#refuse(req, res, 400, this.#bodyTooLarge(), undefined);
    const peer = { address: req.socket.remoteAddress ?? 'unknown', port: req.socket.remotePort ?? 0 };
    const lease = this.#addresses.admit(peer.address, 'rtmpt');
    if (lease instanceof AddressRefusal) return sendText(res, 429, `${lease.message}\n`);
    const tunnel = new RtmptTunnel(randomBytes(12).toString('hex'), peer, {
      maxQueuedBytes: this.#limits.rtmptMaxQueuedBytes, maxReplyBytes: this.#limits.rtmptMaxReplyBytes,
    }, this.#log);
    if (!this.#accept(tunnel, lease)) {
      lease.release();
      return sendText(res, 503, 'too many clients\n');
    }
    this.#tunnels.set(tunnel.id, tunnel);
    tunnel.once('close', () => {
      lease.release();
      this.#tunnels.delete(tunnel.id);
      if (tunnel.overflowed) this.#overflowClosed++;
    });
    this.#opened++;
    tunnel.log.info('RTMPT session opened', { peer: `${peer.address}:${peer.port}` });
    sendFcs(res, Buffer.from(`${tunnel.id}\n`));
  }

  /** A send, idle or close of `tunnel`, in the session's order, once its body is read. */
  #handle(command: TunnelCommand, tunnel: RtmptTunnel, body: Buffer | null, req: IncomingMessage, res: ServerResponse): void {
    if (!body) return this.#refuse(req, res, 400, this.#bodyTooLarge(), tunnel);
    if (tunnel.destroyed) return this.#refuse(req, res, 404, 'RTMPT session closed', undefined);
    if (command === 'close') {
      tunnel.log.info('RTMPT session closed by the client');
      sendFcs(res, Buffer.of(0));
      tunnel.destroy();
      return;
    }
    if (command === 'send') tunnel.receive(body);
    sendFcs(res, tunnel.reply());
  }

  #bodyTooLarge(): string {
    return `request body over ${this.#limits.rtmptMaxBodyBytes} bytes (rtmptMaxBodyBytes)`;
  }

  /** Answers a bad request with `status`; the session it names (if any) is closed. */
  #refuse(req: IncomingMessage, res: ServerResponse, status: number, reason: string, tunnel: RtmptTunnel | undefined): void {
    this.#refused++;
    this.#warnings.warn(`${req.socket.remoteAddress} ${status}`, 'bad RTMPT request', { status, method: req.method, path: req.url, reason, peer: req.socket.remoteAddress });
    if (tunnel && !tunnel.destroyed) {
      tunnel.log.warn('RTMPT session closed after a bad request', { reason });
      tunnel.destroy();
    }
    sendText(res, status, `${reason}\n`);
  }

  #closeIdle(): void {
    for (const tunnel of [...this.#tunnels.values()]) {
      if (tunnel.idleMs <= this.#limits.rtmptIdleTimeoutMs) continue;
      this.#idleClosed++;
      tunnel.log.info('RTMPT session idle: closed', { idleMs: tunnel.idleMs, limit: 'rtmptIdleTimeoutMs', rtmptIdleTimeoutMs: this.#limits.rtmptIdleTimeoutMs });
      tunnel.destroy();
    }
  }
}
