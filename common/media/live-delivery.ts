/**
 * Delivery of a live stream to one player: what it asked for (pause, receiveAudio/Video,
 * duration) and what it can take. Starts on a keyframe, and when the player's backlog passes
 * the limit drops media up to the next keyframe instead of queueing, so a slow player costs
 * bounded memory and never slows the others. Used by origin players and by edge relays.
 */
import type { MediaPacket } from './media-packet.ts';

/** Where delivered packets go: a client connection (or anything with a backlog). */
export interface MediaOutput {
  /** Bytes written but not yet taken by the peer. */
  readonly backlogBytes: number;
  /** A live packet for the client's NetStream `streamId`. */
  sendMedia(packet: MediaPacket, streamId: number): void;
}

export interface LiveDeliveryOptions {
  /** Deliver this long (ms of stream time), then report `durationReached`; <= 0 for no end. */
  duration: number;
  /** Backlog beyond which media is dropped until the next keyframe. */
  maxBacklogBytes: number;
}

export interface LiveDeliveryEvents {
  /** A packet was dropped; `backlog` is the output's backlog at that moment. */
  onDrop?(dropped: number, backlog: number): void;
  onDurationReached?(): void;
}

export class LiveDelivery {
  readonly #output: MediaOutput;
  readonly #streamId: number;
  readonly #options: LiveDeliveryOptions;
  readonly #events: LiveDeliveryEvents;
  #needKeyframe = true;
  #paused = false;
  #audio = true;
  #video = true;
  #firstTimestamp: number | null = null;
  #lastMediaTimestamp: number | null = null;
  #dropped = 0;

  constructor(output: MediaOutput, streamId: number, options: LiveDeliveryOptions, events: LiveDeliveryEvents = {}) {
    this.#output = output;
    this.#streamId = streamId;
    this.#options = options;
    this.#events = events;
  }

  get dropped(): number { return this.#dropped; }
  /**
   * Timestamp of the last audio or video packet sent (null before the first): the player's own
   * messages are stamped with it so they never run behind the media it already got.
   */
  get lastMediaTimestamp(): number | null { return this.#lastMediaTimestamp; }
  get state(): { paused: boolean; audio: boolean; video: boolean } {
    return { paused: this.#paused, audio: this.#audio, video: this.#video };
  }

  /** The stream restarted (new publish, unpause): wait for a keyframe again. */
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

  /** `startup` packets (the joiner's cache) go out whatever the backlog. */
  deliver(packet: MediaPacket, startup = false): void {
    if (this.#paused) return;
    if (packet.kind === 'audio' && !this.#audio) return;
    if (packet.kind === 'video') {
      if (!this.#video) return;
      if (!packet.isSequenceHeader && this.#needKeyframe) {
        if (!packet.isKeyframe) return this.#drop();
        this.#needKeyframe = false;
      }
    }
    if (!startup && !packet.isSequenceHeader && packet.kind !== 'data' && this.#output.backlogBytes > this.#options.maxBacklogBytes) {
      this.#needKeyframe = true;
      return this.#drop();
    }
    if (this.#options.duration > 0 && packet.kind !== 'data') {
      this.#firstTimestamp ??= packet.timestamp;
      if (packet.timestamp - this.#firstTimestamp >= this.#options.duration) {
        this.#events.onDurationReached?.();
        return;
      }
    }
    this.#output.sendMedia(packet, this.#streamId);
    if (packet.kind !== 'data') this.#lastMediaTimestamp = packet.timestamp;
  }

  #drop(): void {
    this.#dropped++;
    this.#events.onDrop?.(this.#dropped, this.#output.backlogBytes);
  }
}
