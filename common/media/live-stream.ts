/**
 * One live stream (in the origin's hub, or relayed by an edge): its publisher (at most one), the state a late joiner needs to start
 * at once (metadata, sequence headers, the current group of pictures) and its subscribers.
 * Each packet is wrapped once and handed to every subscriber as the same object. Subscribers that
 * merge their writes anyway (players over RTMP) take the packets one merged-write interval at a time
 * (a MediaBatch): per packet the stream does nothing per player, and per interval each player writes
 * one buffer joined once for all (the fan-out's cost is then the write itself).
 */
import { EventEmitter } from 'node:events';
import { MediaPacket } from './media-packet.ts';
import { MediaBatch } from './media-batch.ts';
import { CodedError } from '#protocol/errors.ts';
import { sharedWriteBatcher, type Flushable, type WriteBatcher } from '#common/write-batcher.ts';

/** Another publisher holds the stream (NetStream.Publish.BadName). */
export class StreamBusyError extends CodedError {}

/** What a player (or recorder, or edge link) implements to receive a live stream. */
export interface StreamSubscriber {
  /** The stream started being published; `startup` is what a player needs to begin at once. */
  onPublish(stream: LiveStream, startup: MediaPacket[]): void;
  onPacket(packet: MediaPacket): void;
  onUnpublish(stream: LiveStream): void;
  /**
   * True for a subscriber that merges its writes anyway (a player over RTMP with merged writes): it
   * gets packets in batches through onBatch, one merged-write interval at a time, instead of onPacket.
   * Read when it subscribes.
   */
  readonly takesBatches?: boolean;
  onBatch?(batch: MediaBatch): void;
}

export interface LiveStreamLimits {
  /** The cached group of pictures is dropped (joiners wait for the next keyframe) beyond this size. */
  maxGopBytes: number;
  /**
   * Packets for subscribers that take batches are held this long (the process's merged-write
   * interval, `mediaFlushMs`, on the same timer as the connections'); 0 or absent: no batches.
   */
  mediaBatchMs?: number;
}

export interface LiveStreamEvents {
  /** No publisher and no subscribers are left: the hub forgets the stream. */
  idle: [];
}

export class LiveStream extends EventEmitter<LiveStreamEvents> implements Flushable {
  readonly key: string;
  readonly #limits: LiveStreamLimits;
  #publisher: object | null = null;
  #metadata: MediaPacket | null = null;
  #videoHeader: MediaPacket | null = null;
  #audioHeader: MediaPacket | null = null;
  /** Sequence headers of Enhanced RTMP additional tracks (MediaPacket.trackId > 0), by kind and track. */
  readonly #trackHeaders = new Map<string, MediaPacket>();
  #gop: MediaPacket[] = [];
  #gopBytes = 0;
  /** Timestamp of the publisher's latest audio or video packet; null until this publish sent one. */
  #latestMediaTimestamp: number | null = null;
  /** Subscribers given each packet as it comes. */
  readonly #subscribers = new Set<StreamSubscriber>();
  /** Subscribers given packets a batch at a time (empty without `mediaBatchMs`). */
  readonly #batched = new Set<StreamSubscriber>();
  readonly #batcher: WriteBatcher | null;
  #batch: MediaBatch | null = null;
  #publishedAt = 0;
  #bytesIn = 0;
  /** Video frames of this publish (sequence headers not counted): a dashboard's frame rate, read on request. */
  #videoFrames = 0;
  /** First byte (codec id and flags) of the latest video and track-0 audio frame: names codecs that send no sequence header. */
  #videoTagByte: number | null = null;
  #audioTagByte: number | null = null;

  constructor(key: string, limits: LiveStreamLimits) {
    super();
    this.key = key;
    this.#limits = limits;
    this.#batcher = (limits.mediaBatchMs ?? 0) > 0 ? sharedWriteBatcher(limits.mediaBatchMs!) : null;
  }

  get isPublished(): boolean { return this.#publisher !== null; }
  get subscriberCount(): number { return this.#subscribers.size + this.#batched.size; }
  get publishedAt(): number { return this.#publishedAt; }
  get bytesIn(): number { return this.#bytesIn; }
  get videoFrames(): number { return this.#videoFrames; }
  /** The codec configuration of this publish (AVC decoder configuration, AAC AudioSpecificConfig, ...); null before it or without one. */
  get videoHeader(): MediaPacket | null { return this.#videoHeader; }
  get audioHeader(): MediaPacket | null { return this.#audioHeader; }
  /** The latest video and track-0 audio frame's first byte (FLV codec id and flags); null before the first. */
  get videoTagByte(): number | null { return this.#videoTagByte; }
  get audioTagByte(): number | null { return this.#audioTagByte; }

  /**
   * When the first media of a player joining now is stamped: the cached GOP's first packet, or
   * without a cached GOP the latest media (the joiner's first media comes after it); null while
   * the stream is not published or its publisher has sent no media yet (a waiting player must not
   * get a past publisher's time: the next one may start lower). A player's own messages
   * (statuses, data) are stamped with it, since a data message stamped before the media makes
   * ffmpeg start the stream there.
   */
  get startTimestamp(): number | null {
    if (!this.#publisher) return null;
    return this.#gop[0]?.timestamp ?? this.#latestMediaTimestamp;
  }

  /** Claims the stream for `owner`; throws StreamBusyError if someone else publishes it. */
  startPublish(owner: object): void {
    if (this.#publisher) throw new StreamBusyError('stream.busy', `${this.key} is already being published`);
    this.flush();
    this.#publisher = owner;
    this.#publishedAt = Date.now();
    this.#bytesIn = 0;
    this.#videoFrames = 0;
    this.#videoTagByte = this.#audioTagByte = null;
    this.#metadata = this.#videoHeader = this.#audioHeader = null;
    this.#trackHeaders.clear();
    this.#latestMediaTimestamp = null;
    this.#clearGop();
    for (const subscriber of this.#allSubscribers()) subscriber.onPublish(this, []);
  }

  stopPublish(owner: object): void {
    if (this.#publisher !== owner) return;
    // The last packets go out before the players are told the stream ended.
    this.flush();
    this.#publisher = null;
    this.#clearGop();
    for (const subscriber of this.#allSubscribers()) subscriber.onUnpublish(this);
    this.#emitIfIdle();
  }

  /** Stores onMetaData (already stripped of @setDataFrame) and forwards it. */
  setMetadata(packet: MediaPacket): void {
    this.#metadata = packet;
    this.#broadcast(packet);
  }

  /** Audio, video or a data message from the publisher. */
  push(packet: MediaPacket): void {
    this.#bytesIn += packet.payload.length;
    if (packet.kind !== 'data') this.#latestMediaTimestamp = packet.timestamp;
    if (packet.isSequenceHeader) {
      if (packet.trackId !== 0) this.#trackHeaders.set(`${packet.kind}/${packet.trackId}`, packet);
      else if (packet.kind === 'video') this.#videoHeader = packet;
      else this.#audioHeader = packet;
    } else if (packet.kind !== 'data') {
      if (packet.kind === 'video') {
        this.#videoFrames++;
        this.#videoTagByte = packet.payload[0] ?? null;
      } else if (packet.trackId === 0) {
        this.#audioTagByte = packet.payload[0] ?? null;
      }
      this.#cache(packet);
    }
    this.#broadcast(packet);
  }

  subscribe(subscriber: StreamSubscriber): void {
    // The joiner's startup holds the packets of the pending batch (they are in the cache): the
    // others get that batch now, and the joiner only what comes after its startup.
    this.flush();
    if (this.#batcher && subscriber.takesBatches === true && subscriber.onBatch) this.#batched.add(subscriber);
    else this.#subscribers.add(subscriber);
    if (this.#publisher) subscriber.onPublish(this, this.startupPackets());
  }

  unsubscribe(subscriber: StreamSubscriber): void {
    this.#subscribers.delete(subscriber);
    this.#batched.delete(subscriber);
    this.#emitIfIdle();
  }

  /** Hands the pending batch to the subscribers that take batches (the merged-write timer, or before an event they must see in order). */
  flush(): void {
    const batch = this.#batch;
    if (!batch) return;
    this.#batch = null;
    this.#batcher!.cancel(this);
    for (const subscriber of this.#batched) subscriber.onBatch!(batch);
  }

  /**
   * Metadata, sequence headers (each track's) and the current group of pictures. The headers are stamped with
   * the joiner's start (`startTimestamp`) so its timestamps never go backwards nor start before
   * its media.
   */
  startupPackets(): MediaPacket[] {
    const start = this.startTimestamp ?? 0;
    const packets: MediaPacket[] = [];
    for (const header of [this.#metadata, this.#videoHeader, this.#audioHeader, ...this.#trackHeaders.values()]) {
      if (header) packets.push(header.restamped(start));
    }
    return packets.concat(this.#gop);
  }

  #cache(packet: MediaPacket): void {
    if (packet.isKeyframe) this.#clearGop();
    else if (this.#gop.length === 0 && (packet.kind === 'video' || this.#videoHeader)) return; // wait for a keyframe
    this.#gop.push(packet);
    this.#gopBytes += packet.payload.length;
    // Audio-only streams have no keyframes: keep just a short tail. Huge GOPs are not cached at all.
    if (this.#gopBytes > this.#limits.maxGopBytes || (!this.#videoHeader && this.#gop.length > 50)) this.#clearGop();
  }

  #clearGop(): void {
    this.#gop = [];
    this.#gopBytes = 0;
  }

  #broadcast(packet: MediaPacket): void {
    for (const subscriber of this.#subscribers) subscriber.onPacket(packet);
    if (this.#batched.size === 0) return;
    if (!this.#batch) {
      this.#batch = new MediaBatch();
      this.#batcher!.schedule(this);
    }
    this.#batch.add(packet);
  }

  #allSubscribers(): StreamSubscriber[] {
    return [...this.#subscribers, ...this.#batched];
  }

  #emitIfIdle(): void {
    if (!this.#publisher && this.#subscribers.size === 0 && this.#batched.size === 0) this.emit('idle');
  }
}
