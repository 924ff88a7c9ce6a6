/**
 * What the video depacketizers (H.264, VP8) share: the packets of one SSRC put back in order
 * (RtpReorderBuffer); one frame (access unit) open at a time, made of the packets with its RTP
 * timestamp and ended by the marker bit or by a new timestamp (for senders that leave the marker
 * out); loss blamed on the frame it may have hurt; and the "awaiting a keyframe" state. A codec's
 * subclass opens frames, adds each packet's payload, drops and finishes them.
 */

import { type OrderedRtpPacket, RtpReorderBuffer } from './reorder-buffer.ts';
import type { RtpPacket } from './rtp-packet.ts';

/** The frame being received, as the base sees it. */
export interface OpenFrame {
  timestamp: number;
  /** Already reported dropped; its remaining packets are skipped. */
  dropped: boolean;
}

/** What went missing right before a packet, or null when nothing did. */
function describeGap({ lostBefore, restarted }: OrderedRtpPacket): string | null {
  if (restarted) return 'the sender restarted its sequence numbers';
  return lostBefore > 0 ? `${lostBefore} packets lost` : null;
}

export abstract class FrameDepacketizer<Frame extends OpenFrame, Event> {
  readonly #reorder: RtpReorderBuffer;
  #current: Frame | null = null;
  /** Why the next frame may miss its beginning (packets lost before a padding packet), or null. */
  #lossBeforeNext: string | null = null;
  /** See awaitingKeyframe; the subclass sets it on a drop and clears it on a keyframe. */
  protected keyframeNeeded = true;

  /** `reorderWindow`: how many sequence numbers past a gap to wait for it (0: no reordering). */
  constructor(reorderWindow: number) {
    this.#reorder = new RtpReorderBuffer(reorderWindow);
  }

  /**
   * True from the start and after a frame that others depend on was lost, until a keyframe comes
   * out: the time to send PLIs (rate-limited) and, for a decoder that cannot conceal, to skip what
   * comes out.
   */
  get awaitingKeyframe(): boolean {
    return this.keyframeNeeded;
  }

  /** Duplicate, late and lost packet counts of the reorder buffer. */
  get stats(): RtpReorderBuffer['stats'] {
    return this.#reorder.stats;
  }

  /**
   * Takes one RTP packet of the stream (one SSRC, the codec's payload type); returns the frames
   * completed and dropped, in order. Never throws on payload content: a bad payload drops its frame.
   */
  push(packet: RtpPacket): Event[] {
    const events: Event[] = [];
    for (const ordered of this.#reorder.push(packet)) this.#receive(ordered, events);
    return events;
  }

  /**
   * Stops waiting for missing packets: releases the held ones, the gaps counting as loss. For a
   * caller's timer when a stream stalls behind a gap. A frame whose marker has not been seen stays open.
   */
  flush(): Event[] {
    const events: Event[] = [];
    for (const ordered of this.#reorder.flush()) this.#receive(ordered, events);
    return events;
  }

  /**
   * Adds a packet to `open` (the frame with its timestamp) or, when null, to a frame it opens;
   * returns that frame. `loss` says what went missing right before the packet (its beginning or
   * middle, or whole frames before it), or null.
   */
  protected abstract take(open: Frame | null, packet: RtpPacket, loss: string | null, events: Event[]): Frame;
  /** Reports the frame dropped for `detail` (once) and lets go of what it held. */
  protected abstract dropLost(frame: Frame, detail: string, events: Event[]): void;
  /** The frame is over (marker or a new timestamp): reports it whole, or what dropping it means. */
  protected abstract finish(frame: Frame, events: Event[]): void;

  #receive(ordered: OrderedRtpPacket, events: Event[]): void {
    const { packet } = ordered;
    const gap = describeGap(ordered);
    // Padding-only packets (bandwidth probes) take a sequence number but carry no media, and say
    // nothing of frame boundaries: lost packets before one may belong to the open frame or the next.
    if (packet.payload.length === 0) {
      if (gap === null) return;
      if (this.#current) this.dropLost(this.#current, gap, events);
      this.#lossBeforeNext = gap;
      return;
    }
    const loss = gap ?? this.#lossBeforeNext;
    this.#lossBeforeNext = null;
    let open = this.#current;
    if (open && open.timestamp !== packet.timestamp) {
      // The missing packets may have been this frame's tail (and its marker)...
      if (loss !== null) this.dropLost(open, loss, events);
      this.#end(open, events);
      open = null;
    }
    // ...and are part of the packet's frame: its middle, or its beginning if it starts here.
    const frame = this.take(open, packet, loss, events);
    this.#current = frame;
    if (packet.marker) this.#end(frame, events);
  }

  #end(frame: Frame, events: Event[]): void {
    this.#current = null;
    this.finish(frame, events);
  }
}
