/**
 * WHIP (WebRTC-HTTP ingestion, RFC 9725) on the edge's HTTP port: `POST /whip/APP/ROOM.../STREAM`
 * with an SDP offer (application/sdp) publishes the browser's camera and microphone as that
 * stream (a WebRtcPublishSession); the HTTP handling (201 + answer + Location, DELETE, CORS,
 * errors) is the one WHEP shares, in webrtc-http.ts.
 */
import type { Logger } from '#common/logger.ts';
import { chooseIngestCodecs, type IngestChoice } from '#protocol/sdp/sdp.ts';
import type { EdgeHttpServer } from '../http/edge-http-server.ts';
import type { LinkSender } from '../session/edge-session.ts';
import type { SessionRegistry } from '../session/session-registry.ts';
import type { WebRtcIngestOptions } from './webrtc-ingest.ts';
import type { LocalPublishers } from './local-publishers.ts';
import { SignallingEndpoint } from './webrtc-http.ts';
import type { EdgeTokenCheck } from '../http/edge-token-check.ts';
import type { CreateSession, WebRtcSignaller } from './webrtc-signalling.ts';
import { lazyImport } from '#common/lazy-require.ts';

export const WHIP_PREFIX = '/whip/';

/** A publisher's session and its Opus to AAC encoder (WebRTC, RTP, ffmpeg): loaded by the first WebRTC publisher. */
const publishModules = lazyImport(() => Promise.all([import('./webrtc-publish-session.ts'), import('./opus-to-aac.ts')]));

export interface WhipOptions {
  ingest: WebRtcIngestOptions;
  /** The edge's token check, before a publisher's session is opened. */
  tokens: EdgeTokenCheck;
  /** Streams published here, for WebRTC viewers on this edge to get forwarded. */
  localPublishers?: LocalPublishers;
}

export class WhipEndpoint {
  readonly #endpoint: SignallingEndpoint<IngestChoice>;

  constructor(http: EdgeHttpServer, link: LinkSender, sessions: SessionRegistry, options: WhipOptions, log: Logger) {
    this.#endpoint = new SignallingEndpoint(http, sessions, {
      name: 'WHIP',
      prefix: WHIP_PREFIX,
      choose: chooseIngestCodecs,
      loadCreate: async (): Promise<CreateSession<IngestChoice>> => {
        const [{ WebRtcPublishSession }, { OpusToAac }] = await publishModules();
        // The browser's Opus as AAC for RTMP players and recordings (an offer with audio).
        const createAudioEncoder = () => new OpusToAac();
        return ({ app, stream, offer, choice, origin }) => {
          const session = new WebRtcPublishSession({
            app, stream, ...origin, offer, choice, ingest: options.ingest, createAudioEncoder: choice.audio ? createAudioEncoder : null,
            localPublishers: options.localPublishers,
          }, link, log);
          return { session, start: () => session.start() };
        };
      },
    }, { tokens: options.tokens, route: 'whip', right: 'publish' }, log);
  }

  get publishers(): number { return this.#endpoint.count; }

  /** Publishing from an SDP offer, for the WebSocket channel too. */
  get signaller(): WebRtcSignaller<IngestChoice> { return this.#endpoint.signaller; }
}
