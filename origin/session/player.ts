/**
 * A NetStream that plays a live stream: the Flash start sequence (StreamBegin, Play.Reset,
 * Play.Start, |RtmpSampleAccess), instant start from the stream's cache, and a bounded backlog.
 * When the client reads slower than the stream arrives, frames are dropped up to the next
 * keyframe instead of queueing, so a slow player costs bounded memory and never slows others.
 */
import { streamBeginMessage } from '#protocol/rtmp/control.ts';
import { ChunkStreamId } from '#protocol/rtmp/message.ts';
import type { LiveStream, StreamSubscriber } from '../core/live-stream.ts';
import type { MediaPacket } from '../core/media-packet.ts';
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
  readonly #options: PlayOptions;
  #needKeyframe = true;
  #paused = false;
  #receiveAudio = true;
  #receiveVideo = true;
  #joining = false;
  #firstTimestamp: number | null = null;
  #dropped = 0;
  #lastDropLog = 0;
  #closed = false;

  constructor(ctx: NetStreamContext, streamId: number, name: string, stream: LiveStream, options: PlayOptions) {
    this.#ctx = ctx;
    this.streamId = streamId;
    this.name = name;
    this.#stream = stream;
    this.#options = options;
  }

  get droppedPackets(): number { return this.#dropped; }

  start(): void {
    this.#ctx.connection.send(streamBeginMessage(this.streamId), ChunkStreamId.Control);
    if (this.#options.reset) this.#status('NetStream.Play.Reset', `Playing and resetting ${this.name}.`);
    this.#status('NetStream.Play.Start', `Started playing ${this.name}.`);
    this.#ctx.sendData(this.streamId, ['|RtmpSampleAccess', true, true]);
    this.#ctx.sendData(this.streamId, ['onStatus', statusInfo('status', 'NetStream.Data.Start', 'Data start.')]);
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
    this.#needKeyframe = true;
    for (const packet of startup) this.#deliver(packet, true);
  }

  onPacket(packet: MediaPacket): void {
    this.#deliver(packet, false);
  }

  onUnpublish(): void {
    this.#status('NetStream.Play.UnpublishNotify', `${this.name} is now unpublished.`);
    this.#needKeyframe = true;
  }

  pause(paused: boolean): void {
    this.#paused = paused;
    this.#needKeyframe = true;
    if (paused) this.#status('NetStream.Pause.Notify', `Pausing ${this.name}.`);
    else this.#status('NetStream.Unpause.Notify', `Unpausing ${this.name}.`);
  }

  receiveAudio(flag: boolean): void { this.#receiveAudio = flag; }

  receiveVideo(flag: boolean): void {
    if (flag && !this.#receiveVideo) this.#needKeyframe = true;
    this.#receiveVideo = flag;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#stream.unsubscribe(this);
    if (this.#dropped > 0) this.#ctx.log.info('player closed', { stream: this.#stream.key, dropped: this.#dropped });
  }

  #deliver(packet: MediaPacket, startup: boolean): void {
    if (this.#closed || this.#paused) return;
    if (packet.kind === 'audio' && !this.#receiveAudio) return;
    if (packet.kind === 'video') {
      if (!this.#receiveVideo) return;
      if (!packet.isSequenceHeader && this.#needKeyframe) {
        if (!packet.isKeyframe) return this.#drop();
        this.#needKeyframe = false;
      }
    }
    const connection = this.#ctx.connection;
    if (!startup && !packet.isSequenceHeader && packet.kind !== 'data' && connection.backlogBytes > this.#options.maxBacklogBytes) {
      this.#needKeyframe = true;
      return this.#drop();
    }
    if (this.#options.duration > 0 && packet.kind !== 'data') {
      this.#firstTimestamp ??= packet.timestamp;
      if (packet.timestamp - this.#firstTimestamp >= this.#options.duration) return this.#stop();
    }
    connection.sendEncoded(packet.chunks(this.streamId, connection.chunkSize), packet.chunkStreamId);
  }

  #drop(): void {
    this.#dropped++;
    const now = Date.now();
    if (this.#ctx.connection.backlogBytes > this.#options.maxBacklogBytes && now - this.#lastDropLog > 5000) {
      this.#lastDropLog = now;
      this.#ctx.log.warn('slow player: dropping frames until the next keyframe', {
        stream: this.#stream.key, backlog: this.#ctx.connection.backlogBytes, dropped: this.#dropped,
      });
    }
  }

  #stop(): void {
    this.#status('NetStream.Play.Stop', `Stopped playing ${this.name}.`);
    this.close();
  }

  #status(code: string, description: string): void {
    this.#ctx.sendStatus(this.streamId, statusInfo('status', code, description, { details: this.name, clientid: this.#ctx.connection.id }));
  }
}
