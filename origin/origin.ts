/**
 * The origin server as one entity: its stream hub, recordings and listeners. `start()` brings them up,
 * `close()` takes everything down (listeners, then every client session, then open recordings).
 */
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { Logger } from '#common/logger.ts';
import type { OriginConfig } from './config.ts';
import { StreamHub } from './core/stream-hub.ts';
import { RtmpServer } from './server/rtmp-server.ts';
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

export class Origin implements OriginContext {
  readonly config: OriginConfig;
  readonly hub: StreamHub;
  readonly recordings: RecordingService;
  readonly applications: Applications;
  readonly log = new Logger('origin');
  readonly #rtmp: RtmpServer;
  readonly http: HttpApi;
  /** Edges linked to this origin (HTTP: /api/edges, /api/edges/pick). */
  readonly edges: EdgeRegistry;
  /** Null when no link secret is configured: edges are then never accepted. */
  readonly #link: LinkServer | null;
  /** Flash's cross-domain policy: /crossdomain.xml, and the socket policy on the RTMP ports (and 843 when enabled). */
  readonly policy: FlashPolicy;
  readonly #policyServer: FlashPolicyServer | null;

  constructor(config: OriginConfig) {
    this.config = config;
    this.hub = new StreamHub({ maxGopBytes: config.maxGopBytes });
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
    this.http = new HttpApi({ host: config.bind, port: config.httpPort, recordings: this.recordings.store }, this.log.child('http'));
    this.#rtmp = new RtmpServer({
      host: config.bind,
      ports: [{ port: config.rtmpPort, tls: null }, ...(config.rtmpsPort === null ? [] : [{ port: config.rtmpsPort, tls: config.tls }])],
      policy: this.policy,
      maxConnections: config.maxConnections,
      connection: { decoderLimits: { maxMessageSize: config.maxMessageBytes }, handshakeTimeoutMs: config.handshakeTimeoutMs, pingIntervalMs: config.pingIntervalMs, mediaFlushMs: config.mediaFlushMs },
      createSession: (transport) => this.createSession(transport),
    }, this.log);
    this.edges = new EdgeRegistry({ pingIntervalMs: config.linkPingIntervalMs, applications: this.applications, applicationNames: config.applications });
    this.edges.mount(this.http);
    this.http.route('GET', /^\/crossdomain\.xml$/, (_req, res) => this.policy.sendUrlPolicy(res));
    this.#link = config.linkSecret === null ? null : new LinkServer({
      host: config.linkBind ?? config.bind,
      port: config.linkPort,
      secret: config.linkSecret,
      tls: config.linkTlsCert && config.linkTlsKey ? { certFile: config.linkTlsCert, keyFile: config.linkTlsKey } : null,
      link: {
        maxMediaBacklogBytes: config.maxLinkMediaBacklogBytes,
        maxBacklogBytes: config.maxLinkBacklogBytes,
        pingIntervalMs: config.linkPingIntervalMs,
        maxMessageBytes: config.maxMessageBytes,
      },
      createSession: (transport) => this.createSession(transport),
    }, this.edges, this.log.child('link'));
  }

  /**
   * The one place sessions are made, for direct sockets and edge link sessions alike, so a client
   * gets the same limits and behaviour whichever way it came in.
   */
  createSession(transport: SessionTransport): RtmpSession {
    return new RtmpSession(transport, this, {
      applications: this.config.applications,
      maxStreamsPerConnection: this.config.maxStreamsPerConnection,
      maxPlayerBacklogBytes: this.config.maxPlayerBacklogBytes,
      vodReadAheadMs: this.config.vodReadAheadMs,
      callTimeoutMs: this.config.callTimeoutMs,
      maxSharedObjectChangesPerSecond: this.config.maxSharedObjectChangesPerSecond,
    });
  }

  /** Starts listening; resolves with the RTMP address actually bound (port 0 picks a free one). */
  async start(): Promise<{ rtmp: AddressInfo; http: AddressInfo; link: AddressInfo | null }> {
    // Recordings a crash left unfinished are repaired before anyone can play or append to them.
    await this.recordings.init();
    const http = await this.http.listen();
    this.log.info('HTTP listening', { address: `http://${http.address}:${http.port}` });
    const ports = await this.#rtmp.listen();
    for (const { scheme, address } of ports) {
      this.log.info(`${scheme.toUpperCase()} listening`, { address: `${scheme}://${address.address}:${address.port}`, apps: this.config.applications.join(',') });
    }
    this.policy.ports = ports.map(({ address }) => address.port);
    if (this.#policyServer) await this.#policyServer.listen(this.config.policyPort!, this.config.bind);
    const rtmp = ports[0]!.address;
    let link: AddressInfo | null = null;
    if (this.#link) {
      link = await this.#link.listen();
      this.log.info('link listening', { address: `${link.address}:${link.port}`, tls: this.config.linkTlsCert !== null });
    } else {
      this.log.info('link not started: no link secret configured (--link-secret, --link-secret-file or ORIGIN_LINK_SECRET); edges cannot connect');
    }
    return { rtmp, http, link };
  }

  async close(): Promise<void> {
    // Edges first: their sessions close like direct clients (publishers unpublish, players detach).
    await this.#link?.close();
    await this.#rtmp.close();
    await this.#policyServer?.close();
    // Rooms close with their clients; this saves the last persistent shared objects.
    await this.applications.close();
    await this.recordings.close();
    await this.http.close();
    this.log.info('stopped');
  }
}
