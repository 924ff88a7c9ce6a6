/**
 * A browser's camera and microphone received over WebRTC (node-datachannel: libdatachannel's ICE,
 * DTLS-SRTP and RTP) and turned into what RTMP carries: H.264 access units become FLV video tag
 * bodies without re-encoding (protocol/flv/avc-tags.ts), Opus packets come out with their time for
 * the AAC transcoder; both on one timeline (MediaClock, from RTCP sender reports). The edge answers
 * with exactly the payload types it chose from the offer. It asks the browser for a keyframe (RTCP
 * PLI) when a picture was lost or none came yet, and every `keyframeIntervalMs` regardless.
 */
import { EventEmitter } from 'node:events';
import nodeDataChannel from 'node-datachannel';
import type { Logger } from '#common/logger.ts';
import { AvcTagWriter, type AvcTag } from '#protocol/flv/avc-tags.ts';
import { H264Depacketizer } from '#protocol/rtp/h264-depacketizer.ts';
import { opusPacketFromRtpPayload, OPUS_RTP_CLOCK_RATE } from '#protocol/rtp/opus.ts';
import { isRtcpPacket, parseRtcpCompound, serializeRtcpPacket } from '#protocol/rtp/rtcp.ts';
import { parseRtpPacket, type RtpPacket } from '#protocol/rtp/rtp-packet.ts';
import type { IngestChoice } from '#protocol/sdp/sdp.ts';
import { ProtocolError } from '#protocol/errors.ts';
import { MediaClock } from './media-clock.ts';

const { PeerConnection, Video, Audio } = nodeDataChannel;
type Track = ReturnType<InstanceType<typeof PeerConnection>['addTrack']>;
const VIDEO_CLOCK_RATE = 90000;
/** Our SSRC in the feedback we send (any value the browser does not use; we send no media). */
const FEEDBACK_SSRC = 0x43475745;

export interface WebRtcIngestOptions {
  /** The address ICE binds and announces (the edge's media address); undefined: every interface. */
  bindAddress: string | undefined;
  portRangeBegin?: number;
  portRangeEnd?: number;
  /** Ask for a keyframe at least this often (ms), so a joining player never waits longer. */
  keyframeIntervalMs: number;
  /** The answer must be ready (ICE gathered) within this time. */
  gatheringTimeoutMs: number;
}

/** The local description once ICE gathering is complete (or `timeoutMs` passed: what was gathered so far), for answers without trickle. */
export async function gatheredAnswer(pc: InstanceType<typeof PeerConnection>, timeoutMs: number): Promise<string> {
  if (pc.gatheringState() !== 'complete') {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, timeoutMs);
      pc.onGatheringStateChange((state) => { if (state === 'complete') { clearTimeout(timer); resolve(); } });
    });
  }
  const description = pc.localDescription();
  if (!description?.sdp) throw new Error('no local description');
  return description.sdp;
}

export interface WebRtcIngestStats {
  videoPackets: number;
  audioPackets: number;
  rtcpPackets: number;
  accessUnits: number;
  droppedAccessUnits: number;
  keyframeRequests: number;
  badPackets: number;
}

export interface WebRtcIngestEvents {
  connected: [];
  /** A video tag body (sequence header or frame) at `timestamp` ms on the publisher's timeline. */
  video: [tag: AvcTag, timestamp: number];
  /** An Opus packet at `timestamp` ms on the same timeline. */
  opus: [packet: Buffer, timestamp: number];
  /** The peer connection ended (failed, closed by the browser, or by close()). */
  closed: [reason: string];
}

export class WebRtcIngest extends EventEmitter<WebRtcIngestEvents> {
  readonly stats: WebRtcIngestStats = { videoPackets: 0, audioPackets: 0, rtcpPackets: 0, accessUnits: 0, droppedAccessUnits: 0, keyframeRequests: 0, badPackets: 0 };
  readonly #log: Logger;
  readonly #options: WebRtcIngestOptions;
  readonly #pc: InstanceType<typeof PeerConnection>;
  readonly #clock = new MediaClock();
  readonly #depacketizer = new H264Depacketizer();
  readonly #avc = new AvcTagWriter();
  // Held for the session's life: node-datachannel stops calling back a Track object that was garbage collected.
  #videoTrack: Track | null = null;
  #audioTrack: Track | null = null;
  #videoSsrc: number | null = null;
  #lastKeyframeRequest = 0;
  #lastKeyframe = 0;
  #keyframeTimer: NodeJS.Timeout | null = null;
  #closed = false;

  constructor(offer: string, choice: IngestChoice, options: WebRtcIngestOptions, log: Logger) {
    super();
    this.#log = log;
    this.#options = options;
    this.#pc = new PeerConnection(`ingest`, {
      iceServers: [], bindAddress: options.bindAddress, portRangeBegin: options.portRangeBegin, portRangeEnd: options.portRangeEnd,
    });
    this.#pc.onStateChange((state) => {
      if (state === 'connected') {
        this.#log.info('WebRTC connected');
        this.emit('connected');
      } else if (state === 'failed' || state === 'closed' || state === 'disconnected') {
        this.close(`WebRTC ${state}`);
      }
    });
    if (choice.video) {
      const video = new Video(choice.video.mid, 'RecvOnly');
      video.addH264Codec(choice.video.format.payloadType, choice.video.format.parameters || undefined);
      this.#videoTrack = this.#pc.addTrack(video);
      this.#videoTrack.onMessage((message) => this.#receive('video', message));
    }
    if (choice.audio) {
      const audio = new Audio(choice.audio.mid, 'RecvOnly');
      audio.addOpusCodec(choice.audio.format.payloadType, choice.audio.format.parameters || undefined);
      this.#audioTrack = this.#pc.addTrack(audio);
      this.#audioTrack.onMessage((message) => this.#receive('audio', message));
    }
    this.#pc.setRemoteDescription(offer, 'offer');
    if (choice.video) {
      this.#keyframeTimer = setInterval(() => {
        if (Date.now() - this.#lastKeyframe >= this.#options.keyframeIntervalMs) this.requestKeyframe('interval');
      }, Math.min(1000, options.keyframeIntervalMs));
      this.#keyframeTimer.unref();
    }
  }

  /** The SDP answer once ICE gathering is complete (or the timeout passed: what was gathered so far). */
  answer(): Promise<string> {
    return gatheredAnswer(this.#pc, this.#options.gatheringTimeoutMs);
  }

  /** Sends a PLI for the video (at most one per 300 ms: the browser needs time to make one). */
  requestKeyframe(why: string): void {
    const now = Date.now();
    if (this.#closed || !this.#videoTrack || this.#videoSsrc === null || now - this.#lastKeyframeRequest < 300) return;
    this.#lastKeyframeRequest = now;
    this.stats.keyframeRequests++;
    this.#log.debug('keyframe requested', { why });
    this.#videoTrack.sendMessageBinary(serializeRtcpPacket({ type: 'pli', senderSsrc: FEEDBACK_SSRC, mediaSsrc: this.#videoSsrc }));
  }

  close(reason: string): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#keyframeTimer) clearInterval(this.#keyframeTimer);
    try { this.#pc.close(); } catch { /* already closed by the library */ }
    this.#log.info('WebRTC ingest closed', { reason, ...this.stats });
    this.emit('closed', reason);
  }

  #onRtcp(track: string, data: Buffer): void {
    this.stats.rtcpPackets++;
    for (const packet of parseRtcpCompound(data)) {
      if (packet.type === 'sr') this.#clock.senderReport(track, { ntpTimestamp: packet.ntpTimestamp, rtpTimestamp: packet.rtpTimestamp });
    }
  }

  /** One datagram of a track: RTCP (sender reports for the clock) or RTP. */
  #receive(track: 'video' | 'audio', data: Buffer): void {
    if (this.#closed) return;
    try {
      if (isRtcpPacket(data)) return this.#onRtcp(track, data);
      const packet = parseRtpPacket(data);
      if (track === 'video') this.#onVideo(packet);
      else this.#onAudio(packet);
    } catch (error) {
      this.#bad(error);
    }
  }

  #onVideo(packet: RtpPacket): void {
    this.stats.videoPackets++;
    this.#videoSsrc ??= packet.ssrc;
    for (const event of this.#depacketizer.push(packet)) {
      if (event.kind === 'dropped') {
        this.stats.droppedAccessUnits++;
        this.requestKeyframe(`access unit dropped: ${event.reason}`);
        continue;
      }
      this.stats.accessUnits++;
      const timestamp = this.#clock.timeOf('video', VIDEO_CLOCK_RATE, event.timestamp);
      if (event.keyframe) this.#lastKeyframe = Date.now();
      for (const tag of this.#avc.push(event.nalUnits)) this.emit('video', tag, timestamp);
      if (!this.#avc.hasConfig) this.requestKeyframe('no SPS/PPS yet');
    }
    if (this.#depacketizer.awaitingKeyframe) this.requestKeyframe('waiting for a keyframe');
  }

  #onAudio(packet: RtpPacket): void {
    this.stats.audioPackets++;
    if (packet.payload.length === 0) return;
    this.emit('opus', opusPacketFromRtpPayload(packet.payload), this.#clock.timeOf('audio', OPUS_RTP_CLOCK_RATE, packet.timestamp));
  }

  /**
   * A packet we cannot read costs that packet only; the first few are logged. Anything else is a
   * bug, which ends this publisher (never the process: these callbacks come from the native library).
   */
  #bad(error: unknown): void {
    if (!(error instanceof ProtocolError)) {
      this.#log.error('internal error on a WebRTC packet', { error: (error as Error).stack ?? String(error) });
      this.close('internal error');
      return;
    }
    this.stats.badPackets++;
    if (this.stats.badPackets <= 3) this.#log.warn('bad RTP/RTCP packet dropped', { code: error.code, error: error.message });
  }
}
