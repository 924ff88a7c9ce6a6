/**
 * Browser audio to RTMP audio: one ffmpeg process per published audio stream turns Opus packets
 * (from WebRTC, RTP clock 48 kHz) into AAC-LC that Flash and RTMP players decode. The packets go to
 * ffmpeg's stdin as Ogg Opus, placed by their RTP timestamps, so a gap (lost or muted audio) stays a
 * gap; ffmpeg decodes with libopus, encodes with its native AAC encoder and writes FLV on stdout,
 * which keeps each frame's timestamp. Out come the AAC sequence header ('config') and FLV audio tag
 * bodies ('frame'), timed in ms from the first Opus packet. A failing ffmpeg is an 'error' event,
 * never an exception; a stalled ffmpeg costs bounded memory (packets are dropped and counted).
 */
import { EventEmitter } from 'node:events';
import { FfmpegProcess, readFlvOutput, type FfmpegJob } from '#common/ffmpeg.ts';
import { CodedError } from '#protocol/errors.ts';
import { AudioFormat } from '#protocol/flv/codecs.ts';
import { FlvTagType, type FlvTag } from '#protocol/flv/flv.ts';
import { OggOpusWriter } from '#protocol/ogg/ogg-opus.ts';
import { TimestampUnwrapper } from '#protocol/rtp/wraparound.ts';

export interface OpusToAacOptions {
  /** AAC output channels; the Opus decoder mixes to this count whatever the packets carry. Default 2. */
  channels?: 1 | 2;
  /** AAC output sample rate; 48000 (the default) needs no resampling. */
  sampleRate?: 44100 | 48000;
  /** AAC bit rate in bit/s, 32000-256000; default 96000. */
  bitrate?: number;
  /** Bytes ffmpeg's stdin may hold unread before packets are dropped; default 64 KiB (several seconds of Opus). */
  maxBacklogBytes?: number;
  /** The ffmpeg executable; default 'ffmpeg' on PATH. */
  ffmpegBinary?: string;
}

/** An AAC frame ready for RTMP: the FLV audio tag body (0xAF 0x01 + raw AAC) and its time. */
export interface AacFrame {
  data: Buffer;
  /** Milliseconds from the first Opus packet's time (so it shares the clock of the publisher's video). */
  timestamp: number;
}

export interface OpusToAacCounters {
  /** Packets handed to ffmpeg. */
  written: number;
  /** Packets dropped because ffmpeg's stdin backlog passed its bound. */
  droppedBackpressure: number;
  /** Packets dropped because they start before the end of audio already written (reordered, repeated). */
  droppedLate: number;
  /** AAC frames that came out. */
  frames: number;
}

export interface OpusToAacEvents {
  /** The AAC sequence header: an FLV audio tag body (0xAF 0x00 + AudioSpecificConfig). */
  config: [data: Buffer];
  frame: [frame: AacFrame];
  /** ffmpeg failed or the input was malformed; 'close' follows. Only emitted when someone listens. */
  error: [error: OpusToAacError];
  /** The transcoder stopped (after close() or an error); nothing more comes. */
  close: [reason: string];
}

/** Why a transcoder stopped: its message says what happened, `stderr` holds ffmpeg's last lines. */
export class OpusToAacError extends Error {
  readonly stderr: string;
  constructor(message: string, stderr: string) {
    super(stderr ? `${message}\n${stderr}` : message);
    this.name = 'OpusToAacError';
    this.stderr = stderr;
  }
}

const DEFAULT_BITRATE = 96_000;
const DEFAULT_MAX_BACKLOG_BYTES = 64 * 1024;
/** FLV audio tag header byte for AAC: the spec asks for "44 kHz, 16-bit, stereo" whatever the stream is (the AudioSpecificConfig says). */
const FLV_AAC_HEADER = (AudioFormat.Aac << 4) | 0x0f;
const AacPacketType = { SequenceHeader: 0, Raw: 1 } as const;

/** ffmpeg's job: Ogg Opus in, started at once (tiny probe), AAC-LC out as FLV, each packet flushed. */
export function opusToAacJob(channels: 1 | 2, sampleRate: number, bitrate: number): FfmpegJob {
  return {
    global: ['-nostdin'],
    inputs: [{
      options: ['-fflags', '+nobuffer', '-probesize', '32', '-analyzeduration', '0', '-f', 'ogg', '-c:a', 'libopus'],
      url: 'pipe:0',
    }],
    outputs: [{
      options: ['-map', '0:a', '-map_metadata', '-1', '-c:a', 'aac', '-profile:a', 'aac_low', '-b:a', String(bitrate),
        '-ar', String(sampleRate), '-ac', String(channels), '-flush_packets', '1', '-f', 'flv'],
      url: 'pipe:1',
    }],
  };
}

export class OpusToAac extends EventEmitter<OpusToAacEvents> {
  readonly #ffmpeg: FfmpegProcess;
  readonly #ogg: OggOpusWriter;
  readonly #rtpTime = new TimestampUnwrapper();
  readonly #maxBacklogBytes: number;
  readonly #counters: OpusToAacCounters = { written: 0, droppedBackpressure: 0, droppedLate: 0, frames: 0 };
  #firstRtpTime: number | null = null;
  /** Where the audio written so far ends, in 48 kHz samples from the first packet. */
  #writtenEnd = 0;
  #closed = false;
  /** end() was called: ffmpeg is draining and will exit by itself. */
  #ending = false;

  constructor(options: OpusToAacOptions = {}) {
    super();
    const channels = options.channels ?? 2;
    const bitrate = options.bitrate ?? DEFAULT_BITRATE;
    if (!Number.isInteger(bitrate) || bitrate < 32_000 || bitrate > 256_000) throw new RangeError(`bitrate must be 32000-256000 bit/s, got ${bitrate}`);
    this.#maxBacklogBytes = options.maxBacklogBytes ?? DEFAULT_MAX_BACKLOG_BYTES;
    // Pre-skip 0: a live source's first packet is where its timeline starts; nothing to hide.
    this.#ogg = new OggOpusWriter({ serialNumber: 1, channels });
    this.#ffmpeg = new FfmpegProcess(opusToAacJob(channels, options.sampleRate ?? 48000, bitrate), options.ffmpegBinary);
    readFlvOutput(this.#ffmpeg, (tags) => this.#onTags(tags),
      (error) => this.#fail(new OpusToAacError(`ffmpeg wrote bad FLV: ${error.message}`, this.#ffmpeg.stderrTail)));
    this.#ffmpeg.on('exit', (exit) => {
      if (this.#ending && exit.code === 0) this.close('ended');
      else if (!exit.requested) this.#fail(new OpusToAacError(`ffmpeg ${exit.reason}`, exit.stderr));
    });
    this.#ffmpeg.write(this.#ogg.headerPages());
  }

  get pid(): number | undefined { return this.#ffmpeg.pid; }
  get closed(): boolean { return this.#closed; }
  /** Whether ffmpeg has exited (after close(), once it is really gone). */
  get exited(): boolean { return this.#ffmpeg.exited; }
  get counters(): Readonly<OpusToAacCounters> { return { ...this.#counters }; }

  /**
   * One Opus packet (an RTP payload) and its RTP timestamp (48 kHz, wrapping at 2^32). Never throws:
   * a late packet or a full backlog drops it (counted), a malformed one ends the transcoder with 'error'.
   */
  push(packet: Buffer, rtpTimestamp48k: number): void {
    if (this.#closed || this.#ending) return;
    let pages: Buffer;
    try {
      const rtpTime = this.#rtpTime.unwrap(rtpTimestamp48k);
      this.#firstRtpTime ??= rtpTime;
      const samplePosition = rtpTime - this.#firstRtpTime;
      if (samplePosition < this.#writtenEnd) {
        this.#counters.droppedLate++;
        return;
      }
      if (this.#ffmpeg.stdin.writableLength > this.#maxBacklogBytes) {
        // Dropping leaves a gap in the granule positions, which ffmpeg keeps as a gap in time.
        this.#counters.droppedBackpressure++;
        return;
      }
      pages = this.#ogg.writePackets([{ packet, samplePosition }]);
    } catch (error) {
      if (!(error instanceof CodedError) && !(error instanceof RangeError)) throw error;
      return this.#fail(new OpusToAacError(`bad Opus input: ${error.message}`, ''));
    }
    this.#writtenEnd = this.#ogg.endSamplePosition;
    this.#counters.written++;
    this.#ffmpeg.write(pages);
  }

  /**
   * The stream is over (the publisher left): ends the Ogg stream and ffmpeg's input, so the frames
   * still inside ffmpeg come out before 'close' ('ended'). Pushes after this are ignored.
   */
  end(): void {
    if (this.#closed || this.#ending) return;
    this.#ending = true;
    this.#ffmpeg.write(this.#ogg.end());
    this.#ffmpeg.stdin.end();
  }

  /** Stops ffmpeg at once (frames still inside it are lost) and emits 'close'. */
  close(reason = 'closed'): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#ffmpeg.stop();
    this.emit('close', reason);
  }

  #onTags(tags: FlvTag[]): void {
    if (this.#closed) return;
    for (const tag of tags) {
      if (tag.type !== FlvTagType.Audio || tag.data.length < 2) continue;
      // The tag body with the header byte the FLV spec asks for AAC (ffmpeg writes 0xAE for mono).
      const body = Buffer.concat([Buffer.of(FLV_AAC_HEADER, tag.data[1]!), tag.data.subarray(2)]);
      if (tag.data[1] === AacPacketType.SequenceHeader) this.emit('config', body);
      else if (tag.data[1] === AacPacketType.Raw) {
        this.#counters.frames++;
        this.emit('frame', { data: body, timestamp: tag.timestamp });
      }
    }
  }

  #fail(error: OpusToAacError): void {
    if (this.#closed) return;
    // An unheard 'error' event would throw; a transcoder must never take the edge down.
    if (this.listenerCount('error') > 0) this.emit('error', error);
    this.close(error.message.split('\n')[0]!);
  }
}
