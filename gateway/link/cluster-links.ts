/**
 * The edge in cluster mode (`--cluster redis://HOST:PORT`): one authenticated OriginLink per live
 * origin of the Redis directory (added and removed as origins come and go), and every client
 * session routed to the link of its room's owner. Sessions of every kind (RTMP, WebSocket, FLV
 * viewers, WebRTC) send their frames through this one LinkSender: a new session's SessionOpen and
 * messages are held until its connect names the room (connect's `app`, e.g. `classroom/room42`),
 * the room is placed (on first use, on the least-loaded origin) and the owner's link is up; then
 * they go there in order, and the session's later frames go straight to it.
 *
 * A connect to an application's own scope (`live`) names no room: its streams are placed one by one
 * (`live/NAME`). The session opens on any origin that is up, to answer connect and createStream;
 * its first play or publish is held while the stream is placed, and if the stream's owner is another
 * origin the session moves there (SessionClose on the first, then SessionOpen and what it sent so
 * far replayed on the owner, whose answers to those calls the client already had are dropped).
 *
 * The directory may have changed between the edge's placement and the origin's check (the room was
 * released and placed elsewhere, or the edge answered from what it knew while Redis was away): the
 * origin then refuses connect (or a `live` session's first play or publish) with `cluster.not_owner`
 * naming the owner. The edge does not pass that on: it closes the session there and opens it again
 * on the owner named (or, if it has no link up to that one, whoever the directory says owns the room
 * now) with what it sent (answers the client already had dropped, as for a move), once; a second
 * refusal reaches the client.
 *
 * When an owner's link drops, its sessions are told (`linkLost`: a play-only RTMP client is kept,
 * the rest close, as without a cluster); the room is placed again (the dead owner's lease lapses
 * within a few seconds, then the least-loaded live origin takes it) and kept sessions are replayed
 * there (`linkUp`). The edge keeps one relay per link, so one upstream copy per stream per link holds.
 */
import { EventEmitter, once } from 'node:events';
import { LinkFrameKind, type LinkFrame } from '#protocol/link/link-frame.ts';
import { decodeCommand, type RtmpCommand } from '#protocol/rtmp/command.ts';
import { MessageType } from '#protocol/rtmp/message.ts';
import type { AmfObject } from '#protocol/amf/types.ts';
import { CodedError } from '#protocol/errors.ts';
import type { Logger } from '#common/logger.ts';
import { parseScope } from '../../origin/core/scope.ts';
import { RedisOriginDirectory } from '../../origin/cluster/redis-origin-directory.ts';
import { DirectoryClosedError, type LiveOrigin } from '../../origin/cluster/origin-directory.ts';
import type { NotOwnerInfo } from '../../origin/cluster/origin-cluster.ts';
import { parseOriginAddress } from '../config.ts';
import { OriginLink, type OriginFrame, type OriginLinkOptions } from './origin-link.ts';
import type { LinkSender } from '../session/edge-session.ts';
import type { SessionRegistry } from '../session/session-registry.ts';
import { countNotOwner, countRouting } from './cluster-metrics.ts';

export interface ClusterLinksOptions {
  /** redis://HOST:PORT of the directory. */
  url: string;
  keyPrefix?: string;
  /** Every link's settings but where it goes (the directory says). */
  link: Omit<OriginLinkOptions, 'origins'>;
  /** A session whose room cannot be reached on a live origin within this long is closed. */
  routeTimeoutMs: number;
}

export interface ClusterLinksEvents {
  /** A link to a newly seen origin was made (the edge attaches its frame handling and relay). */
  link: [link: OriginLink];
  /** That origin left the directory: its link is closed. */
  linkRemoved: [link: OriginLink];
}

/** A session's room has no origin that could run it (none live, or none reachable in time). */
export class NoRouteError extends CodedError {
  constructor(roomKey: string, waitedMs: number) {
    super('cluster.no_route', `no live origin reachable for room ${roomKey} within ${waitedMs} ms`);
  }
}

/** The room's owner named the refusing origin itself again: the directory and that origin disagree (a retry would loop). */
export class StaleOwnerError extends CodedError {
  constructor(roomKey: string, origin: string) {
    super('cluster.not_owner', `origin ${origin} refused room ${roomKey} as not its own, and the directory still places it there`);
  }
}

/** Where one session's frames go. */
interface Route {
  /** The session's SessionOpen (sent again when it moves to its stream's origin). */
  opening: LinkFrame;
  /** connect's scope path, once seen. */
  scopePath: string | null;
  /** What is placed: `application/room`, or `application/STREAM` for an application's own scope once it plays or publishes. */
  roomKey: string | null;
  /** An application's own scope before its first stream: the origin it opened on meanwhile, and the messages it sent there. */
  provisional: { link: OriginLink; sent: LinkFrame[] } | null;
  /** The owner's link the session is open on; null while it is being placed (or again after a loss). */
  link: OriginLink | null;
  /** Frames held while the session has no link (SessionOpen, connect, what followed). */
  held: LinkFrame[];
  /** A placement is running for it. */
  placing: boolean;
  /** connect's transaction id, once seen (its answer says whether the origin admitted the session). */
  connectTx: number | null;
  /** Until the owner admits the session (or after the one re-route, never again): what to send the real owner if it refuses. */
  admission: Admission | null;
  /** The origin that refused the session as not its room's owner: its late frames for it are dropped. */
  refusedBy: OriginLink | null;
}

type MessageFrame = Extract<LinkFrame, { kind: typeof LinkFrameKind.Message }>;

/**
 * A session sent to its room's owner and not yet admitted there: the answer it waits for (connect's,
 * or for a `live` session the first stream's status), what it sent that origin since SessionOpen (sent
 * again to the real owner if this one refuses with cluster.not_owner) and the transactions among them
 * the client already had answers to (from the origin a `live` session opened on first).
 */
interface Admission {
  awaiting: { kind: 'connect'; transactionId: number } | { kind: 'stream'; streamId: number };
  frames: LinkFrame[];
  answered: Set<number>;
}

/** The command a message frame carries, or null (media, data, or undecodable: the origin answers those itself). */
function commandOf(frame: LinkFrame): RtmpCommand | null {
  if (frame.kind !== LinkFrameKind.Message || (frame.type !== MessageType.CommandAmf0 && frame.type !== MessageType.CommandAmf3)) return null;
  try {
    return decodeCommand({ type: frame.type, timestamp: frame.timestamp, streamId: frame.streamId, payload: frame.payload });
  } catch {
    return null;
  }
}

/** The scope a connect asks for (`perStream`: an application's own scope, placed by stream) and its transaction, or null when the frame is no valid connect. */
function connectScope(frame: LinkFrame): { path: string; perStream: boolean; transactionId: number } | null {
  const command = commandOf(frame);
  const app = command?.name === 'connect' ? ((command.commandObject ?? {}) as AmfObject).app : undefined;
  if (typeof app !== 'string') return null;
  try {
    const scope = parseScope(app);
    return { path: scope.path, perStream: scope.room === '', transactionId: command!.transactionId };
  } catch {
    return null;
  }
}

/**
 * What `frame` says about an admission: null when it is not the answer awaited; `{ refusedFor }` when
 * it is a `cluster.not_owner` refusal (with the owner it names, or null); `admitted` for any other answer.
 */
function admissionAnswer(frame: OriginFrame, awaiting: Admission['awaiting']): { refusedFor: NotOwnerInfo | null } | 'admitted' | null {
  const command = commandOf(frame);
  if (!command) return null;
  const answers = awaiting.kind === 'connect'
    ? (command.name === '_result' || command.name === '_error') && command.transactionId === awaiting.transactionId
    : command.name === 'onStatus' && frame.kind === LinkFrameKind.Message && frame.streamId === awaiting.streamId;
  if (!answers) return null;
  const info = command.args[0] as AmfObject | undefined;
  if (command.name === '_result' || info?.level !== 'error' || info.error !== 'cluster.not_owner') return 'admitted';
  const owner = info.owner as AmfObject | undefined;
  return { refusedFor: typeof owner?.leaseId === 'string' ? owner as unknown as NotOwnerInfo : null };
}

/** The transactions of `frames` that expect an answer. */
function transactionsOf(frames: LinkFrame[]): Set<number> {
  const transactions = new Set<number>();
  for (const frame of frames) {
    const tx = commandOf(frame)?.transactionId ?? 0;
    if (tx !== 0) transactions.add(tx);
  }
  return transactions;
}

/** The stream a play or publish on a NetStream names (query dropped), or null for any other message. */
function streamNamed(frame: MessageFrame): string | null {
  if (frame.streamId === 0) return null;
  const command = commandOf(frame);
  const name = command && (command.name === 'play' || command.name === 'publish') ? command.args[0] : undefined;
  return typeof name === 'string' && name !== '' ? name.split('?')[0]! : null;
}

export class ClusterLinks extends EventEmitter<ClusterLinksEvents> implements LinkSender {
  readonly directory: RedisOriginDirectory;
  readonly #options: ClusterLinksOptions;
  readonly #sessions: SessionRegistry;
  readonly #log: Logger;
  /** One link per live origin, by lease id. */
  readonly #links = new Map<string, OriginLink>();
  readonly #routes = new Map<number, Route>();
  /** Sessions moved to their stream's origin: the transactions of theirs it answers again, dropped (by session). */
  readonly #replayedAnswers = new Map<number, { link: OriginLink; transactions: Set<number> }>();
  #started = false;
  #closed = false;

  constructor(options: ClusterLinksOptions, sessions: SessionRegistry, log: Logger) {
    super();
    this.#options = options;
    this.#sessions = sessions;
    this.#log = log;
    this.directory = new RedisOriginDirectory({ url: options.url, keyPrefix: options.keyPrefix, log: log.child('directory') });
    this.directory.on('origin-up', (origin) => {
      if (this.#closed) return;
      try {
        this.#linkTo(origin);
      } catch (error) {
        // A lease with a link address no link can dial: its rooms' sessions fail to route (#ownerLink throws the same).
        this.#log.error('origin cannot be linked to', { origin: origin.originId, linkAddress: origin.linkAddress, error: (error as Error).message });
      }
    });
    this.directory.on('origin-down', (origin) => {
      // A link that is up proves its origin alive (a Redis restarted empty lists no origin until they
      // write their leases again): it stays, and goes when it drops while the directory lacks the origin.
      if (this.#links.get(origin.leaseId)?.isUp) this.#log.info('origin left the directory but its link is up: kept', { origin: origin.originId });
      else this.#removeLink(origin.leaseId);
    });
    sessions.on('removed', (session) => {
      this.#routes.delete(session.id);
      this.#replayedAnswers.delete(session.id);
    });
  }

  /** Links to the origins live now (more come as the directory sees them). */
  async start(): Promise<void> {
    this.#started = true;
    // Links the directory's first listing made before the edge started.
    for (const link of this.#links.values()) link.start();
    for (const origin of await this.directory.origins()) this.#linkTo(origin);
  }

  send(frame: LinkFrame): boolean {
    if (this.#closed || !('sessionId' in frame)) return false;
    const id = frame.sessionId;
    let route = this.#routes.get(id);
    if (frame.kind === LinkFrameKind.SessionOpen && !route) {
      route = { opening: frame, scopePath: null, roomKey: null, provisional: null, link: null, held: [], placing: false, connectTx: null, admission: null, refusedBy: null };
      this.#routes.set(id, route);
    }
    if (!route) return false;
    if (frame.kind === LinkFrameKind.SessionClose) {
      this.#routes.delete(id);
      return (route.link ?? route.provisional?.link)?.send(frame) ?? false;
    }
    if (route.link && route.held.length === 0) {
      const stream = route.provisional && frame.kind === LinkFrameKind.Message ? streamNamed(frame) : null;
      if (stream === null) {
        if (frame.kind === LinkFrameKind.Message) route.provisional?.sent.push(frame);
        route.admission?.frames.push(frame);
        return route.link.send(frame);
      }
      // The first stream of an application's own scope: held while the stream is placed.
      route.roomKey = `${route.scopePath}/${stream}`;
      route.link = null;
    }
    // No link yet (or the session is being replayed after a loss): held in order until there is one.
    route.held.push(frame);
    if (route.scopePath === null && frame.kind === LinkFrameKind.Message) {
      // No valid connect first: any origin refuses it as it would without a cluster.
      const scope = connectScope(frame) ?? { path: '(no valid connect)', perStream: true, transactionId: null };
      route.scopePath = scope.path;
      route.connectTx = scope.transactionId;
      if (scope.perStream) void this.#openProvisional(id, route);
      else route.roomKey = scope.path;
    }
    if (route.roomKey !== null && !route.placing) void this.#place(id, route);
    return true;
  }

  /**
   * Whether a frame from `link` is for the edge: not when it is of a session routed to another link
   * now (late frames of the origin a session moved from), nor when it answers a call a moved session
   * made on its first origin already (its connect, createStream...: the client had those answers).
   */
  accepts(frame: OriginFrame, link: OriginLink): boolean {
    if (!('sessionId' in frame)) return true;
    const route = this.#routes.get(frame.sessionId);
    if (route && route.refusedBy === link) return false;
    const current = route ? route.link ?? route.provisional?.link ?? null : null;
    if (current !== null && current !== link) return false;
    if (route?.admission && route.link === link) {
      const answer = admissionAnswer(frame, route.admission.awaiting);
      if (answer === 'admitted') route.admission = null;
      else if (answer !== null) {
        void this.#reroute(frame.sessionId, route, link, answer.refusedFor);
        return false;
      }
    }
    return !this.#isReplayedAnswer(frame, link);
  }

  #isReplayedAnswer(frame: OriginFrame, link: OriginLink): boolean {
    if (frame.kind !== LinkFrameKind.Message) return false;
    const replayed = this.#replayedAnswers.get(frame.sessionId);
    if (!replayed || replayed.link !== link) return false;
    const command = commandOf(frame);
    if (!command || (command.name !== '_result' && command.name !== '_error') || !replayed.transactions.delete(command.transactionId)) return false;
    if (replayed.transactions.size === 0) this.#replayedAnswers.delete(frame.sessionId);
    return true;
  }

  /** Stops watching the directory and closes every link. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const leaseId of [...this.#links.keys()]) this.#removeLink(leaseId);
    this.#routes.clear();
    await this.directory.close();
  }

  /** An application's own scope: the session opens on an origin that is up until its first stream says where it belongs. */
  async #openProvisional(sessionId: number, route: Route): Promise<void> {
    route.placing = true;
    try {
      const link = await this.#anyLinkUp();
      if (this.#routes.get(sessionId) !== route) return;
      route.provisional = { link, sent: [] };
      route.link = link;
      // Through send() again: a play or publish already among them is held for its stream's placement.
      for (const frame of route.held.splice(0)) this.send(frame);
    } catch (error) {
      this.#unroutable(sessionId, route, route.scopePath!, error as Error);
    } finally {
      route.placing = false;
    }
    if (route.roomKey !== null && !route.link && this.#routes.get(sessionId) === route) void this.#place(sessionId, route);
  }

  /** Places the route's room and sends what it holds to the owner's link once that is up. */
  async #place(sessionId: number, route: Route): Promise<void> {
    route.placing = true;
    const roomKey = route.roomKey!;
    try {
      const link = await this.#ownerLink(roomKey);
      if (this.#routes.get(sessionId) !== route) return;
      const held = route.held.splice(0);
      // Kept until the owner admits the session, in case it no longer owns the room (one re-route).
      const firstTry = route.refusedBy === null;
      if (route.provisional) {
        const { sent } = route.provisional;
        const streamId = held.find((frame): frame is MessageFrame => frame.kind === LinkFrameKind.Message && streamNamed(frame) !== null)?.streamId;
        this.#move(sessionId, route, route.provisional, link);
        if (firstTry && streamId !== undefined) route.admission = { awaiting: { kind: 'stream', streamId }, frames: [...sent, ...held], answered: transactionsOf(sent) };
      } else {
        countRouting('placed');
        if (firstTry && route.connectTx !== null) {
          route.admission = { awaiting: { kind: 'connect', transactionId: route.connectTx }, frames: held.filter((frame) => frame !== route.opening), answered: new Set() };
        }
      }
      route.link = link;
      for (const frame of held) link.send(frame);
    } catch (error) {
      this.#unroutable(sessionId, route, roomKey, error as Error);
    } finally {
      route.placing = false;
    }
  }

  /**
   * `refusedBy` refused the session (its connect, or a `live` session's first stream) with
   * cluster.not_owner: the session closes there and opens again, once, on the owner the refusal names
   * if the edge has a link up to it, else on the owner the directory gives now (not `refusedBy` again:
   * that would loop), with what it sent (answers the client already had dropped).
   */
  async #reroute(sessionId: number, route: Route, refusedBy: OriginLink, named: NotOwnerInfo | null): Promise<void> {
    const roomKey = route.roomKey!;
    const admission = route.admission!;
    route.admission = null;
    route.refusedBy = refusedBy;
    route.link = null;
    refusedBy.send({ kind: LinkFrameKind.SessionClose, sessionId, reason: 'routed to the owner of its room' });
    route.placing = true;
    try {
      const namedLink = named ? this.#links.get(named.leaseId) : undefined;
      const link = namedLink?.isUp ? namedLink : await this.#ownerLink(roomKey);
      if (this.#routes.get(sessionId) !== route) return;
      if (link === refusedBy) throw new StaleOwnerError(roomKey, refusedBy.origin);
      this.#openOn(sessionId, route, link, admission.frames, admission.answered);
      route.link = link;
      for (const frame of route.held.splice(0)) link.send(frame);
      countRouting('rerouted');
      countNotOwner('rerouted');
      this.#log.info('session refused as not the owner\'s: routed to the owner', { session: sessionId, room: roomKey, from: refusedBy.origin, to: link.origin });
    } catch (error) {
      countNotOwner('failed');
      this.#unroutable(sessionId, route, roomKey, error as Error);
    } finally {
      route.placing = false;
    }
  }

  /** The session's first stream belongs to another origin than the one it opened on: it moves there. */
  #move(sessionId: number, route: Route, provisional: { link: OriginLink; sent: LinkFrame[] }, owner: OriginLink): void {
    route.provisional = null;
    if (provisional.link === owner) return;
    provisional.link.send({ kind: LinkFrameKind.SessionClose, sessionId, reason: 'moved to the origin of its stream' });
    this.#openOn(sessionId, route, owner, provisional.sent, transactionsOf(provisional.sent));
    countRouting('moved');
    this.#log.info('session moved to the origin of its stream', { session: sessionId, stream: route.roomKey, origin: owner.origin });
  }

  /** Opens the session on `link` with what it sent elsewhere; the answers to `answered` (the client had them) are dropped. */
  #openOn(sessionId: number, route: Route, link: OriginLink, frames: LinkFrame[], answered: Set<number>): void {
    link.send(route.opening);
    for (const frame of frames) link.send(frame);
    if (answered.size > 0) this.#replayedAnswers.set(sessionId, { link, transactions: new Set(answered) });
    else this.#replayedAnswers.delete(sessionId);
  }

  #unroutable(sessionId: number, route: Route, roomKey: string, error: Error): void {
    if (this.#routes.get(sessionId) !== route || this.#closed) return;
    this.#routes.delete(sessionId);
    countRouting('unroutable');
    this.#log.warn('session not routed', { session: sessionId, room: roomKey, error: error.message });
    this.#sessions.get(sessionId)?.closeFromOrigin(error.message);
  }

  /** A link that is up (the first made), waiting for one until routeTimeoutMs. */
  async #anyLinkUp(): Promise<OriginLink> {
    const deadline = Date.now() + this.#options.routeTimeoutMs;
    for (;;) {
      const up = [...this.#links.values()].find((link) => link.isUp);
      if (up) return up;
      if (Date.now() >= deadline || this.#closed) throw new NoRouteError('(any)', this.#options.routeTimeoutMs);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }

  /**
   * The link of the room's live owner, once it is up: the room is placed if it has no live owner;
   * an owner whose link does not come up is asked about again (its lease lapses if it died, and the
   * room goes elsewhere) until routeTimeoutMs.
   */
  async #ownerLink(roomKey: string): Promise<OriginLink> {
    const started = Date.now();
    for (;;) {
      const owner = await this.directory.placeRoom(roomKey);
      const link = this.#linkTo(owner);
      if (link.isUp) return link;
      const waitedMs = Date.now() - started;
      if (waitedMs >= this.#options.routeTimeoutMs || this.#closed) throw new NoRouteError(roomKey, waitedMs);
      // Up, or half a second to ask the directory again (the owner may have died).
      await once(link, 'up', { signal: AbortSignal.timeout(500) }).catch(() => undefined);
    }
  }

  /** The link to `origin`, made (and started) when it is new. */
  #linkTo(origin: LiveOrigin): OriginLink {
    const existing = this.#links.get(origin.leaseId);
    if (existing) return existing;
    if (this.#closed) throw new DirectoryClosedError();
    const link = new OriginLink({ ...this.#options.link, origins: [parseOriginAddress(origin.linkAddress)] }, this.#log.with({ origin: origin.originId }));
    this.#links.set(origin.leaseId, link);
    // The edge's relay hears of a loss first (its streams end), then the sessions (#linkLost).
    this.emit('link', link);
    link.on('down', () => {
      this.#linkLost(link);
      if (!this.directory.knownOrigins().some((known) => known.leaseId === origin.leaseId)) this.#removeLink(origin.leaseId);
    });
    if (this.#started) link.start();
    this.#log.info('origin joined: linking to it', { origin: origin.originId, leaseId: origin.leaseId, linkAddress: origin.linkAddress });
    return link;
  }

  #removeLink(leaseId: string): void {
    const link = this.#links.get(leaseId);
    if (!link) return;
    this.#links.delete(leaseId);
    this.#log.info('origin left the directory: link closed', { leaseId });
    link.close();
    this.emit('linkRemoved', link);
  }

  /**
   * An owner's link dropped: its sessions hear it as without a cluster (linkLost), and those that
   * stay (players) are routed again, to wherever their room is placed now, and replayed there.
   */
  #linkLost(link: OriginLink): void {
    for (const [sessionId, route] of this.#routes) {
      if (route.link !== link && route.provisional?.link !== link) continue;
      route.link = null;
      route.held = [];
      const session = this.#sessions.get(sessionId);
      session?.linkLost();
      if (!session || this.#routes.get(sessionId) !== route) continue;
      // Opened on an origin before its first stream: it has nothing to be replayed for.
      if (route.roomKey === null || route.provisional) {
        session.close('the edge lost the origin it was opened on');
        continue;
      }
      void this.#replay(sessionId, route);
    }
  }

  /** A kept session: once its room's owner is reachable, the session replays itself there (its frames come back through send). */
  async #replay(sessionId: number, route: Route): Promise<void> {
    route.placing = true;
    try {
      const link = await this.#ownerLink(route.roomKey!);
      if (this.#routes.get(sessionId) !== route) return;
      route.link = link;
      countRouting('replayed');
      this.#log.info('session routed again after its origin was lost', { session: sessionId, room: route.roomKey, origin: link.origin });
      this.#sessions.get(sessionId)?.linkUp();
    } catch (error) {
      if (this.#routes.get(sessionId) !== route || this.#closed) return;
      this.#routes.delete(sessionId);
      this.#sessions.get(sessionId)?.close((error as Error).message);
    } finally {
      route.placing = false;
    }
  }
}
