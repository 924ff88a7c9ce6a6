/**
 * A NetStream that plays a recorded file (VOD). Media is paced by its timestamps against the
 * wall clock with a small read-ahead (`readAheadMs`), not dumped: a client's buffer fills, then
 * it receives media at real time. Unlike a live player it never drops: when the socket backlog
 * is high it simply waits. Supports start/duration, pause/unpause, seek to the keyframe before
 * the target (NetStream.Seek.Notify), and ends with Play.Complete (onPlayStatus), StreamEOF
 * and Play.Stop as FMS does.
 */
import { streamBeginMessage, streamEofMessage } from '#protocol/rtmp/control.ts';
import { ChunkStreamId, MessageType } from '#protocol/rtmp/message.ts';
import { FlvTagType, type FlvTag } from '#protocol/flv/flv.ts';
import { AmfEcmaArray } from '#protocol/amf/types.ts';
import type { VodSource } from '../vod/vod-source.ts';
import type { NetStreamContext } from './net-stream-context.ts';
import { statusInfo } from './status.ts';

export interface VodPlayOptions {
  /** Where to start (ms of file time). */
  start: number;
  /** Play this long (ms), then stop; <= 0 plays to the end. */
  duration: number;
  reset: boolean;
  /** Media sent ahead of real time, so the client's buffer fills at once. */
  readAheadMs: number;
  /** Socket backlog beyond which the player waits instead of sending. */
  maxBacklogBytes: number;
}

const TICK_MS = 20;

export class VodPlayer {
  readonly streamId: number;
  readonly name: string;
  readonly #ctx: NetStreamContext;
  readonly #source: VodSource;
  readonly #options: VodPlayOptions;
  #timer: NodeJS.Timeout | null = null;
  #next: FlvTag | null = null;
  /** Wall clock and file time that correspond (re-anchored on start, seek and unpause). */
  #anchorWall = 0;
  #anchorTime = 0;
  #position = 0;
  #paused = false;
  #receiveAudio = true;
  #receiveVideo = true;
  #bytes = 0;
  #generation = 0;
  #closed = false;

  constructor(ctx: NetStreamContext, streamId: number, name: string, source: VodSource, options: VodPlayOptions) {
    this.#ctx = ctx;
    this.streamId = streamId;
    this.name = name;
    this.#source = source;
    this.#options = options;
  }

  get durationSeconds(): number { return this.#source.durationMs / 1000; }

  async start(): Promise<void> {
    this.#ctx.connection.send(streamBeginMessage(this.streamId), ChunkStreamId.Control);
    if (this.#options.reset) this.#status('NetStream.Play.Reset', `Playing and resetting ${this.name}.`);
    this.#status('NetStream.Play.Start', `Started playing ${this.name}.`);
    this.#ctx.sendData(this.streamId, ['|RtmpSampleAccess', true, true]);
    if (this.#source.metadata) this.#ctx.sendData(this.streamId, ['onMetaData', AmfEcmaArray.from(this.#source.metadata)]);
    this.#ctx.log.info('vod play', { name: this.name, start: this.#options.start, duration: (this.#source.durationMs / 1000).toFixed(3) });
    await this.#seekTo(Math.max(0, this.#options.start));
  }

  pause(paused: boolean, _atMs?: number): void {
    if (this.#closed) return;
    if (paused && !this.#paused) {
      this.#paused = true;
      this.#stopTimer();
      this.#status('NetStream.Pause.Notify', `Pausing ${this.name}.`);
    } else if (!paused && this.#paused) {
      this.#paused = false;
      this.#status('NetStream.Unpause.Notify', `Unpausing ${this.name}.`);
      this.#anchor(this.#position);
      this.#schedule(0);
    }
  }

  async seek(ms: number): Promise<void> {
    if (this.#closed) return;
    this.#status('NetStream.Seek.Notify', `Seeking ${Math.round(ms)} (stream ID: ${this.streamId}).`);
    this.#status('NetStream.Play.Start', `Started playing ${this.name}.`);
    await this.#seekTo(Math.max(0, ms));
  }

  receiveAudio(flag: boolean): void { this.#receiveAudio = flag; }
  receiveVideo(flag: boolean): void { this.#receiveVideo = flag; }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#stopTimer();
    this.#source.close().catch(() => undefined);
  }

  async #seekTo(ms: number): Promise<void> {
    const generation = ++this.#generation;
    this.#stopTimer();
    const at = await this.#source.seek(ms);
    if (this.#closed || generation !== this.#generation) return;
    this.#next = null;
    // Decoders need the codec configuration before the first frame after any jump.
    for (const header of this.#source.headers) this.#send({ ...header, timestamp: at });
    this.#anchor(at);
    if (!this.#paused) this.#schedule(0);
  }

  #anchor(time: number): void {
    this.#anchorWall = performance.now();
    this.#anchorTime = time;
    this.#position = time;
  }

  #schedule(delay: number): void {
    this.#stopTimer();
    this.#timer = setTimeout(() => void this.#pump(), delay);
  }

  #stopTimer(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
  }

  async #pump(): Promise<void> {
    this.#timer = null;
    const generation = this.#generation;
    const connection = this.#ctx.connection;
    const until = this.#anchorTime + (performance.now() - this.#anchorWall) + this.#options.readAheadMs;
    const end = this.#options.duration > 0 ? Math.max(0, this.#options.start) + this.#options.duration : Infinity;
    while (!this.#closed && !this.#paused && generation === this.#generation) {
      if (connection.backlogBytes > this.#options.maxBacklogBytes) break; // wait for the client, never drop
      this.#next ??= await this.#source.read();
      if (this.#closed || generation !== this.#generation) return;
      const tag = this.#next;
      if (!tag || tag.timestamp >= end) return this.#complete();
      if (tag.timestamp > until) break;
      this.#next = null;
      this.#position = tag.timestamp;
      this.#send(tag);
    }
    if (!this.#closed && !this.#paused && generation === this.#generation) this.#schedule(TICK_MS);
  }

  #send(tag: FlvTag): void {
    if (tag.type === FlvTagType.Audio && !this.#receiveAudio) return;
    if (tag.type === FlvTagType.Video && !this.#receiveVideo) return;
    const type = tag.type === FlvTagType.Audio ? MessageType.Audio : tag.type === FlvTagType.Video ? MessageType.Video : MessageType.DataAmf0;
    const chunkStreamId = type === MessageType.Audio ? ChunkStreamId.Audio : type === MessageType.Video ? ChunkStreamId.Video : ChunkStreamId.Data;
    this.#bytes += tag.data.length;
    this.#ctx.connection.send({ type, streamId: this.streamId, timestamp: tag.timestamp, payload: tag.data }, chunkStreamId);
  }

  #complete(): void {
    this.#stopTimer();
    this.#ctx.sendData(this.streamId, ['onPlayStatus', statusInfo('status', 'NetStream.Play.Complete', 'Playback complete.', { duration: this.#source.durationMs / 1000, bytes: this.#bytes })]);
    this.#ctx.connection.send(streamEofMessage(this.streamId), ChunkStreamId.Control);
    this.#status('NetStream.Play.Stop', `Stopped playing ${this.name}.`);
    this.#ctx.log.info('vod play complete', { name: this.name, bytes: this.#bytes });
    this.close();
  }

  #status(code: string, description: string): void {
    this.#ctx.sendStatus(this.streamId, statusInfo('status', code, description, { details: this.name, clientid: this.#ctx.connection.id }));
  }
}
