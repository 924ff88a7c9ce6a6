/**
 * The origin server as one entity: its stream hub and its listeners. `start()` brings them up,
 * `close()` takes everything down (listeners, then every client session).
 */
import type { AddressInfo } from 'node:net';
import { Logger } from '#common/logger.ts';
import type { OriginConfig } from './config.ts';
import { StreamHub } from './core/stream-hub.ts';
import { RtmpServer } from './server/rtmp-server.ts';
import type { OriginContext } from './core/origin-context.ts';

export class Origin implements OriginContext {
  readonly config: OriginConfig;
  readonly hub: StreamHub;
  readonly log = new Logger('origin');
  readonly #rtmp: RtmpServer;

  constructor(config: OriginConfig) {
    this.config = config;
    this.hub = new StreamHub({ maxGopBytes: config.maxGopBytes });
    this.#rtmp = new RtmpServer({
      host: config.bind,
      port: config.rtmpPort,
      maxConnections: config.maxConnections,
      connection: { decoderLimits: { maxMessageSize: config.maxMessageBytes }, handshakeTimeoutMs: config.handshakeTimeoutMs, mediaFlushMs: config.mediaFlushMs },
      session: {
        applications: config.applications,
        maxStreamsPerConnection: config.maxStreamsPerConnection,
        maxPlayerBacklogBytes: config.maxPlayerBacklogBytes,
      },
    }, this, this.log);
  }

  /** Starts listening; resolves with the RTMP address actually bound (port 0 picks a free one). */
  async start(): Promise<{ rtmp: AddressInfo }> {
    const rtmp = await this.#rtmp.listen();
    this.log.info('RTMP listening', { address: `rtmp://${rtmp.address}:${rtmp.port}`, apps: this.config.applications.join(',') });
    return { rtmp };
  }

  async close(): Promise<void> {
    await this.#rtmp.close();
    this.log.info('stopped');
  }
}
