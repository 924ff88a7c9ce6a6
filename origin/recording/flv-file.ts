/**
 * File-level FLV operations the recorder, the crash repair and `append` share: scanning a file
 * on disk into a keyframe index (stopping at the last complete tag), and rewriting the
 * reserved onMetaData tag at the start of the file in place, which needs no extra disk space
 * (so it works even on a full disk) and never moves a media tag.
 */
import type { FileHandle } from 'node:fs/promises';
import type { AmfValue } from '#protocol/amf/types.ts';
import { encodeFlvTag, FlvReader, FlvTagType } from '#protocol/flv/flv.ts';
import { decodeOnMetaData, encodeMetadataTag, FlvIndex } from '#protocol/flv/flv-index.ts';
import { FlvError } from '#protocol/errors.ts';

/** Our recordings: 9-byte header, PreviousTagSize0, then the reserved onMetaData tag. */
export const FLV_HEADER_END = 13;
const TAG_HEADER_SIZE = 11;
const FLAGS_OFFSET = 4;
const SCAN_CHUNK = 1024 * 1024;

export interface ScannedFlv {
  /** File offset just after the last complete tag: truncating here leaves a valid FLV. */
  validLength: number;
  /** Bytes after that (a tag cut short by a crash or a full disk). */
  trailingBytes: number;
  index: FlvIndex;
  /** Data size of the onMetaData tag right after the header, which a rewrite must keep; null if there is none. */
  metadataSize: number | null;
  /** What that onMetaData holds (the publisher's fields are kept on rewrite). */
  metadata: Record<string, AmfValue>;
  /** Why the scan stopped before the end of the file, if it did. */
  error: string | null;
}

/** Reads the whole file tag by tag (1 MiB at a time, so any size works). */
export async function scanFlv(handle: FileHandle): Promise<ScannedFlv> {
  const reader = new FlvReader();
  const index = new FlvIndex();
  const buffer = Buffer.allocUnsafe(SCAN_CHUNK);
  let position: number | null = null;
  let fileOffset = 0;
  let metadataSize: number | null = null;
  let metadata: Record<string, AmfValue> = {};
  let error: string | null = null;
  for (;;) {
    const { bytesRead } = await handle.read(buffer, 0, SCAN_CHUNK, fileOffset);
    if (bytesRead === 0) break;
    fileOffset += bytesRead;
    let tags;
    try {
      // Tags may point into `buffer`, which the next read overwrites: they are used right here.
      tags = reader.push(buffer.subarray(0, bytesRead));
    } catch (e) {
      if (!(e instanceof FlvError)) throw e;
      error = e.message;
      break;
    }
    // The first tag's offset: what the reader consumed minus the tags it returned.
    position ??= reader.bytesConsumed - tags.reduce((sum, tag) => sum + TAG_HEADER_SIZE + tag.data.length + 4, 0);
    for (const tag of tags) {
      if (tag.type === FlvTagType.Script && position === FLV_HEADER_END && metadataSize === null) {
        const decoded = decodeOnMetaData(tag.data);
        if (decoded) {
          metadataSize = tag.data.length;
          metadata = decoded;
        }
      } else {
        index.add(tag.type, tag.timestamp, tag.data, position);
      }
      position += TAG_HEADER_SIZE + tag.data.length + 4;
    }
  }
  const validLength = reader.bytesConsumed;
  return { validLength, trailingBytes: fileOffset - validLength, index, metadataSize, metadata, error };
}

/**
 * Rewrites the reserved onMetaData (same size, so no tag moves) and the header's audio/video
 * flags. Returns how many keyframes made it into the index, or null when the file has no
 * reserved tag (then nothing is written).
 */
export async function rewriteMetadata(handle: FileHandle, index: FlvIndex, fileSize: number, metadataSize: number | null, base: Record<string, AmfValue>): Promise<number | null> {
  if (metadataSize === null) return null;
  const encoded = encodeMetadataTag(index, fileSize, metadataSize, base);
  if (!encoded) return null;
  const tag = encodeFlvTag({ type: FlvTagType.Script, timestamp: 0, data: encoded.data });
  await handle.write(tag, 0, tag.length, FLV_HEADER_END);
  const flags = (index.audioCodecId !== null ? 4 : 0) | (index.videoCodecId !== null ? 1 : 0);
  await handle.write(Buffer.of(flags || 5), 0, 1, FLAGS_OFFSET);
  return encoded.indexedKeyframes;
}
