/**
 * A browser's camera and microphone received over WebRTC (node-datachannel: libdatachannel's ICE,
 * DTLS-SRTP and RTP) and turned into what RTMP carries: H.264 access units become FLV video tag
 * bodies without re-encoding (protocol/flv/avc-tags.ts), or, from a browser that sends VP8 only,
 * VP8 frames come out for the transcoder (protocol/rtp/vp8-depacketizer.ts); Opus packets come out with their time for
 * the AAC transcoder; both on one timeline (MediaClock: by arrival until RTCP sender reports line the
 * tracks up; every packet's arrival is given to it before reordering and reassembly). The edge answers
 * with exactly the payload types it chose from the offer. It asks the browser for a keyframe (RTCP
 * PLI) when a picture was lost or none came yet, and every `keyframeIntervalMs` regardless. Lost
 * video packets are asked for again (RTCP generic NACK, NackTracker) while the depacketizer holds
 * what came after them, for NACK.maxWaitMs at most; past that the access unit is dropped and a
 * keyframe requested. It tells the browser how much it may send (RTCP REMB of `maxVideoBitrate`,
 * every second from the first video packet): without any bandwidth feedback Chromium stays at its
 * start rate (about 300 kbit/s), and in its start phase it takes a REMB as the rate. Every RTP packet and sender report is also emitted as it came, for the
 * viewers on this edge that get it forwarded (RtpForwardingSource).
 */
import { EventEmitter } from 'node:events';
import type * as NodeDataChannel from 'node-datachannel';
import type { PeerConnection, Video, Audio } from 'node-datachannel';
import { lazyRequire } from '#common/lazy-require.ts';
import type { Logger } from '#common/logger.ts';
import { AvcTagWriter, type AvcTag } from '#protocol/flv/avc-tags.ts';
import { H264Depacketizer, type H264DepacketizerEvent } from '#protocol/rtp/h264-depacketizer.ts';
import { Vp8Depacketizer, type Vp8DepacketizerEvent, type Vp8Frame } from '#protocol/rtp/vp8-depacketizer.ts';
import { opusPacketFromRtpPayload, OPUS_RTP_CLOCK_RATE } from '#protocol/rtp/opus.ts';
import { NackTracker } from '#protocol/rtp/nack-tracker.ts';
import { isRtcpPacket, parseRtcpCompound, serializeRtcpPacket, type SenderReport } from '#protocol/rtp/rtcp.ts';
import { parseRtpPacket, type RtpPacket } from '#protocol/rtp/rtp-packet.ts';
import type { IngestChoice, IngestVideoCodec, SdpFormat } from '#protocol/sdp/sdp.ts';
import { ProtocolError, SdpError } from '#protocol/errors.ts';
import { MediaClock } from './media-clock.ts';

/** libdatachannel (its native library and threads) is loaded by the first peer connection: an edge no browser reaches over WebRTC never starts it. */
const nodeDataChannel = lazyRequire<typeof NodeDataChannel>('node-datachannel');
type Track = ReturnType<InstanceType<typeof PeerConnection>['addTrack']>;
const VIDEO_CLOCK_RATE = 90000;
/** Our SSRC in the feedback we send (any value the browser does not use; we send no media). */
const FEEDBACK_SSRC = 0x43475745;
/**
 * Loss repair by NACK: a missing video packet is asked for at once and again every 30 ms, three
 * times at most; what came after it is held up to 120 ms (a few round trips on the networks an edge
 * serves) and up to 256 packets (a large keyframe), then the gap counts as lost.
 */
const NACK = { retryIntervalMs: 30, maxRetries: 3, maxWaitMs: 120, maxGap: 256 } as const;
/** PLIs at most this often: the browser needs time to make a keyframe. */
const KEYFRAME_REQUEST_SPACING_MS = 300;

/** Where a peer connection's ICE binds and what it announces. */
export interface PeerConnectionOptions {
  /** The address ICE binds and announces (the edge's media address); undefined: every interface. */
  bindAddress: string | undefined;
  portRangeBegin?: number;
  portRangeEnd?: number;
}

export interface WebRtcIngestOptions extends PeerConnectionOptions {
  /** Ask for a keyframe at least this often (ms), so a joining player never waits longer. */
  keyframeIntervalMs: number;
  /** The video bit rate the browser is told it may send (REMB), in bit/s. */
  maxVideoBitrate: number;
  /** The answer must be ready (ICE gathered) within this time. */
  gatheringTimeoutMs: number;
}

/**
 * A peer connection of the edge (no STUN/TURN: the edge has a public address) that logs when it
 * connects and calls `onEnd` when it fails, disconnects or closes.
 */
export function newPeerConnection(name: string, options: PeerConnectionOptions, log: Logger, onEnd: (reason: string) => void, onConnected?: () => void): InstanceType<typeof PeerConnection> {
  const pc = new (nodeDataChannel().PeerConnection)(name, {
    iceServers: [], bindAddress: options.bindAddress, portRangeBegin: options.portRangeBegin, portRangeEnd: options.portRangeEnd,
  });
  pc.onStateChange((state) => {
    if (state === 'connected') {
      log.info('WebRTC connected');
      onConnected?.();
    } else if (state === 'failed' || state === 'closed' || state === 'disconnected') {
      onEnd(`WebRTC ${state}`);
    }
  });
  return pc;
}

type MediaDirection = ConstructorParameters<typeof Video>[1];

/** A video section answering with exactly the chosen payload type: VP8, or H.264 with the offer's fmtp. */
export function videoMedia(mid: string, direction: MediaDirection, codec: IngestVideoCodec, format: SdpFormat): InstanceType<typeof Video> {
  const video = new (nodeDataChannel().Video)(mid, direction);
  if (codec === 'vp8') video.addVP8Codec(format.payloadType);
  // An explicit undefined makes node-datachannel throw; no argument gives its default fmtp (an offer's format may have none).
  else if (format.parameters) video.addH264Codec(format.payloadType, format.parameters);
  else video.addH264Codec(format.payloadType);
  return video;
}

/** An audio section answering with exactly the chosen Opus payload type and the offer's fmtp. */
export function opusMedia(mid: string, direction: MediaDirection, format: SdpFormat): InstanceType<typeof Audio> {
  const audio = new (nodeDataChannel().Audio)(mid, direction);
  if (format.parameters) audio.addOpusCodec(format.payloadType, format.parameters);
  else audio.addOpusCodec(format.payloadType);
  return audio;
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

/**
 * Gives the browser's offer to the peer connection. An offer our SDP reading let through but the
 * WebRTC stack refuses (no ICE credentials, no fingerprint, ...) is the client's fault: the peer
 * connection is closed and an SdpError (a 400) says why.
 */
export function applyOffer(pc: InstanceType<typeof PeerConnection>, offer: string): void {
  try {
    pc.setRemoteDescription(offer, 'offer');
  } catch (error) {
    pc.close();
    throw new SdpError('sdp.refused_by_webrtc', `the WebRTC stack refused the offer: ${(error as Error).message}`);
  }
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
  /** A VP8 frame (a browser that sends no H.264; for the transcoder) at `timestamp` ms on the same timeline. */
  vp8: [frame: Vp8Frame, timestamp: number];
  /** An Opus packet at `timestamp` ms on the same timeline. */
  opus: [packet: Buffer, timestamp: number];
  /**
   * An RTP packet as it arrived (before any reordering), with its datagram. A listener may write
   * over the datagram's header bytes (the forwarder writes each viewer's header there): after this
   * event the ingest reads only the parsed fields and the payload, never the header or extension.
   */
  rtp: [track: 'video' | 'audio', packet: RtpPacket, data: Buffer];
  /** The browser's RTCP sender report for a track. */
  senderReport: [track: 'video' | 'audio', report: SenderReport];
  /** The peer connection ended (failed, closed by the browser, or by close()). */
  closed: [reason: string];
}

export class WebRtcIngest extends EventEmitter<WebRtcIngestEvents> {
  readonly stats: WebRtcIngestStats = { videoPackets: 0, audioPackets: 0, rtcpPackets: 0, accessUnits: 0, droppedAccessUnits: 0, keyframeRequests: 0, badPackets: 0 };
  readonly #log: Logger;
  readonly #options: WebRtcIngestOptions;
  readonly #pc: InstanceType<typeof PeerConnection>;
  /** Audio is the steady track: lining the tracks up moves the video, never the Opus (a jump there is a dropped or missing packet downstream). */
  readonly #clock = new MediaClock({ steadyTrack: 'audio' });
  readonly #depacketizer: H264Depacketizer | Vp8Depacketizer;
  readonly #videoLoss = new NackTracker(NACK);
  #nackTimer: NodeJS.Timeout | null = null;
  readonly #avc = new AvcTagWriter();
  // Held for the session's life: node-datachannel stops calling back a Track object that was garbage collected.
  #videoTrack: Track | null = null;
  #audioTrack: Track | null = null;
  #videoSsrc: number | null = null;
  #lastKeyframeRequest = 0;
  #keyframeRequestTimer: NodeJS.Timeout | null = null;
  #lastKeyframe = 0;
  #keyframeTimer: NodeJS.Timeout | null = null;
  #closed = false;

  constructor(offer: string, choice: IngestChoice, options: WebRtcIngestOptions, log: Logger) {
    super();
    this.#log = log;
    this.#options = options;
    this.#depacketizer = choice.video?.codec === 'vp8' ? new Vp8Depacketizer({ reorderWindow: NACK.maxGap }) : new H264Depacketizer({ reorderWindow: NACK.maxGap });
    this.#pc = newPeerConnection('ingest', options, log, (reason) => this.close(reason), () => this.emit('connected'));
    if (choice.video) {
      this.#videoTrack = this.#pc.addTrack(videoMedia(choice.video.mid, 'RecvOnly', choice.video.codec, choice.video.format));
      this.#videoTrack.onMessage((message) => this.#receive('video', message));
    }
    if (choice.audio) {
      this.#audioTrack = this.#pc.addTrack(opusMedia(choice.audio.mid, 'RecvOnly', choice.audio.format));
      this.#audioTrack.onMessage((message) => this.#receive('audio', message));
    }
    applyOffer(this.#pc, offer);
    if (choice.video) {
      this.#keyframeTimer = setInterval(() => {
        if (Date.now() - this.#lastKeyframe >= this.#options.keyframeIntervalMs) this.requestKeyframe('interval');
        this.#sendBitrateEstimate();
      }, Math.min(1000, options.keyframeIntervalMs));
      this.#keyframeTimer.unref();
    }
  }

  /** The SDP answer once ICE gathering is complete (or the timeout passed: what was gathered so far). */
  answer(): Promise<string> {
    return gatheredAnswer(this.#pc, this.#options.gatheringTimeoutMs);
  }

  /**
   * Sends a PLI for the video: at most one per 300 ms (the browser needs time to make one); a
   * request within that time is sent at its end, so a viewer joining just after another is not
   * left waiting for the next interval.
   */
  requestKeyframe(why: string): void {
    const now = Date.now();
    if (this.#closed || !this.#videoTrack || this.#videoSsrc === null || this.#keyframeRequestTimer) return;
    const wait = this.#lastKeyframeRequest + KEYFRAME_REQUEST_SPACING_MS - now;
    if (wait > 0) {
      this.#keyframeRequestTimer = setTimeout(() => {
        this.#keyframeRequestTimer = null;
        this.requestKeyframe(why);
      }, wait);
      return;
    }
    this.#lastKeyframeRequest = now;
    this.stats.keyframeRequests++;
    this.#log.debug('keyframe requested', { why });
    this.#videoTrack.sendMessageBinary(serializeRtcpPacket({ type: 'pli', senderSsrc: FEEDBACK_SSRC, mediaSsrc: this.#videoSsrc }));
  }

  /** Asks the browser for these video packets again (a forwarding viewer lost them and this edge has them no more). */
  requestRetransmission(sequenceNumbers: readonly number[]): void {
    // Those the edge is missing itself are asked for on its own schedule.
    const wanted = sequenceNumbers.filter((s) => !this.#videoLoss.isMissing(s));
    if (wanted.length > 0) this.#sendNack(wanted);
  }

  /** Loss repair counters of the video (NackTracker). */
  get videoLoss(): NackTracker['stats'] { return this.#videoLoss.stats; }

  #sendNack(sequenceNumbers: number[]): void {
    if (this.#closed || !this.#videoTrack || this.#videoSsrc === null || !this.#videoTrack.isOpen()) return;
    this.#videoTrack.sendMessageBinary(serializeRtcpPacket({ type: 'nack', senderSsrc: FEEDBACK_SSRC, mediaSsrc: this.#videoSsrc, lostSequenceNumbers: sequenceNumbers }));
  }

  /** Sends the NACKs due, stops waiting for a gap that waited too long, and sets the timer for what is due next. */
  #repairLoss(): void {
    if (this.#nackTimer) clearTimeout(this.#nackTimer);
    this.#nackTimer = null;
    if (this.#closed) return;
    const now = performance.now();
    const due = this.#videoLoss.due(now);
    if (due.length > 0) this.#sendNack(due);
    if (this.#videoLoss.expired(now)) {
      this.#videoLoss.giveUp();
      this.#takeAccessUnits(this.#depacketizer.flush());
    }
    const next = this.#videoLoss.nextDeadline(now);
    if (next === null) return;
    this.#nackTimer = setTimeout(() => {
      try {
        this.#repairLoss();
      } catch (error) {
        this.#bad(error);
      }
    }, Math.max(next, 5));
  }

  close(reason: string): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#keyframeTimer) clearInterval(this.#keyframeTimer);
    if (this.#nackTimer) clearTimeout(this.#nackTimer);
    if (this.#keyframeRequestTimer) clearTimeout(this.#keyframeRequestTimer);
    try { this.#pc.close(); } catch { /* already closed by the library */ }
    this.#log.info('WebRTC ingest closed', { reason, ...this.stats, videoLoss: JSON.stringify(this.#videoLoss.stats) });
    this.emit('closed', reason);
  }

  #onRtcp(track: 'video' | 'audio', data: Buffer): void {
    this.stats.rtcpPackets++;
    for (const packet of parseRtcpCompound(data)) {
      if (packet.type !== 'sr') continue;
      this.#clock.senderReport(track, { ntpTimestamp: packet.ntpTimestamp, rtpTimestamp: packet.rtpTimestamp });
      this.emit('senderReport', track, packet);
    }
  }

  /** One datagram of a track: RTCP (sender reports for the clock) or RTP. */
  #receive(track: 'video' | 'audio', data: Buffer): void {
    if (this.#closed) return;
    try {
      if (isRtcpPacket(data)) return this.#onRtcp(track, data);
      const packet = parseRtpPacket(data);
      this.emit('rtp', track, packet, data);
      this.#clock.packetArrived(track, track === 'video' ? VIDEO_CLOCK_RATE : OPUS_RTP_CLOCK_RATE, packet.timestamp);
      if (track === 'video') this.#onVideo(packet);
      else this.#onAudio(packet);
    } catch (error) {
      this.#bad(error);
    }
  }

  /** REMB: the most the browser may send, for its video SSRC. */
  #sendBitrateEstimate(): void {
    if (this.#closed || !this.#videoTrack || this.#videoSsrc === null || !this.#videoTrack.isOpen()) return;
    this.#videoTrack.sendMessageBinary(serializeRtcpPacket({ type: 'remb', senderSsrc: FEEDBACK_SSRC, bitrate: this.#options.maxVideoBitrate, ssrcs: [this.#videoSsrc] }));
  }

  #onVideo(packet: RtpPacket): void {
    this.stats.videoPackets++;
    if (this.#videoSsrc === null) {
      this.#videoSsrc = packet.ssrc;
      this.#sendBitrateEstimate();
    }
    this.#videoLoss.receive(packet.sequenceNumber, performance.now());
    this.#takeAccessUnits(this.#depacketizer.push(packet));
    if (this.#videoLoss.missing > 0 || this.#nackTimer) this.#repairLoss();
  }

  #takeAccessUnits(events: ReadonlyArray<H264DepacketizerEvent | Vp8DepacketizerEvent>): void {
    for (const event of events) {
      if (event.kind === 'dropped') {
        this.stats.droppedAccessUnits++;
        this.requestKeyframe(`access unit dropped: ${event.reason}`);
        continue;
      }
      if (event.kind === 'frame') {
        this.#takeVp8Frame(event);
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

  /** A VP8 frame for the transcoder; one that refers to a lost frame is skipped (the keyframe it waits for is requested). */
  #takeVp8Frame(frame: Vp8Frame): void {
    if (frame.referencesLost) {
      this.stats.droppedAccessUnits++;
      return;
    }
    this.stats.accessUnits++;
    if (frame.keyframe) this.#lastKeyframe = Date.now();
    this.emit('vp8', frame, this.#clock.timeOf('video', VIDEO_CLOCK_RATE, frame.timestamp));
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
