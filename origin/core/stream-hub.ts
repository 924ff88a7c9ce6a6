/**
 * The origin's registry of live streams, keyed by scope path and stream name
 * (`classroom/room42/alice`). Sessions publish into it and subscribe from it; a stream lives
 * while it has a publisher or a waiting subscriber; `idle` says when one is gone (cluster mode lets
 * a `live` stream's placement go then).
 */
import { EventEmitter } from 'node:events';
import { LiveStream, type LiveStreamLimits } from '#common/media/live-stream.ts';

export interface StreamHubEvents {
  /** The stream with this key lost its publisher and its last subscriber: it left the hub. */
  idle: [key: string];
}

export class StreamHub extends EventEmitter<StreamHubEvents> {
  readonly #streams = new Map<string, LiveStream>();
  readonly #limits: LiveStreamLimits;

  constructor(limits: LiveStreamLimits) {
    super();
    this.#limits = limits;
  }

  get size(): number { return this.#streams.size; }

  find(key: string): LiveStream | undefined {
    return this.#streams.get(key);
  }

  /** The stream with this key, created (unpublished, no subscribers) if absent. */
  open(key: string): LiveStream {
    let stream = this.#streams.get(key);
    if (!stream) {
      const created = new LiveStream(key, this.#limits);
      created.on('idle', () => {
        if (this.#streams.get(key) !== created) return;
        this.#streams.delete(key);
        this.emit('idle', key);
      });
      this.#streams.set(key, created);
      stream = created;
    }
    return stream;
  }

  streams(): IterableIterator<LiveStream> {
    return this.#streams.values();
  }
}
