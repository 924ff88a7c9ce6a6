/**
 * One edge client's NetStream playing a relayed stream: a subscriber of the edge's local copy of
 * the stream that delivers through its own LiveDelivery to the client's connection. The packets
 * are the shared MediaPacket objects, so one chunk encoding serves every local player; a slow
 * client is dropped to keyframes by its own delivery and never holds up the link or the others.
 * Statuses (Play.Start, PublishNotify...) come from the origin as session messages, not from here.
 */
import { LiveDelivery, type DeliveryCounters, type MediaOutput } from '#common/media/live-delivery.ts';
import type { LiveStream, StreamSubscriber } from '#common/media/live-stream.ts';
import type { MediaPacket } from '#common/media/media-packet.ts';
import type { MediaBatch } from '#common/media/media-batch.ts';
import type { LivePlayState } from '#common/session-transport.ts';
import type { Logger } from '#common/logger.ts';

export class RelayPlayer implements StreamSubscriber {
  readonly sessionId: number;
  readonly streamId: number;
  readonly stream: LiveStream;
  readonly #delivery: LiveDelivery;

  constructor(sessionId: number, output: MediaOutput, streamId: number, stream: LiveStream, maxBacklogBytes: number, log: Logger) {
    this.sessionId = sessionId;
    this.streamId = streamId;
    this.stream = stream;
    this.#delivery = new LiveDelivery(output, streamId, { duration: 0, maxBacklogBytes }, {
      log,
      label: 'relay player',
      dropWarning: 'slow player: dropping frames until the next keyframe',
      identity: { stream: stream.key, streamId },
    });
  }

  get counters(): Readonly<DeliveryCounters> { return this.#delivery.counters; }

  start(): void {
    this.stream.subscribe(this);
  }

  onPublish(_stream: LiveStream, startup: MediaPacket[]): void {
    this.#delivery.begin(startup);
  }

  onPacket(packet: MediaPacket): void {
    this.#delivery.deliver(packet);
  }

  get takesBatches(): boolean { return this.#delivery.takesBatches; }

  onBatch(batch: MediaBatch): void {
    this.#delivery.deliverBatch(batch);
  }

  onUnpublish(): void {
    this.#delivery.restart();
  }

  /** What the client asked the origin for (pause, receiveAudio/Video), applied here. */
  update(state: LivePlayState): void {
    const current = this.#delivery.state;
    if (state.paused !== current.paused) this.#delivery.pause(state.paused);
    this.#delivery.receiveAudio(state.audio);
    this.#delivery.receiveVideo(state.video);
  }

  close(): void {
    if (this.#delivery.isClosed) return;
    this.#delivery.close();
    this.stream.unsubscribe(this);
  }
}
