/**
 * The packets a live stream received during one merged-write interval, handed to its players at
 * once (LiveStream batches for subscribers that merge their writes anyway). A player that takes
 * every packet (the common case: playing, audio and video on, not behind) gets the batch's track-0
 * chunks joined once per message stream id and chunk size, the same buffer for all of them: one
 * write per player per interval and no work per player per packet. Others go through the batch a
 * packet at a time, as before.
 */
import type { MediaPacket } from './media-packet.ts';
import { EncodingCache } from './encoding-cache.ts';

export class MediaBatch {
  readonly packets: MediaPacket[] = [];
  /** Track-0 packets (what every RTMP client plays) and their payload bytes. */
  mainTrackPackets = 0;
  mainTrackBytes = 0;
  /** Timestamp of the last audio or video packet of track 0; null when the batch has none. */
  lastMediaTimestamp: number | null = null;
  /** Chunk stream ids the track-0 packets use: an output's encoder must forget them after writing the joined bytes. */
  readonly chunkStreamIds: number[] = [];
  readonly #joins = new EncodingCache<MediaBatch>();

  add(packet: MediaPacket): void {
    this.packets.push(packet);
    if (packet.trackId !== 0) return;
    this.mainTrackPackets++;
    this.mainTrackBytes += packet.payload.length;
    if (packet.kind !== 'data') this.lastMediaTimestamp = packet.timestamp;
    if (!this.chunkStreamIds.includes(packet.chunkStreamId)) this.chunkStreamIds.push(packet.chunkStreamId);
  }

  /** The track-0 packets' chunks for this message stream id and chunk size, joined once and shared. */
  mainTrackChunks(streamId: number, chunkSize: number): Buffer {
    return this.#joins.get(this, streamId, chunkSize, joinMainTrack);
  }
}

function joinMainTrack(batch: MediaBatch, streamId: number, chunkSize: number): Buffer {
  const parts: Buffer[] = [];
  for (const packet of batch.packets) if (packet.trackId === 0) parts.push(packet.chunks(streamId, chunkSize));
  return parts.length === 1 ? parts[0]! : Buffer.concat(parts);
}
