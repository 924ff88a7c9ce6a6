/**
 * ffmpeg at both ends of an RTMP path, with every frame carrying its time in pixels (frame-stamp.ts):
 * a publisher fed raw frames by this process (each stamped as it is handed to the encoder), and a
 * player that decodes to raw gray frames on its stdout and reads each frame's stamp as it arrives.
 * Times are milliseconds since a shared epoch on Date.now(), the clock a browser page reads too.
 * The processes are tracked by test/support/processes.ts and stopped by handle (stopAll).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomFillSync } from 'node:crypto';
import { stop, track } from '../../test/support/processes.ts';
import { readStamp, writeStamp } from './frame-stamp.ts';

/** What the publisher encodes: H.264 a browser plays as is, H.264 with B-frames (OBS's default), or Sorenson Spark (Flash). */
export type StampedCodec = 'h264' | 'h264-bframes' | 'flash';

const ENCODER_ARGS: Record<StampedCodec, string[]> = {
  h264: ['-c:v', 'libx264', '-preset', 'ultrafast', '-tune', 'zerolatency', '-profile:v', 'baseline', '-bf', '0'],
  // zerolatency, then B-frames back on: the reordering a B-frame stream has, without x264's lookahead and
  // frame threads (about 0.6 s of the encoder's own, which would hide what the edge adds).
  'h264-bframes': ['-c:v', 'libx264', '-preset', 'veryfast', '-tune', 'zerolatency', '-profile:v', 'main', '-bf', '3'],
  flash: ['-c:v', 'flv'],
};

const WIDTH = 640;
const HEIGHT = 360;
const FPS = 30;
/** Noise below the stamp (a different field each frame) keeps the encoder at its bitrate, as a camera would. */
const NOISE_TOP = HEIGHT / 3;
const NOISE_FIELDS = 6;

/** A `width` x `height` gray frame painter: mid gray, noise below the top third (when `noisy`), the stamp on top. */
function stampedGrayFrames(width: number, height: number, noisy: boolean): (stamp: number) => Buffer {
  const noiseTop = Math.round((height * NOISE_TOP) / HEIGHT);
  const fields = Array.from({ length: noisy ? NOISE_FIELDS : 0 }, () => randomFillSync(Buffer.alloc(width * (height - noiseTop))));
  let count = 0;
  return (stamp) => {
    const frame = Buffer.alloc(width * height, 128);
    if (noisy) fields[count++ % fields.length]!.copy(frame, width * noiseTop);
    writeStamp(stamp, width, height, (x, y, w, h, luma) => {
      for (let row = y; row < y + h; row++) frame.fill(luma, row * width + x, row * width + x + w);
    });
    return frame;
  };
}

export interface StampedPublisher {
  child: ChildProcess;
  /** Frames handed to ffmpeg so far. */
  readonly frames: number;
  /** ffmpeg's error output (it logs errors only). */
  stderr(): string;
  stop(): Promise<void>;
}

/** ffmpeg publishing 640x360 at 30 fps in `codec` at `bitrate` (ffmpeg units, "1M") to `url`, frames stamped with Date.now() - `epoch` as written. */
export function publishStamped(url: string, epoch: number, codec: StampedCodec, bitrate = '1M'): StampedPublisher {
  const child = track(spawn('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-f', 'rawvideo', '-pix_fmt', 'gray', '-s', `${WIDTH}x${HEIGHT}`,
    '-framerate', String(FPS), '-i', '-', ...ENCODER_ARGS[codec], '-pix_fmt', 'yuv420p', '-g', String(FPS), '-b:v', bitrate, '-maxrate', bitrate,
    '-bufsize', bitrate, '-an', '-flush_packets', '1', '-f', 'flv', url], { stdio: ['pipe', 'ignore', 'pipe'] }));
  let stderr = '';
  child.stderr!.on('data', (d) => { stderr += d; });
  // ffmpeg refused or gone: its exit says why, the write errors say nothing more.
  child.stdin!.on('error', () => undefined);
  // Spark keeps noise as noise (15 Mbit/s of it through the transcoder), which the transcoder's
  // bit-rate cap then smears over the stamp: its source has none (its size is no CPU figure then).
  const paint = stampedGrayFrames(WIDTH, HEIGHT, codec !== 'flash');
  const started = Date.now();
  let frames = 0;
  let timer: NodeJS.Timeout | null = null;
  // Paced from the start time, not by a fixed interval, so timer lateness does not add up.
  const next = (): void => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.stdin!.write(paint(Date.now() - epoch));
    frames++;
    timer = setTimeout(next, Math.max(0, started + (frames * 1000) / FPS - Date.now()));
  };
  next();
  return {
    child,
    get frames() { return frames; },
    stderr: () => stderr,
    async stop() {
      if (timer) clearTimeout(timer);
      child.stdin!.end();
      await stop(child);
    },
  };
}

/** Arrival time and latency (both ms) of each stamped frame a reader saw. */
export type StampSample = [at: number, latency: number];

/** The latencies of the samples that arrived at or after `since` (ms since the epoch). */
export function latenciesSince(samples: readonly StampSample[], since: number): number[] {
  return samples.filter(([at]) => at >= since).map(([, latency]) => latency);
}

export interface StampedPlayer {
  child: ChildProcess;
  readonly samples: StampSample[];
  /** Frames whose stamp could not be read. */
  readonly unreadable: number;
  stderr(): string;
  stop(): Promise<void>;
}

/** The size the player scales every frame to (readStamp's layout is relative, so any size reads). */
const READ_WIDTH = 320;
const READ_HEIGHT = 180;

/**
 * ffmpeg playing `url` (RTMP) and decoding as frames come: no input buffering, one decoding thread
 * (frame threads would hold frames back), every decoded frame out (no frame-rate conversion) as
 * raw gray, flushed per frame. Each frame's latency is its arrival here minus its stamp.
 */
export function playStamped(url: string, epoch: number): StampedPlayer {
  const child = track(spawn('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-fflags', 'nobuffer', '-flags', 'low_delay', '-threads', '1',
    '-rw_timeout', '10000000', '-i', url, '-map', '0:v', '-vf', `scale=${READ_WIDTH}:${READ_HEIGHT}`, '-pix_fmt', 'gray', '-fps_mode', 'passthrough',
    '-f', 'rawvideo', '-flush_packets', '1', '-'], { stdio: ['ignore', 'pipe', 'pipe'] }));
  const frameBytes = READ_WIDTH * READ_HEIGHT;
  const samples: StampSample[] = [];
  let unreadable = 0;
  let pending: Buffer = Buffer.alloc(0);
  let last = -1;
  child.stdout!.on('data', (chunk: Buffer) => {
    const at = Date.now() - epoch;
    pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
    while (pending.length >= frameBytes) {
      const frame = pending.subarray(0, frameBytes);
      pending = pending.subarray(frameBytes);
      const stamp = readStamp(READ_WIDTH, READ_HEIGHT, (x, y) => frame[y * READ_WIDTH + x]!);
      if (stamp === null) unreadable++;
      // A repeated frame is no new arrival.
      else if (stamp !== last) samples.push([at, at - stamp]);
      if (stamp !== null) last = stamp;
    }
  });
  let stderr = '';
  child.stderr!.on('data', (d) => { stderr += d; });
  return { child, samples, get unreadable() { return unreadable; }, stderr: () => stderr, stop: () => stop(child) };
}
