/**
 * WHEP (WebRTC-HTTP egress) on the edge's HTTP port: `POST /whep/APP/ROOM.../STREAM` with a
 * browser's receive-only SDP offer plays that live stream to it over WebRTC (a WebRtcPlaySession
 * fed by the stream's shared WebRtcFeed: H.264 without B-frames as published, other video to H.264
 * baseline and all audio to Opus by one transcoder per stream); the HTTP handling (201 + answer +
 * Location, DELETE, CORS, errors) is the one WHIP shares, in webrtc-http.ts. `GET /webrtc/stats`
 * counts viewers, feeds and transcoders.
 */
import type { Logger } from '#common/logger.ts';
import { chooseEgressCodecs, type EgressChoice } from '#protocol/sdp/sdp.ts';
import type { EdgeHttpServer } from '../http/edge-http-server.ts';
import type { LinkSender } from '../session/edge-session.ts';
import type { SessionRegistry } from '../session/session-registry.ts';
import type { ForwardingOptions } from './forwarded-play.ts';
import { SignallingEndpoint } from './webrtc-http.ts';
import type { EdgeTokenCheck } from '../http/edge-token-check.ts';
import type { CreateSession, WebRtcSignaller } from './webrtc-signalling.ts';
import type { WebRtcEgressOptions } from './webrtc-egress.ts';
import type { WebRtcFeeds, WebRtcFeedStats } from './webrtc-feeds.ts';
import { lazyImport } from '#common/lazy-require.ts';

export const WHEP_PREFIX = '/whep/';

/** A viewer's session, its egress, forwarding and the streams' feeds (WebRTC, RTP, transcoders): loaded by the first WebRTC viewer. */
const playModules = lazyImport(() => Promise.all([
  import('./forwarded-play.ts'), import('./webrtc-egress.ts'), import('./webrtc-feeds.ts'), import('./webrtc-play-session.ts'),
]));

/** The feeds' figures before the first viewer loaded them. */
const NO_FEEDS: WebRtcFeedStats = {
  feedViewers: 0, feeds: 0, feedsStarted: 0, videoTranscoders: 0, videoTranscodersStarted: 0,
  audioTranscoders: 0, audioTranscodersStarted: 0, opusPassthroughFeeds: 0,
};

export interface WhepOptions {
  egress: WebRtcEgressOptions;
  /** The most of a GOP a stream's feed keeps for joiners. */
  maxGopBytes: number;
  /** A stream published over WebRTC on this edge goes to viewers whose offer takes it as it is by forwarding its RTP; absent: never. */
  forwarding?: ForwardingOptions;
  /** The edge's token check, before a viewer's session is opened. */
  tokens: EdgeTokenCheck;
}

export interface WebRtcPlayStats extends WebRtcFeedStats {
  /** WHEP sessions open (playing or starting). */
  whepSessions: number;
}

export class WhepEndpoint {
  readonly #endpoint: SignallingEndpoint<EgressChoice>;
  /** The streams WebRTC viewers watch, each made ready once (not the forwarded ones); made with the first viewer's modules. */
  #feeds: WebRtcFeeds | null = null;

  constructor(http: EdgeHttpServer, link: LinkSender, sessions: SessionRegistry, options: WhepOptions, log: Logger) {
    http.route('/webrtc/stats', (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' });
      res.end(JSON.stringify(this.stats));
    });
    http.onClose(() => this.#feeds?.close('the edge is stopping'));
    this.#endpoint = new SignallingEndpoint(http, sessions, {
      name: 'WHEP',
      prefix: WHEP_PREFIX,
      choose: chooseEgressCodecs,
      loadCreate: async (): Promise<CreateSession<EgressChoice>> => {
        const [{ forwardedPlay, peerLog }, { WebRtcEgress }, { WebRtcFeeds }, { WebRtcPlaySession }] = await playModules();
        const feeds = (this.#feeds ??= new WebRtcFeeds({ maxGopBytes: options.maxGopBytes }, log));
        return ({ app, stream, offer, choice, origin }) => {
          const forwarded = options.forwarding && forwardedPlay({ app, stream, offer, origin }, options.forwarding, link, log);
          if (forwarded) return forwarded;
          const egress = new WebRtcEgress(offer, choice, options.egress, peerLog(log, origin));
          const session = new WebRtcPlaySession({ app, stream, ...origin }, egress, feeds, link, log);
          return { session, start: () => session.answer() };
        };
      },
    }, { tokens: options.tokens, route: 'whep', right: 'play' }, log);
  }

  get viewers(): number { return this.#endpoint.count; }

  /** WHEP sessions, WebRTC viewers of feeds, and the feeds and transcoders serving them. */
  get stats(): WebRtcPlayStats {
    return { whepSessions: this.#endpoint.count, ...(this.#feeds?.stats ?? NO_FEEDS) };
  }

  /** Playing from an SDP offer, for the WebSocket channel too. */
  get signaller(): WebRtcSignaller<EgressChoice> { return this.#endpoint.signaller; }
}
