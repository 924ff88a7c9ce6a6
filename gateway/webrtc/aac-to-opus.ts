/**
 * RTMP audio to browser audio for WebRTC playback: one ffmpeg process per stream (its WebRtcFeed,
 * shared by every viewer) turns the stream's audio into Opus, the only audio codec every browser
 * takes over WebRTC: AAC (sequence header first), MP3, Nellymoser or Speex, whatever FLV carries,
 * since the tags go to ffmpeg as they are. They go to ffmpeg's stdin as FLV with their own timestamps
 * (relative to the first one), so gaps stay gaps; ffmpeg writes Ogg Opus on stdout in 20 ms
 * packets, one page each (flushed at once: latency), read with protocol/ogg. Out come Opus packets
 * with their time in 48 kHz samples on the RTMP timeline (ms x 48). A failing ffmpeg is a 'close'
 * with its reason, never an exception; a stalled one costs bounded memory (frames are dropped).
 */
import { EventEmitter } from 'node:events';
import { FfmpegProcess, type FfmpegJob } from '#common/ffmpeg.ts';
import { encodeFlvHeader, encodeFlvTag, FlvTagType } from '#protocol/flv/flv.ts';
import { parseOpusHead } from '#protocol/ogg/ogg-opus.ts';
import { OggReader } from '#protocol/ogg/ogg-page.ts';
import { ContiguousOpusTimes, opusPacketSamples } from '#protocol/rtp/opus.ts';

/** Opus always runs at 48 kHz: samples per ms of the RTMP timeline. */
const SAMPLES_PER_MS = 48;
const DEFAULT_MAX_BACKLOG_BYTES = 64 * 1024;
/** Ogg Opus starts with OpusHead and OpusTags before any audio. */
const HEADER_PACKETS = 2;

export interface AacToOpusEvents {
  /** An Opus packet and its time: 48 kHz samples on the RTMP timeline (timestamp ms x 48), unwrapped. */
  packet: [packet: Buffer, time48k: number];
  /** ffmpeg stopped (close(), or it failed: the reason then holds its last stderr lines). */
  close: [reason: string];
}

/** ffmpeg's job: FLV AAC in, started at once, Opus (20 ms frames, one per Ogg page, flushed) out. */
export function aacToOpusJob(bitrate: number): FfmpegJob {
  return {
    global: ['-nostdin'],
    inputs: [{ options: ['-fflags', '+nobuffer', '-probesize', '32', '-analyzeduration', '0', '-f', 'flv'], url: 'pipe:0' }],
    outputs: [{
      options: ['-map', '0:a', '-map_metadata', '-1', '-c:a', 'libopus', '-b:a', String(bitrate), '-ar', '48000', '-ac', '2',
        '-frame_duration', '20', '-application', 'audio', '-page_duration', '20000', '-flush_packets', '1', '-f', 'ogg'],
      url: 'pipe:1',
    }],
  };
}

export class AacToOpus extends EventEmitter<AacToOpusEvents> {
  readonly #ffmpeg: FfmpegProcess;
  readonly #ogg = new OggReader();
  readonly #maxBacklogBytes: number;
  /** The RTMP time of the first frame written: ffmpeg's output timeline starts there. */
  #baseMs: number | null = null;
  #headerPacketsLeft = HEADER_PACKETS;
  #preSkip = 0;
  /** Where the last packet emitted ends (48 kHz samples on the RTMP timeline). */
  readonly #times = new ContiguousOpusTimes();
  #droppedFrames = 0;
  #packets = 0;
  #closed = false;

  constructor(options: { bitrate?: number; maxBacklogBytes?: number; ffmpegBinary?: string } = {}) {
    super();
    this.#maxBacklogBytes = options.maxBacklogBytes ?? DEFAULT_MAX_BACKLOG_BYTES;
    this.#ffmpeg = new FfmpegProcess(aacToOpusJob(options.bitrate ?? 64_000), options.ffmpegBinary);
    this.#ffmpeg.stdout.on('data', (data: Buffer) => this.#readOggPages(data));
    this.#ffmpeg.on('exit', (exit) => { if (!exit.requested) this.close(`ffmpeg ${exit.reason}: ${exit.stderr}`); });
    this.#ffmpeg.write(encodeFlvHeader({ audio: true, video: false }));
  }

  get counters(): { packets: number; droppedFrames: number } { return { packets: this.#packets, droppedFrames: this.#droppedFrames }; }

  /** An FLV audio tag body (e.g. AAC sequence header or raw frame, a Nellymoser frame) at `timestampMs` on the RTMP timeline. */
  push(tagBody: Buffer, timestampMs: number): void {
    if (this.#closed) return;
    this.#baseMs ??= timestampMs;
    if (this.#ffmpeg.stdin.writableLength > this.#maxBacklogBytes) {
      this.#droppedFrames++;
      return;
    }
    this.#ffmpeg.write(encodeFlvTag({ type: FlvTagType.Audio, timestamp: Math.max(0, timestampMs - this.#baseMs), data: tagBody }));
  }

  /** Stops ffmpeg (what is inside it is lost: a viewer left) and emits 'close' once. */
  close(reason = 'closed'): void {
    if (!this.#closed) {
      this.#closed = true;
      this.#ffmpeg.stop();
      this.emit('close', reason);
    }
  }

  /** Granules come from ffmpeg's millisecond timestamps, a few samples off the true sequence: ContiguousOpusTimes evens them out. */
  #emitPacket(packet: Buffer, time48k: number): void {
    this.#packets++;
    this.emit('packet', packet, this.#times.place(packet, time48k));
  }

  #readOggPages(data: Buffer): void {
    if (this.#closed) return;
    try {
      for (const page of this.#ogg.push(data)) {
        const audio = page.packets.slice(Math.min(this.#headerPacketsLeft, page.packets.length));
        if (this.#headerPacketsLeft === HEADER_PACKETS && page.packets.length > 0) this.#preSkip = parseOpusHead(page.packets[0]!).preSkip;
        this.#headerPacketsLeft -= page.packets.length - audio.length;
        // The page's granule is where its last packet ends: count back through the packets on it.
        let end = Number(page.granulePosition) - this.#preSkip;
        const timed = audio.map((packet) => ({ packet, samples: opusPacketSamples(packet) })).reverse().map(({ packet, samples }) => {
          end -= samples;
          return { packet, time: end };
        }).reverse();
        for (const { packet, time } of timed) this.#emitPacket(packet, (this.#baseMs ?? 0) * SAMPLES_PER_MS + Math.max(0, time));
      }
    } catch (error) {
      this.close(`ffmpeg wrote bad Ogg Opus: ${(error as Error).message}`);
    }
  }
}
