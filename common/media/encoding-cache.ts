/**
 * Bytes made once per (message stream id, chunk size) and shared by every connection that asks
 * with the same pair: a packet's chunks (MediaPacket) and a batch's joined chunks (MediaBatch).
 * Nearly every player asks with the same pair (stream id 1, the server's chunk size), so the first
 * pair is kept in fields compared as numbers (no key string built per ask); other pairs go to a map.
 */
export class EncodingCache<Source> {
  #streamId = -1;
  #chunkSize = -1;
  #bytes: Buffer | null = null;
  #others: Map<string, Buffer> | null = null;

  /** The bytes for this pair, made by `make(source, streamId, chunkSize)` on the pair's first ask. */
  get(source: Source, streamId: number, chunkSize: number, make: (source: Source, streamId: number, chunkSize: number) => Buffer): Buffer {
    if (streamId === this.#streamId && chunkSize === this.#chunkSize) return this.#bytes!;
    if (this.#bytes === null) {
      this.#streamId = streamId;
      this.#chunkSize = chunkSize;
      this.#bytes = make(source, streamId, chunkSize);
      return this.#bytes;
    }
    const key = `${streamId}/${chunkSize}`;
    this.#others ??= new Map();
    let bytes = this.#others.get(key);
    if (!bytes) {
      bytes = make(source, streamId, chunkSize);
      this.#others.set(key, bytes);
    }
    return bytes;
  }
}
