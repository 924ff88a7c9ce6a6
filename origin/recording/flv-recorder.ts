/**
 * Records one live stream to an FLV file. It subscribes to the stream like a player but never
 * drops a packet: packets wait in its own queue and are written with one positional writev at
 * least every flush interval, so after a kill -9 the file holds every tag up to the last flush.
 *
 * Metadata: the file starts with an onMetaData tag of a fixed, reserved size (room for a large
 * keyframe index). At the end that tag is rewritten in place with the real duration, size,
 * codecs and keyframe index. Chosen over "write a new file and rename" because it needs no
 * copy of an hour-long file, no second file's worth of free space (it works on a full disk),
 * and the file is valid FLV at every moment. The cost: a few tens of KiB of padding per file.
 *
 * A write error (disk full, I/O error) or a queue beyond its limit fails the recorder: it
 * cuts the file back to the last complete tag, fixes the metadata, and emits `failed`; the
 * live stream itself is untouched.
 */
import { EventEmitter } from 'node:events';
import { rm, writeFile, type FileHandle } from 'node:fs/promises';
import type { AmfValue } from '#protocol/amf/types.ts';
import { encodeFlvHeader, encodeFlvTag, FlvTagType, type FlvTag } from '#protocol/flv/flv.ts';
import { decodeOnMetaData, encodeMetadataTag, FlvIndex } from '#protocol/flv/flv-index.ts';
import type { Logger } from '#common/logger.ts';
import type { LiveStream, StreamSubscriber } from '#common/media/live-stream.ts';
import type { MediaPacket } from '#common/media/media-packet.ts';
import { rewriteMetadata, scanFlv } from './flv-file.ts';
import { UNFINISHED_SUFFIX } from './recording-store.ts';

export interface FlvRecorderOptions {
  /** Queued tags are written at least this often (ms). */
  flushIntervalMs: number;
  /** Queued bytes beyond which the disk is deemed too slow and the recording fails. */
  maxQueueBytes: number;
  /** Size of the onMetaData tag reserved at the start of a new file. */
  metadataReserveBytes: number;
}

/** A file to record into, as the store opened it. */
export interface RecordingTarget {
  path: string;
  handle: FileHandle;
  /** A new, empty file (false: `append` to an existing one). */
  created: boolean;
}

export interface RecordingSummary {
  path: string;
  /** Wall-clock time the first packet arrived. */
  startedAt: Date;
  durationMs: number;
  bytes: number;
  keyframes: number;
  failed: boolean;
  /** The onMetaData the file ends with (what a listing shows of it); null when none was written. */
  metadata: Record<string, AmfValue> | null;
  /** The file's modification time after its last write (what a listing reads from the disk); null when not known. */
  modified: Date | null;
}

export interface FlvRecorderEvents {
  /** The file is open; `appendedAtMs` is where the new tags start (0 for a new file). */
  started: [path: string, appendedAtMs: number];
  failed: [error: Error];
  finished: [summary: RecordingSummary];
}

export class FlvRecorder extends EventEmitter<FlvRecorderEvents> implements StreamSubscriber {
  readonly #stream: LiveStream;
  readonly #options: FlvRecorderOptions;
  readonly #log: Logger;
  readonly #opened: Promise<void>;
  #path = '';
  #handle: FileHandle | null = null;
  #index = new FlvIndex();
  #metadataSize: number | null = null;
  #publisherMetadata: Record<string, AmfValue> = {};
  #position = 0;
  #timeOffset = 0;
  #base: number | null = null;
  #startedAt = new Date();
  #queue: FlvTag[] = [];
  #queuedBytes = 0;
  #writing: Promise<void> = Promise.resolve();
  #flushing = false;
  #timer: NodeJS.Timeout | null = null;
  #failed = false;
  #finishing: Promise<RecordingSummary> | null = null;
  /** Bytes this recorder appended to its file (metrics): the header and the tags. */
  #bytesWritten = 0;
  /** The final onMetaData once it is in the file. */
  #writtenMetadata: Record<string, AmfValue> | null = null;
  #modified: Date | null = null;

  /** Subscribes at once (so nothing published from now on is missed); the file opens meanwhile. */
  constructor(stream: LiveStream, target: Promise<RecordingTarget>, options: FlvRecorderOptions, log: Logger) {
    super();
    this.#stream = stream;
    this.#options = options;
    this.#log = log;
    stream.subscribe(this);
    this.#opened = this.#open(target).catch((error: Error) => this.#fail(error));
  }

  get path(): string { return this.#path; }
  get failed(): boolean { return this.#failed; }
  get bytesWritten(): number { return this.#bytesWritten; }

  async #open(target: Promise<RecordingTarget>): Promise<void> {
    const { path, handle, created } = await target;
    this.#path = path;
    this.#handle = handle;
    if (created) {
      const reserved = encodeMetadataTag(this.#index, 0, this.#options.metadataReserveBytes)!;
      const head = Buffer.concat([encodeFlvHeader({ audio: true, video: true }), encodeFlvTag({ type: FlvTagType.Script, timestamp: 0, data: reserved.data })]);
      await this.#writeAll([head], 0);
      this.#position = head.length;
      this.#metadataSize = this.#options.metadataReserveBytes;
    } else {
      // append: continue after the last complete tag, timestamps after the existing duration.
      const scan = await scanFlv(handle);
      if (scan.trailingBytes > 0) await handle.truncate(scan.validLength);
      this.#index = scan.index;
      this.#metadataSize = scan.metadataSize;
      this.#publisherMetadata = scan.metadata;
      this.#position = scan.validLength;
      // One frame after the last tag, so the first appended tag does not share its timestamp.
      this.#timeOffset = scan.index.firstTimestamp === null ? 0 : Math.ceil(scan.index.lastTimestamp + Math.max(1, scan.index.videoFrameInterval));
      if (scan.metadataSize === null) this.#log.warn('appending to an FLV without reserved metadata: its onMetaData will not be updated', { file: path });
    }
    await writeFile(path + UNFINISHED_SUFFIX, JSON.stringify({ stream: this.#stream.key, startedAt: new Date().toISOString(), pid: process.pid }));
    if (this.#failed) return;
    this.#timer = setInterval(() => this.#scheduleFlush(), this.#options.flushIntervalMs);
    this.#timer.unref();
    this.emit('started', path, this.#timeOffset);
    this.#scheduleFlush();
  }

  onPublish(_stream: LiveStream, startup: MediaPacket[]): void {
    for (const packet of startup) this.onPacket(packet);
  }

  onPacket(packet: MediaPacket): void {
    // A recording is what a Flash player plays back: Enhanced RTMP additional tracks stay out.
    if (this.#failed || this.#finishing || packet.trackId !== 0) return;
    const type = packet.kind === 'video' ? FlvTagType.Video : packet.kind === 'audio' ? FlvTagType.Audio : FlvTagType.Script;
    if (type === FlvTagType.Script) {
      // The publisher's onMetaData goes into the file's own (reserved) onMetaData, not a second one.
      const metadata = decodeOnMetaData(packet.payload);
      if (metadata) {
        this.#publisherMetadata = metadata;
        return;
      }
    }
    this.#base ??= packet.timestamp;
    if (this.#queue.length === 0 && this.#index.firstTimestamp === null) this.#startedAt = new Date();
    const timestamp = Math.max(0, (packet.timestamp - this.#base) | 0);
    this.#queue.push({ type, timestamp, data: packet.payload });
    this.#queuedBytes += packet.payload.length;
    if (this.#queuedBytes > this.#options.maxQueueBytes) {
      this.#fail(new Error(`recorder queue passed maxRecordQueueBytes (${this.#options.maxQueueBytes} bytes): the disk does not keep up`));
    }
  }

  onUnpublish(): void {
    void this.finish();
  }

  /** Writes what is queued, finalizes the metadata and closes the file. Idempotent. */
  finish(): Promise<RecordingSummary> {
    this.#finishing ??= this.#finish();
    return this.#finishing;
  }

  async #finish(): Promise<RecordingSummary> {
    this.#stream.unsubscribe(this);
    this.#stopTimer();
    await this.#opened;
    if (!this.#failed) {
      this.#writing = this.#writing.then(() => this.#flush());
      try {
        await this.#writing;
        await this.#finalize();
      } catch (error) {
        this.#fail(error as Error);
      }
    }
    await this.#writing.catch(() => undefined);
    const summary = this.#summary();
    if (!this.#failed) this.#log.info('recording finished', { file: this.#path, duration: (summary.durationMs / 1000).toFixed(3), bytes: summary.bytes, keyframes: summary.keyframes });
    this.emit('finished', summary);
    return summary;
  }

  #summary(): RecordingSummary {
    return {
      path: this.#path, startedAt: this.#startedAt, durationMs: this.#index.durationMs, bytes: this.#position, keyframes: this.#index.keyframes.length,
      failed: this.#failed, metadata: this.#writtenMetadata, modified: this.#modified,
    };
  }

  async #finalize(): Promise<void> {
    const handle = this.#handle!;
    this.#handle = null;
    try {
      const indexed = await rewriteMetadata(handle, this.#index, this.#position, this.#metadataSize, this.#publisherMetadata);
      if (indexed !== null) this.#writtenMetadata = this.#index.metadata(this.#position, this.#publisherMetadata);
      if (indexed !== null && indexed < this.#index.keyframes.length) {
        this.#log.warn('keyframe index thinned to fit recordMetadataReserveBytes', { file: this.#path, keyframes: this.#index.keyframes.length, indexed, limit: this.#options.metadataReserveBytes });
      }
      await handle.sync();
      this.#modified = (await handle.stat()).mtime;
    } finally {
      await handle.close();
    }
    await rm(this.#path + UNFINISHED_SUFFIX, { force: true });
  }

  #scheduleFlush(): void {
    if (this.#flushing || this.#failed || !this.#handle || this.#queue.length === 0) return;
    this.#flushing = true;
    this.#writing = this.#writing.then(() => this.#flush()).catch((error: Error) => this.#fail(error)).finally(() => { this.#flushing = false; });
  }

  async #flush(): Promise<void> {
    if (!this.#handle || this.#queue.length === 0 || this.#failed) return;
    const tags = this.#queue;
    this.#queue = [];
    this.#queuedBytes = 0;
    const buffers: Buffer[] = [];
    let position = this.#position;
    for (const tag of tags) {
      const bytes = encodeFlvTag({ type: tag.type, timestamp: tag.timestamp + this.#timeOffset, data: tag.data });
      buffers.push(bytes);
      position += bytes.length;
    }
    await this.#writeAll(buffers, this.#position);
    // Only what is on disk goes into the index, so a failure leaves index and file in step.
    position = this.#position;
    for (let i = 0; i < tags.length; i++) {
      const tag = tags[i]!;
      this.#index.add(tag.type, tag.timestamp + this.#timeOffset, tag.data, position);
      position += buffers[i]!.length;
    }
    this.#position = position;
  }

  async #writeAll(buffers: Buffer[], position: number): Promise<void> {
    const expected = buffers.reduce((sum, b) => sum + b.length, 0);
    const { bytesWritten } = await this.#handle!.writev(buffers, position);
    this.#bytesWritten += bytesWritten;
    if (bytesWritten !== expected) throw Object.assign(new Error(`short write: ${bytesWritten} of ${expected} bytes (disk full?)`), { code: 'ENOSPC' });
  }

  #stopTimer(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
  }

  /**
   * Stops recording for good; keeps what was written readable. Never throws. The clean-up runs
   * after any write in flight, so the truncation cannot race it.
   */
  #fail(error: Error): void {
    if (this.#failed) return;
    this.#failed = true;
    this.#stopTimer();
    this.#queue = [];
    this.#queuedBytes = 0;
    this.#stream.unsubscribe(this);
    this.#log.error('recording failed; the live stream continues', { stream: this.#stream.key, file: this.#path || undefined, error: error.message });
    this.emit('failed', error);
    this.#writing = this.#writing.catch(() => undefined).then(() => this.#keepWhatWasWritten());
  }

  async #keepWhatWasWritten(): Promise<void> {
    const handle = this.#handle;
    this.#handle = null;
    if (!handle) return;
    try {
      // Cut a partly written tag, then rebuild the metadata from what is really in the file.
      await handle.truncate(this.#position);
      const scan = await scanFlv(handle);
      this.#index = scan.index;
      this.#position = scan.validLength;
      if (await rewriteMetadata(handle, scan.index, scan.validLength, scan.metadataSize, this.#publisherMetadata) !== null) {
        this.#writtenMetadata = scan.index.metadata(scan.validLength, this.#publisherMetadata);
      }
      await rm(this.#path + UNFINISHED_SUFFIX, { force: true });
    } catch (cleanup) {
      this.#log.error('cannot finalize the failed recording; it will be repaired at the next start', { file: this.#path, error: (cleanup as Error).message });
    } finally {
      await handle.close().catch(() => undefined);
    }
  }
}
