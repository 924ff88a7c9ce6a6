/**
 * H.264 depacketizer (RFC 6184, packetization-mode 1): reassembles the access units of one
 * SSRC from single NAL unit, STAP-A and FU-A packets, for the bridge to hand to RTMP as AVCC.
 * Packets go through a small reorder buffer first. An access unit ends at the marker bit, or
 * when the RTP timestamp changes (for senders that leave the marker out): FrameDepacketizer. One that lost a
 * packet, a fragment, or was malformed or too large is dropped whole and reported, so the
 * caller can ask the sender for a keyframe (RTCP PLI); until one arrives `awaitingKeyframe`
 * says that the pictures coming through refer to something missing.
 */

import { RtpError } from '../errors.ts';
import { requireInteger } from './bounds.ts';
import { h264PacketType, H264PacketType, parseFuA, parseStapA } from './h264-payload.ts';
import { isKeyframe } from './nal-units.ts';
import { FrameDepacketizer } from './frame-depacketizer.ts';
import type { RtpPacket } from './rtp-packet.ts';

export interface H264DepacketizerLimits {
  /** Largest access unit, in NAL unit bytes (default 8 MiB). */
  maxAccessUnitBytes: number;
  /** Most NAL units in one access unit (default 1024; real streams have a few slices). */
  maxNalUnits: number;
  /** Most RTP packets in one access unit (default 16384: 8 MiB in 512-byte fragments), which bounds the FU-A fragments held. */
  maxPacketsPerAccessUnit: number;
  /** How many sequence numbers past a gap to wait for it (default 16; 0: no reordering). Also the most packets held. */
  reorderWindow: number;
}

const DEFAULT_LIMITS: H264DepacketizerLimits = {
  maxAccessUnitBytes: 8 * 1024 * 1024,
  maxNalUnits: 1024,
  maxPacketsPerAccessUnit: 16384,
  reorderWindow: 16,
};

export interface H264AccessUnit {
  kind: 'access-unit';
  /** The RTP timestamp (90 kHz) shared by the access unit's packets. */
  timestamp: number;
  /** NAL units with their header byte; single and STAP-A units share memory with the pushed packets. */
  nalUnits: Buffer[];
  /** Holds an IDR picture. */
  keyframe: boolean;
}

/**
 * 'packet-loss': sequence numbers were missing around it (or the sender restarted them);
 * 'missing-fragment': an FU-A fragment sequence was incomplete; 'malformed': its payload did not
 * parse (RtpError code in `detail`); 'too-large': it broke a limit of H264DepacketizerLimits.
 */
export type H264DropReason = 'packet-loss' | 'missing-fragment' | 'malformed' | 'too-large';

export interface H264DroppedAccessUnit {
  kind: 'dropped';
  timestamp: number;
  reason: H264DropReason;
  detail: string;
}

export type H264DepacketizerEvent = H264AccessUnit | H264DroppedAccessUnit;

/** The access unit being received. */
interface Assembly {
  timestamp: number;
  nalUnits: Buffer[];
  bytes: number;
  packets: number;
  /** Fragments of an FU-A NAL unit started but not ended, and its NAL header byte. */
  fragments: Buffer[] | null;
  fragmentHeader: number;
  /** Already reported dropped; its remaining packets are skipped. */
  dropped: boolean;
}

export class H264Depacketizer extends FrameDepacketizer<Assembly, H264DepacketizerEvent> {
  readonly #limits: H264DepacketizerLimits;

  constructor(limits?: Partial<H264DepacketizerLimits>) {
    const all = { ...DEFAULT_LIMITS, ...limits };
    super(all.reorderWindow);
    this.#limits = all;
    requireInteger(this.#limits.maxAccessUnitBytes, 1, 2 ** 31, 'maxAccessUnitBytes');
    requireInteger(this.#limits.maxNalUnits, 1, 2 ** 20, 'maxNalUnits');
    requireInteger(this.#limits.maxPacketsPerAccessUnit, 1, 2 ** 20, 'maxPacketsPerAccessUnit');
  }

  protected take(open: Assembly | null, packet: RtpPacket, loss: string | null, events: H264DepacketizerEvent[]): Assembly {
    const assembly = open ?? { timestamp: packet.timestamp, nalUnits: [], bytes: 0, packets: 0, fragments: null, fragmentHeader: 0, dropped: false };
    if (loss !== null) this.#drop(assembly, 'packet-loss', loss, events);
    if (++assembly.packets > this.#limits.maxPacketsPerAccessUnit) {
      this.#drop(assembly, 'too-large', `access unit over ${this.#limits.maxPacketsPerAccessUnit} packets`, events);
    }
    if (!assembly.dropped) {
      try {
        this.#addPayload(assembly, packet.payload, events);
      } catch (err) {
        if (!(err instanceof RtpError)) throw err;
        this.#drop(assembly, 'malformed', err.code, events);
      }
    }
    return assembly;
  }

  protected dropLost(assembly: Assembly, detail: string, events: H264DepacketizerEvent[]): void {
    this.#drop(assembly, 'packet-loss', detail, events);
  }

  #addPayload(assembly: Assembly, payload: Buffer, events: H264DepacketizerEvent[]): void {
    const type = h264PacketType(payload);
    if (type === H264PacketType.FuA) return this.#addFragment(assembly, payload, events);
    if (assembly.fragments) return this.#drop(assembly, 'missing-fragment', 'FU-A without its end fragment', events);
    if (type >= 1 && type <= 23) return this.#addNalUnits(assembly, [payload], events);
    if (type === H264PacketType.StapA) return this.#addNalUnits(assembly, parseStapA(payload), events);
    throw new RtpError('h264.unsupported_packet_type', `H.264 RTP packet type ${type} (not packetization-mode 1)`);
  }

  #addFragment(assembly: Assembly, payload: Buffer, events: H264DepacketizerEvent[]): void {
    const fragment = parseFuA(payload);
    if (fragment.start) {
      if (assembly.fragments) return this.#drop(assembly, 'missing-fragment', 'FU-A without its end fragment', events);
      assembly.fragments = [];
      assembly.fragmentHeader = fragment.nalHeader;
    } else if (!assembly.fragments || fragment.nalHeader !== assembly.fragmentHeader) {
      return this.#drop(assembly, 'missing-fragment', 'FU-A without its start fragment', events);
    }
    if (!this.#fits(assembly, fragment.data.length, 0, events)) return;
    assembly.fragments!.push(fragment.data);
    assembly.bytes += fragment.data.length;
    if (!fragment.end) return;
    const nal = Buffer.concat([Buffer.from([assembly.fragmentHeader]), ...assembly.fragments!]);
    assembly.fragments = null;
    assembly.bytes -= nal.length - 1; // counted again as a whole NAL unit below
    this.#addNalUnits(assembly, [nal], events);
  }

  #addNalUnits(assembly: Assembly, nalUnits: Buffer[], events: H264DepacketizerEvent[]): void {
    const bytes = nalUnits.reduce((sum, nal) => sum + nal.length, 0);
    if (!this.#fits(assembly, bytes, nalUnits.length, events)) return;
    assembly.nalUnits.push(...nalUnits);
    assembly.bytes += bytes;
  }

  /** False (and the access unit dropped) when adding `bytes` and `count` NAL units would break a limit. */
  #fits(assembly: Assembly, bytes: number, count: number, events: H264DepacketizerEvent[]): boolean {
    const { maxAccessUnitBytes, maxNalUnits } = this.#limits;
    if (assembly.bytes + bytes > maxAccessUnitBytes) {
      this.#drop(assembly, 'too-large', `access unit over ${maxAccessUnitBytes} bytes`, events);
      return false;
    }
    if (assembly.nalUnits.length + count > maxNalUnits) {
      this.#drop(assembly, 'too-large', `access unit over ${maxNalUnits} NAL units`, events);
      return false;
    }
    return true;
  }

  /** Reports the access unit dropped (once) and lets go of what it held. */
  #drop(assembly: Assembly, reason: H264DropReason, detail: string, events: H264DepacketizerEvent[]): void {
    if (assembly.dropped) return;
    assembly.dropped = true;
    assembly.nalUnits = [];
    assembly.fragments = null;
    assembly.bytes = 0;
    this.keyframeNeeded = true;
    events.push({ kind: 'dropped', timestamp: assembly.timestamp, reason, detail });
  }

  protected finish(assembly: Assembly, events: H264DepacketizerEvent[]): void {
    if (assembly.fragments) this.#drop(assembly, 'missing-fragment', 'FU-A without its end fragment', events);
    if (assembly.dropped || assembly.nalUnits.length === 0) return;
    const keyframe = isKeyframe(assembly.nalUnits);
    if (keyframe) this.keyframeNeeded = false;
    events.push({ kind: 'access-unit', timestamp: assembly.timestamp, nalUnits: assembly.nalUnits, keyframe });
  }
}
