/**
 * A stream published over WebRTC on this edge, as the WebRTC viewers here get it forwarded (SFU):
 * every RTP packet of the publisher's ingest goes to each viewer as it arrived (no reordering, no
 * depacketizing), once: a retransmission of a packet already passed on is not passed on again.
 * Keeps the last packets of each track (RtpPacketHistory) so viewers' NACKs are answered here, and
 * passes what it has no more, and viewers' keyframe requests, up to the publisher (the ingest
 * rate-limits PLIs). Marks the packets where a viewer may start (a keyframe's first packet).
 * A viewer's failure costs that viewer only. Closing it (the publisher left) closes its viewers.
 * Per packet it copies and allocates nothing per viewer: the ingest's datagram (a fresh buffer per
 * packet, read by no one after its 'rtp' event but through the parsed packet) becomes the packet's
 * forwarding view, over whose first 12 bytes each viewer in turn writes its own header and sends
 * (node-datachannel copies what it sends before returning), now or later for a NACK.
 */
import { EventEmitter } from 'node:events';
import type { Logger } from '#common/logger.ts';
import { isH264KeyframeStart, isVp8KeyframeStart } from '#protocol/rtp/keyframe-start.ts';
import { RtpPacketHistory, type HistoryEntry } from '#protocol/rtp/packet-history.ts';
import type { SenderReport } from '#protocol/rtp/rtcp.ts';
import type { RtpPacket } from '#protocol/rtp/rtp-packet.ts';
import { forwardingView } from '#protocol/rtp/rtp-rewriter.ts';
import type { IngestChoice } from '#protocol/sdp/sdp.ts';
import type { WebRtcIngest } from './webrtc-ingest.ts';

export type ForwardedTrack = 'video' | 'audio';

/** Packets kept per track for viewers' NACKs: a few seconds of either at browser rates. */
const HISTORY_PACKETS: Record<ForwardedTrack, number> = { video: 1024, audio: 256 };

/** What a forwarding viewer takes from the source. */
export interface ForwardingViewer {
  /**
   * A packet as the publisher sent it, and its forwarding view (rtp-rewriter.ts), which the viewer
   * rewrites in place and sends before returning (the next viewer rewrites it again); `keyframeStart`:
   * a decoder can start at it (video).
   */
  forward(track: ForwardedTrack, packet: RtpPacket, view: Buffer, keyframeStart: boolean): void;
  senderReport(track: ForwardedTrack, report: SenderReport): void;
  close(reason: string): void;
}

export interface RtpForwardingSourceEvents {
  closed: [reason: string];
}

export class RtpForwardingSource extends EventEmitter<RtpForwardingSourceEvents> {
  readonly streamKey: string;
  /** The codecs and payload types the publisher sends. */
  readonly published: IngestChoice;
  readonly #ingest: WebRtcIngest;
  readonly #log: Logger;
  /** Replaced, never changed, when a viewer comes or goes: a loop over it is not disturbed by a viewer leaving meanwhile. */
  #viewers: readonly ForwardingViewer[] = [];
  readonly #history: Record<ForwardedTrack, RtpPacketHistory> = { video: new RtpPacketHistory(HISTORY_PACKETS.video), audio: new RtpPacketHistory(HISTORY_PACKETS.audio) };
  readonly #isKeyframeStart: (payload: Buffer) => boolean;
  /** The RTP timestamp of the last video packet: a keyframe starts on a packet whose timestamp differs (a new access unit). */
  #lastVideoTimestamp: number | null = null;
  #duplicates = 0;
  #retransmitted = 0;
  #closed = false;

  constructor(streamKey: string, published: IngestChoice, ingest: WebRtcIngest, log: Logger) {
    super();
    this.streamKey = streamKey;
    this.published = published;
    this.#ingest = ingest;
    this.#log = log;
    this.#isKeyframeStart = published.video?.codec === 'vp8' ? isVp8KeyframeStart : isH264KeyframeStart;
    ingest.on('rtp', (track, packet, data) => this.#onRtp(track, packet, data));
    ingest.on('senderReport', (track, report) => this.#each((viewer) => viewer.senderReport(track, report)));
    ingest.on('closed', (reason) => this.close(`the publisher left (${reason})`));
  }

  get viewers(): number { return this.#viewers.length; }

  /**
   * Viewers now; packets sent again to viewers from here; the publisher's video loss, its repair
   * (the ingest's NACKs) and the access units lost all the same (dropped from the RTMP stream).
   */
  get stats(): { viewers: number; retransmittedToViewers: number; duplicates: number; publisherLoss: WebRtcIngest['videoLoss'] & { droppedAccessUnits: number } } {
    return {
      viewers: this.#viewers.length, retransmittedToViewers: this.#retransmitted, duplicates: this.#duplicates,
      publisherLoss: { ...this.#ingest.videoLoss, droppedAccessUnits: this.#ingest.stats.droppedAccessUnits },
    };
  }
  get closed(): boolean { return this.#closed; }

  /** Starts forwarding to a viewer, and asks the publisher for a keyframe for it to start at. */
  add(viewer: ForwardingViewer): void {
    if (this.#closed) return viewer.close('the publisher left');
    if (!this.#viewers.includes(viewer)) this.#viewers = [...this.#viewers, viewer];
    this.requestKeyframe('a viewer joined');
  }

  remove(viewer: ForwardingViewer): void {
    this.#viewers = this.#viewers.filter((v) => v !== viewer);
  }

  /** A PLI to the publisher (rate-limited by the ingest). */
  requestKeyframe(why: string): void {
    if (this.published.video) this.#ingest.requestKeyframe(why);
  }

  /**
   * The packets a viewer asks again for (publisher's sequence numbers) that are still here; video
   * ones that are not are asked of the publisher (which then sends them to every viewer).
   */
  retransmission(track: ForwardedTrack, sequenceNumbers: readonly number[]): HistoryEntry[] {
    const found: HistoryEntry[] = [];
    const missing: number[] = [];
    for (const s of sequenceNumbers) {
      const entry = this.#history[track].get(s);
      if (entry) found.push(entry);
      else missing.push(s);
    }
    if (track === 'video' && missing.length > 0) this.#ingest.requestRetransmission(missing);
    this.#retransmitted += found.length;
    return found;
  }

  close(reason: string): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#each((viewer) => viewer.close(reason));
    this.#viewers = [];
    this.#log.info('forwarding source closed', { stream: this.streamKey, reason, duplicates: this.#duplicates });
    this.emit('closed', reason);
  }

  #onRtp(track: ForwardedTrack, packet: RtpPacket, data: Buffer): void {
    const view = forwardingView(data, packet);
    if (!this.#history[track].add(view, packet)) {
      this.#duplicates++;
      return;
    }
    let keyframeStart = false;
    if (track === 'video') {
      keyframeStart = packet.timestamp !== this.#lastVideoTimestamp && this.#isKeyframeStart(packet.payload);
      this.#lastVideoTimestamp = packet.timestamp;
    }
    // A plain loop, no closure: this runs for every packet and viewer.
    const viewers = this.#viewers;
    for (let i = 0; i < viewers.length; i++) {
      const viewer = viewers[i]!;
      try {
        viewer.forward(track, packet, view, keyframeStart);
      } catch (error) {
        this.#failed(viewer, error);
      }
    }
  }

  /** Calls every viewer; one that throws is closed, the others go on. */
  #each(call: (viewer: ForwardingViewer) => void): void {
    for (const viewer of this.#viewers) {
      try {
        call(viewer);
      } catch (error) {
        this.#failed(viewer, error);
      }
    }
  }

  #failed(viewer: ForwardingViewer, error: unknown): void {
    this.#log.error('forwarding to a viewer failed', { stream: this.streamKey, error: (error as Error).stack ?? String(error) });
    this.remove(viewer);
    viewer.close('internal error');
  }
}
