/**
 * A NetStream that plays a live stream: the Flash start sequence (StreamBegin, Play.Reset,
 * Play.Start, |RtmpSampleAccess), PublishNotify/UnpublishNotify, and the media itself: through
 * a LiveDelivery to the client's own connection (instant start from the stream's cache, slow
 * players dropped to keyframes), or, for a client of an edge, through the edge's relay, which
 * carries one copy of the stream for all its clients. Media keeps the publisher's timestamps
 * (encode once); the player's own statuses and data messages are stamped with its media's time
 * (see #timestamp), since ffmpeg makes data messages a stream that would otherwise start at 0.
 */
import { streamBeginMessage } from '#protocol/rtmp/control.ts';
import { ChunkStreamId } from '#protocol/rtmp/message.ts';
import { LiveDelivery, type DeliveryCounters } from '#common/media/live-delivery.ts';
import type { LiveStream, StreamSubscriber } from '#common/media/live-stream.ts';
import type { MediaPacket } from '#common/media/media-packet.ts';
import type { MediaBatch } from '#common/media/media-batch.ts';
import type { LiveRelayHandle } from '#common/session-transport.ts';
import type { NetStreamContext } from './net-stream-context.ts';
import { statusInfo } from './status.ts';

export interface PlayOptions {
  /** Play for this long (ms of stream time), then Play.Stop; <= 0 plays until closed. */
  duration: number;
  /** Send NetStream.Play.Reset before Play.Start (play's `reset` argument, true by default). */
  reset: boolean;
  /** Backlog (bytes queued to the socket) beyond which media is dropped until the next keyframe. */
  maxBacklogBytes: number;
}

export class Player implements StreamSubscriber {
  readonly streamId: number;
  readonly name: string;
  readonly #ctx: NetStreamContext;
  readonly #stream: LiveStream;
  readonly #delivery: LiveDelivery;
  readonly #reset: boolean;
  #relay: LiveRelayHandle | null = null;
  #joining = false;

  constructor(ctx: NetStreamContext, streamId: number, name: string, stream: LiveStream, options: PlayOptions) {
    this.#ctx = ctx;
    this.streamId = streamId;
    this.name = name;
    this.#stream = stream;
    this.#reset = options.reset;
    this.#delivery = new LiveDelivery(ctx.connection, streamId, options, {
      log: ctx.log,
      label: 'player',
      dropWarning: 'slow player: dropping frames until the next keyframe',
      identity: { stream: stream.key, streamId },
    }, { onDurationReached: () => this.#stop() });
  }

  /** What this player's delivery sent and dropped (an edge client's media is counted by its edge). */
  get counters(): Readonly<DeliveryCounters> { return this.#delivery.counters; }

  start(): void {
    this.#ctx.connection.send(streamBeginMessage(this.streamId), ChunkStreamId.Control);
    if (this.#reset) this.#status('NetStream.Play.Reset', `Playing and resetting ${this.name}.`);
    this.#status('NetStream.Play.Start', `Started playing ${this.name}.`);
    this.#ctx.sendData(this.streamId, ['|RtmpSampleAccess', true, true], this.#timestamp());
    this.#ctx.sendData(this.streamId, ['onStatus', statusInfo('status', 'NetStream.Data.Start', 'Data start.')], this.#timestamp());
    // An edge client gets media from its edge's relay; the subscription below then only brings
    // publish/unpublish events for the statuses.
    this.#relay = this.#ctx.connection.liveRelay?.attach(this.streamId, this.#stream) ?? null;
    this.#joining = true;
    this.#stream.subscribe(this);
    this.#joining = false;
    if (!this.#stream.isPublished) this.#ctx.log.info('player waiting for publisher', { stream: this.#stream.key });
  }

  onPublish(_stream: LiveStream, startup: MediaPacket[]): void {
    if (!this.#joining) {
      this.#ctx.connection.send(streamBeginMessage(this.streamId), ChunkStreamId.Control);
      this.#status('NetStream.Play.PublishNotify', `${this.name} is now published.`);
    }
    // An edge client's media, startup included, comes from its edge's relay.
    this.#delivery.begin(this.#relay ? [] : startup);
  }

  onPacket(packet: MediaPacket): void {
    if (!this.#relay) this.#delivery.deliver(packet);
  }

  /** An edge client's media comes from its edge's relay: it takes nothing here, and batches cost nothing. */
  get takesBatches(): boolean { return this.#relay === null && this.#delivery.takesBatches; }

  onBatch(batch: MediaBatch): void {
    if (!this.#relay) this.#delivery.deliverBatch(batch);
  }

  onUnpublish(): void {
    this.#status('NetStream.Play.UnpublishNotify', `${this.name} is now unpublished.`);
    this.#delivery.restart();
  }

  pause(paused: boolean): void {
    this.#delivery.pause(paused);
    this.#relay?.update(this.#delivery.state);
    if (paused) this.#status('NetStream.Pause.Notify', `Pausing ${this.name}.`);
    else this.#status('NetStream.Unpause.Notify', `Unpausing ${this.name}.`);
  }

  receiveAudio(flag: boolean): void {
    this.#delivery.receiveAudio(flag);
    this.#relay?.update(this.#delivery.state);
  }

  receiveVideo(flag: boolean): void {
    this.#delivery.receiveVideo(flag);
    this.#relay?.update(this.#delivery.state);
  }

  close(): void {
    if (this.#delivery.isClosed) return;
    this.#delivery.close();
    this.#relay?.detach();
    this.#stream.unsubscribe(this);
  }

  #stop(): void {
    this.#status('NetStream.Play.Stop', `Stopped playing ${this.name}.`);
    this.close();
  }

  #status(code: string, description: string): void {
    this.#ctx.sendStatus(this.streamId, statusInfo('status', code, description, { details: this.name, clientid: this.#ctx.connection.id }), this.#timestamp());
  }

  /**
   * The time of the media this player last got or, before any, of the first media it will get: the
   * stream's start for a joiner, where the edge's relay starts an edge client too (its copy of the
   * stream holds the same packets when the PlayAttach that follows arrives). An edge client's later
   * statuses carry that start as well: the origin never sees its media, and they are commands,
   * which ffmpeg keeps out of its streams. 0 while nothing is published: the next publisher may
   * start at any time, and nothing comes before 0.
   */
  #timestamp(): number {
    return this.#delivery.lastMediaTimestamp ?? this.#stream.startTimestamp ?? 0;
  }
}
