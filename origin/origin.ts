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

export class Origin implements OriginContext {
  readonly config: OriginConfig;
  readonly hub: StreamHub;
  readonly recordings: RecordingService;
  readonly applications: Applications;
  readonly log = new Logger('origin');
  readonly #rtmp: RtmpServer;
  readonly http: HttpApi;

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
    this.http = new HttpApi({ host: config.bind, port: config.httpPort, recordings: this.recordings.store }, this.log.child('http'));
    this.#rtmp = new RtmpServer({
      host: config.bind,
      port: config.rtmpPort,
      maxConnections: config.maxConnections,
      connection: { decoderLimits: { maxMessageSize: config.maxMessageBytes }, handshakeTimeoutMs: config.handshakeTimeoutMs, mediaFlushMs: config.mediaFlushMs },
      session: {
        applications: config.applications,
        maxStreamsPerConnection: config.maxStreamsPerConnection,
        maxPlayerBacklogBytes: config.maxPlayerBacklogBytes,
        vodReadAheadMs: config.vodReadAheadMs,
        callTimeoutMs: config.callTimeoutMs,
        maxSharedObjectChangesPerSecond: config.maxSharedObjectChangesPerSecond,
      },
    }, this, this.log);
  }

  /** Starts listening; resolves with the RTMP address actually bound (port 0 picks a free one). */
  async start(): Promise<{ rtmp: AddressInfo; http: AddressInfo }> {
    // Recordings a crash left unfinished are repaired before anyone can play or append to them.
    await this.recordings.init();
    const http = await this.http.listen();
    this.log.info('HTTP listening', { address: `http://${http.address}:${http.port}` });
    const rtmp = await this.#rtmp.listen();
    this.log.info('RTMP listening', { address: `rtmp://${rtmp.address}:${rtmp.port}`, apps: this.config.applications.join(',') });
    return { rtmp, http };
  }

  async close(): Promise<void> {
    await this.#rtmp.close();
    // Rooms close with their clients; this saves the last persistent shared objects.
    await this.applications.close();
    await this.recordings.close();
    await this.http.close();
    this.log.info('stopped');
  }
}
