/**
 * IVF, the minimal container libvpx writes (a 32-byte file header, then each frame behind a
 * 12-byte header with its size and timestamp): how VP8 frames reach ffmpeg's stdin with their
 * times, and how the VP8 test fixtures are read. Pure: values in, bytes out, and back.
 */
import { ProtocolError } from '../errors.ts';

const FILE_HEADER_SIZE = 32;
const FRAME_HEADER_SIZE = 12;
const SIGNATURE = 'DKIF';

export interface IvfStreamInfo {
  /** Four characters: 'VP80' for VP8. */
  fourcc: string;
  width: number;
  height: number;
  /** Timestamps count units of timebaseNumerator/timebaseDenominator seconds (1/1000: milliseconds). */
  timebaseDenominator: number;
  timebaseNumerator: number;
}

export interface IvfFrame {
  data: Buffer;
  timestamp: number;
}

/** The file header; the frame count is left 0, as a live stream has no end to count to. */
export function ivfFileHeader(info: IvfStreamInfo): Buffer {
  if (!/^[\x20-\x7e]{4}$/.test(info.fourcc)) throw new RangeError(`IVF fourcc must be 4 characters, got ${JSON.stringify(info.fourcc)}`);
  const header = Buffer.alloc(FILE_HEADER_SIZE);
  header.write(SIGNATURE, 0, 'latin1');
  header.writeUInt16LE(0, 4); // version
  header.writeUInt16LE(FILE_HEADER_SIZE, 6);
  header.write(info.fourcc, 8, 'latin1');
  header.writeUInt16LE(info.width, 12);
  header.writeUInt16LE(info.height, 14);
  header.writeUInt32LE(info.timebaseDenominator, 16);
  header.writeUInt32LE(info.timebaseNumerator, 20);
  return header;
}

/** One frame with its header (timestamps are 64-bit; negative ones are not allowed). */
export function ivfFrame(frame: IvfFrame): Buffer {
  const header = Buffer.alloc(FRAME_HEADER_SIZE);
  header.writeUInt32LE(frame.data.length, 0);
  header.writeBigUInt64LE(BigInt(frame.timestamp), 4);
  return Buffer.concat([header, frame.data]);
}

/** A whole IVF file read back; throws ProtocolError ('ivf.*' codes) when it is not one or is cut short. */
export function readIvf(file: Buffer): { info: IvfStreamInfo; frames: IvfFrame[] } {
  if (file.length < FILE_HEADER_SIZE || file.toString('latin1', 0, 4) !== SIGNATURE) throw new ProtocolError('ivf.not_ivf', 'not an IVF file');
  const headerSize = file.readUInt16LE(6);
  const info: IvfStreamInfo = {
    fourcc: file.toString('latin1', 8, 12),
    width: file.readUInt16LE(12),
    height: file.readUInt16LE(14),
    timebaseDenominator: file.readUInt32LE(16),
    timebaseNumerator: file.readUInt32LE(20),
  };
  const frames: IvfFrame[] = [];
  for (let offset = headerSize; offset < file.length; ) {
    if (offset + FRAME_HEADER_SIZE > file.length) throw new ProtocolError('ivf.truncated', `IVF frame header cut short at ${offset}`);
    const size = file.readUInt32LE(offset);
    const start = offset + FRAME_HEADER_SIZE;
    if (start + size > file.length) throw new ProtocolError('ivf.truncated', `IVF frame of ${size} bytes cut short at ${offset}`);
    frames.push({ data: file.subarray(start, start + size), timestamp: Number(file.readBigUInt64LE(offset + 4)) });
    offset = start + size;
  }
  return { info, frames };
}
