/**
 * A browser playing a live stream over WebRTC (WHEP), as one edge client session: to the origin it
 * is an ordinary viewer on the link (connect to the app/room, createStream, play: a FlvViewerSession,
 * so the origin's application may refuse it and the edge carries one upstream copy), and the edge
 * relay delivers the stream to its WebRtcEgress, which sends it to the browser as RTP. Signalling
 * (WHEP) creates it, waits for `answer()` and closes it.
 */
import type { Logger } from '#common/logger.ts';
import { FlvViewerSession } from '../playback/flv-viewer-session.ts';
import type { LinkSender } from '../session/edge-session.ts';
import type { LinkSessionTarget } from '../session/link-client-session.ts';
import type { WebRtcEgress } from './webrtc-egress.ts';

export class WebRtcPlaySession extends FlvViewerSession {
  readonly #egress: WebRtcEgress;

  constructor(options: LinkSessionTarget, egress: WebRtcEgress, link: LinkSender, log: Logger) {
    super({ ...options, output: egress }, link, log);
    this.#egress = egress;
    egress.on('closed', (reason) => this.close(reason));
  }

  /**
   * Plays at the origin, then answers the browser: resolves with the SDP answer, rejects with the
   * origin's reason (the app refused the connect, no such stream, ...), the session then closed.
   */
  async answer(): Promise<string> {
    const playing = new Promise<void>((resolve, reject) => {
      this.once('playing', resolve);
      this.once('close', (reason) => reject(new Error(reason ?? 'closed while starting the play')));
    });
    if (!this.start()) throw new Error('the edge has no link to the origin');
    await playing;
    return this.#egress.answer();
  }

  protected override ended(reason: string | null): void {
    this.#egress.close(reason ?? 'closed');
    super.ended(reason);
  }
}
