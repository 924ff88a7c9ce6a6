// IVF tests: our header and frame bytes against the IVF ffmpeg's libvpx wrote (test/fixtures/rtp/vp8.ivf),
// a round trip through readIvf, and cut-short files as ProtocolErrors with a code.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ProtocolError } from '#protocol/errors.ts';
import { ivfFileHeader, ivfFrame, readIvf } from '#protocol/ivf/ivf.ts';
import { fixture } from '../fixtures/rtp/captures.ts';

const file = fixture('vp8.ivf');
const FILE_HEADER_SIZE = 32;
/** Where ffmpeg's header holds the frame count (ours leaves it 0: a live stream has no end). */
const FRAME_COUNT_OFFSET = 24;

test("ffmpeg's IVF reads back: 10 VP8 frames of 300x200 in 1/10 s ticks; ours writes the same bytes for them", () => {
  const { info, frames } = readIvf(file);
  assert.deepEqual(info, { fourcc: 'VP80', width: 300, height: 200, timebaseDenominator: 10, timebaseNumerator: 1 });
  assert.deepEqual(frames.map((f) => f.timestamp), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  assert.ok(ivfFileHeader(info).subarray(0, FRAME_COUNT_OFFSET).equals(file.subarray(0, FRAME_COUNT_OFFSET)));
  const rewritten = Buffer.concat([file.subarray(0, FILE_HEADER_SIZE), ...frames.map((frame) => ivfFrame(frame))]);
  assert.ok(rewritten.equals(file), 'frame headers and data as ffmpeg wrote them');
});

test('a round trip keeps millisecond times past 2^32; cut-short and foreign files are ProtocolErrors', () => {
  const info = { fourcc: 'VP80', width: 640, height: 360, timebaseDenominator: 1000, timebaseNumerator: 1 };
  const frames = [{ data: Buffer.from('key'), timestamp: 0 }, { data: Buffer.alloc(0), timestamp: 2 ** 33 + 5 }];
  const bytes = Buffer.concat([ivfFileHeader(info), ...frames.map(ivfFrame)]);
  assert.deepEqual(readIvf(bytes), { info, frames });
  const code = (c: string) => (e: unknown) => e instanceof ProtocolError && e.code === c;
  assert.throws(() => readIvf(Buffer.from('RIFF....')), code('ivf.not_ivf'));
  assert.throws(() => readIvf(bytes.subarray(0, bytes.length - 1)), code('ivf.truncated'));
  assert.throws(() => readIvf(bytes.subarray(0, FILE_HEADER_SIZE + 5)), code('ivf.truncated'));
  assert.throws(() => ivfFileHeader({ ...info, fourcc: 'VP8' }), RangeError);
});
