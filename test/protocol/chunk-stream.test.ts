// Chunk stream encoder/decoder tests: spec examples byte for byte, round trips across chunk
// sizes, chunk stream ids, extended timestamps and splits, and hostile input.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { ChunkStreamError } from '#protocol/errors.ts';
import { ChunkDecoder } from '#protocol/rtmp/chunk-decoder.ts';
import { ChunkEncoder, encodeChunks } from '#protocol/rtmp/chunk-encoder.ts';
import { abortMessage, setChunkSizeMessage } from '#protocol/rtmp/control.ts';
import type { RtmpMessage } from '#protocol/rtmp/message.ts';
import { hex, prng } from '../support/bytes.ts';

const fill = (length: number, byte: number) => Buffer.alloc(length, byte);
const msg = (type: number, streamId: number, timestamp: number, payload: Buffer): RtmpMessage => ({ type, streamId, timestamp, payload });

function pattern(length: number, seed = 1): Buffer {
  const b = Buffer.allocUnsafe(length);
  for (let i = 0; i < length; i++) b[i] = (i * 31 + seed * 7 + (i >> 8)) & 0xff;
  return b;
}

function assertChunkError(fn: () => unknown, code: string): void {
  assert.throws(fn, (e: unknown) => e instanceof ChunkStreamError && e.code === code, code);
}

function decodeAll(bytes: Buffer, decoder = new ChunkDecoder()): RtmpMessage[] {
  return decoder.push(bytes);
}

/** Encodes [message, csid] pairs with a ChunkEncoder, switching chunk size where a Set Chunk Size passes. */
function encodeStream(items: [RtmpMessage, number][], encoder = new ChunkEncoder()): Buffer {
  return Buffer.concat(
    items.map(([m, csid]) => {
      const bytes = encoder.encode(m, csid);
      if (m.type === 1) encoder.chunkSize = m.payload.readUInt32BE(0);
      return bytes;
    }),
  );
}

// RTMP spec 5.3.2.1 example 1: four 32-byte audio messages, 20 ms apart, on chunk stream 3.
const SPEC_EXAMPLE_1 = hex(`
  03 0003e8 000020 08 39300000 ${'11'.repeat(32)}
  83 000014 ${'22'.repeat(32)}
  c3 ${'33'.repeat(32)}
  c3 ${'44'.repeat(32)}`);
const SPEC_EXAMPLE_1_MESSAGES = [0x11, 0x22, 0x33, 0x44].map((b, i) => msg(8, 12345, 1000 + 20 * i, fill(32, b)));

// RTMP spec 5.3.2.2 example 2: one 307-byte video message split into 128-byte chunks.
const SPEC_EXAMPLE_2 = hex(`
  04 0003e8 000133 09 39300000 ${'aa'.repeat(128)}
  c4 ${'bb'.repeat(128)}
  c4 ${'cc'.repeat(51)}`);
const SPEC_EXAMPLE_2_MESSAGE = msg(9, 12345, 1000, Buffer.concat([fill(128, 0xaa), fill(128, 0xbb), fill(51, 0xcc)]));

describe('byte-exact encodings', () => {
  test('spec example 1: type 0, 2, 3, 3 headers', () => {
    const encoder = new ChunkEncoder();
    assert.deepEqual(Buffer.concat(SPEC_EXAMPLE_1_MESSAGES.map((m) => encoder.encode(m, 3))), SPEC_EXAMPLE_1);
    assert.deepEqual(decodeAll(SPEC_EXAMPLE_1), SPEC_EXAMPLE_1_MESSAGES);
  });

  test('spec example 2: one message in three chunks', () => {
    assert.deepEqual(encodeChunks(SPEC_EXAMPLE_2_MESSAGE, 4, 128), SPEC_EXAMPLE_2);
    assert.deepEqual(new ChunkEncoder().encode(SPEC_EXAMPLE_2_MESSAGE, 4), SPEC_EXAMPLE_2);
    assert.deepEqual(decodeAll(SPEC_EXAMPLE_2), [SPEC_EXAMPLE_2_MESSAGE]);
  });

  test('basic headers of 1, 2 and 3 bytes', () => {
    const m = msg(20, 0, 0, Buffer.from('x'));
    const header = (csid: number) => encodeChunks(m, csid, 128).subarray(0, 4).toString('hex');
    assert.equal(header(2).slice(0, 2), '02');
    assert.equal(header(63).slice(0, 2), '3f');
    assert.equal(header(64).slice(0, 4), '0000');
    assert.equal(header(319).slice(0, 4), '00ff');
    assert.equal(header(320).slice(0, 6), '010001');
    assert.equal(header(65599).slice(0, 6), '01ffff');
  });

  test('extended timestamp: in the type 0 header and repeated in type 3 continuations', () => {
    const m = msg(9, 1, 0x01020304, pattern(10));
    assert.deepEqual(
      encodeChunks(m, 6, 4),
      hex(`06 ffffff 00000a 09 01000000 01020304 ${m.payload.subarray(0, 4).toString('hex')}
           c6 01020304 ${m.payload.subarray(4, 8).toString('hex')}
           c6 01020304 ${m.payload.subarray(8).toString('hex')}`),
    );
    const stream = Buffer.concat([encodeChunks(setChunkSizeMessage(4), 2, 128), encodeChunks(m, 6, 4)]);
    assert.deepEqual(decodeAll(stream).at(-1), m);
  });

  test('a zero-length message is one header with no payload', () => {
    assert.deepEqual(encodeChunks(msg(18, 1, 5, Buffer.alloc(0)), 5, 128), hex('05 000005 000000 12 01000000'));
    assert.deepEqual(decodeAll(hex('05 000005 000000 12 01000000')), [msg(18, 1, 5, Buffer.alloc(0))]);
  });
});

describe('ChunkEncoder header compression', () => {
  const fmtOf = (b: Buffer) => b[0]! >> 6;

  test('chooses type 0/1/2/3 by what changed', () => {
    const e = new ChunkEncoder();
    assert.equal(fmtOf(e.encode(msg(8, 1, 0, fill(10, 0)), 4)), 0);
    assert.equal(fmtOf(e.encode(msg(8, 1, 20, fill(11, 0)), 4)), 1, 'new length');
    assert.equal(fmtOf(e.encode(msg(9, 1, 40, fill(11, 0)), 4)), 1, 'new type');
    assert.equal(fmtOf(e.encode(msg(9, 1, 50, fill(11, 0)), 4)), 2, 'new delta');
    assert.equal(fmtOf(e.encode(msg(9, 1, 60, fill(11, 0)), 4)), 3, 'same delta');
    assert.equal(fmtOf(e.encode(msg(9, 2, 60, fill(11, 0)), 4)), 0, 'other message stream');
    assert.equal(fmtOf(e.encode(msg(9, 2, 59, fill(11, 0)), 4)), 0, 'timestamp went back');
    assert.equal(fmtOf(e.encode(msg(9, 2, 60, fill(11, 0)), 6)), 0, 'other chunk stream');
    e.forget(4);
    assert.equal(fmtOf(e.encode(msg(9, 2, 70, fill(11, 0)), 4)), 0, 'forgotten');
  });

  test('no type 3 new message right after a type 0 header or with an extended delta', () => {
    const e = new ChunkEncoder();
    e.encode(msg(8, 1, 20, fill(4, 0)), 4);
    assert.equal(fmtOf(e.encode(msg(8, 1, 40, fill(4, 0)), 4)), 2);
    const big = 0x1000000;
    e.encode(msg(8, 1, 40 + big, fill(4, 0)), 4);
    assert.equal(fmtOf(e.encode(msg(8, 1, 40 + 2 * big, fill(4, 0)), 4)), 2);
  });

  test('chunkSize is validated', () => {
    const e = new ChunkEncoder();
    assert.equal(e.chunkSize, 128);
    for (const bad of [0, -1, 0x80000000, 2.5]) assertChunkError(() => (e.chunkSize = bad), 'chunk.bad_chunk_size');
    e.chunkSize = 0x7fffffff;
    assert.equal(e.chunkSize, 0x7fffffff);
    assertChunkError(() => encodeChunks(msg(8, 1, 0, fill(1, 0)), 4, 0), 'chunk.bad_chunk_size');
  });

  test('bad chunk stream ids and oversized payloads are refused', () => {
    for (const csid of [0, 1, 65600, 3.5]) {
      assertChunkError(() => encodeChunks(msg(8, 1, 0, fill(1, 0)), csid, 128), 'chunk.bad_chunk_stream_id');
      assertChunkError(() => new ChunkEncoder().encode(msg(8, 1, 0, fill(1, 0)), csid), 'chunk.bad_chunk_stream_id');
    }
    assertChunkError(() => encodeChunks(msg(8, 1, 0, Buffer.alloc(0x1000000)), 4, 128), 'chunk.message_too_large');
  });
});

describe('round trips', () => {
  const sizes = [0, 1, 2, 127, 128, 129, 4095, 4096, 4097, 70_000];

  test('all chunk sizes, with a Set Chunk Size first', () => {
    for (const chunkSize of [1, 2, 128, 4096, 65536, 1 << 20, 0x7fffffff]) {
      const messages = sizes.map((n, i) => msg(9, 1, i * 40, pattern(n, i)));
      const items: [RtmpMessage, number][] = [[setChunkSizeMessage(chunkSize), 2], ...messages.map((m): [RtmpMessage, number] => [m, 6])];
      const decoder = new ChunkDecoder();
      const out = decoder.push(encodeStream(items));
      assert.equal(decoder.chunkSize, chunkSize);
      assert.deepEqual(out.slice(1), messages, `chunk size ${chunkSize}`);
      // The shared, stateless form decodes the same.
      const shared = Buffer.concat(messages.map((m) => encodeChunks(m, 6, chunkSize)));
      const d2 = new ChunkDecoder();
      d2.push(encodeChunks(setChunkSizeMessage(chunkSize), 2, 128));
      assert.deepEqual(d2.push(shared), messages);
    }
  });

  test('chunk stream ids at the basic header boundaries', () => {
    const csids = [2, 3, 63, 64, 65, 319, 320, 321, 65598, 65599];
    const items = csids.map((csid, i): [RtmpMessage, number] => [msg(8, 1, i, pattern(300, i)), csid]);
    const out = decodeAll(encodeStream(items));
    assert.deepEqual(out, items.map(([m]) => m));
  });

  test('timestamps around the 24-bit limit and the 32-bit wrap', () => {
    const series = [
      [0, 0xfffffe, 0xffffff, 0x1000000, 0x1000001, 0x2000000],
      [0xfffff0, 0xffffff, 0x1fffffe, 0x2fffffd],
      [0xfffffff0, 0xfffffffe, 0xffffffff, 0, 5, 0x1000000],
    ];
    for (const timestamps of series) {
      const messages = timestamps.map((ts, i) => msg(8, 1, ts, pattern(200, i)));
      // Header-compressed (deltas wrap modulo 2^32) and shared (always absolute).
      assert.deepEqual(decodeAll(encodeStream(messages.map((m) => [m, 4]))), messages);
      assert.deepEqual(decodeAll(Buffer.concat(messages.map((m) => encodeChunks(m, 4, 128)))), messages);
      // Deltas of 0xFFFFFF and more use the extended field in type 1/2 headers too.
      const spaced = timestamps.map((_, i) => msg(8, 1, (i * 0x1000000) >>> 0, pattern(300, i)));
      assert.deepEqual(decodeAll(encodeStream(spaced.map((m) => [m, 4]))), spaced);
    }
  });

  test('interleaved chunks of several chunk streams', () => {
    const chunkSize = 10;
    const messages: [RtmpMessage, number][] = [
      [msg(9, 1, 100, pattern(95, 1)), 6],
      [msg(8, 1, 100, pattern(33, 2)), 4],
      [msg(18, 1, 0x1000005, pattern(41, 3)), 5],
      [msg(20, 0, 0, pattern(7, 4)), 3],
    ];
    // Cut each message's encoding into its chunks, then deal them out round-robin.
    const chunkLists = messages.map(([m, csid]) => {
      const bytes = encodeChunks(m, csid, chunkSize);
      const extended = m.timestamp >= 0xffffff ? 4 : 0;
      const chunks: Buffer[] = [];
      let pos = 0;
      let left = m.payload.length;
      let header = 12 + extended;
      while (pos < bytes.length) {
        const n = header + Math.min(chunkSize, left);
        chunks.push(bytes.subarray(pos, pos + n));
        pos += n;
        left -= Math.min(chunkSize, left);
        header = 1 + extended;
      }
      return chunks;
    });
    const interleaved: Buffer[] = [];
    for (let i = 0; chunkLists.some((l) => i < l.length); i++) for (const l of chunkLists) if (i < l.length) interleaved.push(l[i]!);
    const decoder = new ChunkDecoder();
    decoder.push(encodeChunks(setChunkSizeMessage(chunkSize), 2, 128));
    const out = decoder.push(Buffer.concat(interleaved));
    const byType = (list: RtmpMessage[]) => [...list].sort((a, b) => a.type - b.type);
    assert.deepEqual(byType(out), byType(messages.map(([m]) => m)));
  });

  test('chunk size changes mid-stream in both directions', () => {
    const items: [RtmpMessage, number][] = [];
    let ts = 0;
    for (const size of [4096, 1, 60000, 128, 3, 0x7fffffff, 7]) {
      items.push([setChunkSizeMessage(size), 2]);
      for (const n of [0, 5, 130, 5000]) items.push([msg(9, 1, (ts += 33), pattern(n, ts)), 6]);
    }
    const decoder = new ChunkDecoder();
    const out = decoder.push(encodeStream(items));
    assert.deepEqual(out, items.map(([m]) => m));
    assert.equal(decoder.chunkSize, 7);
  });

  test('any split of the input decodes the same', () => {
    const items: [RtmpMessage, number][] = [
      [msg(20, 0, 0, pattern(140, 1)), 3],
      [setChunkSizeMessage(50), 2],
      [msg(8, 1, 0xfffffe, pattern(120, 2)), 4],
      [msg(8, 1, 0x1000010, pattern(120, 3)), 4],
      [msg(9, 1, 0x1000010, Buffer.alloc(0)), 6],
      [msg(9, 1, 0x1000020, pattern(300, 4)), 320],
      [msg(9, 1, 0x1000030, pattern(300, 5)), 320],
      [msg(9, 1, 0x1000040, pattern(300, 6)), 320],
      [setChunkSizeMessage(7), 2],
      [msg(18, 1, 5, pattern(30, 7)), 65599],
    ];
    const bytes = encodeStream(items);
    const expected = items.map(([m]) => m);
    for (let cut = 0; cut <= bytes.length; cut++) {
      const d = new ChunkDecoder();
      const out = [...d.push(bytes.subarray(0, cut)), ...d.push(bytes.subarray(cut))];
      assert.deepEqual(out, expected, `cut at ${cut}`);
      assert.equal(d.bytesReceived, bytes.length);
    }
    const d = new ChunkDecoder();
    const out: RtmpMessage[] = [];
    for (let i = 0; i < bytes.length; i++) out.push(...d.push(bytes.subarray(i, i + 1)));
    assert.deepEqual(out, expected, 'byte by byte');
  });

  test('ffmpeg connect command captured after the handshake (type 3 continuation)', () => {
    const out = decodeAll(readFileSync(new URL('../fixtures/rtmp/ffmpeg-publish-connect.bin', import.meta.url)));
    assert.equal(out.length, 1);
    assert.equal(out[0]!.type, 20);
    assert.equal(out[0]!.streamId, 0);
    assert.ok(out[0]!.payload.length > 128, 'spans two chunks');
    assert.deepEqual(out[0]!.payload.subarray(0, 10), hex('02 0007 636f6e6e656374'));
  });
});

describe('decoder rules', () => {
  test('a type 3 chunk starting a new message reuses the last delta (a type 0 timestamp counts as one)', () => {
    const out = decodeAll(
      hex(`04 000064 000001 08 01000000 aa
           c4 bb
           84 00000a cc
           c4 dd`),
    );
    assert.deepEqual(out.map((m) => m.timestamp), [100, 200, 210, 220]);
  });

  test('type 3 chunks carry the extended timestamp after a header that had one', () => {
    const out = decodeAll(
      hex(`02 000000 000004 01 00000000 00000002
           04 ffffff 000003 08 01000000 01000000 aabb
           c4 01000000 cc
           c4 00000010 ddee
           c4 00000010 ff
           84 000005 1122
           c4 33
           c4 4455
           c4 66`),
    );
    assert.deepEqual(
      out.slice(1).map((m) => [m.timestamp, m.payload.toString('hex')]),
      [
        [0x1000000, 'aabbcc'],
        [0x1000010, 'ddeeff'],
        [0x1000015, '112233'],
        [0x100001a, '445566'],
      ],
    );
  });

  test('Abort discards the partial message of the named chunk stream', () => {
    const decoder = new ChunkDecoder({ maxBufferedBytes: 250 });
    const first = encodeChunks(msg(9, 1, 0, pattern(200)), 6, 128);
    assert.deepEqual(decoder.push(first.subarray(0, 12 + 128)), []);
    const abort = encodeChunks(abortMessage(6), 2, 128);
    assert.deepEqual(decoder.push(abort), [abortMessage(6)]);
    // The aborted bytes no longer count against the buffer limit.
    const second = msg(9, 1, 40, pattern(200, 2));
    assert.deepEqual(decoder.push(encodeChunks(second, 6, 128)), [second]);
    assert.deepEqual(decoder.push(abort), [abortMessage(6)], 'abort with nothing pending');
  });

  test('an interrupting full header replaces the partial message', () => {
    const decoder = new ChunkDecoder();
    decoder.push(encodeChunks(msg(9, 1, 0, pattern(200)), 6, 128).subarray(0, 140));
    const m = msg(9, 1, 50, pattern(20));
    assert.deepEqual(decoder.push(encodeChunks(m, 6, 128)), [m]);
  });

  test('payloads stay valid across later pushes', () => {
    const decoder = new ChunkDecoder();
    const m = msg(8, 1, 0, pattern(10));
    const [a] = decoder.push(encodeChunks(m, 4, 128));
    decoder.push(encodeChunks(msg(8, 1, 0, pattern(10, 9)), 4, 128));
    assert.deepEqual(a, m);
  });
});

describe('hostile input', () => {
  const setChunkSizeRaw = (value: string) => hex(`02 000000 000004 01 00000000 ${value}`);

  test('chunk size 0 or with the top bit set', () => {
    assertChunkError(() => decodeAll(setChunkSizeRaw('00000000')), 'chunk.bad_chunk_size');
    assertChunkError(() => decodeAll(setChunkSizeRaw('80000000')), 'chunk.bad_chunk_size');
    assertChunkError(() => decodeAll(setChunkSizeRaw('ffffffff')), 'chunk.bad_chunk_size');
    assertChunkError(() => decodeAll(hex('02 000000 000002 01 00000000 0001')), 'chunk.bad_control');
    assert.equal(decodeAll(setChunkSizeRaw('7fffffff')).length, 1);
  });

  test('declared length beyond maxMessageSize is refused at the header', () => {
    const header = hex('04 000000 ffffff 09 01000000');
    assertChunkError(() => new ChunkDecoder({ maxMessageSize: 1 << 20 }).push(header), 'chunk.message_too_large');
    assertChunkError(() => new ChunkDecoder().push(header), 'chunk.message_too_large');
    // Type 1 headers are checked as well.
    const d = new ChunkDecoder({ maxMessageSize: 100 });
    d.push(encodeChunks(msg(9, 1, 0, pattern(100)), 4, 128));
    assertChunkError(() => d.push(hex('44 000000 000065 09')), 'chunk.message_too_large');
  });

  test('a large declared message is not preallocated', () => {
    const d = new ChunkDecoder({ maxMessageSize: 0xffffff, maxBufferedBytes: 0xffffff });
    const before = process.memoryUsage().arrayBuffers;
    for (let csid = 3; csid < 40; csid++) d.push(hex(`${csid.toString(16).padStart(2, '0')} 000000 ffffff 09 01000000 00`));
    assert.ok(process.memoryUsage().arrayBuffers - before < 64 << 20, 'would be > 600 MB if preallocated');
  });

  test('10,000 distinct chunk stream ids', () => {
    const bytes = Buffer.concat(Array.from({ length: 10_000 }, (_, i) => encodeChunks(msg(8, 1, 0, Buffer.from('a')), 2 + i, 128)));
    assertChunkError(() => decodeAll(bytes), 'chunk.too_many_streams');
    const allowed = new ChunkDecoder({ maxChunkStreams: 10_000 });
    assert.equal(allowed.push(bytes).length, 10_000);
  });

  test('type 3 on a chunk stream never seen is refused', () => {
    assertChunkError(() => decodeAll(hex('c4 aa')), 'chunk.no_previous_header');
    assertChunkError(() => decodeAll(hex('c2 0000')), 'chunk.no_previous_header');
    assertChunkError(() => decodeAll(hex('c0 40 aa')), 'chunk.no_previous_header');
    // Also after other chunk streams have state.
    const d = new ChunkDecoder();
    d.push(encodeChunks(msg(20, 0, 0, pattern(10)), 3, 128));
    assertChunkError(() => d.push(hex('c5 aa')), 'chunk.no_previous_header');
  });

  // librtmp (python3-librtmp, rtmpdump, GStreamer rtmpsink) sends its ping responses and
  // acknowledgements on chunk stream 2 with a type 1 header although it never sent a type 0 there:
  // these are its bytes (RTMP_SendCtrl / SendBytesReceived with RTMP_PACKET_SIZE_MEDIUM).
  test('librtmp: ping response as the first chunk on chunk stream 2, with a type 1 header', () => {
    // fmt 1, csid 2 | timestamp delta 0 | length 6 | type 4 (user control) | PingResponse(7) 0x0001d4c0
    const pingResponse = hex('42 000000 000006 04 0007 0001d4c0');
    const [m] = decodeAll(pingResponse);
    assert.deepEqual(m, msg(4, 0, 0, hex('0007 0001d4c0')));
  });

  test('librtmp: acknowledgement first on chunk stream 2, then ping responses, split anywhere', () => {
    const bytes = Buffer.concat([
      hex('42 000000 000004 03 00265a80'), // Acknowledgement of 2,513,536 bytes
      hex('42 000000 000006 04 0007 00003a98'), // PingResponse 15000
      hex('42 000000 000006 04 0007 00007530'), // PingResponse 30000
    ]);
    const expected = [msg(3, 0, 0, hex('00265a80')), msg(4, 0, 0, hex('0007 00003a98')), msg(4, 0, 0, hex('0007 00007530'))];
    assert.deepEqual(decodeAll(bytes), expected);
    for (let split = 1; split < bytes.length; split++) {
      const d = new ChunkDecoder();
      assert.deepEqual([...d.push(bytes.subarray(0, split)), ...d.push(bytes.subarray(split))], expected, `split at ${split}`);
    }
  });

  test('librtmp: a type 1 ping response between a publisher\'s media chunks', () => {
    // What a python3-librtmp publisher sends about a second in: video on chunk stream 4 (type 0
    // then type 1), and a first control message on chunk stream 2 with a type 1 header.
    const d = new ChunkDecoder();
    const video = encodeChunks(msg(9, 1, 1000, pattern(300)), 4, 128);
    const out = [
      ...d.push(video.subarray(0, 140)),
      ...d.push(hex('42 000000 000006 04 0007 000003e8')),
      ...d.push(video.subarray(140)),
      ...d.push(hex('44 000021 000003 09 aabbcc')),
    ];
    assert.deepEqual(out, [msg(4, 0, 0, hex('0007 000003e8')), msg(9, 1, 1000, pattern(300)), msg(9, 1, 1033, hex('aabbcc'))]);
  });

  test('type 1 and 2 headers on a fresh chunk stream take the missing fields from zero', () => {
    // Type 1 with a timestamp delta: the timestamp counts from 0, message stream id 0.
    assert.deepEqual(decodeAll(hex('45 000064 000002 14 0102')), [msg(20, 0, 100, hex('0102'))]);
    // Two-byte chunk stream id form.
    assert.deepEqual(decodeAll(hex('40 40 000000 000001 08 aa')), [msg(8, 0, 0, hex('aa'))]);
    // Type 2 on a fresh stream: length and type zero, so an empty type 0 message; then a type 3 repeats it.
    assert.deepEqual(decodeAll(hex('86 000005 c6')), [msg(0, 0, 5, Buffer.alloc(0)), msg(0, 0, 10, Buffer.alloc(0))]);
  });

  test('fresh type 1 headers still count against the chunk stream and size limits', () => {
    const many = Buffer.concat(Array.from({ length: 9 }, (_, i) => hex(`${(0x40 | (2 + i)).toString(16)} 000000 000001 08 aa`)));
    assertChunkError(() => new ChunkDecoder({ maxChunkStreams: 8 }).push(many), 'chunk.too_many_streams');
    assertChunkError(() => new ChunkDecoder({ maxMessageSize: 100 }).push(hex('44 000000 000065 09')), 'chunk.message_too_large');
    assertChunkError(() => new ChunkDecoder().push(hex('44 000000 ffffff 09')), 'chunk.message_too_large');
  });

  test('partial messages beyond maxBufferedBytes', () => {
    const d = new ChunkDecoder({ maxBufferedBytes: 1000 });
    d.push(encodeChunks(msg(9, 1, 0, pattern(2000)), 4, 128).subarray(0, 12 + 128));
    d.push(encodeChunks(msg(9, 1, 0, pattern(2000)), 6, 128).subarray(0, 12 + 128 * 5 + 4));
    assertChunkError(() => d.push(encodeChunks(msg(9, 1, 0, pattern(2000)), 5, 128).subarray(0, 12 + 128 * 2 + 1)), 'chunk.buffer_limit');
  });

  test('random bytes only ever throw ChunkStreamError', () => {
    const random = prng(0xc0ffee);
    const valid = encodeStream([
      [setChunkSizeMessage(64), 2],
      [msg(20, 0, 0, pattern(200)), 3],
      [msg(9, 1, 0x1000000, pattern(300)), 6],
      [abortMessage(6), 2],
      [msg(8, 1, 0xfffffff0, pattern(90)), 330],
    ]);
    let errors = 0;
    for (let round = 0; round < 3000; round++) {
      let bytes: Buffer;
      if (round % 2 === 0) {
        bytes = Buffer.allocUnsafe(1 + Math.floor(random() * 600));
        for (let i = 0; i < bytes.length; i++) bytes[i] = Math.floor(random() * 256);
      } else {
        // Mutate a few bytes of a valid stream so that parsing gets further.
        bytes = Buffer.from(valid);
        for (let k = 0; k < 1 + random() * 4; k++) bytes[Math.floor(random() * bytes.length)] = Math.floor(random() * 256);
      }
      const d = new ChunkDecoder({ maxMessageSize: 4096, maxBufferedBytes: 8192, maxChunkStreams: 8 });
      try {
        for (let pos = 0; pos < bytes.length; ) {
          const n = 1 + Math.floor(random() * 64);
          d.push(bytes.subarray(pos, pos + n));
          pos += n;
        }
      } catch (err) {
        assert.ok(err instanceof ChunkStreamError, `round ${round}: ${String(err)}`);
        errors++;
      }
    }
    assert.ok(errors > 0);
  });
});
