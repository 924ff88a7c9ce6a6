/**
 * MPEG audio (MP3, Layer III) frame parsing, enough to stream an MP3 file as FLV audio tags as
 * Red5 did: find each frame, its length, sample rate, channel count and duration. ID3v2 tags
 * at the start and anything that is not a frame (ID3v1, junk) are skipped. Pure.
 */

export interface Mp3Frame {
  offset: number;
  length: number;
  sampleRate: number;
  channels: 1 | 2;
  /** PCM samples per channel this frame decodes to. */
  samples: number;
}

const BITRATES_V1 = [0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320] as const;
const BITRATES_V2 = [0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160] as const;
const SAMPLE_RATES: Readonly<Record<number, readonly number[]>> = { 3: [44100, 48000, 32000], 2: [22050, 24000, 16000], 0: [11025, 12000, 8000] };
const LAYER_3 = 1;
const ID3_HEADER = 10;

/** The frame header at `offset`, or null if there is none there. */
export function parseMp3FrameHeader(data: Buffer, offset: number): Mp3Frame | null {
  if (offset + 4 > data.length || data[offset] !== 0xff || (data[offset + 1]! & 0xe0) !== 0xe0) return null;
  const version = (data[offset + 1]! >> 3) & 3; // 3 MPEG-1, 2 MPEG-2, 0 MPEG-2.5, 1 reserved
  const layer = (data[offset + 1]! >> 1) & 3;
  const bitrateIndex = data[offset + 2]! >> 4;
  const rateIndex = (data[offset + 2]! >> 2) & 3;
  const padding = (data[offset + 2]! >> 1) & 1;
  const rates = SAMPLE_RATES[version];
  if (!rates || layer !== LAYER_3 || bitrateIndex === 0 || bitrateIndex === 15 || rateIndex === 3) return null;
  const sampleRate = rates[rateIndex]!;
  const v1 = version === 3;
  const bitrate = (v1 ? BITRATES_V1 : BITRATES_V2)[bitrateIndex]! * 1000;
  const length = Math.floor(((v1 ? 144 : 72) * bitrate) / sampleRate) + padding;
  return { offset, length, sampleRate, channels: (data[offset + 3]! >> 6) === 3 ? 1 : 2, samples: v1 ? 1152 : 576 };
}

/** Every complete frame in a whole MP3 file. */
export function parseMp3Frames(data: Buffer): Mp3Frame[] {
  let offset = 0;
  if (data.length >= ID3_HEADER && data.toString('latin1', 0, 3) === 'ID3') {
    // Syncsafe size: 4 bytes of 7 bits each; a footer adds 10 more.
    const size = ((data[6]! & 0x7f) << 21) | ((data[7]! & 0x7f) << 14) | ((data[8]! & 0x7f) << 7) | (data[9]! & 0x7f);
    offset = ID3_HEADER + size + (data[5]! & 0x10 ? ID3_HEADER : 0);
  }
  const frames: Mp3Frame[] = [];
  while (offset + 4 <= data.length) {
    const frame = parseMp3FrameHeader(data, offset);
    if (frame && offset + frame.length <= data.length) {
      frames.push(frame);
      offset += frame.length;
    } else {
      offset++;
    }
  }
  return frames;
}
