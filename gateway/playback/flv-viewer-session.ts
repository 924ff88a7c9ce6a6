/**
 * A playback viewer on the link: one session the origin sees like an RTMP client (SessionOpen
 * with protocol 'http-flv'/'ws-flv' and the browser's address, then connect, createStream and
 * play, all through its LinkClient), so the origin's application may refuse it and the edge still carries one upstream copy
 * of the stream. The origin answers the play with PlayAttach; the edge relay then delivers to
 * this session's MediaOutput (FLV to a browser, or to a transcoder's ffmpeg).
 */
import type { AmfObject } from '#protocol/amf/types.ts';
import type { MediaOutput } from '#common/media/live-delivery.ts';
import type { Logger } from '#common/logger.ts';
import { RtmpCallError } from '#common/rtmp-transactions.ts';
import type { LinkSender } from '../session/edge-session.ts';
import { LinkClientClosedError } from '../session/link-client.ts';
import { LinkClientSession, type LinkClientSessionEvents, type LinkSessionTarget } from '../session/link-client-session.ts';

export interface FlvViewerOptions extends LinkSessionTarget {
  /** Where the relay delivers the stream. */
  output: MediaOutput;
  /** Opened by the edge itself (a transcoder's input), not a browser. */
  internal?: boolean;
  /**
   * False: the session's media comes from elsewhere (a WebRTC viewer fed by forwarding its
   * publisher's RTP on this edge); it plays at the origin only to be admitted and counted, then
   * asks for no audio and no video, so the link carries none for it. Default true.
   */
  mediaFromOrigin?: boolean;
}

export type FlvViewerEvents = LinkClientSessionEvents & {
  /** The origin started the play (NetStream.Play.Start). */
  playing: [];
};

/** Statuses that end a viewer: the origin refused or lost what it asked for. */
const FAILURES = /^NetConnection\.Connect\.(Rejected|Failed|Closed)$|^NetStream\.Play\.(StreamNotFound|Failed|BadName)$|Play\.Forbidden|\.Failed$/;

function describe(info: AmfObject): { code: string; description: string } {
  return { code: typeof info.code === 'string' ? info.code : '', description: typeof info.description === 'string' ? info.description : '' };
}

export class FlvViewerSession extends LinkClientSession<FlvViewerEvents> {
  readonly output: MediaOutput;
  readonly #options: FlvViewerOptions;

  constructor(options: FlvViewerOptions, link: LinkSender, log: Logger) {
    super(link, options, log);
    this.#options = options;
    this.output = options.output;
    this.client.on('status', (_streamId, info) => {
      const { code, description } = describe(info);
      if (FAILURES.test(code)) this.close(`${code}${description ? `: ${description}` : ''}`);
    });
  }

  protected get leaveReason(): string { return 'viewer left'; }

  get streamKey(): string { return `${this.#options.app}/${this.#options.stream}`; }
  get mediaOutput(): MediaOutput { return this.output; }

  /** Opens the session and starts the play at the origin; false (and closed) if the link is down. */
  start(): boolean {
    if (!this.client.open()) {
      this.close('the edge has no link to the origin');
      return false;
    }
    this.#play().catch((error: Error) => {
      if (error instanceof LinkClientClosedError) return; // closed meanwhile, with its own reason
      this.close(error instanceof RtmpCallError ? describe(error.info).description || error.message : error.message);
    });
    return true;
  }

  async #play(): Promise<void> {
    const { app, tcUrl, stream, connectArgs } = this.#options;
    await this.client.connect(app, connectArgs ?? [], { tcUrl, audioCodecs: 0x0fff, videoCodecs: 0xff });
    const streamId = await this.client.createStream();
    await this.client.play(streamId, stream, -1000);
    if (this.#options.mediaFromOrigin === false) {
      this.client.receiveMedia(streamId, 'audio', false);
      this.client.receiveMedia(streamId, 'video', false);
    }
    this.log.info('playing', { stream: this.streamKey });
    this.emit('playing');
  }

  protected ended(reason: string | null): void {
    this.log.info('viewer session closed', { stream: this.streamKey, reason: reason ?? undefined });
  }
}
