/**
 * Whether a WebRTC viewer gets a stream forwarded (SFU) rather than played the ordinary way: when
 * the stream is published over WebRTC on this same edge (LocalPublishers) and the viewer's offer
 * takes the publisher's codecs as they are (chooseForwardedCodecs), its session is a
 * WebRtcViewerSession (to the origin an ordinary viewer on the link: it plays there, so the origin's
 * application may refuse it and counts it) whose media is the publisher's RTP, forwarded by a
 * WebRtcForwardEgress that turns the relay's delivery to it off; it asks the origin for no audio
 * and no video, so unless another viewer on this edge plays the stream the ordinary way, the link
 * carries none of the stream's media back to the edge it came from. When the publisher leaves, the
 * session ends (the browser may play again: the stream, if published anew elsewhere, then comes by
 * the relay).
 */
import type { Logger } from '#common/logger.ts';
import { chooseForwardedCodecs } from '#protocol/sdp/forwarding-codecs.ts';
import { parseSdp } from '#protocol/sdp/sdp.ts';
import type { LinkSender } from '../session/edge-session.ts';
import type { LocalPublishers } from './local-publishers.ts';
import { WebRtcForwardEgress, type WebRtcForwardEgressOptions } from './webrtc-forward-egress.ts';
import type { SignalledSession, SignallingOrigin } from './webrtc-signalling.ts';
import { WebRtcViewerSession } from './webrtc-viewer-session.ts';

/**
 * The logger of a viewer's peer connection: its lines carry the browser's address, as its session's
 * do (the session is made after the peer connection and binds its id on its own lines).
 */
export function peerLog(log: Logger, origin: SignallingOrigin): Logger {
  return log.with({ peer: `${origin.remoteAddress}:${origin.remotePort}` });
}

/** What forwarding needs from the edge. */
export interface ForwardingOptions {
  publishers: LocalPublishers;
  egress: WebRtcForwardEgressOptions;
  /** Stops the relay's delivery to a session. */
  detachSession(sessionId: number): void;
}

/**
 * The forwarded play of APP/STREAM for a viewer's offer, or null when the stream is not published
 * over WebRTC on this edge or the offer does not take the publisher's codecs as they are.
 */
export function forwardedPlay(request: { app: string; stream: string; offer: string; origin: SignallingOrigin }, options: ForwardingOptions, link: LinkSender, log: Logger): SignalledSession | null {
  const source = options.publishers.get(`${request.app}/${request.stream}`);
  if (!source) return null;
  // The endpoint parsed the offer already (to choose its codecs): it parses again.
  const choice = chooseForwardedCodecs(parseSdp(request.offer), source.published);
  if (!choice) return null;
  let session: WebRtcViewerSession | null = null;
  const egress = new WebRtcForwardEgress(request.offer, choice, source, options.egress, () => { if (session) options.detachSession(session.id); }, peerLog(log, request.origin));
  const viewer = new WebRtcViewerSession({ app: request.app, stream: request.stream, ...request.origin, output: egress, mediaFromOrigin: false }, egress, link, log);
  session = viewer;
  options.publishers.viewerStarted();
  viewer.log.info('viewer gets the publisher\'s RTP forwarded', { stream: source.streamKey, video: choice.video?.format.codec ?? 'none', audio: choice.audio ? 'opus' : 'none' });
  return { session: viewer, start: () => viewer.answer() };
}
