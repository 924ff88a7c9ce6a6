/**
 * The origin server as one entity: its stream hub, recordings and listeners. `start()` brings them up,
 * `close()` takes everything down (listeners, then every client session, then open recordings);
 * `shutdown()` (SIGTERM) first tells the clients.
 */
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { Logger } from '#common/logger.ts';
import { settledWithin, SHUTDOWN_NOTICE_MS } from '#common/graceful-shutdown.ts';
import { tlsFiles } from '#common/listener-config.ts';
import type { OriginConfig } from './config.ts';
import { StreamHub } from './core/stream-hub.ts';
import { RtmpServer } from './server/rtmp-server.ts';
import { AddressLimits } from '#common/address-limits.ts';
import { applyHttpLimits } from '#common/http-limits.ts';
import type { OriginContext } from './core/origin-context.ts';
import { RecordingService } from './recording/recording-service.ts';
import { HttpApi } from './http/http-api.ts';
import { Applications } from './app/applications.ts';
import type { SessionTransport } from '#common/session-transport.ts';
import { RtmpSession } from './session/rtmp-session.ts';
import { EdgeRegistry } from './link/edge-registry.ts';
import { LinkServer } from './link/link-server.ts';
import { FlashPolicy, FlashPolicyServer } from '#common/flash-policy.ts';
import { hostname } from 'node:os';
import { isWildcardAddress } from '#common/listen.ts';
import { storedSecret } from '#common/stored-secret.ts';
import { Authorizer } from './auth/authorizer.ts';
import { TokenService } from '#common/auth/tokens.ts';
import { serveMetrics } from '#common/metrics/registry.ts';
import { OriginMetrics } from './origin-metrics.ts';
import { SessionRegistry } from './session/session-registry.ts';
import { LinkSession } from './link/link-session.ts';
import { AdminApi } from './http/admin-api.ts';
import { boundAddress, type ListenAddresses, type ServiceAddresses } from '#common/ready-report.ts';
import { OriginCluster } from './cluster/origin-cluster.ts';
import { ConfigError } from '#common/config-file.ts';
import { ClusterApi } from './http/cluster-api.ts';

export class Origin implements OriginContext {
  readonly config: OriginConfig;
  readonly hub: StreamHub;
  readonly recordings: RecordingService;
  readonly applications: Applications;
  /** Who may connect, publish, play, call privileged methods and download (origin/auth/). */
  readonly authorizer: Authorizer;
  readonly log = new Logger('origin');
  readonly #rtmp: RtmpServer;
  readonly http: HttpApi;
  /** Every client session, direct or through an edge (the admin API lists and acts on them). */
  readonly sessions = new SessionRegistry();
  /** Per-address limits, asked first by the RTMP ports and the HTTP port (edges' clients are an edge's to limit). */
  readonly addresses: AddressLimits;
  /** Edges linked to this origin (HTTP: /api/edges, /api/edges/pick). */
  readonly edges: EdgeRegistry;
  /** Null when no link secret is configured: edges are then never accepted. */
  readonly #link: LinkServer | null;
  /** Flash's cross-domain policy: /crossdomain.xml, and the socket policy on the RTMP ports (and 843 when enabled). */
  readonly policy: FlashPolicy;
  readonly #policyServer: FlashPolicyServer | null;
  /** Prometheus metrics (GET /metrics), read from the parts above when scraped. */
  readonly #metrics: OriginMetrics;
  /** What start() bound (the ready report). */
  #listening: ListenAddresses = {};
  /** Cluster mode (--cluster): this origin in the Redis directory; null without it. */
  readonly #cluster: OriginCluster | null = null;

  constructor(config: OriginConfig) {
    this.config = config;
    this.hub = new StreamHub({ maxGopBytes: config.maxGopBytes, mediaBatchMs: config.mediaFlushMs });
    this.authorizer = new Authorizer({ tokens: new TokenService(config.tokenSecret ?? storedSecret(config.dataDir, 'token-secret')), policies: config.authPolicies, anonymousPublish: config.anonymousPublish });
    this.recordings = new RecordingService({
      root: join(config.dataDir, 'recordings'),
      recordRooms: config.recordRooms,
      recorder: { flushIntervalMs: config.recordFlushMs, maxQueueBytes: config.maxRecordQueueBytes, metadataReserveBytes: config.recordMetadataReserveBytes },
    }, this.log.child('recordings'));
    this.applications = new Applications({
      names: config.applications,
      dataDir: config.dataDir,
      limits: { maxSharedObjectBytes: config.maxSharedObjectBytes, maxSharedObjectsPerRoom: config.maxSharedObjectsPerRoom, maxChatHistory: config.maxChatHistory },
      recordings: this.recordings,
    }, this.log);
    // By default Flash may come only from the host this origin is reached at.
    this.policy = new FlashPolicy(config.policyDomains ?? [isWildcardAddress(config.bind) ? hostname() : config.bind]);
    this.#policyServer = config.policyPort === null ? null : new FlashPolicyServer(this.policy, config.handshakeTimeoutMs, this.log.child('policy'));
    this.http = new HttpApi({ host: config.httpBind, port: config.httpPort, recordings: this.recordings.store, recordingIndex: this.recordings.index, authorizer: this.authorizer }, this.log.child('http'));
    this.addresses = new AddressLimits(config, this.log.child('limits'));
    applyHttpLimits(this.http.server, config, this.addresses);
    this.#rtmp = new RtmpServer({
      host: config.bind,
      ports: [{ port: config.rtmpPort, tls: null }, ...(config.rtmpsPort === null ? [] : [{ port: config.rtmpsPort, tls: tlsFiles(config) }])],
      policy: this.policy,
      addresses: this.addresses,
      hasRoom: () => this.sessions.size < config.maxConnections,
      maxConnections: config.maxConnections,
      connection: { decoderLimits: { maxMessageSize: config.maxMessageBytes }, handshakeTimeoutMs: config.handshakeTimeoutMs, connectTimeoutMs: config.connectTimeoutMs, idleTimeoutMs: config.idleTimeoutMs, pingIntervalMs: config.pingIntervalMs, mediaFlushMs: config.mediaFlushMs },
      createSession: (transport, protocol) => this.createSession(transport, protocol),
    }, this.log);
    this.edges = new EdgeRegistry({ pingIntervalMs: config.linkPingIntervalMs, applications: this.applications, applicationNames: config.applications });
    this.edges.mount(this.http);
    new AdminApi({ applications: this.applications, hub: this.hub, sessions: this.sessions, recordings: this.recordings }, this.log.child('admin')).mount(this.http);
    this.http.route('GET', /^\/crossdomain\.xml$/, (_req, res) => this.policy.sendUrlPolicy(res));
    this.#link = config.linkSecret === null ? null : new LinkServer({
      host: config.linkBind ?? config.bind,
      port: config.linkPort,
      secret: config.linkSecret,
      authTimeoutMs: config.linkAuthTimeoutMs,
      tls: config.linkTlsCert && config.linkTlsKey ? { certFile: config.linkTlsCert, keyFile: config.linkTlsKey } : null,
      link: {
        maxMediaBacklogBytes: config.maxLinkMediaBacklogBytes,
        maxBacklogBytes: config.maxLinkBacklogBytes,
        pingIntervalMs: config.linkPingIntervalMs,
        maxMessageBytes: config.maxMessageBytes,
      },
      admitSession: (held) => held >= config.maxSessionsPerEdge ? { reason: 'max_sessions_per_edge', message: `this edge holds ${held} sessions on the origin (maxSessionsPerEdge)` }
        : this.sessions.size >= config.maxConnections ? { reason: 'max_connections', message: `the origin has too many clients (maxConnections ${config.maxConnections})` } : null,
      createSession: (transport) => this.createSession(transport),
    }, this.edges, this.log.child('link'));
    // Last: a constructor that failed above leaves no metrics registered.
    this.#metrics = new OriginMetrics({ applicationNames: config.applications, applications: this.applications, hub: this.hub, edges: this.edges, recordings: this.recordings });
    this.addresses.registerMetrics('classroom_origin');
    this.http.route('GET', /^\/metrics$/, serveMetrics);
    if (config.cluster !== null) {
      this.#cluster = new OriginCluster({ url: config.cluster, originId: config.clusterOriginId ?? `${hostname()}:${config.linkPort}`, roomGraceMs: config.clusterRoomGraceMs }, {
        counts: () => ({ clients: this.sessions.size, streams: this.hub.size, bytesReceived: this.#metrics.bytesReceived() }),
        roomIsLive: (roomKey) => this.#roomIsLive(roomKey),
        store: this.applications.store,
        recordings: this.recordings.store,
      }, this.log.child('cluster'));
      const cluster = this.#cluster;
      for (const application of this.applications.all()) application.on('roomDestroyed', (room) => cluster.roomEnded(room.path));
      // A stream of an application's own scope (`live/NAME`) is placed by itself: its placement goes like a room's once it is idle.
      this.hub.on('idle', (key) => { if (key.split('/').length === 2) cluster.roomEnded(key); });
      this.recordings.on('room', (scopePath, active) => { if (!active) cluster.roomRecordingStopped(scopePath); });
      this.#metrics.addCluster(cluster);
      new ClusterApi(this.#cluster).mount(this.http);
    }
  }

  /** Cluster mode: admits clients only into rooms this origin owns (OriginContext); null without --cluster. */
  get roomOwnership(): OriginCluster | null {
    return this.#cluster;
  }

  /** A room (`classroom/room42`) with clients here, or a `live` stream (`live/NAME`) published or played here. */
  #roomIsLive(roomKey: string): boolean {
    if (this.hub.find(roomKey)) return true;
    const application = this.applications.get(roomKey.split('/')[0]!);
    return application?.rooms().some((room) => room.path === roomKey) ?? false;
  }

  /**
   * The one place sessions are made, for direct sockets and edge link sessions alike, so a client
   * gets the same limits and behaviour whichever way it came in. `protocol`: the origin's own port's
   * (`rtmp`, `rtmps`), or for an edge's client what it speaks at the edge.
   */
  createSession(transport: SessionTransport, protocol = transport instanceof LinkSession ? transport.protocol : 'rtmp'): RtmpSession {
    this.#metrics.track(transport);
    const session = new RtmpSession(transport, this, {
      applications: this.config.applications,
      maxStreamsPerConnection: this.config.maxStreamsPerConnection,
      maxPlayerBacklogBytes: this.config.maxPlayerBacklogBytes,
      vodReadAheadMs: this.config.vodReadAheadMs,
      maxVodMp3Bytes: this.config.maxVodMp3Bytes,
      callTimeoutMs: this.config.callTimeoutMs,
      maxSharedObjectChangesPerSecond: this.config.maxSharedObjectChangesPerSecond,
    });
    this.sessions.add(session, protocol);
    return session;
  }

  /** Starts listening; resolves with the RTMP address actually bound (port 0 picks a free one). */
  async start(): Promise<{ rtmp: AddressInfo; http: AddressInfo; link: AddressInfo | null }> {
    // Recordings a crash left unfinished are repaired before anyone can play or append to them.
    await this.recordings.init();
    for (const app of this.config.applications) {
      const policy = this.authorizer.policyOf(app);
      if (policy === 'legacy') this.log.warn('authorization is legacy: clients are who they say they are (roles as declared, no token needed)', { app, setting: `--auth ${app}=required|optional` });
      else this.log.info('authorization', { app, policy });
    }
    const http = await this.http.listen();
    this.#listening.http = boundAddress(http);
    this.log.info('HTTP listening', { address: `http://${http.address}:${http.port}` });
    const ports = await this.#rtmp.listen();
    for (const { scheme, address } of ports) {
      this.#listening[scheme] = boundAddress(address);
      this.log.info(`${scheme.toUpperCase()} listening`, { address: `${scheme}://${address.address}:${address.port}`, apps: this.config.applications.join(',') });
    }
    this.policy.ports = ports.map(({ address }) => address.port);
    if (this.#policyServer) this.#listening.policy = boundAddress(await this.#policyServer.listen(this.config.policyPort!, this.config.bind));
    const rtmp = ports[0]!.address;
    let link: AddressInfo | null = null;
    if (this.#link) {
      link = await this.#link.listen();
      this.#listening.link = boundAddress(link, { tls: this.config.linkTlsCert !== null });
      this.log.info('link listening', { address: `${link.address}:${link.port}`, tls: this.config.linkTlsCert !== null });
    } else {
      this.log.info('link not started: no link secret configured (--link-secret, --link-secret-file or ORIGIN_LINK_SECRET); edges cannot connect');
    }
    if (this.#cluster) {
      if (!link) throw new ConfigError('cluster mode (--cluster) needs the link listener: set the link secret (--link-secret, --link-secret-file)');
      const host = this.config.linkBind ?? this.config.bind;
      const linkAddress = this.config.clusterLinkAddress ?? `${isWildcardAddress(host) ? hostname() : host}:${link.port}`;
      const self = await this.#cluster.start(linkAddress);
      this.log.info('cluster: registered in the directory', { leaseId: self.leaseId, linkAddress });
    }
    return { rtmp, http, link };
  }

  /** The addresses start() bound, for the ready report. */
  listening(): ServiceAddresses {
    return { origin: { ...this.#listening } };
  }

  /**
   * A graceful stop (SIGTERM): no new clients or edges; every direct client is told
   * NetConnection.Connect.AppShutdown and has SHUTDOWN_NOTICE_MS to leave by itself; then close()
   * (recordings finished with their final metadata, shared objects saved). Clients of edges are
   * their edge's: its link drops, and it does what it does when its origin goes (players wait for
   * the next origin, others are told the connection closed).
   */
  async shutdown(): Promise<void> {
    this.#rtmp.stopListening();
    this.#link?.stopListening();
    const told = this.#rtmp.notifyShutdown();
    const allLeft = await settledWithin(told.map((session) => once(session, 'close')), SHUTDOWN_NOTICE_MS);
    this.log.info('clients told of the shutdown', { clients: told.length, allLeft });
    await this.close();
  }

  async close(): Promise<void> {
    // Edges first: their sessions close like direct clients (publishers unpublish, players detach).
    await this.#link?.close();
    await this.#rtmp.close();
    await this.#policyServer?.close();
    // Rooms close with their clients; this saves the last persistent shared objects.
    await this.applications.close();
    // After the rooms: their last shared objects reach Redis, then the lease is given up.
    await this.#cluster?.close();
    await this.recordings.close();
    await this.http.close();
    this.#metrics.close();
    this.addresses.close();
    this.log.info('stopped');
  }
}
