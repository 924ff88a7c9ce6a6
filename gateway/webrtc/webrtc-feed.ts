/**
 * One live stream made ready for WebRTC, once per stream on this edge and shared by all its WebRTC
 * viewers: the feed reads the stream from one viewer's tap (WebRtcFeedSource: the earliest viewer's
 * relay delivery; the next one's when it leaves), and hands each viewer (a WebRtcEgress, which only
 * adds RTP headers and sends) H.264 access units already cut into RTP payloads and Opus packets
 * with their 48 kHz times. Video: H.264 without B-frames passes through (SPS/PPS put before every
 * keyframe); H.264 with B-frames (a composition offset seen: the browser expects decode order =
 * presentation order) or in a profile browsers do not decode, Sorenson Spark and VP6 go through
 * one shared ffmpeg (Transcoder, WEBRTC_VIDEO_JOB) to H.264 constrained baseline with a keyframe
 * every second; the switch happens on the first such frame, viewers stay connected and get the
 * transcoded keyframe. Audio: a browser publisher's own Opus, which its edge sends beside the AAC as an
 * Enhanced RTMP track (WebRtcPublishSession), goes to viewers as it is; without one, audio (AAC, MP3,
 * Nellymoser, Speex) goes through one shared AacToOpus. When the source's times go back (published
 * again, maybe in other codecs) both transcoders stop and the choice is made again. The current GOP
 * of ready frames is kept so a joining viewer starts at once. The feed closes with its last viewer
 * or a failed video transcoder (viewers are then told why).
 */
import { EventEmitter } from 'node:events';
import type { LiveStream, StreamSubscriber } from '#common/media/live-stream.ts';
import type { MediaFrame } from '#common/media/media-frame.ts';
import type { MediaPacket } from '#common/media/media-packet.ts';
import type { Logger } from '#common/logger.ts';
import { ProtocolError } from '#protocol/errors.ts';
import { ContiguousOpusTimes, OPUS_RTP_CLOCK_RATE } from '#protocol/rtp/opus.ts';
import { parseAvcDecoderConfigurationRecord } from '#protocol/rtp/avc-config.ts';
import type { Transcoder } from '../playback/transcoder.ts';
import type { AacToOpus } from './aac-to-opus.ts';
import { WebRtcFeedClock } from './webrtc-feed-clock.ts';
import { H264Framer, type FeedVideoFrame } from './webrtc-feed-framer.ts';
import type { FeedSink, WebRtcFeedSource } from './webrtc-feed-source.ts';

export type { FeedVideoFrame } from './webrtc-feed-framer.ts';

/** H.264 profiles every WebRTC browser decodes: baseline, main, high (8-bit 4:2:0). */
const BROWSER_H264_PROFILES = new Set([66, 77, 100]);
const OPUS_SAMPLES_PER_MS = OPUS_RTP_CLOCK_RATE / 1000;
/** A track going back this far in time is a new timeline (the stream was published again), not jitter. */
const TIMELINE_RESTART_MS = 1000;

/** What a feed hands its media to (a viewer's WebRtcEgress): it sends or drops on its own, never holds the feed up. */
export interface FeedViewer {
  sendVideo(frame: FeedVideoFrame): void;
  /** An Opus packet and its time in 48 kHz samples on the stream's timeline. */
  sendAudio(packet: Buffer, time48k: number): void;
  /** The feed ended: the viewer's session ends with `reason`. */
  feedClosed(reason: string): void;
}

export interface WebRtcFeedEvents {
  transcoderStarted: [kind: 'video' | 'audio'];
  close: [reason: string];
}

export interface WebRtcFeedOptions {
  /** The most of the current GOP kept for joiners. */
  maxGopBytes: number;
  /** The shared video transcoder (WEBRTC_VIDEO_JOB), fed by the feed. */
  createVideoTranscoder(): Transcoder;
  createAudioTranscoder(): AacToOpus;
}

export class WebRtcFeed extends EventEmitter<WebRtcFeedEvents> implements FeedSink {
  readonly key: string;
  readonly clock = new WebRtcFeedClock();
  readonly #options: WebRtcFeedOptions;
  readonly #log: Logger;
  /** Each viewer and its tap, in join order: the first tap is the one read. */
  readonly #viewers = new Map<FeedViewer, WebRtcFeedSource>();
  /** Passthrough H.264 from the source, and the transcoder's output. */
  readonly #sourceFramer = new H264Framer();
  readonly #transcodedFramer = new H264Framer();
  /** Ready frames since the latest keyframe, for joiners. */
  #gop: FeedVideoFrame[] = [];
  #gopBytes = 0;
  /** The source's latest video sequence header and its frames since the latest keyframe: what a video transcoder starts from. */
  #sourceVideoHeader: MediaPacket | null = null;
  #sourceGop: MediaPacket[] = [];
  #sourceGopBytes = 0;
  #videoTranscoder: Transcoder | null = null;
  #audioTranscoder: AacToOpus | null = null;
  /** The audio transcoder failed: the stream goes on without audio rather than restarting a failing ffmpeg. */
  #audioFailed = false;
  /** The source carries its publisher's Opus as an additional track (its header or a packet seen): that is the audio sent; track 0's is ignored. */
  #opusTrack: ContiguousOpusTimes | null = null;
  /** Track 0's audio configuration (AAC's AudioSpecificConfig) while no transcoder runs: it goes first into the one started at the first audio frame. */
  #audioConfig: MediaPacket | null = null;
  /** The source's latest decode time per track (kind and track id): a track going back starts a new timeline. */
  #lastSourceMs = new Map<string, number>();
  #videoFrames = 0;
  #audioPackets = 0;
  #closeReason: string | null = null;

  constructor(key: string, options: WebRtcFeedOptions, log: Logger) {
    super();
    this.key = key;
    this.#options = options;
    this.#log = log;
    this.#log.info('WebRTC feed started', { stream: key });
  }

  get viewers(): number { return this.#viewers.size; }
  get closed(): boolean { return this.#closeReason !== null; }
  /** The transcoders running now. */
  get transcoding(): { video: boolean; audio: boolean } {
    return { video: this.#videoTranscoder !== null, audio: this.#audioTranscoder !== null };
  }
  /** True while the viewers get the publisher's own Opus track, passed through. */
  get opusPassthrough(): boolean { return this.#opusTrack !== null; }
  /** The ready frames of the current GOP (keyframe first), for a viewer whose video track just opened. */
  get gop(): readonly FeedVideoFrame[] { return this.#gop; }

  /** The read tap's delivery drops to keyframes when the video transcoder's input backs up. */
  sourceBacklog(source: WebRtcFeedSource): number {
    return source === this.#readSource() ? this.#videoTranscoder?.input.backlogBytes ?? 0 : 0;
  }

  /** A viewer joins with its tap (one joining a feed that already ended is told so at once). */
  addViewer(viewer: FeedViewer, source: WebRtcFeedSource): void {
    if (this.#closeReason !== null) return viewer.feedClosed(this.#viewerReason(this.#closeReason));
    this.#viewers.set(viewer, source);
    source.attach(this);
  }

  removeViewer(viewer: FeedViewer): void {
    if (!this.#viewers.delete(viewer)) return;
    if (this.#viewers.size === 0) this.close('no viewers left');
  }

  close(reason: string): void {
    if (this.#closeReason !== null) return;
    this.#closeReason = reason;
    this.#videoTranscoder?.close(reason);
    this.#audioTranscoder?.close(reason);
    this.#videoTranscoder = this.#audioTranscoder = null;
    this.#log.info('WebRTC feed stopped', { stream: this.key, reason, videoFrames: this.#videoFrames, audioPackets: this.#audioPackets });
    for (const viewer of [...this.#viewers.keys()]) viewer.feedClosed(this.#viewerReason(reason));
    this.#viewers.clear();
    this.emit('close', reason);
  }

  #viewerReason(reason: string): string {
    return `the stream's WebRTC feed stopped: ${reason}`;
  }

  /** The stream as the relay delivers it to a viewer's tap: the first viewer's is read, the others' dropped. */
  fromSource(source: WebRtcFeedSource, packet: MediaPacket, streamId: number): void {
    if (this.#closeReason !== null || source !== this.#readSource()) return;
    const frame = packet.frame;
    if (!frame) return;
    // Per track: a browser's Opus track runs ahead of the AAC made from it by the transcoder's delay.
    const track = `${frame.kind}/${frame.trackId}`;
    const last = this.#lastSourceMs.get(track);
    if (last !== undefined && frame.timestamp + TIMELINE_RESTART_MS < last) this.#restartTimeline(last, frame.timestamp);
    this.#lastSourceMs.set(track, frame.timestamp);
    this.clock.observe(frame.timestamp);
    try {
      if (frame.kind === 'audio') this.#onSourceAudio(packet, frame);
      else this.#onSourceVideo(packet, frame, streamId);
    } catch (error) {
      if (!(error instanceof ProtocolError)) throw error;
      this.#log.warn('a frame that cannot be sent over WebRTC was dropped', { stream: this.key, code: error.code, error: error.message });
    }
  }

  /** The source was published again: what the transcoders hold belongs to the old timeline (and maybe codecs), so they stop; the next frames decide again. */
  #restartTimeline(fromMs: number, toMs: number): void {
    this.#log.info('the source restarted its timeline: transcoding is decided again', { stream: this.key, fromMs, toMs });
    const running = [this.#videoTranscoder, this.#audioTranscoder];
    this.#videoTranscoder = this.#audioTranscoder = null;
    this.#audioFailed = false;
    this.#opusTrack = null;
    this.#audioConfig = null;
    for (const transcoder of running) transcoder?.close('the source restarted its timeline');
    this.#sourceVideoHeader = null;
    this.#sourceGop = [];
    this.#gop = [];
    this.#lastSourceMs.clear();
    this.clock.reset();
  }

  #readSource(): WebRtcFeedSource | undefined {
    return this.#viewers.values().next().value;
  }

  #onSourceVideo(packet: MediaPacket, frame: MediaFrame, streamId: number): void {
    if (!this.#videoTranscoder) {
      this.#keepSourceVideo(packet, frame);
      const reason = this.#passthroughRefusal(frame);
      if (reason !== null) return this.#startVideoTranscoder(reason, streamId);
      if (frame.isCodecConfig) return this.#sourceFramer.configure(frame.payload);
      const ready = this.#sourceFramer.frame(frame);
      return void (ready && this.#sendVideo(ready));
    }
    this.#videoTranscoder.input.sendMedia(packet, streamId);
  }

  /** Why the source's video cannot go to browsers as it is (null: it can): not H.264, B-frames, or a profile browsers do not decode (10-bit, 4:2:2, 4:4:4). */
  #passthroughRefusal(frame: MediaFrame): string | null {
    if (frame.codec !== 'h264') return `its video codec (FLV id ${frame.codecId}) is not H.264`;
    if (frame.compositionTimeOffset !== 0) return 'its H.264 has B-frames';
    if (!frame.isCodecConfig) return null;
    const { profile } = parseAvcDecoderConfigurationRecord(frame.payload);
    return BROWSER_H264_PROFILES.has(profile) ? null : `its H.264 profile (profile_idc ${profile}) is not one browsers decode`;
  }

  /** While passing through: what a video transcoder started now would need, the sequence header and the frames since the keyframe (bounded). */
  #keepSourceVideo(packet: MediaPacket, frame: MediaFrame): void {
    if (frame.isCodecConfig) {
      this.#sourceVideoHeader = packet;
      return;
    }
    if (frame.isKeyframe) {
      this.#sourceGop = [];
      this.#sourceGopBytes = 0;
    } else if (this.#sourceGop.length === 0) return;
    this.#sourceGopBytes += packet.payload.length;
    if (this.#sourceGopBytes > this.#options.maxGopBytes) {
      this.#sourceGop = [];
      return;
    }
    this.#sourceGop.push(packet);
  }

  /** From now on video goes through the shared transcoder; it starts from the current GOP, so viewers get a keyframe at once. */
  #startVideoTranscoder(reason: string, streamId: number): void {
    const transcoder = this.#options.createVideoTranscoder();
    this.#videoTranscoder = transcoder;
    this.#log.info('WebRTC feed transcodes video', { stream: this.key, reason });
    this.#gop = [];
    this.#gopBytes = 0;
    const output: StreamSubscriber = {
      onPublish: (_stream: LiveStream, startup: MediaPacket[]) => { for (const packet of startup) output.onPacket(packet); },
      onPacket: (packet) => this.#onTranscodedVideo(packet),
      onUnpublish: () => {},
    };
    transcoder.stream.subscribe(output);
    transcoder.once('close', (why) => {
      transcoder.stream.unsubscribe(output);
      if (this.#videoTranscoder === transcoder) this.close(`video transcoding stopped: ${why}`);
    });
    for (const packet of [this.#sourceVideoHeader, ...this.#sourceGop]) if (packet) transcoder.input.sendMedia(packet, streamId);
    this.emit('transcoderStarted', 'video');
  }

  #onTranscodedVideo(packet: MediaPacket): void {
    const frame = packet.frame;
    if (this.#closeReason !== null || !frame || frame.kind !== 'video') return;
    try {
      if (frame.isCodecConfig) return this.#transcodedFramer.configure(frame.payload);
      const ready = this.#transcodedFramer.frame(frame);
      if (ready) this.#sendVideo(ready);
    } catch (error) {
      if (!(error instanceof ProtocolError)) throw error;
      this.#log.warn('a transcoded frame that cannot be sent was dropped', { stream: this.key, code: error.code, error: error.message });
    }
  }

  #sendVideo(frame: FeedVideoFrame): void {
    this.#videoFrames++;
    if (frame.isKeyframe) {
      this.#gop = [];
      this.#gopBytes = 0;
    }
    if ((frame.isKeyframe || this.#gop.length > 0) && this.#gopBytes + frame.bytes <= this.#options.maxGopBytes) {
      this.#gop.push(frame);
      this.#gopBytes += frame.bytes;
    } else {
      this.#gop = [];
    }
    for (const viewer of this.#viewers.keys()) viewer.sendVideo(frame);
  }

  /**
   * Track 0's audio, whatever its codec, goes to Opus through the shared transcoder, started with
   * the first audio frame (not its configuration: a joiner's startup has every track's header
   * before any media, so an Opus track is known by then), unless the source has its own Opus track.
   */
  #onSourceAudio(packet: MediaPacket, frame: MediaFrame): void {
    if (frame.codec === 'opus') return this.#onOpusTrack(frame);
    if (this.#opusTrack || frame.trackId !== 0 || this.#audioFailed) return;
    if (!this.#audioTranscoder && frame.isCodecConfig) {
      this.#audioConfig = packet;
      return;
    }
    if (!this.#audioTranscoder) {
      const transcoder = this.#options.createAudioTranscoder();
      this.#audioTranscoder = transcoder;
      transcoder.on('packet', (opus, time48k) => this.#sendAudio(opus, time48k));
      transcoder.on('close', (reason) => {
        if (this.#closeReason !== null || this.#audioTranscoder !== transcoder) return;
        this.#audioFailed = true;
        this.#audioTranscoder = null;
        this.#log.warn('audio transcoder stopped; the stream goes on without audio', { stream: this.key, reason });
      });
      this.emit('transcoderStarted', 'audio');
      if (this.#audioConfig) transcoder.push(this.#audioConfig.payload, this.#audioConfig.timestamp);
      this.#audioConfig = null;
    }
    this.#audioTranscoder.push(packet.payload, packet.timestamp);
  }

  /** The publisher's Opus: from its first sign on, the audio viewers get (a transcoder started before it showed up stops). */
  #onOpusTrack(frame: MediaFrame): void {
    if (!this.#opusTrack) {
      this.#opusTrack = new ContiguousOpusTimes();
      this.#log.info('WebRTC feed passes the publisher\'s Opus through', { stream: this.key, track: frame.trackId });
      const transcoder = this.#audioTranscoder;
      this.#audioTranscoder = null;
      transcoder?.close('the stream carries its own Opus');
    }
    if (frame.isCodecConfig) return;
    this.#sendAudio(frame.payload, this.#opusTrack.place(frame.payload, (frame.timestamp * OPUS_SAMPLES_PER_MS) >>> 0));
  }

  #sendAudio(opus: Buffer, time48k: number): void {
    this.#audioPackets++;
    for (const viewer of this.#viewers.keys()) viewer.sendAudio(opus, time48k);
  }
}
