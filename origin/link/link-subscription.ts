/**
 * One live stream carried over one edge link, once, whatever the number of the edge's clients
 * that play it: Subscribe, StreamState on publish and unpublish, then StreamMessage frames (the
 * stream's startup cache, then each live packet). Media goes through a LiveDelivery whose output
 * is the link, so when the link lags this stream's media is dropped up to the next keyframe; the
 * control frames around it are written straight to the link and never dropped.
 */
import { LinkFrameKind, type LinkFrame } from '#protocol/link/link-frame.ts';
import type { Logger } from '#common/logger.ts';
import { LiveDelivery, type DeliveryCounters, type MediaOutput } from '#common/media/live-delivery.ts';
import type { LiveStream, StreamSubscriber } from '#common/media/live-stream.ts';
import type { MediaPacket } from '#common/media/media-packet.ts';

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
  /** `sessionId/streamId` of the edge's NetStreams attached to this subscription. */
  readonly #plays = new Set<string>();
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
  /** StreamMessage frames sent (packetsSent) and media dropped while the link lagged. */
  get counters(): Readonly<DeliveryCounters> { return this.#delivery.counters; }
  get backlogBytes(): number { return this.#link.backlogBytes; }

  /** Subscribe goes out first, so StreamState and the startup cache that follow have a subscription. */
  open(): void {
    this.#link.write({ kind: LinkFrameKind.Subscribe, subscriptionId: this.id, streamKey: this.stream.key });
    this.stream.subscribe(this);
  }

  addPlay(play: string): void {
    this.#plays.add(play);
  }

  /** Returns true when that was the last play (the caller then closes the subscription). */
  removePlay(play: string): boolean {
    this.#plays.delete(play);
    return this.#plays.size === 0;
  }

  /** Ends the subscription; `notify` false when the link is gone (nothing can be written). */
  close(notify: boolean): void {
    if (this.#delivery.isClosed) return;
    this.#delivery.close();
    this.stream.unsubscribe(this);
    if (notify) this.#link.write({ kind: LinkFrameKind.Unsubscribe, subscriptionId: this.id });
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
