/**
 * What a VOD player reads from: a recorded file as a sequence of FLV-style tags (type 8 audio,
 * 9 video, 18 data, which are also the RTMP message types) with its metadata, the codec
 * headers a decoder needs after a seek, and keyframe seeking.
 */
import type { AmfValue } from '#protocol/amf/types.ts';
import type { FlvTag } from '#protocol/flv/flv.ts';

export interface VodSource {
  /** Stream time of the end of the file, in ms. */
  readonly durationMs: number;
  /** onMetaData members to send before the media (null: none). */
  readonly metadata: Record<string, AmfValue> | null;
  /** Sequence headers (AVC/AAC configurations) that must precede media after a seek. */
  readonly headers: FlvTag[];
  /** Positions at the last keyframe at or before `ms` (audio-only: the first tag at or after); returns its time. */
  seek(ms: number): Promise<number>;
  /** The next media or data tag, or null at the end. */
  read(): Promise<FlvTag | null>;
  close(): Promise<void>;
}

/** Opens the source for a file `findMedia` returned; an MP3 is read whole, so one larger than `maxMp3Bytes` is refused. */
export async function openVodSource(media: { path: string; kind: 'flv' | 'mp3' }, maxMp3Bytes: number): Promise<VodSource> {
  // Imported here, not at the top, so this interface file stays free of the implementations.
  if (media.kind === 'mp3') return (await import('./mp3-file-source.ts')).Mp3FileSource.open(media.path, maxMp3Bytes);
  return (await import('./flv-file-source.ts')).FlvFileSource.open(media.path);
}
