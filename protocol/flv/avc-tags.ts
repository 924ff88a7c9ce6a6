/**
 * H.264 access units (bare NAL units, as RTP carries them) turned into FLV/RTMP video tag bodies:
 * an AVC sequence header (AVCDecoderConfigurationRecord) whenever the SPS/PPS first appear or
 * change, then one AVCC frame per access unit, its parameter sets kept in band as ffmpeg's FLV
 * muxer keeps them (a decoder that missed a changed header, such as ffmpeg with `-fflags nobuffer`
 * when a browser changes resolution, recovers at the next keyframe). This is how a browser's WebRTC video reaches RTMP
 * players and the FLV recorder without re-encoding. Pure: access units in, tag bodies out.
 */
import { buildAvcDecoderConfigurationRecord } from '../rtp/avc-config.ts';
import { findParameterSets, isKeyframe, joinAvcc, nalUnitType, NalUnitType } from '../rtp/nal-units.ts';
import { VideoCodec } from './codecs.ts';

const FRAME_KEY = 1;
const FRAME_INTER = 2;
const AVC_SEQUENCE_HEADER = 0;
const AVC_NALU = 1;

function videoTagHeader(frameType: number, packetType: number, compositionTimeMs: number): Buffer {
  const header = Buffer.alloc(5);
  header[0] = (frameType << 4) | VideoCodec.AVC;
  header[1] = packetType;
  header.writeIntBE(compositionTimeMs, 2, 3);
  return header;
}

/** The body of an AVC sequence header tag for an AVCDecoderConfigurationRecord. */
export function avcSequenceHeaderTag(record: Buffer): Buffer {
  return Buffer.concat([videoTagHeader(FRAME_KEY, AVC_SEQUENCE_HEADER, 0), record]);
}

/** The body of an AVC frame tag: AVCC NAL units with 4-byte lengths. */
export function avcFrameTag(nalUnits: readonly Buffer[], keyframe: boolean, compositionTimeMs = 0): Buffer {
  return Buffer.concat([videoTagHeader(keyframe ? FRAME_KEY : FRAME_INTER, AVC_NALU, compositionTimeMs), joinAvcc(nalUnits, 4)]);
}

export interface AvcTag {
  body: Buffer;
  keyframe: boolean;
  sequenceHeader: boolean;
}

/** NAL units that are no part of a picture: a frame of only these is not written. */
const NOT_PICTURE = new Set<number>([NalUnitType.Sps, NalUnitType.Pps, NalUnitType.AccessUnitDelimiter]);

export class AvcTagWriter {
  #sps: Buffer[] = [];
  #pps: Buffer[] = [];
  #framesBeforeConfig = 0;

  /** Access units dropped because no SPS/PPS had been seen yet (the caller should ask for a keyframe). */
  get framesBeforeConfig(): number { return this.#framesBeforeConfig; }

  get hasConfig(): boolean { return this.#sps.length > 0 && this.#pps.length > 0; }

  /** Tags for one access unit: a new sequence header first when its SPS/PPS are new, then the frame. */
  push(nalUnits: readonly Buffer[]): AvcTag[] {
    const tags: AvcTag[] = [];
    const { sps, pps } = findParameterSets([...nalUnits]);
    if (sps.length > 0 && pps.length > 0 && (!sameUnits(sps, this.#sps) || !sameUnits(pps, this.#pps))) {
      this.#sps = sps.map((n) => Buffer.from(n));
      this.#pps = pps.map((n) => Buffer.from(n));
      tags.push({ body: avcSequenceHeaderTag(buildAvcDecoderConfigurationRecord(this.#sps, this.#pps)), keyframe: true, sequenceHeader: true });
    }
    if (!this.hasConfig) {
      this.#framesBeforeConfig++;
      return tags;
    }
    // Access unit delimiters mean nothing in FLV, where a tag is an access unit.
    const frame = nalUnits.filter((nal) => nalUnitType(nal) !== NalUnitType.AccessUnitDelimiter);
    if (frame.some((nal) => !NOT_PICTURE.has(nalUnitType(nal)))) tags.push({ body: avcFrameTag(frame, isKeyframe(frame)), keyframe: isKeyframe(frame), sequenceHeader: false });
    return tags;
  }
}

function sameUnits(a: readonly Buffer[], b: readonly Buffer[]): boolean {
  return a.length === b.length && a.every((unit, i) => unit.equals(b[i]!));
}
