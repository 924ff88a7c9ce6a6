/**
 * H.264 for a WebRTC feed: AVCC frames (MediaPacket.frame) to RTP payloads once per stream, with the
 * parameter sets of the latest sequence header put before every keyframe (a browser joining or
 * recovering needs them in band), cut by packetizeH264 into payloads of at most 1200 bytes, timed at
 * 90 kHz by presentation time. Each viewer's egress only adds its RTP headers.
 */
import type { MediaFrame } from '#common/media/media-frame.ts';
import { parseAvcDecoderConfigurationRecord, type AvcDecoderConfig } from '#protocol/rtp/avc-config.ts';
import { packetizeH264, type H264RtpPayload } from '#protocol/rtp/h264-packetizer.ts';
import { NalUnitType, nalUnitType, splitAvcc } from '#protocol/rtp/nal-units.ts';

const VIDEO_MS_TO_RTP = 90;
/** RTP payload room: well under a 1500-byte MTU after IP/UDP, RTP, SRTP and header extensions. */
const MAX_RTP_PAYLOAD = 1200;

/** One H.264 access unit ready to send: its RTP payloads in order (the last one carries the marker). */
export interface FeedVideoFrame {
  readonly payloads: readonly H264RtpPayload[];
  /** 90 kHz: the presentation time on the stream's timeline. */
  readonly rtpTimestamp: number;
  readonly isKeyframe: boolean;
  readonly bytes: number;
}

/** AVCC frames to RTP payloads with the parameter sets of the latest sequence header before each keyframe. */
export class H264Framer {
  #config: AvcDecoderConfig | null = null;

  configure(record: Buffer): void {
    this.#config = parseAvcDecoderConfigurationRecord(record);
  }

  /** The frame's RTP form, or null before the first sequence header. Throws ProtocolError for a malformed frame. */
  frame(frame: MediaFrame): FeedVideoFrame | null {
    const config = this.#config;
    if (!config) return null;
    let nalUnits = splitAvcc(frame.payload, config.nalLengthSize);
    if (frame.isKeyframe && !nalUnits.some((nal) => nalUnitType(nal) === NalUnitType.Sps)) nalUnits = [...config.sps, ...config.pps, ...nalUnits];
    const payloads = packetizeH264(nalUnits, MAX_RTP_PAYLOAD);
    return {
      payloads,
      rtpTimestamp: ((frame.timestamp + frame.compositionTimeOffset) * VIDEO_MS_TO_RTP) >>> 0,
      isKeyframe: frame.isKeyframe,
      bytes: payloads.reduce((sum, { payload }) => sum + payload.length, 0),
    };
  }
}
