/**
 * The edge as one entity: an RTMP listener for clients, one authenticated link to the origin (in
 * cluster mode one per live origin, each client routed to its room's owner: link/edge-links.ts) that
 * carries all their sessions (one SessionRegistry for clients of every protocol), and the local fan-out of the live streams they play. `start()` brings
 * the listener up and starts the link; `close()` stops listening, closes every client, then the link;
 * `shutdown()` (SIGTERM) drains first: the origin stops sending users here and clients are told.
 */
import { hostname } from 'node:os';
import type { AddressInfo } from 'node:net';
import { FlashPolicy, FlashPolicyServer } from '#common/flash-policy.ts';
import { RtmpListener } from '#common/rtmp-listener.ts';
import { AddressLimits, type AddressLease } from '#common/address-limits.ts';
import { applyHttpLimits } from '#common/http-limits.ts';
import { isWildcardAddress } from '#common/listen.ts';
import { Logger } from '#common/logger.ts';
import { settledWithin, SHUTDOWN_NOTICE_MS } from '#common/graceful-shutdown.ts';
import { RtmpConnection, type RtmpConnectionOptions, type RtmpSocket } from '#common/rtmp-connection.ts';
import { tlsFiles } from '#common/listener-config.ts';
import { LinkFrameKind } from '#protocol/link/link-frame.ts';
import { originHttpUrl, type EdgeConfig } from './config.ts';
import type { OriginFrame } from './link/origin-link.ts';
import { EdgeLinks } from './link/edge-links.ts';
import type { EdgeRelay } from './relay/edge-relay.ts';
import { EdgeSession } from './session/edge-session.ts';
import { SessionRegistry } from './session/session-registry.ts';
import { EdgeHttpServer } from './http/edge-http-server.ts';
import { EdgeTokenCheck } from './http/edge-token-check.ts';
import { OriginRecordingsProxy } from './http/origin-recordings-proxy.ts';
import { BrowserGateway } from './browser/ws-session.ts';
import { EdgePlayback } from './playback/edge-playback.ts';
import { RtmptServer } from './rtmpt/rtmpt-server.ts';
import { WhipEndpoint } from './webrtc/whip-endpoint.ts';
import { WhepEndpoint } from './webrtc/whep-endpoint.ts';
import { LocalPublishers } from './webrtc/local-publishers.ts';
import { serveMetrics } from '#common/metrics/registry.ts';
import { countEdgeInternalError, countEdgeRefusal, EdgeMetrics } from './edge-metrics.ts';
import { boundAddress, type ListenAddresses, type ServiceAddresses } from '#common/ready-report.ts';

/** What the edge counts, for its load reports, its stats log and benchmarks. */
export interface EdgeStats {
  /** Clients of every protocol (RTMP, RTMPS, RTMPT, WebSocket, HTTP/WS-FLV viewers). */
  clients: number;
  streams: number;
  players: number;
  linkUp: boolean;
  linkRttMs: number | null;
  linkBytesIn: number;
  linkBytesOut: number;
  relayMediaBytes: number;
  /** Browser playback (HTTP/WS-FLV): viewers, running transcoders, transcoders started so far. */
  flvViewers: number;
  transcoders: number;
  transcodersStarted: number;
  transcodersFailed: number;
  /** WebRTC playback: WHEP sessions, viewers of shared feeds, feeds and their video/audio transcoders running now. */
  whepViewers: number;
  webrtcFeedViewers: number;
  webrtcFeeds: number;
  webrtcVideoTranscoders: number;
  webrtcAudioTranscoders: number;
}

export class Edge {
  readonly config: EdgeConfig;
  readonly log: Logger;
  /** The link to the origin, or in cluster mode one per live origin, each with its relay (the local fan-out of its streams). */
  readonly links: EdgeLinks;
  /** The RTMP port, and the RTMPS port when configured: clients of either are the same EdgeSession. */
  readonly #listeners: RtmpListener[];
  /** Flash's cross-domain policy: /crossdomain.xml, and the socket policy on the RTMP ports (and 843 when enabled). */
  readonly policy: FlashPolicy;
  readonly #policyServer: FlashPolicyServer | null;
  readonly #connectionOptions: Partial<RtmpConnectionOptions>;
  /** Every client session, whatever its protocol: link frames, limits and load reports go through it. */
  readonly sessions: SessionRegistry;
  /** Per-address limits, asked first by every way in (RTMP ports, HTTP connections, RTMPT tunnels, WebRTC sessions). */
  readonly addresses: AddressLimits;
  /** Checks tokens on the HTTP routes before a session is opened on the link, when the edge has the token secret (tokenSecretFile). */
  readonly tokens: EdgeTokenCheck;
  /** The HTTP server (web client, /ws, HTTP/WS-FLV routes); started with the edge, closed with it. */
  readonly http: EdgeHttpServer;
  /** Browser sessions over WebSocket (/ws): sessions on the link like RTMP clients; their WebRTC sessions (protocol 'ws-webrtc') too. */
  readonly browsers: BrowserGateway;
  /** HTTP-FLV and WS-FLV playback (/live/...): viewers are sessions on the link too. */
  readonly playback: EdgePlayback;
  /** WHIP (/whip/...): browsers publishing over WebRTC, sessions on the link like RTMP publishers. */
  readonly whip: WhipEndpoint;
  /** WHEP (/whep/...): browsers playing over WebRTC, sessions on the link like RTMP viewers. */
  readonly whep: WhepEndpoint;
  /** Streams published over WebRTC here, whose RTP WebRTC viewers here get forwarded (SFU). */
  readonly localPublishers: LocalPublishers;
  /** RTMPT (/open, /send, /idle, /close on the HTTP port): each tunnel is a client like a socket. */
  readonly rtmpt: RtmptServer;
  /** The pages' recordings list and playback (/api/recordings, /recordings/...): the origin's HTTP API, reached through here. */
  readonly recordings: OriginRecordingsProxy;
  #publicUrl = '';
  #statsTimer: NodeJS.Timeout | null = null;
  /** Prometheus metrics (GET /metrics), read from the parts above when scraped. */
  readonly #metrics: EdgeMetrics;
  /** Stopping: the origin was told (Load `draining`), no client is admitted. */
  #draining = false;
  /** What start() bound (the ready report). */
  #listening: ListenAddresses = {};
  #closed = false;

  constructor(config: EdgeConfig) {
    this.config = config;
    this.log = new Logger('edge', { edge: config.name });
    this.#connectionOptions = {
      decoderLimits: { maxMessageSize: config.maxMessageBytes },
      handshakeTimeoutMs: config.handshakeTimeoutMs,
      connectTimeoutMs: config.connectTimeoutMs,
      idleTimeoutMs: config.idleTimeoutMs,
      pingIntervalMs: config.pingIntervalMs,
      mediaFlushMs: config.mediaFlushMs,
    };
    this.addresses = new AddressLimits(config, this.log.child('limits'));
    this.sessions = new SessionRegistry(config.maxConnections, this.addresses, this.log);
    this.links = new EdgeLinks(config, this.sessions, {
      loadReport: () => ({
        clients: this.sessions.clients, protocols: this.sessions.clientsByProtocol,
        streams: this.links.streamCount, players: this.links.playerCount, publicUrl: this.#publicUrl,
        draining: this.#draining,
      }),
      relay: { maxGopBytes: config.maxGopBytes, maxPlayerBacklogBytes: config.maxPlayerBacklogBytes, mediaBatchMs: config.mediaFlushMs },
      onFrame: (frame, relay) => this.#onFrame(frame, relay),
    }, this.log);
    this.http = new EdgeHttpServer(this.log.child('http'));
    applyHttpLimits(this.http.server, config, this.addresses);
    this.tokens = new EdgeTokenCheck(config.tokenSecret);
    this.playback = new EdgePlayback(this.http, this.links.sender, this.sessions, {
      maxGopBytes: config.maxGopBytes, maxPlayerBacklogBytes: config.maxPlayerBacklogBytes,
      detachSession: (id) => this.links.detachSession(id), publicUrl: () => this.#publicUrl, tokens: this.tokens,
      publisherWaitMs: config.flvPublisherWaitMs, maxBufferedBytes: config.browser.maxBufferedBytes, idleTimeoutMs: config.browser.idleTimeoutMs,
    }, this.log.child('playback'));
    const webrtc = {
      bindAddress: config.webrtcBind ?? (isWildcardAddress(config.bind) ? undefined : config.bind), portRangeBegin: config.webrtcPortRangeBegin || undefined,
      portRangeEnd: config.webrtcPortRangeEnd || undefined, gatheringTimeoutMs: config.webrtcGatheringTimeoutMs,
    };
    this.localPublishers = new LocalPublishers(this.http);
    this.whip = new WhipEndpoint(this.http, this.links.sender, this.sessions, {
      ingest: { ...webrtc, keyframeIntervalMs: config.keyframeIntervalMs, maxVideoBitrate: config.webrtcMaxBitrate }, localPublishers: this.localPublishers, tokens: this.tokens,
    }, this.log.child('whip'));
    this.whep = new WhepEndpoint(this.http, this.links.sender, this.sessions, { egress: webrtc, maxGopBytes: config.maxGopBytes,
      forwarding: { publishers: this.localPublishers, egress: webrtc, detachSession: (id) => this.links.detachSession(id) }, tokens: this.tokens }, this.log.child('whep'));
    // Browsers signal WebRTC on /ws too, through the signallers WHIP and WHEP use.
    this.browsers = new BrowserGateway(this.http, this.links.sender, this.sessions, { publish: this.whip.signaller, play: this.whep.signaller }, this.tokens, this.log.child('ws'), config.browser);
    // Domains default to this edge's public host, known once it listens (see start()).
    this.policy = new FlashPolicy(config.policyDomains ?? []);
    this.#policyServer = config.policyPort === null ? null : new FlashPolicyServer(this.policy, config.handshakeTimeoutMs, this.log.child('policy'));
    this.http.route('/crossdomain.xml', (_req, res) => this.policy.sendUrlPolicy(res));
    this.recordings = new OriginRecordingsProxy(this.http, originHttpUrl(config), this.log.child('recordings'));
    const ports = [{ port: config.rtmpPort, tls: null }, ...(config.rtmpsPort === null ? [] : [{ port: config.rtmpsPort, tls: tlsFiles(config) }])];
    this.#listeners = ports.map(({ port, tls }) => new RtmpListener({
      host: config.bind, port, tls, policy: this.policy, handshakeTimeoutMs: config.handshakeTimeoutMs,
      addresses: this.addresses, accept: (socket, lease) => { this.#accept(socket, tls ? 'rtmps' : 'rtmp', lease); },
    }, this.log));
    this.rtmpt = new RtmptServer(this.http, config, this.addresses, (tunnel, lease) => this.#accept(tunnel, 'rtmpt', lease), this.log.child('rtmpt'));
    // Last: a constructor that failed above leaves no metrics registered.
    this.#metrics = new EdgeMetrics({
      stats: () => this.stats, webrtc: () => this.whep.stats, forwarding: () => this.localPublishers.stats, sessions: this.sessions, links: this.links,
    });
    this.addresses.registerMetrics('classroom_edge');
    this.http.route('/metrics', serveMetrics);
  }

  /**
   * A client over TCP or an RTMPT tunnel, admitted by its address's limits (`lease`): one EdgeSession
   * either way; false when the edge is full.
   */
  #accept(socket: RtmpSocket, protocol: 'rtmp' | 'rtmps' | 'rtmpt', lease: AddressLease): boolean {
    if (!this.sessions.hasRoom) {
      this.sessions.logRefusal(this.log, protocol, socket.remoteAddress);
      socket.destroy();
      countEdgeRefusal(this.#draining ? 'draining' : 'max_connections');
      return false;
    }
    const connection = new RtmpConnection(socket, { ...this.#connectionOptions, onHandshakeDone: () => lease.handshakeDone() }, this.log);
    this.#metrics.track(connection);
    const session = new EdgeSession(connection, socket, this.links.sender, protocol, this.config);
    this.sessions.add(session);
    session.on('closing', () => this.links.detachSession(session.id));
    session.on('close', () => this.sessions.remove(session));
    return true;
  }

  get stats(): EdgeStats {
    const webrtc = this.whep.stats;
    return {
      clients: this.sessions.clients, streams: this.links.streamCount, players: this.links.playerCount,
      linkUp: this.links.isUp, linkRttMs: this.links.rttMs, linkBytesIn: this.links.bytesIn, linkBytesOut: this.links.bytesOut,
      relayMediaBytes: this.links.mediaBytes, flvViewers: this.playback.stats.viewers,
      transcoders: this.playback.stats.transcoders, transcodersStarted: this.playback.stats.transcodersStarted, transcodersFailed: this.playback.stats.transcodersFailed,
      whepViewers: webrtc.whepSessions, webrtcFeedViewers: webrtc.feedViewers, webrtcFeeds: webrtc.feeds,
      webrtcVideoTranscoders: webrtc.videoTranscoders, webrtcAudioTranscoders: webrtc.audioTranscoders,
    };
  }

  /** Listens for clients and starts the link; resolves with the RTMP address bound. */
  async start(): Promise<AddressInfo> {
    const addresses = await Promise.all(this.#listeners.map((listener) => listener.listen()));
    const address = addresses[0]!;
    // A wildcard bind address is no place a client can dial: name the machine instead (--public-url overrides).
    const host = isWildcardAddress(address.address) ? hostname() : address.address;
    this.#publicUrl = this.config.publicUrl || `rtmp://${host.includes(':') ? `[${host}]` : host}:${address.port}`;
    this.log.info('RTMP listening', { address: `rtmp://${address.address}:${address.port}`, publicUrl: this.#publicUrl,
      origins: this.config.cluster === null ? this.config.origins.map((o) => `${o.host}:${o.port}`).join(',') : `the cluster's (${this.config.cluster})` });
    if (addresses[1]) this.log.info('RTMPS listening', { address: `rtmps://${addresses[1].address}:${addresses[1].port}` });
    this.#listening.rtmp = boundAddress(address);
    if (addresses[1]) this.#listening.rtmps = boundAddress(addresses[1]);
    this.policy.ports = addresses.map((a) => a.port);
    if (this.policy.domains.length === 0) this.policy.domains = [new URL(this.#publicUrl).hostname.replace(/^\[|\]$/g, '')];
    if (this.#policyServer) this.#listening.policy = boundAddress(await this.#policyServer.listen(this.config.policyPort!, this.config.bind));
    this.#listening.http = boundAddress(await this.http.start(this.config.httpPort, this.config.bind));
    await this.links.start();
    if (this.config.statsIntervalMs > 0) {
      this.#statsTimer = setInterval(() => this.log.info('stats', { ...this.stats }), this.config.statsIntervalMs);
      this.#statsTimer.unref();
    }
    return address;
  }

  /** The addresses start() bound, for the ready report. */
  listening(): ServiceAddresses {
    return { edge: { ...this.#listening } };
  }

  /**
   * A graceful stop (SIGTERM): the edge drains. The origin hears at once that it is leaving (a Load
   * report with `draining: true`, so /api/edges/pick stops sending users here), no client of any
   * protocol is admitted any more, RTMP clients are told NetConnection.Connect.AppShutdown and
   * browsers get close code 1001; once they have left (or SHUTDOWN_NOTICE_MS passed) close() ends
   * the rest (FLV viewers, WebRTC sessions) and the link.
   */
  async shutdown(): Promise<void> {
    if (this.#closed || this.#draining) return;
    this.#draining = true;
    this.links.reportLoad();
    this.sessions.stopAdmitting();
    for (const listener of this.#listeners) void listener.close();
    const told = this.sessions.notifyShutdown();
    const allLeft = await settledWithin(told, SHUTDOWN_NOTICE_MS);
    this.log.info('clients told of the shutdown', { clients: told.length, allLeft });
    await this.close();
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#statsTimer) clearInterval(this.#statsTimer);
    const closed = Promise.all([...this.#listeners.map((listener) => listener.close()), this.#policyServer?.close()]);
    // Browsers and viewers are told the edge is stopping; RTMP clients just see the connection close (shutdown() tells them first).
    this.browsers.close();
    this.playback.close();
    this.sessions.closeAll(null);
    await Promise.all([closed, this.http.close()]);
    await this.links.close();
    this.#metrics.close();
    this.addresses.close();
    this.log.info('stopped');
  }

  #onFrame(frame: OriginFrame, relay: EdgeRelay): void {
    try {
      this.#dispatch(frame, relay);
    } catch (error) {
      // A bug while handling one frame costs that client (if the frame had one), never the link.
      this.log.error('internal error while handling a link frame', { kind: frame.kind, error: (error as Error).stack ?? String(error) });
      countEdgeInternalError('link_frame');
      if ('sessionId' in frame) this.sessions.get(frame.sessionId)?.close('internal error');
    }
  }

  #dispatch(frame: OriginFrame, relay: EdgeRelay): void {
    switch (frame.kind) {
      case LinkFrameKind.Message: {
        const message = { type: frame.type, timestamp: frame.timestamp, streamId: frame.streamId, payload: frame.payload };
        this.sessions.get(frame.sessionId)?.deliver(message);
        return;
      }
      case LinkFrameKind.SessionClose:
        this.sessions.get(frame.sessionId)?.closeFromOrigin(frame.reason);
        return;
      case LinkFrameKind.SessionOpen:
        this.log.warn('origin sent SessionOpen; sessions open from the edge only', { session: frame.sessionId });
        return;
      default:
        relay.handle(frame);
    }
  }
}
