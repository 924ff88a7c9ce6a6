/**
 * WHEP (WebRTC-HTTP egress) on the edge's HTTP port: `POST /whep/APP/ROOM.../STREAM` with a
 * browser's receive-only SDP offer plays that live stream to it over WebRTC (a WebRtcPlaySession:
 * H.264 as published, AAC transcoded to Opus); the HTTP handling (201 + answer + Location,
 * DELETE, CORS, errors) is the one WHIP shares, in webrtc-http.ts.
 */
import type { Logger } from '#common/logger.ts';
import { chooseEgressCodecs, type EgressChoice } from '#protocol/sdp/sdp.ts';
import type { EdgeHttpServer } from '../http/edge-http-server.ts';
import type { LinkSender } from '../session/edge-session.ts';
import type { SessionRegistry } from '../session/session-registry.ts';
import type { AacToOpus } from './aac-to-opus.ts';
import { requestOrigin, SignallingEndpoint } from './webrtc-http.ts';
import { WebRtcEgress, type WebRtcEgressOptions } from './webrtc-egress.ts';
import { WebRtcPlaySession } from './webrtc-play-session.ts';

export const WHEP_PREFIX = '/whep/';

export interface WhepOptions {
  egress: WebRtcEgressOptions;
  /** AAC to Opus for the browser; null when ffmpeg cannot (the stream plays without audio). */
  createAudioTranscoder: (() => AacToOpus) | null;
}

export class WhepEndpoint {
  readonly #endpoint: SignallingEndpoint<EgressChoice>;

  constructor(http: EdgeHttpServer, link: LinkSender, sessions: SessionRegistry, options: WhepOptions, log: Logger) {
    this.#endpoint = new SignallingEndpoint(http, sessions, {
      name: 'WHEP',
      prefix: WHEP_PREFIX,
      choose: chooseEgressCodecs,
      create: ({ app, stream, offer, choice, req }) => {
        const egress = new WebRtcEgress(offer, choice, options.egress, options.createAudioTranscoder, log);
        const session = new WebRtcPlaySession({ app, stream, ...requestOrigin(req, 'whep') }, egress, link, log);
        return { session, start: () => session.answer() };
      },
    }, log);
  }

  get viewers(): number { return this.#endpoint.count; }
}
