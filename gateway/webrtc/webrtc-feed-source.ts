/**
 * Where the edge relay delivers a WebRTC viewer's own play: the viewer's tap on the stream for the
 * stream's shared WebRtcFeed. The feed reads one tap, its earliest viewer's still there, and the
 * others drop what they get here (nothing is parsed or queued per viewer), so the edge carries no
 * extra session for the feed and the origin's application sees only real viewers (a classroom
 * admits members with a name, nothing anonymous). When the feed's tap leaves, the next viewer's
 * tap, fed by the same local stream in the same order, takes over without a gap. Until the viewer
 * joins its feed (once the origin let it play) the startup the relay sends first (metadata,
 * sequence headers, the cached GOP) is held, bounded, so a new feed starts at that keyframe.
 */
import type { MediaOutput } from '#common/media/live-delivery.ts';
import type { MediaPacket } from '#common/media/media-packet.ts';

/** What a tap feeds. */
export interface FeedSink {
  /** The backlog the tap reports to its delivery (the feed's, for the tap it reads; else none). */
  sourceBacklog(source: WebRtcFeedSource): number;
  fromSource(source: WebRtcFeedSource, packet: MediaPacket, streamId: number): void;
}

export class WebRtcFeedSource implements MediaOutput {
  readonly #maxHeldBytes: number;
  #sink: FeedSink | null = null;
  /** Before joining: the latest metadata and sequence headers, and the media since the latest keyframe. */
  readonly #heldHeaders = new Map<string, MediaPacket>();
  #heldMedia: MediaPacket[] = [];
  #heldBytes = 0;
  #heldStreamId = 0;

  constructor(maxHeldBytes: number) {
    this.#maxHeldBytes = maxHeldBytes;
  }

  get backlogBytes(): number { return this.#sink?.sourceBacklog(this) ?? 0; }
  /** The feed plays a browser's Opus track as it is rather than transcoding the AAC. */
  readonly takesAdditionalTracks = true;

  sendMedia(packet: MediaPacket, streamId: number): void {
    if (this.#sink) return this.#sink.fromSource(this, packet, streamId);
    this.#heldStreamId = streamId;
    if (packet.kind === 'data' || packet.isSequenceHeader) {
      this.#heldHeaders.set(`${packet.kind}/${packet.trackId}`, packet);
      return;
    }
    if (packet.isKeyframe) {
      this.#heldMedia = [];
      this.#heldBytes = 0;
    } else if (this.#heldMedia.length === 0 && packet.kind === 'video') return;
    this.#heldBytes += packet.payload.length;
    if (this.#heldBytes > this.#maxHeldBytes) {
      this.#heldMedia = [];
      return;
    }
    this.#heldMedia.push(packet);
  }

  /** The viewer joined its feed: what was held goes to it first, then everything the relay delivers. */
  attach(sink: FeedSink): void {
    this.#sink = sink;
    const held = [...this.#heldHeaders.values(), ...this.#heldMedia];
    this.#heldHeaders.clear();
    this.#heldMedia = [];
    for (const packet of held) sink.fromSource(this, packet, this.#heldStreamId);
  }
}
