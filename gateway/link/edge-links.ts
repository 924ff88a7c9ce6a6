/**
 * The edge's links to origins, whichever way it runs: one OriginLink to the configured origins
 * (cycling through them when it is lost: every session goes over it, and all hear when it comes and
 * goes), or in cluster mode (`--cluster`) one link per live origin of the Redis directory with each
 * session routed to its room's owner (cluster-links.ts). Each link has its own relay (the local
 * copies of the streams it carries: subscription ids are per link), so one upstream copy per stream
 * per link holds. The edge sees one sender for its sessions and the links' totals.
 */
import { EventEmitter } from 'node:events';
import { fileURLToPath } from 'node:url';
import { lazyRequire } from '#common/lazy-require.ts';
import type { Logger } from '#common/logger.ts';
import type { EdgeConfig } from '../config.ts';
import { EdgeRelay, type EdgeRelayOptions } from '../relay/edge-relay.ts';
import type { LinkSender } from '../session/edge-session.ts';
import type { SessionRegistry } from '../session/session-registry.ts';
import type { ClusterLinks } from './cluster-links.ts';
import { OriginLink, type OriginFrame, type OriginLinkOptions } from './origin-link.ts';

/** Cluster mode's routing and the Redis directory's modules, loaded only with --cluster (lazyRequire: the constructor stays synchronous). */
const clusterLinks = lazyRequire<typeof import('./cluster-links.ts')>(fileURLToPath(import.meta.resolve('./cluster-links.ts')));

export interface EdgeLinksOptions {
  /** The edge's load report, sent on every link. */
  loadReport(): object;
  relay: Omit<EdgeRelayOptions, 'output'>;
  /** A frame from an origin, with the relay of the link it came on. */
  onFrame(frame: OriginFrame, relay: EdgeRelay): void;
}

export interface EdgeLinksEvents {
  /** A link was made (at start, or for an origin that joined the cluster). */
  link: [link: OriginLink];
}

export class EdgeLinks extends EventEmitter<EdgeLinksEvents> {
  /** What every session sends its frames through. */
  readonly sender: LinkSender;
  /** Cluster mode's links and routes; null with one link. */
  readonly cluster: ClusterLinks | null;
  readonly #single: OriginLink | null;
  readonly #relays = new Map<OriginLink, EdgeRelay>();
  readonly #sessions: SessionRegistry;
  readonly #options: EdgeLinksOptions;
  readonly #log: Logger;
  /** Media bytes of relays of links already gone (the total only grows). */
  #goneMediaBytes = 0;

  constructor(config: EdgeConfig, sessions: SessionRegistry, options: EdgeLinksOptions, log: Logger) {
    super();
    this.#sessions = sessions;
    this.#options = options;
    this.#log = log;
    const link: Omit<OriginLinkOptions, 'origins'> = {
      secret: config.secret, edgeName: config.name, tls: config.originTls, caFile: config.originCaFile,
      pingIntervalMs: config.linkPingIntervalMs, loadIntervalMs: config.loadIntervalMs,
      reconnectMinMs: config.reconnectMinMs, reconnectRefusedMaxMs: config.reconnectRefusedMaxMs, reconnectMaxMs: config.reconnectMaxMs, authTimeoutMs: config.linkAuthTimeoutMs,
      loadReport: options.loadReport,
    };
    if (config.cluster !== null) {
      this.#single = null;
      this.cluster = new (clusterLinks().ClusterLinks)({ url: config.cluster, link, routeTimeoutMs: config.connectHoldMs }, sessions, log.child('cluster'));
      this.cluster.on('link', (made) => this.#attach(made));
      this.cluster.on('linkRemoved', (gone) => this.#detach(gone));
      this.sender = this.cluster;
    } else {
      this.cluster = null;
      this.#single = new OriginLink({ ...link, origins: config.origins }, log.child('link'));
      this.#attach(this.#single);
      // Without a cluster every session is on this link: all of them hear when it comes and goes.
      this.#single.on('up', () => sessions.linkUp());
      this.#single.on('down', () => sessions.linkLost());
      this.sender = this.#single;
    }
    sessions.on('removed', (session) => this.detachSession(session.id));
  }

  /** The links now. */
  get all(): OriginLink[] {
    return [...this.#relays.keys()];
  }

  /** With one link: it is up. In cluster mode: there is a link and every one is up. */
  get isUp(): boolean {
    const links = this.all;
    return links.length > 0 && links.every((link) => link.isUp);
  }

  /** The slowest link's last round trip (null before any answer). */
  get rttMs(): number | null {
    const rtts = this.all.flatMap((link) => (link.rttMs === null ? [] : [link.rttMs]));
    return rtts.length > 0 ? Math.max(...rtts) : null;
  }

  get bytesIn(): number { return this.#sum((link) => link.bytesIn); }
  get bytesOut(): number { return this.#sum((link) => link.bytesOut); }
  get streamCount(): number { return this.#sumRelays((relay) => relay.streamCount); }
  get playerCount(): number { return this.#sumRelays((relay) => relay.playerCount); }
  get mediaBytes(): number { return this.#goneMediaBytes + this.#sumRelays((relay) => relay.mediaBytes); }

  async start(): Promise<void> {
    if (this.#single) this.#single.start();
    else await this.cluster!.start();
  }

  /** A client left (or is leaving): its players stop, whichever link fed them. */
  detachSession(sessionId: number): void {
    for (const relay of this.#relays.values()) relay.detachSession(sessionId);
  }

  /** Sends the load report on every link now (the edge started draining). */
  reportLoad(): void {
    for (const link of this.all) link.reportLoad();
  }

  async close(): Promise<void> {
    for (const relay of this.#relays.values()) relay.reset();
    this.#single?.close();
    await this.cluster?.close();
  }

  #attach(link: OriginLink): void {
    const relay = new EdgeRelay({ ...this.#options.relay, output: (sessionId) => this.#sessions.get(sessionId)?.mediaOutput ?? undefined }, this.#log.child('relay'));
    this.#relays.set(link, relay);
    link.on('frame', (frame) => {
      if (this.cluster?.accepts(frame, link) ?? true) this.#options.onFrame(frame, relay);
    });
    // First: the link's streams are gone before its sessions hear of the loss.
    link.on('down', () => relay.reset());
    this.emit('link', link);
  }

  #detach(link: OriginLink): void {
    const relay = this.#relays.get(link);
    if (!relay) return;
    relay.reset();
    this.#goneMediaBytes += relay.mediaBytes;
    this.#relays.delete(link);
  }

  #sum(value: (link: OriginLink) => number): number {
    let total = 0;
    for (const link of this.#relays.keys()) total += value(link);
    return total;
  }

  #sumRelays(value: (relay: EdgeRelay) => number): number {
    let total = 0;
    for (const relay of this.#relays.values()) total += value(relay);
    return total;
  }
}
