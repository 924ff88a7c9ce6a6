/**
 * One WebRTC viewer of a stream published over WebRTC on the same edge, fed by forwarding (SFU):
 * the publisher's RTP packets (RtpForwardingSource) go to this viewer's peer connection one for
 * one, each rewritten for it (RtpRewriter: its SSRC, payload type and sequence numbers; timestamp
 * and payload as the publisher sent them), never depacketized or transcoded. Video starts at a
 * keyframe's first packet (one is asked of the publisher when the viewer joins and when its track
 * opens). The viewer's PLI/FIR go to the publisher; its NACKs are answered from the source's recent
 * packets, or passed to the publisher. The publisher's sender reports come through with this
 * viewer's SSRC and counts and the publisher's NTP/RTP pair, so the browser keeps lip sync. Sends
 * never wait: a slow viewer loses packets of its own. As the MediaOutput of the viewer's session on
 * the link, it turns the relay's delivery off as soon as the relay starts one: the session plays at
 * the origin for authorization and counting only.
 */
import { randomInt } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { Video, Audio } from 'node-datachannel';
import type { MediaOutput } from '#common/media/live-delivery.ts';
import type { Logger } from '#common/logger.ts';
import { ProtocolError } from '#protocol/errors.ts';
import { isRtcpPacket, parseRtcpCompound, serializeRtcpPacket, type SenderReport } from '#protocol/rtp/rtcp.ts';
import type { RtpPacket } from '#protocol/rtp/rtp-packet.ts';
import { RtpRewriter } from '#protocol/rtp/rtp-rewriter.ts';
import type { EgressChoice } from '#protocol/sdp/sdp.ts';
import type { ForwardedTrack, ForwardingViewer, RtpForwardingSource } from './rtp-forwarding-source.ts';
import { applyOffer, gatheredAnswer, newPeerConnection, opusMedia, videoMedia, type PeerConnectionOptions } from './webrtc-ingest.ts';

type Track = ReturnType<ReturnType<typeof newPeerConnection>['addTrack']>;
/** The CNAME both tracks share in the answer: it tells the browser to sync them. */
const CNAME = 'classroom-gateway';
/** While waiting for a keyframe, ask again this often (the publisher's answer may have been lost). */
const KEYFRAME_RETRY_MS = 1000;

export interface WebRtcForwardEgressOptions extends PeerConnectionOptions {
  /** The answer must be ready (ICE gathered) within this time. */
  gatheringTimeoutMs: number;
}

export interface WebRtcForwardEgressEvents {
  /** The session must end: the peer connection ended, or the publisher left. */
  closed: [reason: string];
}

export interface ForwardEgressCounters {
  /** Packets sent again for the viewer's NACKs, from the edge's history. */
  retransmitted: number;
  /** Sequence numbers the viewer NACKed. */
  nacked: number;
  pictureLossReports: number;
}

/** One track of the viewer: its sending track (and whether it is open: asked of the library once, not per packet) and rewriter. */
interface Outgoing {
  readonly track: Track;
  open: boolean;
  readonly rewriter: RtpRewriter;
}

export class WebRtcForwardEgress extends EventEmitter<WebRtcForwardEgressEvents> implements MediaOutput, ForwardingViewer {
  readonly #counters: ForwardEgressCounters = { retransmitted: 0, nacked: 0, pictureLossReports: 0 };
  readonly #log: Logger;
  readonly #options: WebRtcForwardEgressOptions;
  readonly #source: RtpForwardingSource;
  readonly #detachRelay: () => void;
  readonly #pc: ReturnType<typeof newPeerConnection>;
  // Held for the session's life: node-datachannel stops calling back a Track object that was garbage collected.
  readonly #video: Outgoing | null = null;
  readonly #audio: Outgoing | null = null;
  #lastKeyframeRequest = 0;
  #detachQueued = false;
  #closed = false;

  /** `detachRelay` stops the edge relay's delivery to the viewer's session (its media comes from here). */
  constructor(offer: string, choice: EgressChoice, source: RtpForwardingSource, options: WebRtcForwardEgressOptions, detachRelay: () => void, log: Logger) {
    super();
    this.#log = log;
    this.#options = options;
    this.#source = source;
    this.#detachRelay = detachRelay;
    this.#pc = newPeerConnection('forward', options, log, (reason) => this.close(reason));
    if (choice.video) {
      const { mid, format, codec } = choice.video;
      this.#video = this.#addTrack(videoMedia(mid, 'SendOnly', codec, format), 'video', format.payloadType);
    }
    if (choice.audio) {
      const { mid, format } = choice.audio;
      this.#audio = this.#addTrack(opusMedia(mid, 'SendOnly', format), 'audio', format.payloadType);
    }
    applyOffer(this.#pc, offer);
    source.add(this);
  }

  /** The SDP answer once ICE gathering is complete. */
  answer(): Promise<string> {
    return gatheredAnswer(this.#pc, this.#options.gatheringTimeoutMs);
  }

  /** Packets forwarded per track (retransmissions included) and the feedback counters. */
  get stats(): ForwardEgressCounters & { videoPackets: number; audioPackets: number } {
    return { videoPackets: this.#video?.rewriter.packets ?? 0, audioPackets: this.#audio?.rewriter.packets ?? 0, ...this.#counters };
  }

  // MediaOutput: the relay's delivery of the RTMP stream, which this viewer does not need.
  get backlogBytes(): number { return 0; }
  sendMedia(): void {
    if (this.#detachQueued || this.#closed) return;
    this.#detachQueued = true;
    // Not from inside the relay's own delivery loop.
    queueMicrotask(() => {
      this.#detachQueued = false;
      this.#detachRelay();
    });
  }

  forward(track: ForwardedTrack, packet: RtpPacket, view: Buffer, keyframeStart: boolean): void {
    const outgoing = this.#outgoing(track);
    if (outgoing === null || !outgoing.open || this.#closed) return;
    if (!keyframeStart && track === 'video' && !outgoing.rewriter.started) return this.#requestKeyframe('waiting for a keyframe to start at');
    this.#send(outgoing, packet, view);
  }

  senderReport(track: ForwardedTrack, report: SenderReport): void {
    const outgoing = this.#outgoing(track);
    if (this.#closed || !outgoing?.rewriter.started || !outgoing.open) return;
    const { rewriter } = outgoing;
    outgoing.track.sendMessageBinary(serializeRtcpPacket({
      type: 'sr', ssrc: rewriter.ssrc, ntpTimestamp: report.ntpTimestamp, rtpTimestamp: report.rtpTimestamp,
      packetCount: rewriter.packets >>> 0, octetCount: rewriter.octets >>> 0, reports: [],
    }));
  }

  close(reason: string): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#source.remove(this);
    try { this.#pc.close(); } catch { /* already closed by the library */ }
    this.#log.info('WebRTC forwarding closed', { stream: this.#source.streamKey, reason, ...this.stats });
    this.emit('closed', reason);
  }

  #addTrack(media: InstanceType<typeof Video> | InstanceType<typeof Audio>, kind: ForwardedTrack, payloadType: number): Outgoing {
    const rewriter = new RtpRewriter(randomInt(1, 0xffffffff), payloadType, randomInt(0, 0x10000));
    media.addSSRC(rewriter.ssrc, CNAME, 'live', kind);
    const outgoing: Outgoing = { track: this.#pc.addTrack(media), open: false, rewriter };
    outgoing.track.onMessage((data) => this.#onRtcp(kind, data));
    outgoing.track.onOpen(() => {
      outgoing.open = true;
      if (kind === 'video') this.#requestKeyframe('the viewer is connected');
    });
    outgoing.track.onClosed(() => { outgoing.open = false; });
    return outgoing;
  }

  #outgoing(track: ForwardedTrack): Outgoing | null {
    return track === 'video' ? this.#video : this.#audio;
  }

  /** Rewrites the packet's forwarding view for this viewer and sends it (the library copies it before returning). */
  #send(outgoing: Outgoing, packet: RtpPacket, view: Buffer): boolean {
    if (!outgoing.rewriter.rewriteInPlace(view, packet)) return false;
    outgoing.track.sendMessageBinary(view);
    return true;
  }

  #requestKeyframe(why: string): void {
    const now = Date.now();
    if (now - this.#lastKeyframeRequest < KEYFRAME_RETRY_MS) return;
    this.#lastKeyframeRequest = now;
    this.#source.requestKeyframe(why);
  }

  /** RTCP from the browser: PLI/FIR go to the publisher, NACKs are answered from the source's packets (or passed on), reports ignored. */
  #onRtcp(kind: ForwardedTrack, data: Buffer): void {
    if (this.#closed || !isRtcpPacket(data)) return;
    try {
      for (const packet of parseRtcpCompound(data)) {
        if (packet.type === 'pli' || packet.type === 'fir') {
          this.#counters.pictureLossReports++;
          this.#source.requestKeyframe('a forwarding viewer asked');
        } else if (packet.type === 'nack') {
          this.#retransmit(kind, packet.lostSequenceNumbers);
        }
      }
    } catch (error) {
      if (!(error instanceof ProtocolError)) throw error;
    }
  }

  #retransmit(kind: ForwardedTrack, sequenceNumbers: readonly number[]): void {
    const outgoing = this.#outgoing(kind);
    if (!outgoing) return;
    this.#counters.nacked += sequenceNumbers.length;
    const wanted = sequenceNumbers.map((s) => outgoing.rewriter.toSender(s)).filter((s) => s !== null);
    for (const { data: view, packet } of this.#source.retransmission(kind, wanted)) {
      if (this.#send(outgoing, packet, view)) this.#counters.retransmitted++;
    }
  }
}
