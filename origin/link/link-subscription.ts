/**
 * One live stream carried over one edge link, once, whatever the number of the edge's clients
 * that play it: Subscribe, StreamState on publish and unpublish, then StreamMessage frames (the
 * stream's startup cache, then each live packet). Media goes through a LiveDelivery whose output
 * is the link, so when the link lags this stream's media is dropped up to the next keyframe; the
 * control frames around it are written straight to the link and never dropped.
 *
 * The link carries media only while some attached play wants it: when every play on the edge is
 * paused or has turned both audio and video off (a WebRTC viewer fed by forwarding RTP on its
 * edge plays here only to be admitted and counted), the subscription goes quiet and sends none;
 * when a play wants media again (or a new one attaches), it sends the stream's startup cache again
 * first, so the edge's copy of the stream starts afresh at a keyframe rather than from a stale GOP.
 */
import { LinkFrameKind, type LinkFrame } from '#protocol/link/link-frame.ts';
import type { Logger } from '#common/logger.ts';
import { LiveDelivery, type DeliveryCounters, type MediaOutput } from '#common/media/live-delivery.ts';
import type { LiveStream, StreamSubscriber } from '#common/media/live-stream.ts';
import type { MediaPacket } from '#common/media/media-packet.ts';
import type { LivePlayState } from '#common/session-transport.ts';

/** The link as a subscription writes to it. */
export interface LinkWriter {
  readonly backlogBytes: number;
  write(frame: LinkFrame): void;
}

export class LinkSubscription implements StreamSubscriber, MediaOutput {
  readonly id: number;
  readonly stream: LiveStream;
  readonly #link: LinkWriter;
  readonly #delivery: LiveDelivery;
  /** What each of the edge's NetStreams attached to this subscription wants, by `sessionId/streamId`. */
  readonly #plays = new Map<string, LivePlayState>();
  /** No attached play wants media: none is sent. */
  #quiet = false;
  /** The edge gets every track: its WebRTC feeds read a browser's Opus, its clients' deliveries keep to track 0. */
  readonly takesAdditionalTracks = true;

  constructor(id: number, stream: LiveStream, link: LinkWriter, maxBacklogBytes: number, log: Logger) {
    this.id = id;
    this.stream = stream;
    this.#link = link;
    // Always unpaused with audio and video: each client's own wishes are applied at the edge.
    this.#delivery = new LiveDelivery(this, 0, { duration: 0, maxBacklogBytes }, {
      log,
      label: 'link subscription',
      dropWarning: 'edge link lagging: dropping media until the next keyframe',
      identity: { stream: stream.key, subscription: id },
    });
  }

  get key(): string { return this.stream.key; }
  get playCount(): number { return this.#plays.size; }
  /** No attached play wants media, so the link carries none for this stream. */
  get isQuiet(): boolean { return this.#quiet; }
  /** StreamMessage frames sent (packetsSent) and media dropped while the link lagged. */
  get counters(): Readonly<DeliveryCounters> { return this.#delivery.counters; }
  get backlogBytes(): number { return this.#link.backlogBytes; }

  /** Subscribe goes out first, so StreamState and the startup cache that follow have a subscription. */
  open(): void {
    this.#link.write({ kind: LinkFrameKind.Subscribe, subscriptionId: this.id, streamKey: this.stream.key });
    this.stream.subscribe(this);
  }

  /** A NetStream attached, wanting audio and video; sent before the edge's PlayAttach, so a quiet stream's fresh startup reaches the edge before its new player. */
  addPlay(play: string): void {
    this.#plays.set(play, { paused: false, audio: true, video: true });
    this.#settleQuiet();
  }

  /** A NetStream paused or turned audio or video on or off; sent after the edge's PlayState, so its player takes the startup sent again. */
  updatePlay(play: string, state: LivePlayState): void {
    if (!this.#plays.has(play)) return;
    this.#plays.set(play, { ...state });
    this.#settleQuiet();
  }

  /** Returns true when that was the last play (the caller then closes the subscription). */
  removePlay(play: string): boolean {
    this.#plays.delete(play);
    if (this.#plays.size === 0) return true;
    this.#settleQuiet();
    return false;
  }

  /** Ends the subscription; `notify` false when the link is gone (nothing can be written). */
  close(notify: boolean): void {
    if (this.#delivery.isClosed) return;
    this.#delivery.close();
    this.stream.unsubscribe(this);
    if (notify) this.#link.write({ kind: LinkFrameKind.Unsubscribe, subscriptionId: this.id });
  }

  #settleQuiet(): void {
    let quiet = true;
    for (const state of this.#plays.values()) {
      if (!state.paused && (state.audio || state.video)) { quiet = false; break; }
    }
    if (quiet === this.#quiet) return;
    this.#quiet = quiet;
    this.#delivery.pause(quiet);
    if (!quiet && this.stream.isPublished) this.#delivery.begin(this.stream.startupPackets());
  }

  onPublish(_stream: LiveStream, startup: MediaPacket[]): void {
    this.#link.write({ kind: LinkFrameKind.StreamState, subscriptionId: this.id, published: true });
    this.#delivery.begin(startup);
  }

  onPacket(packet: MediaPacket): void {
    this.#delivery.deliver(packet);
  }

  onUnpublish(): void {
    this.#link.write({ kind: LinkFrameKind.StreamState, subscriptionId: this.id, published: false });
    this.#delivery.restart();
  }

  /** The delivery's output: one StreamMessage frame per packet, for every client of the edge. */
  sendMedia(packet: MediaPacket): void {
    this.#link.write({ kind: LinkFrameKind.StreamMessage, subscriptionId: this.id, type: packet.type, timestamp: packet.timestamp, payload: packet.payload });
  }
}
