/**
 * One ffmpeg transcoder of a Flash-era stream (Sorenson Spark or VP6 video; Nellymoser, Speex or
 * MP3 audio) to H.264/AAC, shared by every browser viewer of that stream on this edge. Its input
 * is its own viewer session on the link (the original stream as FLV into ffmpeg's stdin); its
 * output (`-f flv` on stdout, read with FlvReader) is a local LiveStream that viewers subscribe to.
 * It stops when its last viewer leaves; a failure is logged and reported to the viewers.
 */
import { EventEmitter } from 'node:events';
import { FlvReader, FlvTagType } from '#protocol/flv/flv.ts';
import { LiveStream } from '#common/media/live-stream.ts';
import { MediaPacket } from '#common/media/media-packet.ts';
import type { MediaOutput } from '#common/media/live-delivery.ts';
import { FfmpegProcess } from '#common/ffmpeg.ts';
import type { Logger } from '#common/logger.ts';
import { FlvMediaOutput } from './flv-output.ts';
import type { FlvViewerSession } from './flv-viewer-session.ts';

export interface TranscoderEvents {
  /** The transcoder ended; viewers still attached are told `reason`. */
  close: [reason: string];
}

/** ffmpeg's job: FLV in on stdin, low-latency H.264 (keyframe every second) and AAC out as FLV. */
export const TRANSCODE_JOB = {
  global: ['-nostdin'],
  inputs: [{ options: ['-fflags', '+nobuffer', '-analyzeduration', '1000000', '-f', 'flv'], url: 'pipe:0' }],
  outputs: [{
    options: ['-c:v', 'libx264', '-preset', 'veryfast', '-tune', 'zerolatency', '-pix_fmt', 'yuv420p', '-profile:v', 'baseline',
      '-force_key_frames', 'expr:gte(t,n_forced*1)', '-c:a', 'aac', '-ar', '44100', '-ac', '2', '-b:a', '96k', '-flush_packets', '1', '-f', 'flv'],
    url: 'pipe:1',
  }],
};

export class Transcoder extends EventEmitter<TranscoderEvents> {
  readonly key: string;
  /** The H.264/AAC stream viewers play. */
  readonly stream: LiveStream;
  readonly #log: Logger;
  readonly #ffmpeg: FfmpegProcess;
  readonly #session: FlvViewerSession;
  readonly #reader = new FlvReader();
  readonly #owner = {};
  #viewers = 0;
  #closed = false;

  /** `openSession` makes the input's link session delivering to the given output (not yet started). */
  constructor(key: string, openSession: (output: MediaOutput) => FlvViewerSession, maxGopBytes: number, log: Logger) {
    super();
    this.key = key;
    this.#log = log;
    this.stream = new LiveStream(`${key} (transcoded)`, { maxGopBytes });
    this.#ffmpeg = new FfmpegProcess(TRANSCODE_JOB);
    const stdin = this.#ffmpeg.stdin;
    const input = new FlvMediaOutput({ get backlogBytes() { return stdin.writableLength; }, write: (bytes) => { if (stdin.writable) stdin.write(bytes); } });
    this.#session = openSession(input);
    this.#session.on('close', (reason) => this.close(`its source ended: ${reason ?? 'closed'}`));
    this.#ffmpeg.stdout.on('data', (data: Buffer) => this.#onOutput(data));
    this.#ffmpeg.on('exit', (exit) => {
      if (exit.requested) return;
      this.#log.error('transcoder failed', { stream: key, reason: exit.reason, stderr: exit.stderr });
      this.close(`the transcoder ${exit.reason}`);
    });
    this.#log.info('transcoder started', { stream: key, pid: this.#ffmpeg.pid });
    this.#session.start();
  }

  get viewers(): number { return this.#viewers; }
  get closed(): boolean { return this.#closed; }

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
    this.#session.close(null);
    this.#ffmpeg.stop();
    this.stream.stopPublish(this.#owner);
    this.#log.info('transcoder stopped', { stream: this.key, reason });
    this.emit('close', reason);
  }

  #onOutput(data: Buffer): void {
    if (this.#closed) return;
    let tags;
    try {
      tags = this.#reader.push(data);
    } catch (error) {
      this.#log.error('transcoder wrote bad FLV', { stream: this.key, error: (error as Error).message });
      return this.close('the transcoder wrote bad FLV');
    }
    for (const tag of tags) {
      if (!this.stream.isPublished) this.stream.startPublish(this.#owner);
      const packet = new MediaPacket(tag.type, tag.timestamp, Buffer.from(tag.data));
      if (tag.type === FlvTagType.Script) this.stream.setMetadata(packet);
      else this.stream.push(packet);
    }
  }
}
