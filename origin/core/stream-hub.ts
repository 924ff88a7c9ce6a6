/**
 * The origin's registry of live streams, keyed by scope path and stream name
 * (`classroom/room42/alice`). Sessions publish into it and subscribe from it; a stream lives
 * while it has a publisher or a waiting subscriber.
 */
import { LiveStream, type LiveStreamLimits } from '#common/media/live-stream.ts';

export class StreamHub {
  readonly #streams = new Map<string, LiveStream>();
  readonly #limits: LiveStreamLimits;

  constructor(limits: LiveStreamLimits) {
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
        if (this.#streams.get(key) === created) this.#streams.delete(key);
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
