/**
 * What every WebRTC viewer's session at the edge shares, whatever sends its media (a stream's
 * WebRtcFeed through a WebRtcEgress, or a local publisher's forwarded RTP): to the origin it is an
 * ordinary viewer on the link (connect, createStream, play: a FlvViewerSession, so the origin's
 * application may refuse it and counts it); `answer()` plays at the origin first, then gives the
 * browser its SDP answer; the session and its egress end together.
 */
import type { Logger } from '#common/logger.ts';
import { FlvViewerSession, type FlvViewerOptions } from '../playback/flv-viewer-session.ts';
import type { LinkSender } from '../session/edge-session.ts';

/** The browser's end of a viewer session: the peer connection that answers and sends. */
export interface ViewerEgress {
  /** The SDP answer once ICE gathering is complete. */
  answer(): Promise<string>;
  close(reason: string): void;
  on(event: 'closed', listener: (reason: string) => void): unknown;
}

export class WebRtcViewerSession extends FlvViewerSession {
  readonly #egress: ViewerEgress;

  constructor(options: FlvViewerOptions, egress: ViewerEgress, link: LinkSender, log: Logger) {
    super(options, link, log);
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
