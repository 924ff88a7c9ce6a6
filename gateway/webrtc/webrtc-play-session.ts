/**
 * A browser playing a live stream over WebRTC (WHEP, or the WebSocket channel), as one edge client
 * session (a WebRtcViewerSession: an ordinary viewer on the link, with the viewer's own identity, so
 * the origin's application may refuse it and counts it, and the edge carries one upstream copy of
 * the stream). The relay delivers the stream to the session's tap (WebRtcFeedSource); once the
 * origin lets it play, its WebRtcEgress joins the stream's shared WebRtcFeed, which makes the
 * stream ready for WebRTC once for all its viewers. Signalling creates it, waits for `answer()` and
 * closes it.
 */
import type { Logger } from '#common/logger.ts';
import type { LinkSender } from '../session/edge-session.ts';
import type { LinkSessionTarget } from '../session/link-client-session.ts';
import type { WebRtcEgress } from './webrtc-egress.ts';
import type { WebRtcFeeds } from './webrtc-feeds.ts';
import { WebRtcViewerSession } from './webrtc-viewer-session.ts';

export class WebRtcPlaySession extends WebRtcViewerSession {
  constructor(target: LinkSessionTarget, egress: WebRtcEgress, feeds: WebRtcFeeds, link: LinkSender, log: Logger) {
    const source = feeds.newSource();
    super({ ...target, output: source }, egress, link, log);
    this.once('playing', () => egress.play(feeds.join(target, egress, source)));
  }
}
