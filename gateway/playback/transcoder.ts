/**
 * One ffmpeg transcoder of a live stream on this edge, shared by every viewer that needs it: FLV in
 * on ffmpeg's stdin (`input`, a MediaOutput a link session or a WebRTC feed delivers to), FLV out on
 * its stdout (read with FlvReader) into a local LiveStream (`stream`) that viewers subscribe to, on
 * the source's timeline (the input's first timestamp is added back to ffmpeg's output times). What it
 * makes is its job's: Flash-era codecs (Sorenson Spark, VP6; Nellymoser, Speex, MP3) to H.264/AAC for
 * HTTP/WS-FLV browsers, or any video (Spark, VP6, H.264 with B-frames) to H.264 constrained baseline
 * without B-frames for WebRTC. It stops when its last viewer leaves (or its owner closes it); a failure
 * is logged with ffmpeg's last words and reported as `close` with the reason.
 */
import { EventEmitter } from 'node:events';
import { FlvTagType, type FlvTag } from '#protocol/flv/flv.ts';
import { LiveStream } from '#common/media/live-stream.ts';
import { MediaPacket } from '#common/media/media-packet.ts';
import type { MediaOutput } from '#common/media/live-delivery.ts';
import { FfmpegProcess, readFlvOutput, type FfmpegJob } from '#common/ffmpeg.ts';
import type { Logger } from '#common/logger.ts';
import { FlvMediaOutput } from './flv-output.ts';
import type { FlvViewerSession } from './flv-viewer-session.ts';

export interface TranscoderEvents {
  /** The transcoder ended; viewers still attached are told `reason`. */
  close: [reason: string];
}

/**
 * The most a transcoded stream's video may take (bit/s over a one-second buffer): x264's quality
 * target alone gave 8.9 Mbit/s from a noisy 1 Mbit/s Spark source, more than a classroom's viewers
 * can take; below the cap the quality target (CRF 23) decides.
 */
export const TRANSCODED_VIDEO_MAX_BITRATE = '1500k';

/** H.264 as every browser decodes it: x264 low-latency, constrained baseline (no B-frames), a keyframe every second. */
const H264_BASELINE_OUTPUT = ['-c:v', 'libx264', '-preset', 'veryfast', '-tune', 'zerolatency', '-pix_fmt', 'yuv420p', '-profile:v', 'baseline',
  '-bf', '0', '-crf', '23', '-maxrate', TRANSCODED_VIDEO_MAX_BITRATE, '-bufsize', TRANSCODED_VIDEO_MAX_BITRATE, '-force_key_frames', 'expr:gte(t,n_forced*1)'];

/** ffmpeg's job for HTTP/WS-FLV browsers: FLV in on stdin, low-latency H.264 and AAC out as FLV. */
export const TRANSCODE_JOB: FfmpegJob = {
  global: ['-nostdin'],
  inputs: [{ options: ['-fflags', '+nobuffer', '-analyzeduration', '1000000', '-f', 'flv'], url: 'pipe:0' }],
  outputs: [{
    options: [...H264_BASELINE_OUTPUT, '-c:a', 'aac', '-ar', '44100', '-ac', '2', '-b:a', '96k', '-flush_packets', '1', '-f', 'flv'],
    url: 'pipe:1',
  }],
};

/**
 * ffmpeg's job for WebRTC viewers: video only (their audio is Opus, made apart). The input is
 * probed from its first packet and nothing read while probing is thrown away (no `nobuffer`: it
 * would drop the first second, keyframe included); one decoder thread, as frame threads hold a
 * frame each (H.264 with B-frames through here: 68 ms p50 instead of 135 at 640x360);
 * `-copyts` keeps each frame's presentation time.
 */
export const WEBRTC_VIDEO_JOB: FfmpegJob = {
  global: ['-nostdin'],
  inputs: [{ options: ['-threads', '1', '-probesize', '32', '-analyzeduration', '0', '-f', 'flv'], url: 'pipe:0' }],
  outputs: [{ options: ['-copyts', '-map', '0:v', ...H264_BASELINE_OUTPUT, '-an', '-flush_packets', '1', '-f', 'flv'], url: 'pipe:1' }],
};

export interface TranscoderOptions {
  job: FfmpegJob;
  maxGopBytes: number;
  /**
   * Makes the link session that feeds `input` (not yet started): the transcoder starts it and
   * closes it with itself, and ends when it ends. Without it, the owner delivers to `input`.
   */
  openSource?: (output: MediaOutput) => FlvViewerSession;
}

export class Transcoder extends EventEmitter<TranscoderEvents> {
  readonly key: string;
  /** The transcoded stream viewers play, on the source's timeline. */
  readonly stream: LiveStream;
  /** Where the source stream goes in: FLV to ffmpeg's stdin, its backlog the stdin's (the delivery drops to keyframes past its limit). */
  readonly input: MediaOutput;
  readonly #log: Logger;
  readonly #ffmpeg: FfmpegProcess;
  readonly #source: FlvViewerSession | null;
  readonly #owner = {};
  /** The source timestamp of the first media written: ffmpeg's output starts there. */
  #inputBase: number | null = null;
  #viewers = 0;
  #closed = false;
  /** ffmpeg died or wrote bad FLV (rather than being stopped). */
  #failed = false;

  constructor(key: string, options: TranscoderOptions, log: Logger) {
    super();
    this.key = key;
    this.#log = log;
    this.stream = new LiveStream(`${key} (transcoded)`, { maxGopBytes: options.maxGopBytes });
    this.#ffmpeg = new FfmpegProcess(options.job);
    const stdin = this.#ffmpeg.stdin;
    const flv = new FlvMediaOutput({ get backlogBytes() { return stdin.writableLength; }, write: (bytes) => this.#ffmpeg.write(bytes) });
    this.input = {
      get backlogBytes() { return flv.backlogBytes; },
      sendMedia: (packet, streamId) => {
        if (this.#closed) return;
        if (packet.kind !== 'data') this.#inputBase ??= packet.timestamp;
        flv.sendMedia(packet, streamId);
      },
    };
    readFlvOutput(this.#ffmpeg, (tags) => this.#onTags(tags), (error) => {
      this.#log.error('transcoder wrote bad FLV', { stream: key, error: error.message });
      this.#failed = true;
      this.close('the transcoder wrote bad FLV');
    });
    this.#ffmpeg.on('exit', (exit) => {
      if (exit.requested) return;
      this.#log.error('transcoder failed', { stream: key, reason: exit.reason, stderr: exit.stderr });
      this.#failed = true;
      this.close(`the transcoder ${exit.reason}`);
    });
    this.#log.info('transcoder started', { stream: key, pid: this.#ffmpeg.pid });
    this.#source = options.openSource?.(this.input) ?? null;
    this.#source?.on('close', (reason) => this.close(`its source ended: ${reason ?? 'closed'}`));
    this.#source?.start();
  }

  get viewers(): number { return this.#viewers; }
  get closed(): boolean { return this.#closed; }
  get failed(): boolean { return this.#failed; }

  addViewer(): void {
    this.#viewers++;
  }

  removeViewer(): void {
    this.#viewers = Math.max(0, this.#viewers - 1);
    if (this.#viewers === 0) this.close('no viewers left');
  }

  close(reason: string): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#source?.close(null);
    this.#ffmpeg.stop();
    this.stream.stopPublish(this.#owner);
    this.#log.info('transcoder stopped', { stream: this.key, reason });
    this.emit('close', reason);
  }

  #onTags(tags: FlvTag[]): void {
    if (this.#closed) return;
    for (const tag of tags) {
      if (!this.stream.isPublished) this.stream.startPublish(this.#owner);
      const packet = new MediaPacket(tag.type, tag.timestamp + (this.#inputBase ?? 0), Buffer.from(tag.data));
      if (tag.type === FlvTagType.Script) this.stream.setMetadata(packet);
      else this.stream.push(packet);
    }
  }
}
