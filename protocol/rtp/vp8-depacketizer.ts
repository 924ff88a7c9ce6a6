/**
 * VP8 depacketizer (RFC 7741): reads the VP8 payload descriptor in front of every RTP payload
 * (X/N/S/PID, then the I/L/T/K extensions and a 7- or 15-bit picture id) and reassembles the
 * frames of one SSRC, for a browser that sends VP8 only (the edge transcodes it to H.264). Packets
 * go through a small reorder buffer first. A frame starts with the packet whose S bit is set on
 * partition 0, and ends at the marker bit or when the RTP timestamp changes (FrameDepacketizer). A frame whose start,
 * middle or end went missing, that did not parse or was too large is dropped whole and reported
 * (the event shape of H264Depacketizer); from then until a keyframe (P bit clear in the VP8
 * payload header), `awaitingKeyframe` holds and the frames that come out say they refer to
 * something lost. A lost non-reference frame (N bit) costs only itself.
 */

import { RtpError } from '../errors.ts';
import { requireBytes, requireInteger } from './bounds.ts';
import { FrameDepacketizer } from './frame-depacketizer.ts';
import type { RtpPacket } from './rtp-packet.ts';

/** The payload descriptor of one VP8 RTP packet (RFC 7741 section 4.2). */
export interface Vp8PayloadDescriptor {
  /** N: a non-reference frame, which no other frame is predicted from. */
  nonReference: boolean;
  /** S: the packet starts a VP8 partition. */
  startOfPartition: boolean;
  /** PID: the partition the packet belongs to (0-7). */
  partitionIndex: number;
  /** I: the picture id, with its width (7 or 15 bits; M bit); null when absent. */
  pictureId: number | null;
  pictureIdBits: 7 | 15 | null;
  /** L: TL0PICIDX, the temporal layer 0 picture index; null when absent. */
  tl0PicIndex: number | null;
  /** T: TID, the temporal layer, and Y, layer sync; null when absent. */
  temporalLayer: number | null;
  layerSync: boolean;
  /** K: KEYIDX, the temporal key frame index; null when absent. */
  keyIndex: number | null;
  /** Descriptor bytes; the VP8 payload follows. */
  size: number;
}

/** Parses the descriptor at the start of a VP8 RTP payload; throws RtpError ('vp8.*') when it is cut short. */
export function parseVp8PayloadDescriptor(payload: Buffer): Vp8PayloadDescriptor {
  requireBytes(payload, 0, 1, 'vp8.truncated', 'VP8 payload descriptor');
  const first = payload[0]!;
  const descriptor: Vp8PayloadDescriptor = {
    nonReference: (first & 0x20) !== 0,
    startOfPartition: (first & 0x10) !== 0,
    partitionIndex: first & 0x07,
    pictureId: null, pictureIdBits: null, tl0PicIndex: null, temporalLayer: null, layerSync: false, keyIndex: null,
    size: 1,
  };
  if (first & 0x80) {
    requireBytes(payload, 1, 1, 'vp8.truncated', 'VP8 extension bits');
    const extensions = payload[1]!;
    let offset = 2;
    if (extensions & 0x80) {
      requireBytes(payload, offset, 1, 'vp8.truncated', 'VP8 picture id');
      if (payload[offset]! & 0x80) {
        requireBytes(payload, offset, 2, 'vp8.truncated', 'VP8 15-bit picture id');
        descriptor.pictureId = payload.readUInt16BE(offset) & 0x7fff;
        descriptor.pictureIdBits = 15;
        offset += 2;
      } else {
        descriptor.pictureId = payload[offset]!;
        descriptor.pictureIdBits = 7;
        offset += 1;
      }
    }
    if (extensions & 0x40) {
      requireBytes(payload, offset, 1, 'vp8.truncated', 'VP8 TL0PICIDX');
      descriptor.tl0PicIndex = payload[offset++]!;
    }
    if (extensions & 0x30) {
      requireBytes(payload, offset, 1, 'vp8.truncated', 'VP8 TID/KEYIDX');
      const byte = payload[offset++]!;
      if (extensions & 0x20) {
        descriptor.temporalLayer = byte >> 6;
        descriptor.layerSync = (byte & 0x20) !== 0;
      }
      if (extensions & 0x10) descriptor.keyIndex = byte & 0x1f;
    }
    descriptor.size = offset;
  }
  return descriptor;
}

/** The size a VP8 keyframe declares (RFC 6386 9.1), or null for an interframe; throws RtpError when a keyframe's header is broken. */
export function vp8FrameSize(frame: Buffer): { width: number; height: number } | null {
  requireBytes(frame, 0, 3, 'vp8.truncated', 'VP8 frame tag');
  if (!isVp8Keyframe(frame)) return null;
  requireBytes(frame, 0, 10, 'vp8.truncated', 'VP8 keyframe header');
  if (frame[3] !== 0x9d || frame[4] !== 0x01 || frame[5] !== 0x2a) throw new RtpError('vp8.bad_start_code', 'VP8 keyframe without its start code 9d 01 2a');
  const width = frame.readUInt16LE(6) & 0x3fff;
  const height = frame.readUInt16LE(8) & 0x3fff;
  if (width === 0 || height === 0) throw new RtpError('vp8.bad_size', `VP8 keyframe of ${width}x${height}`);
  return { width, height };
}

/** The P bit of the frame tag (the VP8 payload header on the first partition): clear on a keyframe. */
export function isVp8Keyframe(frame: Buffer): boolean {
  return frame.length > 0 && (frame[0]! & 0x01) === 0;
}

export interface Vp8DepacketizerLimits {
  /** Largest frame, in bytes (default 8 MiB). */
  maxFrameBytes: number;
  /** Most RTP packets in one frame (default 16384). */
  maxPacketsPerFrame: number;
  /** How many sequence numbers past a gap to wait for it (default 16; 0: no reordering). Also the most packets held. */
  reorderWindow: number;
}

const DEFAULT_LIMITS: Vp8DepacketizerLimits = { maxFrameBytes: 8 * 1024 * 1024, maxPacketsPerFrame: 16384, reorderWindow: 16 };

export interface Vp8Frame {
  kind: 'frame';
  /** The RTP timestamp (90 kHz) shared by the frame's packets. */
  timestamp: number;
  /** The frame as a VP8 decoder (or IVF) takes it: the payloads without their descriptors. */
  data: Buffer;
  keyframe: boolean;
  /** A keyframe's picture size; null for interframes. */
  size: { width: number; height: number } | null;
  pictureId: number | null;
  /** A frame before it was lost and no keyframe came since: decoding it shows corruption. */
  referencesLost: boolean;
}

/**
 * 'packet-loss': sequence numbers were missing inside or around it (or the sender restarted them);
 * 'missing-start': its first packet (S bit, partition 0) never came; 'malformed': a descriptor or
 * the frame header did not parse (RtpError code in `detail`); 'too-large': it broke a limit.
 */
export type Vp8DropReason = 'packet-loss' | 'missing-start' | 'malformed' | 'too-large';

export interface Vp8DroppedFrame {
  kind: 'dropped';
  timestamp: number;
  reason: Vp8DropReason;
  detail: string;
}

export type Vp8DepacketizerEvent = Vp8Frame | Vp8DroppedFrame;

/** The frame being received. */
interface Assembly {
  timestamp: number;
  parts: Buffer[];
  bytes: number;
  packets: number;
  pictureId: number | null;
  pictureIdBits: 7 | 15 | null;
  /** Some packet of it had the N bit: losing it harms no other frame. */
  nonReference: boolean;
  /** Already reported dropped; its remaining packets are skipped. */
  dropped: boolean;
}

export class Vp8Depacketizer extends FrameDepacketizer<Assembly, Vp8DepacketizerEvent> {
  readonly #limits: Vp8DepacketizerLimits;
  /** The picture id of the last frame (received or dropped), to tell whether whole frames went missing after it. */
  #lastPictureId: Pick<Assembly, 'pictureId' | 'pictureIdBits'> | null = null;

  constructor(limits?: Partial<Vp8DepacketizerLimits>) {
    const all = { ...DEFAULT_LIMITS, ...limits };
    super(all.reorderWindow);
    this.#limits = all;
    requireInteger(this.#limits.maxFrameBytes, 1, 2 ** 31, 'maxFrameBytes');
    requireInteger(this.#limits.maxPacketsPerFrame, 1, 2 ** 20, 'maxPacketsPerFrame');
  }

  protected take(open: Assembly | null, packet: RtpPacket, loss: string | null, events: Vp8DepacketizerEvent[]): Assembly {
    let descriptor: Vp8PayloadDescriptor;
    try {
      descriptor = parseVp8PayloadDescriptor(packet.payload);
    } catch (err) {
      if (!(err instanceof RtpError)) throw err;
      const assembly = open ?? this.#open(packet.timestamp, null);
      this.#drop(assembly, 'malformed', err.code, events);
      return assembly;
    }
    const starts = descriptor.startOfPartition && descriptor.partitionIndex === 0;
    let assembly = open;
    if (!assembly) {
      assembly = this.#open(packet.timestamp, descriptor);
      if (!starts) this.#drop(assembly, 'missing-start', loss ?? 'the first packet had no S bit on partition 0', events);
      else if (loss !== null && !this.#followsLastFrame(descriptor)) this.keyframeNeeded = true; // whole frames may be gone
    } else if (loss !== null) {
      this.#drop(assembly, 'packet-loss', loss, events); // its middle
    }
    if (descriptor.nonReference) assembly.nonReference = true;
    if (++assembly.packets > this.#limits.maxPacketsPerFrame) {
      this.#drop(assembly, 'too-large', `frame over ${this.#limits.maxPacketsPerFrame} packets`, events);
    }
    const data = packet.payload.subarray(descriptor.size);
    if (!assembly.dropped && assembly.bytes + data.length > this.#limits.maxFrameBytes) {
      this.#drop(assembly, 'too-large', `frame over ${this.#limits.maxFrameBytes} bytes`, events);
    }
    if (!assembly.dropped) {
      assembly.parts.push(data);
      assembly.bytes += data.length;
    }
    return assembly;
  }

  protected dropLost(assembly: Assembly, detail: string, events: Vp8DepacketizerEvent[]): void {
    this.#drop(assembly, 'packet-loss', detail, events);
  }

  #open(timestamp: number, descriptor: Vp8PayloadDescriptor | null): Assembly {
    return {
      timestamp, parts: [], bytes: 0, packets: 0, dropped: false,
      pictureId: descriptor?.pictureId ?? null, pictureIdBits: descriptor?.pictureIdBits ?? null, nonReference: false,
    };
  }

  /**
   * Whether a frame starting cleanly after lost packets is the one right after the last frame (by
   * picture id): then no whole frame went missing between them (the last one, if hurt, was dropped).
   */
  #followsLastFrame(descriptor: Vp8PayloadDescriptor): boolean {
    const last = this.#lastPictureId;
    if (last?.pictureId == null || descriptor.pictureId === null || last.pictureIdBits !== descriptor.pictureIdBits) return false;
    return descriptor.pictureId === (last.pictureId + 1) % 2 ** descriptor.pictureIdBits!;
  }

  /** Reports the frame dropped (once) and lets go of what it held. */
  #drop(assembly: Assembly, reason: Vp8DropReason, detail: string, events: Vp8DepacketizerEvent[]): void {
    if (assembly.dropped) return;
    assembly.dropped = true;
    assembly.parts = [];
    assembly.bytes = 0;
    events.push({ kind: 'dropped', timestamp: assembly.timestamp, reason, detail });
  }

  protected finish(assembly: Assembly, events: Vp8DepacketizerEvent[]): void {
    this.#lastPictureId = { pictureId: assembly.pictureId, pictureIdBits: assembly.pictureIdBits };
    // A dropped frame hurts the frames after it unless it was known to be a non-reference frame.
    if (assembly.dropped) {
      if (!assembly.nonReference) this.keyframeNeeded = true;
      return;
    }
    const data = assembly.parts.length === 1 ? assembly.parts[0]! : Buffer.concat(assembly.parts);
    let size: Vp8Frame['size'];
    try {
      size = vp8FrameSize(data);
    } catch (err) {
      if (!(err instanceof RtpError)) throw err;
      this.keyframeNeeded = true;
      events.push({ kind: 'dropped', timestamp: assembly.timestamp, reason: 'malformed', detail: err.code });
      return;
    }
    const keyframe = size !== null;
    if (keyframe) this.keyframeNeeded = false;
    events.push({ kind: 'frame', timestamp: assembly.timestamp, data, keyframe, size, pictureId: assembly.pictureId, referencesLost: this.keyframeNeeded });
  }
}
