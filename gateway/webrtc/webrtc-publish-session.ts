/**
 * A browser publishing over WebRTC, as one edge client session: to the origin it is an ordinary
 * RTMP publisher (a LinkClient: connect to the app/room, createStream, publish), so Flash clients
 * and ffmpeg play it and the room recording records it; from the browser it is a WebRtcIngest.
 * Video goes through as H.264 (FLV AVC tags), or, from a browser that sends VP8 only, through an
 * H.264 encoder (Vp8ToH264, ffmpeg); audio is Opus, which RTMP players cannot decode, so it goes
 * through an AAC encoder (ffmpeg), and beside the AAC the Opus itself goes to the origin as an
 * Enhanced RTMP audio track (track 1; only the link and WebRTC feeds take it, clients and
 * recordings get the AAC), so a browser watching on another edge gets the original audio
 * instead of AAC transcoded back to Opus. Both transcoders are started and stopped with the session. Signalling (WHIP,
 * or the WebSocket channel) only creates it, waits for `start()`'s answer, and closes it.
 */
import type { Logger } from '#common/logger.ts';
import { RtmpCallError } from '#common/rtmp-transactions.ts';
import type { AmfObject } from '#protocol/amf/types.ts';
import { AudioFourCc, AudioPacketType, encodeAudioTrackTag } from '#protocol/flv/enhanced-audio.ts';
import { encodeOpusHead } from '#protocol/ogg/ogg-opus.ts';
import { MessageType } from '#protocol/rtmp/message.ts';
import type { IngestChoice } from '#protocol/sdp/sdp.ts';
import type { LinkSender } from '../session/edge-session.ts';
import { LinkClientSession, type LinkSessionTarget } from '../session/link-client-session.ts';
import { WebRtcIngest, type WebRtcIngestOptions } from './webrtc-ingest.ts';
import type { OpusToAac } from './opus-to-aac.ts';
import { Vp8ToH264 } from './vp8-to-h264.ts';
import type { LocalPublishers } from './local-publishers.ts';
import { RtpForwardingSource } from './rtp-forwarding-source.ts';

/** Opus's RTP clock runs at 48 kHz. */
const OPUS_SAMPLES_PER_MS = 48;
/** The Enhanced RTMP track the browser's Opus goes on (track 0, the default, is the AAC every client plays). */
const OPUS_TRACK_ID = 1;
/** WebRTC's Opus is always declared opus/48000/2; RTP carries no pre-skip. */
const WEBRTC_OPUS_HEAD = encodeOpusHead({ channels: 2, preSkip: 0, inputSampleRate: 48000, outputGain: 0 });

/** `stream` is the name to publish; `protocol` how the browser signalled ('whip', or the WebSocket channel's). */
export interface WebRtcPublishOptions extends LinkSessionTarget {
  offer: string;
  choice: IngestChoice;
  ingest: WebRtcIngestOptions;
  /** Null: the offer had no audio this edge takes. */
  createAudioEncoder: (() => OpusToAac) | null;
  /** Where WebRTC viewers on this edge find the stream to get its RTP forwarded; absent: never forwarded. */
  localPublishers?: LocalPublishers;
}

/** Why the origin refused, from its status or _error info. */
function refusal(error: Error): string {
  if (error instanceof RtmpCallError) {
    const info = error.info as AmfObject | null;
    return [info?.code, info?.description].filter((v) => typeof v === 'string' && v).join(': ') || error.message;
  }
  return error.message;
}

export class WebRtcPublishSession extends LinkClientSession {
  readonly mediaOutput = null;
  readonly #options: WebRtcPublishOptions;
  #ingest: WebRtcIngest | null = null;
  #audio: OpusToAac | null = null;
  #videoTranscoder: Vp8ToH264 | null = null;
  #streamId = 0;

  constructor(options: WebRtcPublishOptions, link: LinkSender, log: Logger) {
    super(link, options, log);
    this.#options = options;
    this.client.on('status', (streamId, info) => {
      if (streamId === this.#streamId && info.level === 'error') this.close(`${String(info.code)}${info.description ? `: ${String(info.description)}` : ''}`);
    });
  }

  protected get leaveReason(): string { return 'publisher left'; }

  get streamKey(): string { return `${this.#options.app}/${this.#options.stream}`; }
  get stats() { return this.#ingest?.stats ?? null; }

  /**
   * Publishes at the origin, then answers the browser: resolves with the SDP answer, rejects with
   * the origin's reason (the app refused the connect, the name is taken, ...) and closes.
   */
  async start(): Promise<string> {
    if (!this.client.open()) {
      this.close('the edge has no link to the origin');
      throw new Error('the edge has no link to the origin');
    }
    // The WebRTC stack takes the offer before the stream is claimed at the origin, so an offer it
    // refuses (an SdpError: 400) never holds the name; ICE gathers meanwhile.
    const ingest = new WebRtcIngest(this.#options.offer, this.#options.choice, this.#options.ingest, this.log);
    this.#ingest = ingest;
    ingest.on('closed', (reason) => this.close(reason));
    const { app, tcUrl, stream, connectArgs } = this.#options;
    try {
      await this.client.connect(app, connectArgs ?? [], { tcUrl, audioCodecs: 0x0fff, videoCodecs: 0xff });
      this.#streamId = await this.client.createStream();
      await this.client.publish(this.#streamId, stream, 'live');
    } catch (error) {
      const reason = refusal(error as Error);
      this.close(reason);
      throw new Error(reason);
    }
    if (this.closed) throw new Error('closed while publishing');
    // Viewers on this edge get the RTP as it comes; the source closes with the ingest.
    this.#options.localPublishers?.register(new RtpForwardingSource(this.streamKey, this.#options.choice, ingest, this.log));
    ingest.on('video', (tag, timestamp) => this.#send(MessageType.Video, tag.body, timestamp));
    if (this.#options.choice.video?.codec === 'vp8') this.#startVideoTranscoder(ingest);
    if (this.#options.createAudioEncoder) this.#startAudio(ingest, this.#options.createAudioEncoder());
    this.log.info('publishing from WebRTC', { stream: this.streamKey, video: this.#videoTranscoder ? 'vp8 -> h264' : this.#options.choice.video?.format.parameters ?? 'none', audio: this.#options.createAudioEncoder ? 'opus -> aac' : 'none' });
    return ingest.answer();
  }

  /**
   * Opus through the AAC encoder: its output is timed from the first Opus packet, which sits at
   * `start` on the publisher's timeline, so audio and video keep one clock. The Opus itself goes
   * on its own track at the same times, its OpusHead first.
   */
  #startAudio(ingest: WebRtcIngest, audio: OpusToAac): void {
    this.#audio = audio;
    let start: number | null = null;
    ingest.on('opus', (packet, timestamp) => {
      if (start === null) {
        start = timestamp;
        this.#sendOpusTrack(AudioPacketType.SequenceStart, WEBRTC_OPUS_HEAD, timestamp);
      }
      this.#sendOpusTrack(AudioPacketType.CodedFrames, packet, timestamp);
      audio.push(packet, (timestamp * OPUS_SAMPLES_PER_MS) >>> 0);
    });
    audio.on('config', (body) => this.#send(MessageType.Audio, body, start ?? 0));
    audio.on('frame', (frame) => this.#send(MessageType.Audio, frame.data, (start ?? 0) + frame.timestamp));
    audio.on('error', (error) => this.log.warn('audio encoder failed; the stream goes on without audio', { error: error.message }));
  }

  /** VP8 through the H.264 encoder, which keeps each frame's time on the publisher's timeline; without video the publish ends. */
  #startVideoTranscoder(ingest: WebRtcIngest): void {
    const transcoder = new Vp8ToH264({ keyframeIntervalMs: this.#options.ingest.keyframeIntervalMs });
    this.#videoTranscoder = transcoder;
    ingest.on('vp8', (frame, timestamp) => transcoder.push(frame, timestamp));
    transcoder.on('video', (tag, timestamp) => this.#send(MessageType.Video, tag.body, timestamp));
    transcoder.on('close', (reason) => this.close(`VP8 to H.264 transcoder: ${reason}`));
  }

  #sendOpusTrack(packetType: number, data: Buffer, timestamp: number): void {
    this.#send(MessageType.Audio, encodeAudioTrackTag({ trackId: OPUS_TRACK_ID, fourCc: AudioFourCc.Opus, packetType, data }), timestamp);
  }

  #send(type: number, payload: Buffer, timestamp: number): void {
    this.client.sendStreamMessage({ type, streamId: this.#streamId, timestamp, payload });
  }

  protected ended(reason: string | null): void {
    this.#ingest?.close(reason ?? 'closed');
    this.#audio?.close();
    this.#videoTranscoder?.close();
    this.log.info('WebRTC publish ended', {
      stream: this.streamKey, reason: reason ?? undefined,
      ...(this.#audio ? { audio: JSON.stringify(this.#audio.counters) } : {}),
      ...(this.#videoTranscoder ? { video: JSON.stringify(this.#videoTranscoder.counters) } : {}),
    });
  }
}
