/**
 * The edge's local fan-out of live streams. The origin sends each stream this edge's clients
 * play once (Subscribe, StreamState, StreamMessage); each becomes a local LiveStream with its own
 * startup cache (metadata, sequence headers, current GOP), so a second local player starts at
 * once without asking the origin for anything. PlayAttach/PlayState/PlayDetach tie a client's
 * NetStream to one of them.
 */
import { decodeData } from '#protocol/rtmp/command.ts';
import { MessageType } from '#protocol/rtmp/message.ts';
import { LinkFrameKind, type LinkFrame } from '#protocol/link/link-frame.ts';
import { LiveStream } from '#common/media/live-stream.ts';
import { MediaPacket } from '#common/media/media-packet.ts';
import type { MediaOutput } from '#common/media/live-delivery.ts';
import type { Logger } from '#common/logger.ts';
import { RelayPlayer } from './relay-player.ts';

export interface EdgeRelayOptions {
  maxGopBytes: number;
  maxPlayerBacklogBytes: number;
  /** The edge's merged-write interval (`mediaFlushMs`): local players take the stream in batches of it. */
  mediaBatchMs: number;
  /** The client connection of one of this edge's sessions (undefined once it is gone). */
  output(sessionId: number): MediaOutput | undefined;
}

type RelayFrame = Extract<LinkFrame, { kind:
  | typeof LinkFrameKind.Subscribe | typeof LinkFrameKind.Unsubscribe | typeof LinkFrameKind.StreamMessage | typeof LinkFrameKind.StreamState
  | typeof LinkFrameKind.PlayAttach | typeof LinkFrameKind.PlayDetach | typeof LinkFrameKind.PlayState }>;

/** One subscription: the local copy of a stream and the owner token its publish state uses. */
interface Subscription {
  stream: LiveStream;
  owner: object;
  bytes: number;
}

function isMetadata(type: number, payload: Buffer): boolean {
  if (type !== MessageType.DataAmf0 && type !== MessageType.DataAmf3) return false;
  try {
    return decodeData({ type, streamId: 0, timestamp: 0, payload })[0] === 'onMetaData';
  } catch {
    return false;
  }
}

export class EdgeRelay {
  readonly #options: EdgeRelayOptions;
  readonly #log: Logger;
  readonly #subscriptions = new Map<number, Subscription>();
  readonly #players = new Map<string, RelayPlayer>();
  #mediaBytes = 0;

  constructor(options: EdgeRelayOptions, log: Logger) {
    this.#options = options;
    this.#log = log;
  }

  get streamCount(): number { return this.#subscriptions.size; }
  get playerCount(): number { return this.#players.size; }
  /** Media payload bytes received over the link for all subscriptions. */
  get mediaBytes(): number { return this.#mediaBytes; }

  handle(frame: RelayFrame): void {
    switch (frame.kind) {
      case LinkFrameKind.Subscribe: {
        if (this.#subscriptions.has(frame.subscriptionId)) this.#unsubscribe(frame.subscriptionId);
        const stream = new LiveStream(frame.streamKey, { maxGopBytes: this.#options.maxGopBytes, mediaBatchMs: this.#options.mediaBatchMs });
        this.#subscriptions.set(frame.subscriptionId, { stream, owner: {}, bytes: 0 });
        this.#log.info('subscribed', { stream: frame.streamKey, subscription: frame.subscriptionId });
        return;
      }
      case LinkFrameKind.Unsubscribe:
        return this.#unsubscribe(frame.subscriptionId);
      case LinkFrameKind.StreamState: {
        const sub = this.#subscription(frame.subscriptionId, frame.kind);
        if (!sub) return;
        if (frame.published && !sub.stream.isPublished) sub.stream.startPublish(sub.owner);
        else if (!frame.published) sub.stream.stopPublish(sub.owner);
        return;
      }
      case LinkFrameKind.StreamMessage: {
        const sub = this.#subscriptions.get(frame.subscriptionId);
        if (!sub) return; // late frames of a subscription just ended
        this.#mediaBytes += frame.payload.length;
        sub.bytes += frame.payload.length;
        // The startup cache may arrive before the origin's StreamState: the stream is live then.
        if (!sub.stream.isPublished) sub.stream.startPublish(sub.owner);
        // Copied: the cache keeps packets for a GOP, which would otherwise pin whole socket reads.
        const packet = new MediaPacket(frame.type, frame.timestamp, Buffer.from(frame.payload));
        if (isMetadata(frame.type, frame.payload)) sub.stream.setMetadata(packet);
        else sub.stream.push(packet);
        return;
      }
      case LinkFrameKind.PlayAttach: {
        const sub = this.#subscription(frame.subscriptionId, frame.kind);
        const output = this.#options.output(frame.sessionId);
        if (!sub || !output) return;
        this.#detach(frame.sessionId, frame.streamId);
        const player = new RelayPlayer(frame.sessionId, output, frame.streamId, sub.stream, this.#options.maxPlayerBacklogBytes, this.#log.with({ session: `session#${frame.sessionId}` }));
        this.#players.set(`${frame.sessionId}/${frame.streamId}`, player);
        player.start();
        return;
      }
      case LinkFrameKind.PlayDetach:
        return this.#detach(frame.sessionId, frame.streamId);
      case LinkFrameKind.PlayState:
        this.#players.get(`${frame.sessionId}/${frame.streamId}`)?.update(frame);
        return;
    }
  }

  /** A client left: its players stop (the origin learns it from SessionClose). */
  detachSession(sessionId: number): void {
    for (const player of [...this.#players.values()]) {
      if (player.sessionId === sessionId) this.#detach(sessionId, player.streamId);
    }
  }

  /** The link dropped: every subscription is gone; a new origin will subscribe again. */
  reset(): void {
    for (const player of this.#players.values()) player.close();
    this.#players.clear();
    for (const sub of this.#subscriptions.values()) sub.stream.stopPublish(sub.owner);
    this.#subscriptions.clear();
  }

  #subscription(id: number, kind: number): Subscription | undefined {
    const sub = this.#subscriptions.get(id);
    if (!sub) this.#log.warn('link frame for an unknown subscription', { subscription: id, kind });
    return sub;
  }

  #detach(sessionId: number, streamId: number): void {
    const key = `${sessionId}/${streamId}`;
    this.#players.get(key)?.close();
    this.#players.delete(key);
  }

  #unsubscribe(id: number): void {
    const sub = this.#subscriptions.get(id);
    if (!sub) return;
    for (const player of [...this.#players.values()]) {
      if (player.stream === sub.stream) this.#detach(player.sessionId, player.streamId);
    }
    sub.stream.stopPublish(sub.owner);
    this.#subscriptions.delete(id);
    this.#log.info('unsubscribed', { stream: sub.stream.key, subscription: id, mediaBytes: sub.bytes });
  }
}
