/**
 * Delivery of a live stream to one consumer (an origin player, an origin → edge link
 * subscription, an edge client): what it asked for (pause, receiveAudio/Video, duration), what it
 * can take, and what it cost. The one slow-consumer policy of the project lives here: start on a
 * keyframe, and when the output's backlog passes the limit drop media up to the next keyframe
 * instead of queueing (sequence headers, data and the joiner's startup packets always go), so a
 * slow consumer costs bounded memory and never slows the others. Drops are counted and logged
 * here, rate-limited and with the consumer's identity, and the counters are readable for metrics.
 * The consumers are thin adapters that only choose the output and their identity.
 */
import type { Logger } from '#common/logger.ts';
import type { MediaPacket } from './media-packet.ts';
import type { MediaBatch } from './media-batch.ts';
import { deliveryTotals } from '#common/metrics/delivery-totals.ts';

/** Where delivered packets go: a client connection, the link, an FLV writer (anything with a backlog). */
export interface MediaOutput {
  /** Bytes written but not yet taken by the peer. */
  readonly backlogBytes: number;
  /** A live packet for the client's NetStream `streamId`. */
  sendMedia(packet: MediaPacket, streamId: number): void;
  /**
   * True for outputs that take Enhanced RTMP additional tracks (MediaPacket.trackId > 0: the
   * browser's Opus beside the AAC): the link to an edge, a WebRTC feed. Clients, Flash players
   * and ffmpeg among them, and recordings get only track 0, what they have always played.
   */
  readonly takesAdditionalTracks?: boolean;
  /**
   * Outputs that merge their media writes anyway (an RTMP client's connection with `mediaFlushMs`)
   * take a whole batch in one write: the batch's track-0 chunks, joined once for every such output.
   */
  readonly mergesMediaWrites?: boolean;
  sendBatch?(batch: MediaBatch, streamId: number): void;
}

export interface LiveDeliveryOptions {
  /** Deliver this long (ms of stream time), then report `durationReached`; <= 0 for no end. */
  duration: number;
  /** Backlog beyond which media is dropped until the next keyframe. */
  maxBacklogBytes: number;
}

/** Who receives the delivery, for its log lines. */
export interface DeliveryConsumer {
  readonly log: Logger;
  /** What the consumer is, e.g. `player`; its summary line is `<label> closed`. */
  readonly label: string;
  /** The warning logged while it drops, saying what a drop means for this consumer. */
  readonly dropWarning: string;
  /** Fields naming it on every line (stream first, so an operator can grep a stream's troubles). */
  readonly identity: Readonly<Record<string, unknown>>;
}

export interface LiveDeliveryEvents {
  onDurationReached?(): void;
}

/** What a delivery did so far; a snapshot, for metrics and diagnostics. */
export interface DeliveryCounters {
  /** Packets handed to the output and their payload bytes (the FLV body, before chunking or framing). */
  packetsSent: number;
  bytesSent: number;
  /** Media packets not sent: past the backlog limit, or video waiting for its keyframe. */
  packetsDropped: number;
  bytesDropped: number;
  /** Runs of packets dropped because the backlog was over the limit (each one a stall of the consumer). */
  dropEpisodes: number;
}

/** At most one drop warning per consumer in this many ms: a stalled player drops every frame. */
const DROP_LOG_INTERVAL_MS = 5000;

export class LiveDelivery {
  readonly #output: MediaOutput;
  readonly #streamId: number;
  readonly #options: LiveDeliveryOptions;
  readonly #consumer: DeliveryConsumer;
  readonly #events: LiveDeliveryEvents;
  readonly #additionalTracks: boolean;
  readonly #counters: DeliveryCounters = { packetsSent: 0, bytesSent: 0, packetsDropped: 0, bytesDropped: 0, dropEpisodes: 0 };
  #needKeyframe = true;
  #paused = false;
  #audio = true;
  #video = true;
  #firstTimestamp: number | null = null;
  #lastMediaTimestamp: number | null = null;
  /** In a run of backlog drops: the next such drop does not start a new episode. */
  #overLimit = false;
  #lastDropLog = 0;
  #closed = false;

  constructor(output: MediaOutput, streamId: number, options: LiveDeliveryOptions, consumer: DeliveryConsumer, events: LiveDeliveryEvents = {}) {
    this.#output = output;
    this.#streamId = streamId;
    this.#options = options;
    this.#consumer = consumer;
    this.#events = events;
    this.#additionalTracks = output.takesAdditionalTracks === true;
    // Counted in the process's totals for metrics: read when scraped, never per packet.
    deliveryTotals.of(consumer.label).open(this);
  }

  get counters(): Readonly<DeliveryCounters> { return { ...this.#counters }; }
  get isClosed(): boolean { return this.#closed; }
  /**
   * Timestamp of the last audio or video packet sent (null before the first): the player's own
   * messages are stamped with it so they never run behind the media it already got.
   */
  get lastMediaTimestamp(): number | null { return this.#lastMediaTimestamp; }
  get state(): { paused: boolean; audio: boolean; video: boolean } {
    return { paused: this.#paused, audio: this.#audio, video: this.#video };
  }
  /** The output takes batches (LiveStream's StreamSubscriber.takesBatches for the consumer). */
  get takesBatches(): boolean {
    return this.#output.mergesMediaWrites === true && this.#output.sendBatch !== undefined;
  }

  /**
   * The stream was (re)published, or the consumer joined a published one: wait for a keyframe
   * again, then send `startup` (the joiner's cache) whatever the backlog.
   */
  begin(startup: readonly MediaPacket[]): void {
    this.restart();
    for (const packet of startup) this.deliver(packet, true);
  }

  /** The stream restarted (unpublish, new publish): wait for a keyframe again. */
  restart(): void {
    this.#needKeyframe = true;
  }

  pause(paused: boolean): void {
    this.#paused = paused;
    this.#needKeyframe = true;
  }

  receiveAudio(flag: boolean): void {
    this.#audio = flag;
  }

  receiveVideo(flag: boolean): void {
    if (flag && !this.#video) this.#needKeyframe = true;
    this.#video = flag;
  }

  /** `startup` packets (the joiner's cache) go out whatever the backlog. Nothing goes once closed. */
  deliver(packet: MediaPacket, startup = false): void {
    if (this.#closed || this.#paused) return;
    if (packet.trackId !== 0 && !this.#additionalTracks) return;
    if (packet.kind === 'audio' && !this.#audio) return;
    if (packet.kind === 'video') {
      if (!this.#video) return;
      if (!packet.isSequenceHeader && this.#needKeyframe) {
        if (!packet.isKeyframe) return this.#drop(packet);
        this.#needKeyframe = false;
      }
    }
    if (!startup && !packet.isSequenceHeader && packet.kind !== 'data') {
      if (this.#output.backlogBytes > this.#options.maxBacklogBytes) {
        this.#needKeyframe = true;
        if (!this.#overLimit) this.#counters.dropEpisodes++;
        this.#overLimit = true;
        return this.#drop(packet);
      }
      this.#overLimit = false;
    }
    if (this.#options.duration > 0 && packet.kind !== 'data') {
      this.#firstTimestamp ??= packet.timestamp;
      if (packet.timestamp - this.#firstTimestamp >= this.#options.duration) {
        this.#events.onDurationReached?.();
        return;
      }
    }
    this.#output.sendMedia(packet, this.#streamId);
    this.#counters.packetsSent++;
    this.#counters.bytesSent += packet.payload.length;
    if (packet.kind !== 'data') this.#lastMediaTimestamp = packet.timestamp;
  }

  /**
   * The packets of one merged-write interval. A consumer that takes them all (playing audio and
   * video, no duration, no additional tracks, past its first keyframe, not behind) gets them in one
   * write of the batch's shared bytes; any other goes through them one by one, as deliver() decides.
   */
  deliverBatch(batch: MediaBatch): void {
    if (this.#closed || this.#paused) return;
    const takesAll = this.#audio && this.#video && !this.#needKeyframe && this.#options.duration <= 0 && !this.#additionalTracks;
    if (takesAll && this.#output.sendBatch && this.#output.backlogBytes <= this.#options.maxBacklogBytes) {
      this.#output.sendBatch(batch, this.#streamId);
      this.#overLimit = false;
      this.#counters.packetsSent += batch.mainTrackPackets;
      this.#counters.bytesSent += batch.mainTrackBytes;
      if (batch.lastMediaTimestamp !== null) this.#lastMediaTimestamp = batch.lastMediaTimestamp;
      return;
    }
    for (const packet of batch.packets) this.deliver(packet);
  }

  /** The consumer ended: nothing more is sent, and a consumer that dropped says how much. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    deliveryTotals.of(this.#consumer.label).close(this);
    const { packetsDropped, dropEpisodes } = this.#counters;
    if (packetsDropped > 0) this.#consumer.log.info(`${this.#consumer.label} closed`, { ...this.#consumer.identity, dropped: packetsDropped, episodes: dropEpisodes });
  }

  #drop(packet: MediaPacket): void {
    this.#counters.packetsDropped++;
    this.#counters.bytesDropped += packet.payload.length;
    // Waiting for a keyframe with nothing queued is a join or a restart, not a slow consumer.
    const backlog = this.#output.backlogBytes;
    const now = Date.now();
    if (backlog > 0 && now - this.#lastDropLog > DROP_LOG_INTERVAL_MS) {
      this.#lastDropLog = now;
      this.#consumer.log.warn(this.#consumer.dropWarning, { ...this.#consumer.identity, backlog, dropped: this.#counters.packetsDropped });
    }
  }
}
