/**
 * One WebRTC viewer's connection (node-datachannel: ICE, DTLS-SRTP): it sends what its stream's
 * shared WebRtcFeed made ready (H.264 access units already cut into RTP payloads, Opus packets with
 * their 48 kHz times) with its own SSRCs and sequence numbers, and nothing else: no parsing, no
 * transcoding here. Each viewer sends or drops on its own, so a slow one never holds up the feed or
 * the others. Its first picture is a keyframe: when the video track opens it sends the feed's
 * current GOP (the cached keyframe and what followed), then live frames. Both tracks send RTCP
 * sender reports every second from the feed's stream clock (one reading for both, so the browser
 * lines audio and video up by their media times whatever each one's transcoding took). An RTMP
 * source cannot be asked for a keyframe, so a PLI is only counted and logged: the next comes within
 * the source's GOP (a second when transcoded).
 */
import { randomInt } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { PeerConnection, Video, Audio } from 'node-datachannel';
import type { Logger } from '#common/logger.ts';
import { ProtocolError } from '#protocol/errors.ts';
import { ntpFromUnixMillis } from '#protocol/rtp/ntp-time.ts';
import { OPUS_RTP_CLOCK_RATE, rtpPayloadFromOpusPacket } from '#protocol/rtp/opus.ts';
import { isRtcpPacket, parseRtcpCompound, serializeRtcpPacket } from '#protocol/rtp/rtcp.ts';
import { RTP_FIXED_HEADER_SIZE } from '#protocol/rtp/rtp-packet.ts';
import { writeRtpFixedHeader } from '#protocol/rtp/rtp-rewriter.ts';
import type { EgressChoice } from '#protocol/sdp/sdp.ts';
import type { FeedVideoFrame, FeedViewer, WebRtcFeed } from './webrtc-feed.ts';
import { applyOffer, gatheredAnswer, newPeerConnection, opusMedia, videoMedia } from './webrtc-ingest.ts';

type Track = ReturnType<InstanceType<typeof PeerConnection>['addTrack']>;
const VIDEO_CLOCK_RATE = 90000;
const SENDER_REPORT_INTERVAL_MS = 1000;
/** The CNAME both tracks share in the answer: it tells the browser to sync them. */
const CNAME = 'classroom-gateway';

export interface WebRtcEgressOptions {
  /** The address ICE binds and announces; undefined: every interface. */
  bindAddress: string | undefined;
  portRangeBegin?: number;
  portRangeEnd?: number;
  /** The answer must be ready (ICE gathered) within this time. */
  gatheringTimeoutMs: number;
}

export interface WebRtcEgressEvents {
  /** The session must end: the peer connection ended, or the stream's feed stopped. */
  closed: [reason: string];
}

/** Room for a packet of the feed's payloads and its header (grown for a larger one). */
const PACKET_ROOM = 1500;

/**
 * One outgoing RTP stream: its SSRC, payload type, sequence numbers and what a sender report needs.
 * Every packet is made in one buffer of its own, reused: node-datachannel copies what it sends before returning.
 */
class RtpSender {
  readonly ssrc = randomInt(1, 0xffffffff);
  readonly clockRate: number;
  readonly #track: Track;
  readonly #payloadType: number;
  #packet = Buffer.allocUnsafe(PACKET_ROOM);
  #sequenceNumber = randomInt(0, 0x10000);
  #packets = 0;
  #octets = 0;

  constructor(track: Track, payloadType: number, clockRate: number) {
    this.#track = track;
    this.#payloadType = payloadType;
    this.clockRate = clockRate;
  }

  get packets(): number { return this.#packets; }
  get isOpen(): boolean { return this.#track.isOpen(); }

  send(payload: Buffer, timestamp: number, marker: boolean): void {
    this.#sequenceNumber = (this.#sequenceNumber + 1) & 0xffff;
    const size = RTP_FIXED_HEADER_SIZE + payload.length;
    if (size > this.#packet.length) this.#packet = Buffer.allocUnsafe(size);
    writeRtpFixedHeader(this.#packet, false, marker, this.#payloadType, this.#sequenceNumber, timestamp >>> 0, this.ssrc);
    payload.copy(this.#packet, RTP_FIXED_HEADER_SIZE);
    this.#track.sendMessageBinary(this.#packet.subarray(0, size));
    this.#packets++;
    this.#octets += payload.length;
  }

  /** A sender report: wallclock `now` is RTP time `streamMs` (the stream's clock then) on this track. */
  sendReport(now: number, streamMs: number): void {
    if (this.#packets === 0) return;
    const rtpTimestamp = Math.round((streamMs * this.clockRate) / 1000) >>> 0;
    this.#track.sendMessageBinary(serializeRtcpPacket({
      type: 'sr', ssrc: this.ssrc, ntpTimestamp: ntpFromUnixMillis(now), rtpTimestamp, packetCount: this.#packets >>> 0, octetCount: this.#octets >>> 0, reports: [],
    }));
  }
}

export class WebRtcEgress extends EventEmitter<WebRtcEgressEvents> implements FeedViewer {
  readonly #log: Logger;
  readonly #options: WebRtcEgressOptions;
  readonly #pc: InstanceType<typeof PeerConnection>;
  // Held for the session's life: node-datachannel stops calling back a Track object that was garbage collected.
  readonly #videoTrack: Track | null = null;
  readonly #audioTrack: Track | null = null;
  readonly #video: RtpSender | null = null;
  readonly #audio: RtpSender | null = null;
  readonly #reportTimer: NodeJS.Timeout;
  #feed: WebRtcFeed | null = null;
  /** No picture sent yet: the first must be a keyframe. */
  #awaitingKeyframe = true;
  #pictureLossReports = 0;
  #closed = false;

  constructor(offer: string, choice: EgressChoice, options: WebRtcEgressOptions, log: Logger) {
    super();
    this.#log = log;
    this.#options = options;
    this.#pc = newPeerConnection('egress', options, log, (reason) => this.close(reason));
    if (choice.video) {
      const video = videoMedia(choice.video.mid, 'SendOnly', choice.video.codec, choice.video.format);
      this.#videoTrack = this.#addTrack(video, 'video');
      this.#videoTrack.onOpen(() => this.#sendFeedGop());
      this.#video = new RtpSender(this.#videoTrack, choice.video.format.payloadType, VIDEO_CLOCK_RATE);
      video.addSSRC(this.#video.ssrc, CNAME, 'live', 'video');
    }
    if (choice.audio) {
      const audio = opusMedia(choice.audio.mid, 'SendOnly', choice.audio.format);
      this.#audioTrack = this.#addTrack(audio, 'audio');
      this.#audio = new RtpSender(this.#audioTrack, choice.audio.format.payloadType, OPUS_RTP_CLOCK_RATE);
      audio.addSSRC(this.#audio.ssrc, CNAME, 'live', 'audio');
    }
    applyOffer(this.#pc, offer);
    this.#reportTimer = setInterval(() => this.#sendReports(), SENDER_REPORT_INTERVAL_MS);
    this.#reportTimer.unref();
  }

  /** The SDP answer once ICE gathering is complete. */
  answer(): Promise<string> {
    return gatheredAnswer(this.#pc, this.#options.gatheringTimeoutMs);
  }

  get stats() {
    return { videoPackets: this.#video?.packets ?? 0, audioPackets: this.#audio?.packets ?? 0, pictureLossReports: this.#pictureLossReports };
  }

  /** Plays the stream's shared feed (the session joined it once the origin let it play); the egress leaves it when it closes. */
  play(feed: WebRtcFeed): void {
    if (this.#closed) return void feed.removeViewer(this);
    this.#feed = feed;
    if (this.#video?.isOpen) this.#sendFeedGop();
  }

  sendVideo(frame: FeedVideoFrame): void {
    const video = this.#video;
    if (this.#closed || !video?.isOpen) return;
    if (this.#awaitingKeyframe && !frame.isKeyframe) return;
    this.#awaitingKeyframe = false;
    for (const { payload, marker } of frame.payloads) video.send(payload, frame.rtpTimestamp, marker);
  }

  sendAudio(packet: Buffer, time48k: number): void {
    if (!this.#closed && this.#audio?.isOpen) this.#audio.send(rtpPayloadFromOpusPacket(packet), time48k, false);
  }

  feedClosed(reason: string): void {
    this.#feed = null;
    this.close(reason);
  }

  close(reason: string): void {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#reportTimer);
    this.#feed?.removeViewer(this);
    this.#feed = null;
    try { this.#pc.close(); } catch { /* already closed by the library */ }
    this.#log.info('WebRTC egress closed', { reason, ...this.stats });
    this.emit('closed', reason);
  }

  #addTrack(media: InstanceType<typeof Video> | InstanceType<typeof Audio>, kind: string): Track {
    const track = this.#pc.addTrack(media);
    track.onMessage((data) => this.#onRtcp(kind, data));
    return track;
  }

  /** The video track opened: the feed's current GOP first (a keyframe at once), then live frames. */
  #sendFeedGop(): void {
    const gop = this.#feed?.gop ?? [];
    if (this.#closed) return;
    this.#log.info('video track open', { heldFrames: gop.length });
    for (const frame of gop) this.sendVideo(frame);
  }

  #sendReports(): void {
    const now = Date.now();
    const streamMs = this.#feed?.clock.streamTimeAt(now);
    if (streamMs === null || streamMs === undefined) return;
    this.#video?.sendReport(now, streamMs);
    this.#audio?.sendReport(now, streamMs);
  }

  /** RTCP from the browser: receiver reports, NACKs (no retransmission yet), picture loss (logged: the source cannot be asked). */
  #onRtcp(kind: string, data: Buffer): void {
    if (this.#closed || !isRtcpPacket(data)) return;
    try {
      for (const packet of parseRtcpCompound(data)) {
        if (packet.type !== 'pli' && packet.type !== 'fir') continue;
        this.#pictureLossReports++;
        if (this.#pictureLossReports <= 3 || this.#pictureLossReports % 100 === 0) {
          this.#log.info('the browser asked for a keyframe; an RTMP source cannot be asked: it comes with the next GOP', { kind, reports: this.#pictureLossReports });
        }
      }
    } catch (error) {
      if (!(error instanceof ProtocolError)) throw error;
    }
  }
}
