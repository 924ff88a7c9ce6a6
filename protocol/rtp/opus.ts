/**
 * Opus over RTP (RFC 7587): each RTP payload is exactly one Opus packet, the RTP clock is
 * always 48 kHz, and the timestamp advances by the packet's duration. The duration comes from
 * the packet's TOC byte and frame count (RFC 6716 3.1-3.2), which is what the bridge needs to
 * time audio going to RTMP and to stamp audio coming from it.
 */

import { RtpError } from '../errors.ts';
import { requireBytes } from './bounds.ts';

/** RFC 7587 4.1: the RTP clock rate of Opus, whatever the sampling rate of the audio. */
export const OPUS_RTP_CLOCK_RATE = 48000;
/** RFC 6716 3.2.5: a packet holds at most 120 ms of audio. */
const MAX_PACKET_SAMPLES = 5760;

export type OpusMode = 'silk' | 'hybrid' | 'celt';
export type OpusBandwidth = 'narrowband' | 'mediumband' | 'wideband' | 'superwideband' | 'fullband';

export interface OpusToc {
  /** 0-31: mode, bandwidth and frame size together (RFC 6716 table 2). */
  config: number;
  mode: OpusMode;
  bandwidth: OpusBandwidth;
  /** Samples per frame at 48 kHz: 120 (2.5 ms) to 2880 (60 ms). */
  frameSamples: number;
  stereo: boolean;
  /** 0: one frame, 1: two equal frames, 2: two frames of different sizes, 3: a count follows. */
  frameCountCode: 0 | 1 | 2 | 3;
}

/** Per group of configs (RFC 6716 table 2): mode, bandwidth, and the frame sizes its configs step through. */
const CONFIG_GROUPS: readonly { mode: OpusMode; bandwidth: OpusBandwidth; frameSamples: readonly number[] }[] = [
  { mode: 'silk', bandwidth: 'narrowband', frameSamples: [480, 960, 1920, 2880] },
  { mode: 'silk', bandwidth: 'mediumband', frameSamples: [480, 960, 1920, 2880] },
  { mode: 'silk', bandwidth: 'wideband', frameSamples: [480, 960, 1920, 2880] },
  { mode: 'hybrid', bandwidth: 'superwideband', frameSamples: [480, 960] },
  { mode: 'hybrid', bandwidth: 'fullband', frameSamples: [480, 960] },
  { mode: 'celt', bandwidth: 'narrowband', frameSamples: [120, 240, 480, 960] },
  { mode: 'celt', bandwidth: 'wideband', frameSamples: [120, 240, 480, 960] },
  { mode: 'celt', bandwidth: 'superwideband', frameSamples: [120, 240, 480, 960] },
  { mode: 'celt', bandwidth: 'fullband', frameSamples: [120, 240, 480, 960] },
];

/** Reads a TOC byte (the first byte of every Opus packet). */
export function parseOpusToc(toc: number): OpusToc {
  const config = toc >> 3;
  let first = 0;
  for (const group of CONFIG_GROUPS) {
    if (config < first + group.frameSamples.length) {
      return {
        config,
        mode: group.mode,
        bandwidth: group.bandwidth,
        frameSamples: group.frameSamples[config - first]!,
        stereo: (toc & 0x04) !== 0,
        frameCountCode: (toc & 0x03) as OpusToc['frameCountCode'],
      };
    }
    first += group.frameSamples.length;
  }
  throw new RtpError('opus.bad_toc', `TOC config ${config}`); // unreachable: the groups cover 0-31
}

/**
 * Samples (at 48 kHz, the RTP timestamp step) in an Opus packet: frames times frame size.
 * Throws RtpError 'opus.empty_packet' for an empty packet and 'opus.bad_frame_count' for a
 * code 3 packet without its count byte, with a count of zero, or longer than 120 ms.
 */
export function opusPacketSamples(packet: Buffer): number {
  requireBytes(packet, 0, 1, 'opus.empty_packet', 'Opus TOC byte');
  const toc = parseOpusToc(packet[0]!);
  if (toc.frameCountCode === 0) return toc.frameSamples;
  if (toc.frameCountCode !== 3) return 2 * toc.frameSamples;
  requireBytes(packet, 1, 1, 'opus.bad_frame_count', 'Opus frame count byte');
  const frames = packet[1]! & 0x3f;
  const samples = frames * toc.frameSamples;
  if (frames === 0 || samples > MAX_PACKET_SAMPLES) {
    throw new RtpError('opus.bad_frame_count', `${frames} frames of ${toc.frameSamples} samples in one packet`);
  }
  return samples;
}

/** The Opus packet in an RTP payload (the payload itself); throws RtpError 'opus.empty_packet' when empty. */
export function opusPacketFromRtpPayload(payload: Buffer): Buffer {
  requireBytes(payload, 0, 1, 'opus.empty_packet', 'Opus packet in RTP payload');
  return payload;
}

/** The RTP payload for an Opus packet (the packet itself); throws RtpError 'opus.empty_packet' when empty. */
export function rtpPayloadFromOpusPacket(packet: Buffer): Buffer {
  requireBytes(packet, 0, 1, 'opus.empty_packet', 'Opus packet');
  return packet;
}

/**
 * Times for a run of Opus packets whose source is only millisecond-accurate (RTMP timestamps,
 * ffmpeg's granules from millisecond input): a packet within half its duration of where the
 * previous one ended follows on from it exactly, so a receiver's jitter buffer sees contiguous
 * audio; farther away it is a real hole (or overlap) and keeps its own time.
 */
export class ContiguousOpusTimes {
  #nextTime: number | null = null;

  /** The 48 kHz time to send `packet` at, given the time its source says. */
  place(packet: Buffer, time48k: number): number {
    const samples = opusPacketSamples(packet);
    const time = this.#nextTime !== null && Math.abs(time48k - this.#nextTime) < samples / 2 ? this.#nextTime : time48k;
    this.#nextTime = time + samples;
    return time;
  }
}
