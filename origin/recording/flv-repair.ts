/**
 * Crash repair. A recording is marked unfinished by a `<file>.flv.recording` sidecar from the
 * moment it is created until its metadata is final; the origin may have been killed in
 * between. At start-up every such file is cut back to its last complete tag (a kill -9 can
 * leave a tag half written) and its onMetaData rebuilt from the tags themselves: duration,
 * size, codecs and the keyframe index. No complete tag is ever removed.
 */
import { open, rm, stat } from 'node:fs/promises';
import type { Logger } from '#common/logger.ts';
import { rewriteMetadata, scanFlv } from './flv-file.ts';
import { UNFINISHED_SUFFIX, type RecordingStore } from './recording-store.ts';

export interface RepairResult {
  path: string;
  durationMs: number;
  keyframes: number;
  /** Bytes of a cut-off tag removed from the end. */
  truncatedBytes: number;
}

/** Repairs one FLV file in place and removes its sidecar. */
export async function repairRecording(path: string): Promise<RepairResult> {
  const handle = await open(path, 'r+');
  try {
    const scan = await scanFlv(handle);
    if (scan.trailingBytes > 0) await handle.truncate(scan.validLength);
    await rewriteMetadata(handle, scan.index, scan.validLength, scan.metadataSize, scan.metadata);
    await handle.sync();
    return { path, durationMs: scan.index.durationMs, keyframes: scan.index.keyframes.length, truncatedBytes: scan.trailingBytes };
  } finally {
    await handle.close();
  }
}

/** Finds and repairs every unfinished recording; one bad file never stops the others. */
export async function repairUnfinished(store: RecordingStore, log: Logger): Promise<RepairResult[]> {
  const results: RepairResult[] = [];
  for (const marker of await store.walk(UNFINISHED_SUFFIX)) {
    const path = marker.slice(0, -UNFINISHED_SUFFIX.length);
    try {
      if ((await stat(path).catch(() => null))?.isFile()) {
        const result = await repairRecording(path);
        results.push(result);
        log.warn('repaired an unfinished recording', {
          file: store.relative(path), duration: (result.durationMs / 1000).toFixed(3), keyframes: result.keyframes, truncatedBytes: result.truncatedBytes,
        });
      }
      await rm(marker, { force: true });
    } catch (error) {
      log.error('cannot repair recording', { file: store.relative(path), error: (error as Error).message });
    }
  }
  return results;
}
