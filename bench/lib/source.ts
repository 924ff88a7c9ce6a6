/**
 * The benchmarks' ~1 Mbit/s H.264/AAC live source: a 30 s clip encoded once into a temp FLV that a
 * publisher loops with `ffmpeg -re -stream_loop -1 -c copy`, so publishing costs little and is the
 * same for every server, and its real bitrate read back with our own FLV reader.
 */

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { FlvReader, FlvTagType } from '#protocol/flv/flv.ts';
import { parseVideoTag } from '#protocol/flv/codecs.ts';
import { start, type Started } from './processes.ts';

export const SOURCE_SECONDS = 30;

export interface Source {
  path: string;
  /** Audio+video payload bits per second: what every player must at least be sent. */
  mediaBitsPerSecond: number;
  keyframeInterval: number;
}

/** Encodes the source once and reads it back with our own FLV reader for its real bitrate. */
export async function makeSource(dir: string): Promise<Source> {
  const path = join(dir, 'source.flv');
  // Fixed 44.1 kHz so the AAC frame rate, and so the audio bitrate, is the same every run.
  const encoder = start(
    'encoder',
    'ffmpeg',
    [
      '-nostdin', '-loglevel', 'error', '-y',
      '-f', 'lavfi', '-i', 'testsrc2=size=640x360:rate=30',
      '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=44100',
      '-t', String(SOURCE_SECONDS),
      '-c:v', 'libx264', '-preset', 'ultrafast', '-tune', 'zerolatency', '-pix_fmt', 'yuv420p',
      '-b:v', '900k', '-maxrate', '1M', '-bufsize', '1M', '-g', '60',
      '-c:a', 'aac', '-b:a', '64k',
      '-f', 'flv', path,
    ],
    { logFile: join(dir, 'encoder.log') },
  );
  const code = await encoder.exited;
  if (code !== 0) throw new Error(`encoding the source failed (${code}): ${readFileSync(join(dir, 'encoder.log'), 'utf8')}`);

  const tags = new FlvReader().push(readFileSync(path));
  let mediaBytes = 0;
  let lastTimestamp = 0;
  const keyframeTimes: number[] = [];
  for (const tag of tags) {
    if (tag.type === FlvTagType.Script) continue;
    mediaBytes += tag.data.length;
    lastTimestamp = Math.max(lastTimestamp, tag.timestamp);
    const video = tag.type === FlvTagType.Video ? parseVideoTag(tag.data) : null;
    if (video?.isKeyframe && !video.isSequenceHeader) keyframeTimes.push(tag.timestamp);
  }
  const seconds = lastTimestamp / 1000;
  return {
    path,
    mediaBitsPerSecond: (mediaBytes * 8) / seconds,
    keyframeInterval: keyframeTimes.length > 1 ? seconds / (keyframeTimes.length - 1) : NaN,
  };
}

/** ffmpeg publishing `source` to `url` in real time, looped until stopped. */
export function publishSource(source: Source, url: string, logFile: string): Started {
  return start('publisher', 'ffmpeg', ['-nostdin', '-loglevel', 'error', '-re', '-stream_loop', '-1', '-i', source.path, '-c', 'copy', '-f', 'flv', url], { logFile });
}
