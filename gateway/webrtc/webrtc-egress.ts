/**
 * A live RTMP stream sent to a browser over WebRTC (node-datachannel: ICE, DTLS-SRTP): the
 * MediaOutput the edge relay delivers a WHEP viewer's packets to. H.264 goes through without
 * re-encoding: each frame's AVCC NAL units (packet.frame), with the SPS/PPS of the latest sequence
 * header put before every keyframe (a browser joining or recovering needs them in band), cut into
 * RTP by packetizeH264, 90 kHz timestamps from the RTMP milliseconds plus the composition offset.
 * AAC is transcoded to Opus (AacToOpus, one ffmpeg per viewer for now). Both tracks send RTCP
 * sender reports every second, tying their RTP clocks to the wallclock so the browser syncs them.
 * What WebRTC players cannot take (Flash codecs, H.264 with B-frames: the browser's jitter buffer
 * expects decode order = presentation order without a delay signalled) ends the session with
 * the reason. An RTMP source cannot be asked for a keyframe, so a PLI is only logged: viewers
 * start at the GOP cache's keyframe (the relay's instant start, which arrives before ICE and DTLS
 * are done: the current GOP is held until the video track opens) and recover at the next one.
 */
import { randomInt } from 'node:crypto';
import { EventEmitter } from 'node:events';
import nodeDataChannel from 'node-datachannel';
import type { MediaOutput } from '#common/media/live-delivery.ts';
import type { MediaPacket } from '#common/media/media-packet.ts';
import type { Logger } from '#common/logger.ts';
import { ProtocolError } from '#protocol/errors.ts';
import { parseAvcDecoderConfigurationRecord, type AvcDecoderConfig } from '#protocol/rtp/avc-config.ts';
import { packetizeH264 } from '#protocol/rtp/h264-packetizer.ts';
import { NalUnitType, nalUnitType, splitAvcc } from '#protocol/rtp/nal-units.ts';
import { ntpFromUnixMillis } from '#protocol/rtp/ntp-time.ts';
import { OPUS_RTP_CLOCK_RATE, rtpPayloadFromOpusPacket } from '#protocol/rtp/opus.ts';
import { isRtcpPacket, parseRtcpCompound, serializeRtcpPacket } from '#protocol/rtp/rtcp.ts';
import { serializeRtpPacket } from '#protocol/rtp/rtp-packet.ts';
import type { EgressChoice } from '#protocol/sdp/sdp.ts';
import type { AacToOpus } from './aac-to-opus.ts';
import { gatheredAnswer } from './webrtc-ingest.ts';

const { PeerConnection, Video, Audio } = nodeDataChannel;
type Track = ReturnType<InstanceType<typeof PeerConnection>['addTrack']>;
const VIDEO_CLOCK_RATE = 90000;
/** RTP payload room: well under a 1500-byte MTU after IP/UDP, RTP, SRTP and header extensions. */
const MAX_RTP_PAYLOAD = 1200;
const SENDER_REPORT_INTERVAL_MS = 1000;
/** The CNAME both tracks share in the answer: it tells the browser to sync them. */
const CNAME = 'classroom-gateway';
/** The most of the current GOP held while the video track is not open yet; past it the viewer waits for the next keyframe. */
const MAX_HELD_GOP_BYTES = 4 * 1024 * 1024;

/** A video frame as the packetizer takes it. */
interface VideoFrame {
  payload: Buffer;
  timestamp: number;
  compositionTimeOffset: number;
  isKeyframe: boolean;
}

export interface WebRtcEgressOptions {
  /** The address ICE binds and announces; undefined: every interface. */
  bindAddress: string | undefined;
  portRangeBegin?: number;
  portRangeEnd?: number;
  /** The answer must be ready (ICE gathered) within this time. */
  gatheringTimeoutMs: number;
}

export interface WebRtcEgressEvents {
  /** The session must end: the peer connection ended, or the stream cannot be sent over WebRTC. */
  closed: [reason: string];
}

/** One outgoing RTP stream: its SSRC, payload type, sequence numbers and what a sender report needs. */
class RtpSender {
  readonly ssrc = randomInt(1, 0xffffffff);
  readonly #track: Track;
  readonly #payloadType: number;
  readonly #clockRate: number;
  #sequenceNumber = randomInt(0, 0x10000);
  #packets = 0;
  #octets = 0;
  #lastTimestamp = 0;
  #lastSentAt = 0;

  constructor(track: Track, payloadType: number, clockRate: number) {
    this.#track = track;
    this.#payloadType = payloadType;
    this.#clockRate = clockRate;
  }

  get packets(): number { return this.#packets; }

  send(payload: Buffer, timestamp: number, marker: boolean): void {
    this.#sequenceNumber = (this.#sequenceNumber + 1) & 0xffff;
    this.#track.sendMessageBinary(serializeRtpPacket({
      payloadType: this.#payloadType, marker, sequenceNumber: this.#sequenceNumber, timestamp: timestamp >>> 0, ssrc: this.ssrc,
      csrcs: [], extension: null, payload, paddingLength: 0,
    }));
    this.#packets++;
    this.#octets += payload.length;
    this.#lastTimestamp = timestamp >>> 0;
    this.#lastSentAt = Date.now();
  }

  /** A sender report: now on the wallclock, and the RTP time now (the last packet's, moved on by the time since it was sent). */
  sendReport(): void {
    if (this.#packets === 0) return;
    const now = Date.now();
    const rtpTimestamp = (this.#lastTimestamp + Math.round(((now - this.#lastSentAt) * this.#clockRate) / 1000)) >>> 0;
    this.#track.sendMessageBinary(serializeRtcpPacket({
      type: 'sr', ssrc: this.ssrc, ntpTimestamp: ntpFromUnixMillis(now), rtpTimestamp, packetCount: this.#packets >>> 0, octetCount: this.#octets >>> 0, reports: [],
    }));
  }
}

export class WebRtcEgress extends EventEmitter<WebRtcEgressEvents> implements MediaOutput {
  readonly #log: Logger;
  readonly #options: WebRtcEgressOptions;
  readonly #pc: InstanceType<typeof PeerConnection>;
  readonly #createAudioTranscoder: (() => AacToOpus) | null;
  // Held for the session's life: node-datachannel stops calling back a Track object that was garbage collected.
  readonly #videoTrack: Track | null = null;
  readonly #audioTrack: Track | null = null;
  readonly #video: RtpSender | null = null;
  readonly #audio: RtpSender | null = null;
  readonly #reportTimer: NodeJS.Timeout;
  #avcConfig: AvcDecoderConfig | null = null;
  /** No picture sent yet since the track opened: the first must be a keyframe. */
  #awaitingKeyframe = true;
  /** The frames of the current GOP (keyframe first) while the video track is not open yet; sent when it opens. */
  #heldGop: VideoFrame[] = [];
  #heldGopBytes = 0;
  #transcoder: AacToOpus | null = null;
  #pictureLossReports = 0;
  #closed = false;

  constructor(offer: string, choice: EgressChoice, options: WebRtcEgressOptions, createAudioTranscoder: (() => AacToOpus) | null, log: Logger) {
    super();
    this.#log = log;
    this.#options = options;
    this.#createAudioTranscoder = createAudioTranscoder;
    this.#pc = new PeerConnection('egress', {
      iceServers: [], bindAddress: options.bindAddress, portRangeBegin: options.portRangeBegin, portRangeEnd: options.portRangeEnd,
    });
    this.#pc.onStateChange((state) => {
      if (state === 'connected') this.#log.info('WebRTC connected');
      else if (state === 'failed' || state === 'closed' || state === 'disconnected') this.close(`WebRTC ${state}`);
    });
    if (choice.video) {
      const video = new Video(choice.video.mid, 'SendOnly');
      video.addH264Codec(choice.video.format.payloadType, choice.video.format.parameters || undefined);
      this.#videoTrack = this.#addTrack(video, 'video');
      this.#videoTrack.onOpen(() => this.#sendHeldGop());
      this.#video = new RtpSender(this.#videoTrack, choice.video.format.payloadType, VIDEO_CLOCK_RATE);
      video.addSSRC(this.#video.ssrc, CNAME, 'live', 'video');
    }
    if (choice.audio && createAudioTranscoder) {
      const audio = new Audio(choice.audio.mid, 'SendOnly');
      audio.addOpusCodec(choice.audio.format.payloadType, choice.audio.format.parameters || undefined);
      this.#audioTrack = this.#addTrack(audio, 'audio');
      this.#audio = new RtpSender(this.#audioTrack, choice.audio.format.payloadType, OPUS_RTP_CLOCK_RATE);
      audio.addSSRC(this.#audio.ssrc, CNAME, 'live', 'audio');
    }
    this.#pc.setRemoteDescription(offer, 'offer');
    this.#reportTimer = setInterval(() => {
      this.#video?.sendReport();
      this.#audio?.sendReport();
    }, SENDER_REPORT_INTERVAL_MS);
    this.#reportTimer.unref();
  }

  /** The SDP answer once ICE gathering is complete. */
  answer(): Promise<string> {
    return gatheredAnswer(this.#pc, this.#options.gatheringTimeoutMs);
  }

  /** Nothing is queued here: RTP goes to the network as it comes (the relay drops on its own backlog). */
  get backlogBytes(): number { return 0; }

  get stats() {
    return { videoPackets: this.#video?.packets ?? 0, audioPackets: this.#audio?.packets ?? 0, pictureLossReports: this.#pictureLossReports, audio: this.#transcoder?.counters };
  }

  sendMedia(packet: MediaPacket, _streamId: number): void {
    if (this.#closed) return;
    const frame = packet.frame;
    if (!frame) return;
    if (frame.codec === 'flash') return this.close(`the stream's ${frame.kind} codec (FLV id ${frame.codecId}) cannot be sent over WebRTC (not yet supported: H.264 and AAC only)`);
    try {
      if (frame.kind === 'video') this.#onVideo(frame, frame.isCodecConfig);
      else this.#sendAudio(packet.payload, frame.timestamp);
    } catch (error) {
      if (!(error instanceof ProtocolError)) throw error;
      this.#log.warn('a frame that cannot be sent was dropped', { code: error.code, error: error.message });
    }
  }

  close(reason: string): void {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#reportTimer);
    this.#transcoder?.close();
    try { this.#pc.close(); } catch { /* already closed by the library */ }
    this.#log.info('WebRTC egress closed', { reason, ...this.stats, audio: JSON.stringify(this.stats.audio) });
    this.emit('closed', reason);
  }

  #addTrack(media: InstanceType<typeof Video> | InstanceType<typeof Audio>, kind: string): Track {
    const track = this.#pc.addTrack(media);
    track.onMessage((data) => this.#onRtcp(kind, data));
    return track;
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

  #onVideo(frame: VideoFrame, isCodecConfig: boolean): void {
    if (!this.#video || !this.#videoTrack) return;
    if (isCodecConfig) {
      this.#avcConfig = parseAvcDecoderConfigurationRecord(frame.payload);
      return;
    }
    if (frame.compositionTimeOffset !== 0) return this.close('H.264 with B-frames cannot be sent over WebRTC yet (not yet supported: publish with -bf 0 / baseline)');
    if (this.#videoTrack.isOpen()) return this.#sendVideo(frame);
    if (frame.isKeyframe) {
      this.#heldGop = [];
      this.#heldGopBytes = 0;
    } else if (this.#heldGop.length === 0) return;
    this.#heldGopBytes += frame.payload.length;
    if (this.#heldGopBytes > MAX_HELD_GOP_BYTES) {
      this.#heldGop = [];
      return;
    }
    // The payload is a view of the packet, which the relay's GOP cache keeps unchanged too: no copy.
    this.#heldGop.push(frame);
  }

  #sendHeldGop(): void {
    const held = this.#heldGop;
    this.#heldGop = [];
    this.#heldGopBytes = 0;
    if (this.#closed) return;
    this.#log.info('video track open', { heldFrames: held.length });
    try {
      for (const frame of held) this.#sendVideo(frame);
    } catch (error) {
      if (!(error instanceof ProtocolError)) throw error;
      this.#log.warn('a held frame that cannot be sent was dropped', { code: error.code, error: error.message });
    }
  }

  #sendVideo({ payload, timestamp, compositionTimeOffset, isKeyframe }: VideoFrame): void {
    if (!this.#avcConfig || !this.#video) return;
    if (this.#awaitingKeyframe && !isKeyframe) return;
    this.#awaitingKeyframe = false;
    let nalUnits = splitAvcc(payload, this.#avcConfig.nalLengthSize);
    if (isKeyframe && !nalUnits.some((nal) => nalUnitType(nal) === NalUnitType.Sps)) nalUnits = [...this.#avcConfig.sps, ...this.#avcConfig.pps, ...nalUnits];
    const rtpTimestamp = (timestamp + compositionTimeOffset) * (VIDEO_CLOCK_RATE / 1000);
    for (const { payload: rtpPayload, marker } of packetizeH264(nalUnits, MAX_RTP_PAYLOAD)) this.#video.send(rtpPayload, rtpTimestamp, marker);
  }

  /** AAC tag bodies go to the transcoder (started with the first one); its Opus comes back timed on the same clock. */
  #sendAudio(tagBody: Buffer, timestamp: number): void {
    if (!this.#audio || !this.#audioTrack || !this.#createAudioTranscoder) return;
    if (!this.#transcoder) {
      const transcoder = this.#createAudioTranscoder();
      this.#transcoder = transcoder;
      const sender = this.#audio;
      const track = this.#audioTrack;
      transcoder.on('packet', (opus, time48k) => { if (!this.#closed && track.isOpen()) sender.send(rtpPayloadFromOpusPacket(opus), time48k, false); });
      transcoder.on('close', (reason) => { if (!this.#closed) this.#log.warn('audio transcoder stopped; the stream goes on without audio', { reason }); });
    }
    this.#transcoder.push(tagBody, timestamp);
  }
}
