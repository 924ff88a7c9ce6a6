/**
 * A playback viewer on the link: one session the origin sees like an RTMP client (SessionOpen
 * with protocol 'http-flv'/'ws-flv' and the browser's address, then connect, createStream and
 * play, all through its LinkClient), so the origin's application may refuse it and the edge still carries one upstream copy
 * of the stream. The origin answers the play with PlayAttach; the edge relay then delivers to
 * this session's MediaOutput (FLV to a browser, or to a transcoder's ffmpeg).
 */
import { EventEmitter } from 'node:events';
import type { AmfObject } from '#protocol/amf/types.ts';
import type { RtmpMessage } from '#protocol/rtmp/message.ts';
import { nextSessionId } from '#common/session-transport.ts';
import type { MediaOutput } from '#common/media/live-delivery.ts';
import type { Logger } from '#common/logger.ts';
import { RtmpCallError } from '#common/rtmp-transactions.ts';
import type { LinkSender } from '../session/edge-session.ts';
import { LinkClient, LinkClientClosedError } from '../session/link-client.ts';
import type { EdgeClientSession } from '../session/session-registry.ts';

export interface FlvViewerOptions {
  /** connect's app: `application/room`. */
  app: string;
  stream: string;
  protocol: string;
  /** The URL of this edge the viewer used (connect's tcUrl). */
  tcUrl: string;
  remoteAddress: string;
  remotePort: number;
  /** Where the relay delivers the stream. */
  output: MediaOutput;
  /** Opened by the edge itself (a transcoder's input), not a browser. */
  internal?: boolean;
}

export interface FlvViewerEvents {
  /** The origin started the play (NetStream.Play.Start). */
  playing: [];
  /** The session ended; `reason` says why (null when closed by its owner without one). */
  close: [reason: string | null];
}

/** Statuses that end a viewer: the origin refused or lost what it asked for. */
const FAILURES = /^NetConnection\.Connect\.(Rejected|Failed|Closed)$|^NetStream\.Play\.(StreamNotFound|Failed|BadName)$|Play\.Forbidden|\.Failed$/;

function describe(info: AmfObject): { code: string; description: string } {
  return { code: typeof info.code === 'string' ? info.code : '', description: typeof info.description === 'string' ? info.description : '' };
}

export class FlvViewerSession extends EventEmitter<FlvViewerEvents> implements EdgeClientSession {
  readonly id = nextSessionId();
  readonly output: MediaOutput;
  readonly log: Logger;
  readonly protocol: string;
  readonly internal: boolean;
  readonly #options: FlvViewerOptions;
  readonly #client: LinkClient;
  #closed = false;

  constructor(options: FlvViewerOptions, link: LinkSender, log: Logger) {
    super();
    this.#options = options;
    this.output = options.output;
    this.protocol = options.protocol;
    this.internal = options.internal ?? false;
    this.log = log.child(`${options.protocol}#${this.id}`);
    this.#client = new LinkClient(link, { sessionId: this.id, protocol: options.protocol, remoteAddress: options.remoteAddress, remotePort: options.remotePort, log: this.log });
    this.#client.on('status', (_streamId, info) => {
      const { code, description } = describe(info);
      if (FAILURES.test(code)) this.close(`${code}${description ? `: ${description}` : ''}`);
    });
  }

  get streamKey(): string { return `${this.#options.app}/${this.#options.stream}`; }
  get mediaOutput(): MediaOutput { return this.output; }

  /** Opens the session and starts the play at the origin; false (and closed) if the link is down. */
  start(): boolean {
    if (!this.#client.open()) {
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
    const { app, tcUrl, stream } = this.#options;
    await this.#client.connect(app, [], { tcUrl, audioCodecs: 0x0fff, videoCodecs: 0xff });
    const streamId = await this.#client.createStream();
    await this.#client.play(streamId, stream, -1000);
    this.log.info('playing', { stream: this.streamKey });
    this.emit('playing');
  }

  deliver(message: RtmpMessage): void {
    if (!this.#closed) this.#client.deliver(message);
  }

  closeFromOrigin(reason: string): void {
    this.#client.lost(reason);
    this.close(reason || 'closed by the origin');
  }

  /** Nothing to resume: a viewer that outlived a link loss would have been closed by linkLost. */
  linkUp(): void {}

  /** The link dropped: the viewer is closed (a browser player reconnects by itself). */
  linkLost(): void {
    this.#client.lost('link lost');
    this.close('the edge lost its link to the origin');
  }

  close(reason: string | null): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#client.close('viewer left');
    this.log.info('viewer session closed', { stream: this.streamKey, reason: reason ?? undefined });
    this.emit('close', reason);
  }
}
