/**
 * The streams published over WebRTC on this edge (by `app/stream`, as sessions' streamKey), each
 * an RtpForwardingSource while its publisher lasts: where a WebRTC viewer of the same stream on
 * this edge gets the publisher's RTP forwarded instead of the RTMP stream (no depacketizing, no
 * transcoding). Counts what forwarding does: `GET /webrtc/forwarding/stats` on the edge's HTTP port.
 */
import type { EdgeHttpServer } from '../http/edge-http-server.ts';
import type { RtpForwardingSource } from './rtp-forwarding-source.ts';

export interface ForwardingStats {
  /** Streams published over WebRTC on this edge, open to forwarding. */
  publishers: number;
  /** WebRTC viewers getting a publisher's RTP forwarded now, and since the edge started. */
  forwardedViewers: number;
  forwardedViewersStarted: number;
  /** Per stream (`app/stream`): its viewers, what was sent them again, and the publisher's loss repair. */
  streams: Record<string, RtpForwardingSource['stats']>;
}

export class LocalPublishers {
  readonly #sources = new Map<string, RtpForwardingSource>();
  #viewersStarted = 0;

  constructor(http: EdgeHttpServer) {
    http.route('/webrtc/forwarding/stats', (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' });
      res.end(JSON.stringify(this.stats));
    });
  }

  /** Lists a publisher's source until it closes (a newer publisher of the same name replaces it). */
  register(source: RtpForwardingSource): void {
    if (source.closed) return;
    this.#sources.set(source.streamKey, source);
    source.once('closed', () => {
      if (this.#sources.get(source.streamKey) === source) this.#sources.delete(source.streamKey);
    });
  }

  /** The open source of `streamKey` (`app/stream`), if it is published over WebRTC here. */
  get(streamKey: string): RtpForwardingSource | undefined {
    const source = this.#sources.get(streamKey);
    return source && !source.closed ? source : undefined;
  }

  /** A viewer started forwarding (counted in stats). */
  viewerStarted(): void {
    this.#viewersStarted++;
  }

  get stats(): ForwardingStats {
    const streams: ForwardingStats['streams'] = {};
    let viewers = 0;
    for (const source of this.#sources.values()) {
      streams[source.streamKey] = source.stats;
      viewers += source.viewers;
    }
    return { publishers: this.#sources.size, forwardedViewers: viewers, forwardedViewersStarted: this.#viewersStarted, streams };
  }
}
