/**
 * Every client session of the edge, whatever its protocol (RTMP, RTMPS, RTMPT, WebSocket, HTTP/WS-FLV,
 * and sessions the edge opens itself such as a transcoder's input), by its id on the origin link.
 * The edge dispatches link frames with one lookup here, tells every session when the link comes and
 * goes, enforces maxConnections over all clients alike and reports their counts (Load, stats).
 * It carries the edge's per-address limits (common/address-limits.ts), which every way in asks
 * first; maxConnections stays the last line, and its refusals name the addresses holding the most.
 */
import { EventEmitter } from 'node:events';
import type { AddressLimits } from '#common/address-limits.ts';
import type { Logger } from '#common/logger.ts';
import { LogThrottle } from '#common/log-throttle.ts';
import type { MediaOutput } from '#common/media/live-delivery.ts';
import type { RtmpMessage } from '#protocol/rtmp/message.ts';

/** What the edge asks of a session of any protocol. */
export interface EdgeClientSession {
  /** The session's id on the origin link. */
  readonly id: number;
  /** How the client reached the edge: 'rtmp', 'rtmps', 'rtmpt', 'ws', 'http-flv', 'ws-flv', 'transcoder', ... */
  readonly protocol: string;
  /** Opened by the edge itself, not by a client (a transcoder's input): not counted, never refused. */
  readonly internal: boolean;
  /** Where the relay delivers the live streams this session plays; null when it plays none. */
  readonly mediaOutput: MediaOutput | null;
  /** A message of this session from the origin. */
  deliver(message: RtmpMessage): void;
  /** The origin ended the session (SessionClose). */
  closeFromOrigin(reason: string): void;
  /** The link is up (again). */
  linkUp(): void;
  /** The link dropped. */
  linkLost(): void;
  close(reason: string | null): void;
  /**
   * The edge is stopping: tell the client in its protocol's words (RTMP NetConnection.Connect.AppShutdown,
   * WebSocket close code 1001) and end the session; resolves once it has closed.
   */
  shutdown?(): Promise<void>;
}

export interface SessionRegistryEvents {
  /** A session left the registry (it closed): the relay's players of it must go. */
  removed: [session: EdgeClientSession];
}

export class SessionRegistry extends EventEmitter<SessionRegistryEvents> {
  readonly #sessions = new Map<number, EdgeClientSession>();
  readonly #maxClients: number;
  /** The edge's per-address limits, asked before maxConnections. */
  readonly addresses: AddressLimits;
  readonly #refusalWarnings: LogThrottle;
  #admitting = true;

  constructor(maxClients: number, addresses: AddressLimits, log: Logger) {
    super();
    this.#maxClients = maxClients;
    this.addresses = addresses;
    this.#refusalWarnings = new LogThrottle(log);
  }

  /** Client sessions (internal ones left out): what limits and load reports count. */
  get clients(): number {
    let count = 0;
    for (const session of this.#sessions.values()) if (!session.internal) count++;
    return count;
  }

  /** Client sessions by protocol, e.g. { rtmp: 3, ws: 2, 'http-flv': 1 }. */
  get clientsByProtocol(): Record<string, number> {
    const counts: Record<string, number> = {};
    for (const session of this.#sessions.values()) if (!session.internal) counts[session.protocol] = (counts[session.protocol] ?? 0) + 1;
    return counts;
  }

  /** One more client may come in (maxConnections counts clients of every protocol). */
  get hasRoom(): boolean { return this.#admitting && this.clients < this.#maxClients; }

  get limit(): number { return this.#maxClients; }

  /**
   * Logs a client refused because the edge is full (hasRoom was false), rate-limited per address,
   * with the addresses holding the most connections: who filled it.
   */
  logRefusal(log: Logger, protocol: string, peer: string | undefined): void {
    this.#refusalWarnings.warn(`${peer} max_connections`, 'client refused: too many clients', () => ({
      peer, protocol, limit: this.#maxClients, admitting: this.#admitting, topAddresses: this.addresses.describeTopHolders(),
    }), log);
  }

  count(protocol: string): number {
    return this.clientsByProtocol[protocol] ?? 0;
  }

  ofProtocol(protocol: string): EdgeClientSession[] {
    return [...this.#sessions.values()].filter((session) => session.protocol === protocol);
  }

  get(sessionId: number): EdgeClientSession | undefined {
    return this.#sessions.get(sessionId);
  }

  /** Adds a session; its owner calls `remove` when it closes. */
  add(session: EdgeClientSession): void {
    this.#sessions.set(session.id, session);
  }

  remove(session: EdgeClientSession): void {
    if (this.#sessions.get(session.id) !== session) return;
    this.#sessions.delete(session.id);
    this.emit('removed', session);
  }

  linkUp(): void {
    for (const session of [...this.#sessions.values()]) session.linkUp();
  }

  linkLost(): void {
    for (const session of [...this.#sessions.values()]) session.linkLost();
  }

  /** The edge is stopping: no client of any protocol is admitted any more (they all ask hasRoom). */
  stopAdmitting(): void {
    this.#admitting = false;
  }

  /** Tells every session that has a way to say it that the edge is stopping; one promise per session told, settled when it has closed. */
  notifyShutdown(): Promise<void>[] {
    return [...this.#sessions.values()].flatMap((session) => (session.shutdown ? [session.shutdown()] : []));
  }

  closeAll(reason: string | null): void {
    for (const session of [...this.#sessions.values()]) session.close(reason);
  }
}
