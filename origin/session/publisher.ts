/**
 * A NetStream that publishes into a live stream: media goes into the hub as is; @setDataFrame
 * onMetaData becomes the stream's metadata; other data messages (NetStream.send) are relayed,
 * re-encoded as AMF0 so every player can read them whatever its object encoding. The recording
 * service hears of each publish (it records `record`/`append` publishes and rooms being recorded)
 * and answers through `recordStatus` with NetStream.Record.* statuses.
 */
import { decodeData, encodeData } from '#protocol/rtmp/command.ts';
import { MessageType, type RtmpMessage } from '#protocol/rtmp/message.ts';
import type { LiveStream } from '#common/media/live-stream.ts';
import type { RecordablePublish, Recordings } from '../core/origin-context.ts';
import { MediaPacket } from '#common/media/media-packet.ts';
import type { NetStreamContext } from './net-stream-context.ts';
import { statusInfo } from './status.ts';

export type PublishType = 'live' | 'record' | 'append';

export class Publisher implements RecordablePublish {
  readonly streamId: number;
  readonly name: string;
  readonly type: PublishType;
  readonly scopePath: string;
  readonly #ctx: NetStreamContext;
  readonly #stream: LiveStream;
  readonly #recordings: Recordings;
  #closed = false;

  constructor(ctx: NetStreamContext, streamId: number, name: string, type: PublishType, stream: LiveStream, scopePath: string, recordings: Recordings) {
    this.#ctx = ctx;
    this.streamId = streamId;
    this.name = name;
    this.type = type;
    this.#stream = stream;
    this.scopePath = scopePath;
    this.#recordings = recordings;
  }

  get stream(): LiveStream { return this.#stream; }
  get clientId(): number { return this.#ctx.connection.id; }

  recordStatus(level: 'status' | 'error', code: string, description: string): void {
    if (!this.#closed || code === 'NetStream.Record.Stop') this.#ctx.sendStatus(this.streamId, statusInfo(level, code, description, { details: this.name, clientid: this.#ctx.connection.id }));
  }

  /** Claims the stream; throws StreamBusyError when another client publishes it. */
  start(): void {
    this.#stream.startPublish(this);
    this.#ctx.log.info('publish started', { stream: this.#stream.key, type: this.type });
    this.#ctx.sendStatus(this.streamId, statusInfo('status', 'NetStream.Publish.Start', `${this.name} is now published.`, { details: this.name, clientid: this.#ctx.connection.id }));
    this.#recordings.publishStarted(this);
  }

  onMessage(message: RtmpMessage): void {
    if (this.#closed) return;
    if (message.type === MessageType.Audio || message.type === MessageType.Video) {
      this.#stream.push(MediaPacket.fromMessage(message));
      return;
    }
    const values = decodeData(message);
    const [handler] = values;
    if (handler === '@setDataFrame' || handler === 'onMetaData') {
      const body = handler === '@setDataFrame' ? values.slice(1) : values;
      this.#stream.setMetadata(this.#dataPacket(body, message.timestamp));
    } else if (handler === '@clearDataFrame') {
      this.#ctx.log.debug('@clearDataFrame ignored', { stream: this.#stream.key });
    } else {
      this.#stream.push(this.#dataPacket(values, message.timestamp));
    }
  }

  /** Stops publishing; `notify` sends NetStream.Unpublish.Success (not when the connection is gone). */
  close(notify: boolean): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#recordings.publishStopped(this);
    this.#stream.stopPublish(this);
    this.#ctx.log.info('publish stopped', { stream: this.#stream.key, bytes: this.#stream.bytesIn });
    if (notify) this.#ctx.sendStatus(this.streamId, statusInfo('status', 'NetStream.Unpublish.Success', `${this.name} is now unpublished.`, { details: this.name, clientid: this.#ctx.connection.id }));
  }

  #dataPacket(values: Parameters<typeof encodeData>[0], timestamp: number): MediaPacket {
    return new MediaPacket(MessageType.DataAmf0, timestamp, encodeData(values, 0).payload);
  }
}
