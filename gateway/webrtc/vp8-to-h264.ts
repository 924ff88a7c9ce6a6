/**
 * Browser VP8 video to RTMP video: one ffmpeg process per VP8-publishing browser re-encodes its
 * frames once to H.264 (libx264 constrained baseline, veryfast, zerolatency), which Flash and RTMP
 * players decode. The frames go to ffmpeg's stdin as IVF with their times on the publisher's
 * timeline (ms), so a gap stays a gap; ffmpeg keeps those times (-copyts, no frame rate
 * conversion) and writes FLV on stdout. Out come FLV AVC tag bodies (the sequence header, then
 * frames) at the same times, so audio stays in sync. An H.264 keyframe comes where the VP8 had one
 * (the ingest asks the browser for one every keyframe interval) and at least every
 * `keyframeIntervalMs` worth of frames. ffmpeg starts with the first keyframe, and starts again at
 * a keyframe of another size (browsers scale their video with the bandwidth; libx264 cannot change
 * size mid-stream): a new AVC sequence header, then the new size. A stalled ffmpeg costs
 * bounded memory (frames dropped and counted, then skipped to the next keyframe); a failing one is
 * a 'close' with ffmpeg's reason, never an exception.
 */
import { EventEmitter } from 'node:events';
import { FfmpegProcess, readFlvOutput, type FfmpegJob } from '#common/ffmpeg.ts';
import type { AvcTag } from '#protocol/flv/avc-tags.ts';
import { FlvTagType, type FlvTag } from '#protocol/flv/flv.ts';
import { parseVideoTag } from '#protocol/flv/codecs.ts';
import { ivfFileHeader, ivfFrame } from '#protocol/ivf/ivf.ts';

export interface Vp8ToH264Options {
  /** At most this long between H.264 keyframes, counted in frames at `maxFrameRate`; default 2000 ms. */
  keyframeIntervalMs?: number;
  /** Bytes ffmpeg's stdin may hold unread before frames are dropped; default 2 MiB (seconds of video). */
  maxBacklogBytes?: number;
  /** The ffmpeg executable; default 'ffmpeg' on PATH. */
  ffmpegBinary?: string;
}

/** One VP8 frame for the transcoder: what Vp8Depacketizer puts out, placed on the publisher's timeline. */
export interface Vp8InputFrame {
  data: Buffer;
  keyframe: boolean;
  /** A keyframe's picture size (another than before restarts the encoder); null for interframes. */
  size: { width: number; height: number } | null;
}

export interface Vp8ToH264Counters {
  /** Frames handed to ffmpeg. */
  written: number;
  /** Frames dropped because ffmpeg's stdin backlog passed its bound. */
  droppedBackpressure: number;
  /** Frames skipped because a frame they refer to was not written (before the first keyframe, after a drop). */
  skippedAwaitingKeyframe: number;
  /** H.264 frames that came out. */
  frames: number;
  /** Times ffmpeg was started again for a new picture size. */
  restarts: number;
}

export interface Vp8ToH264Events {
  /** An FLV AVC tag body (sequence header or frame) at `timestamp` ms on the publisher's timeline. */
  video: [tag: AvcTag, timestamp: number];
  /** The transcoder stopped (close(), or ffmpeg failed: the reason says how); nothing more comes. */
  close: [reason: string];
}

const DEFAULT_KEYFRAME_INTERVAL_MS = 2000;
const DEFAULT_MAX_BACKLOG_BYTES = 2 * 1024 * 1024;
/** Browsers send at most this many frames per second; the keyframe interval in frames assumes it. */
const MAX_FRAME_RATE = 30;

/**
 * ffmpeg's job: IVF (ms timebase) in, started at once, decoded with ffmpeg's native VP8 decoder; H.264
 * constrained baseline out as FLV with the input's times, each packet flushed.
 */
export function vp8ToH264Job(keyframeIntervalFrames: number): FfmpegJob {
  return {
    global: ['-nostdin', '-copyts'],
    // No +nobuffer: the packets read while probing must still be decoded (the first is the keyframe).
    // One decoder thread: frame threads would hold back a frame each.
    inputs: [{ options: ['-probesize', '32', '-analyzeduration', '0', '-threads', '1', '-f', 'ivf'], url: 'pipe:0' }],
    outputs: [{
      options: ['-map', '0:v', '-map_metadata', '-1', '-fps_mode', 'passthrough',
        '-c:v', 'libx264', '-profile:v', 'baseline', '-preset', 'veryfast', '-tune', 'zerolatency', '-pix_fmt', 'yuv420p',
        '-force_key_frames', 'source', '-g', String(keyframeIntervalFrames), '-flush_packets', '1', '-f', 'flv'],
      url: 'pipe:1',
    }],
  };
}

export class Vp8ToH264 extends EventEmitter<Vp8ToH264Events> {
  readonly #options: Required<Vp8ToH264Options>;
  readonly #counters: Vp8ToH264Counters = { written: 0, droppedBackpressure: 0, skippedAwaitingKeyframe: 0, frames: 0, restarts: 0 };
  #ffmpeg: FfmpegProcess | null = null;
  /** The picture size the current ffmpeg encodes. */
  #size: { width: number; height: number } | null = null;
  /** The time of the last frame written: IVF (and the FLV out) need times that grow. */
  #lastTimestamp = -1;
  #awaitingKeyframe = true;
  #closed = false;
  /** end() was called: ffmpeg is draining and will exit by itself. */
  #ending = false;

  constructor(options: Vp8ToH264Options = {}) {
    super();
    this.#options = {
      keyframeIntervalMs: options.keyframeIntervalMs ?? DEFAULT_KEYFRAME_INTERVAL_MS,
      maxBacklogBytes: options.maxBacklogBytes ?? DEFAULT_MAX_BACKLOG_BYTES,
      ffmpegBinary: options.ffmpegBinary ?? 'ffmpeg',
    };
    if (!(this.#options.keyframeIntervalMs > 0)) throw new RangeError(`keyframeIntervalMs must be positive, got ${this.#options.keyframeIntervalMs}`);
  }

  get pid(): number | undefined { return this.#ffmpeg?.pid; }
  get closed(): boolean { return this.#closed; }
  /** Whether ffmpeg has exited (after close(), once it is really gone); true when it never started. */
  get exited(): boolean { return this.#ffmpeg?.exited ?? true; }
  get counters(): Readonly<Vp8ToH264Counters> { return { ...this.#counters }; }

  /**
   * One VP8 frame at `timestamp` ms on the publisher's timeline. Never throws: frames before the
   * first keyframe, over the backlog bound or after such a drop are skipped (counted).
   */
  push(frame: Vp8InputFrame, timestamp: number): void {
    if (this.#closed || this.#ending) return;
    if (this.#awaitingKeyframe && !frame.keyframe) {
      this.#counters.skippedAwaitingKeyframe++;
      return;
    }
    const resized = frame.size !== null && (frame.size.width !== this.#size?.width || frame.size.height !== this.#size?.height);
    const ffmpeg = resized ? this.#start(frame.size!) : this.#ffmpeg;
    if (!ffmpeg) return;
    if (ffmpeg.stdin.writableLength > this.#options.maxBacklogBytes) {
      this.#counters.droppedBackpressure++;
      this.#awaitingKeyframe = true; // what follows refers to this frame
      return;
    }
    this.#awaitingKeyframe = false;
    // Two frames in the same millisecond (a clock that held still) still need times that grow.
    this.#lastTimestamp = Math.max(Math.round(timestamp), this.#lastTimestamp + 1);
    this.#counters.written++;
    ffmpeg.write(ivfFrame({ data: frame.data, timestamp: this.#lastTimestamp }));
  }

  /**
   * The stream is over (the publisher left): ends ffmpeg's input, so the frames still inside it
   * come out before 'close' ('ended'). Pushes after this are ignored.
   */
  end(): void {
    if (this.#closed || this.#ending) return;
    this.#ending = true;
    if (this.#ffmpeg) this.#ffmpeg.stdin.end();
    else this.close('ended');
  }

  /** Stops ffmpeg at once (frames still inside it are lost) and emits 'close'. */
  close(reason = 'closed'): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#ffmpeg?.stop();
    this.emit('close', reason);
  }

  /** Starts ffmpeg (again) for the pictures a keyframe of `size` begins; the one before is stopped, with what it still held. */
  #start(size: { width: number; height: number }): FfmpegProcess {
    if (this.#ffmpeg) this.#counters.restarts++;
    this.#ffmpeg?.stop();
    const keyframeIntervalFrames = Math.max(1, Math.round((this.#options.keyframeIntervalMs * MAX_FRAME_RATE) / 1000));
    const ffmpeg = new FfmpegProcess(vp8ToH264Job(keyframeIntervalFrames), this.#options.ffmpegBinary);
    this.#ffmpeg = ffmpeg;
    this.#size = size;
    // What a replaced ffmpeg still writes is left out: its frames would follow the new sequence header.
    readFlvOutput(ffmpeg, (tags) => { if (this.#ffmpeg === ffmpeg) this.#onTags(tags); },
      (error) => this.close(`ffmpeg wrote bad FLV: ${error.message}`));
    ffmpeg.on('exit', (exit) => {
      if (this.#ending && exit.code === 0) return this.close('ended');
      if (exit.requested) return;
      const lastLine = exit.stderr.split('\n').at(-1);
      this.close(`ffmpeg ${exit.reason}${lastLine ? `: ${lastLine}` : ''}`);
    });
    ffmpeg.write(ivfFileHeader({ fourcc: 'VP80', ...size, timebaseDenominator: 1000, timebaseNumerator: 1 }));
    return ffmpeg;
  }

  #onTags(tags: FlvTag[]): void {
    if (this.#closed) return;
    for (const tag of tags) {
      const info = tag.type === FlvTagType.Video ? parseVideoTag(tag.data) : null;
      // The end-of-sequence tag ffmpeg writes last is left out: the RTMP stream goes on.
      if (!info || info.isEndOfSequence) continue;
      if (!info.isSequenceHeader) this.#counters.frames++;
      this.emit('video', { body: tag.data, keyframe: info.isKeyframe, sequenceHeader: info.isSequenceHeader }, tag.timestamp);
    }
  }
}
