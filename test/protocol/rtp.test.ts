// RTP packet, header extension, wraparound, reorder buffer and Opus payload tests: libwebrtc's
// packet test vectors byte for byte, every packet ffmpeg sent in test/fixtures/rtp checked
// against tshark's dissection, and hostile input.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { RtpError } from '#protocol/errors.ts';
import {
  buildHeaderExtension,
  findHeaderExtension,
  ONE_BYTE_PROFILE,
  parseHeaderExtensionElements,
  TWO_BYTE_PROFILE,
} from '#protocol/rtp/header-extensions.ts';
import { OPUS_RTP_CLOCK_RATE, opusPacketFromRtpPayload, opusPacketSamples, parseOpusToc, rtpPayloadFromOpusPacket } from '#protocol/rtp/opus.ts';
import { RtpReorderBuffer, type OrderedRtpPacket } from '#protocol/rtp/reorder-buffer.ts';
import { parseRtpPacket, serializeRtpPacket, type RtpPacket } from '#protocol/rtp/rtp-packet.ts';
import { isRtcpPacket } from '#protocol/rtp/rtcp.ts';
import { SequenceNumberUnwrapper, sequenceNumberDistance, TimestampUnwrapper, timestampDistance } from '#protocol/rtp/wraparound.ts';
import { ascii, hex, prng, randomBytes } from '../support/bytes.ts';
import { field, readCapture, tshark } from '../fixtures/rtp/captures.ts';

function assertRtpError(fn: () => unknown, code: string): void {
  assert.throws(fn, (e: unknown) => e instanceof RtpError && e.code === code, code);
}

const packet = (fields: Partial<RtpPacket>): RtpPacket => ({
  payloadType: 96,
  marker: false,
  sequenceNumber: 0,
  timestamp: 0,
  ssrc: 1,
  csrcs: [],
  extension: null,
  payload: Buffer.alloc(0),
  paddingLength: 0,
  ...fields,
});

// libwebrtc's rtp_packet_unittest.cc: payload type 100, sequence number 88, timestamp 0x65431278,
// SSRC 0x12345678; extension 1 is the 3-byte transmission time offset 0x0056ce, 9 the audio level.
const FIXED = '0058 65431278 12345678';
const MINIMUM_PACKET = hex(`80 64 ${FIXED}`);
const PACKET_WITH_TO = hex(`90 64 ${FIXED} bede 0001 12 0056ce`);
const PACKET_WITH_TO_AND_AL = hex(`90 64 ${FIXED} bede 0002 12 0056ce 90 da 0000`);
const PACKET_WITH_CSRCS_AND_PADDING = hex(`b2 64 ${FIXED} 34567890 32435465 bede 0001 12 0056ce ${ascii('payload')} ${ascii('padding')} 08`);
const PACKET_WITH_TWO_BYTE_EXTENSION = hex(`90 64 ${FIXED} 1000 0004 01 03 0056ce 09 01 da f0 03 003022 000000`);

describe('RTP packets', () => {
  test('libwebrtc test vectors parse field by field', () => {
    const base = { payloadType: 100, marker: false, sequenceNumber: 88, timestamp: 0x65431278, ssrc: 0x12345678, csrcs: [], paddingLength: 0 };
    assert.deepEqual(parseRtpPacket(MINIMUM_PACKET), { ...base, extension: null, payload: Buffer.alloc(0) });
    assert.deepEqual(parseRtpPacket(PACKET_WITH_TO), { ...base, extension: { profile: ONE_BYTE_PROFILE, data: hex('12 0056ce') }, payload: Buffer.alloc(0) });
    assert.deepEqual(parseRtpPacket(PACKET_WITH_CSRCS_AND_PADDING), {
      ...base,
      csrcs: [0x34567890, 0x32435465],
      extension: { profile: ONE_BYTE_PROFILE, data: hex('12 0056ce') },
      payload: Buffer.from('payload'),
      paddingLength: 8,
    });
  });

  test('serializing gives the same bytes (padding comes out as zeros)', () => {
    for (const bytes of [MINIMUM_PACKET, PACKET_WITH_TO, PACKET_WITH_TO_AND_AL, PACKET_WITH_TWO_BYTE_EXTENSION]) {
      assert.deepEqual(serializeRtpPacket(parseRtpPacket(bytes)), bytes);
    }
    const padded = serializeRtpPacket(parseRtpPacket(PACKET_WITH_CSRCS_AND_PADDING));
    assert.deepEqual(padded, hex(`b2 64 ${FIXED} 34567890 32435465 bede 0001 12 0056ce ${ascii('payload')} 00000000000000 08`));
  });

  test('marker, 7-bit payload type and the largest field values', () => {
    const p = packet({ marker: true, payloadType: 127, sequenceNumber: 0xffff, timestamp: 0xffffffff, ssrc: 0xffffffff, payload: hex('aa') });
    const bytes = serializeRtpPacket(p);
    assert.deepEqual(bytes, hex('80 ff ffff ffffffff ffffffff aa'));
    assert.deepEqual(parseRtpPacket(bytes), p);
  });

  test('15 CSRCs and a header extension of 0 words', () => {
    const csrcs = Array.from({ length: 15 }, (_, i) => 0x1000 + i);
    const p = packet({ csrcs, extension: { profile: 0xabcd, data: Buffer.alloc(0) }, payload: hex('0102') });
    const bytes = serializeRtpPacket(p);
    assert.equal(bytes[0], 0x9f);
    assert.deepEqual(parseRtpPacket(bytes), p);
  });

  test('the payload shares memory with the datagram', () => {
    const bytes = Buffer.from(PACKET_WITH_CSRCS_AND_PADDING);
    const parsed = parseRtpPacket(bytes);
    bytes[bytes.length - 9] = 0x21;
    assert.equal(parsed.payload.toString(), 'payloa!');
  });

  test('fields that do not fit are refused when serializing', () => {
    for (const bad of [{ payloadType: 128 }, { sequenceNumber: 65536 }, { timestamp: -1 }, { ssrc: 2 ** 32 }, { paddingLength: 256 }, { csrcs: new Array(16).fill(0) }]) {
      assertRtpError(() => serializeRtpPacket(packet(bad)), 'rtp.bad_field');
    }
    assertRtpError(() => serializeRtpPacket(packet({ extension: { profile: ONE_BYTE_PROFILE, data: Buffer.alloc(3) } })), 'rtp.bad_field');
  });
});

describe('header extensions (RFC 8285)', () => {
  test('one-byte form: elements, zero padding between and after', () => {
    const { extension } = parseRtpPacket(PACKET_WITH_TO_AND_AL);
    assert.deepEqual(parseHeaderExtensionElements(extension!), [
      { id: 1, data: hex('0056ce') },
      { id: 9, data: hex('da') },
    ]);
    const padded = { profile: ONE_BYTE_PROFILE, data: hex('00 10 aa 00 00 21 bbcc 00 00 00 00') };
    assert.deepEqual(parseHeaderExtensionElements(padded), [
      { id: 1, data: hex('aa') },
      { id: 2, data: hex('bbcc') },
    ]);
  });

  test('one-byte form: id 15 ends the parsing, whatever its length says', () => {
    assert.deepEqual(parseHeaderExtensionElements({ profile: ONE_BYTE_PROFILE, data: hex('10 aa ff 11 22 33') }), [{ id: 1, data: hex('aa') }]);
  });

  test('two-byte form: libwebrtc vector with id 240 and zero-length elements', () => {
    const { extension } = parseRtpPacket(PACKET_WITH_TWO_BYTE_EXTENSION);
    assert.deepEqual(parseHeaderExtensionElements(extension!), [
      { id: 1, data: hex('0056ce') },
      { id: 9, data: hex('da') },
      { id: 240, data: hex('003022') },
    ]);
    assert.deepEqual(parseHeaderExtensionElements({ profile: 0x100f, data: hex('05 00 00 06 01 ff 00 00') }), [
      { id: 5, data: Buffer.alloc(0) },
      { id: 6, data: hex('ff') },
    ]);
  });

  test('another profile is not RFC 8285', () => {
    assert.equal(parseHeaderExtensionElements({ profile: 0xabac, data: hex('10 aa 00 00') }), null);
    assert.equal(findHeaderExtension(parseRtpPacket(MINIMUM_PACKET), 1), undefined);
  });

  test('building picks the one-byte form when every element fits it', () => {
    const oneByte = buildHeaderExtension([
      { id: 1, data: hex('0056ce') },
      { id: 9, data: hex('da') },
    ]);
    assert.deepEqual(oneByte, parseRtpPacket(PACKET_WITH_TO_AND_AL).extension);
    const twoByte = buildHeaderExtension([
      { id: 1, data: hex('0056ce') },
      { id: 9, data: hex('da') },
      { id: 240, data: hex('003022') },
    ]);
    assert.deepEqual(twoByte, parseRtpPacket(PACKET_WITH_TWO_BYTE_EXTENSION).extension);
    assert.equal(buildHeaderExtension([{ id: 3, data: Buffer.alloc(17) }]).profile, TWO_BYTE_PROFILE, 'longer than 16 bytes');
    assert.equal(buildHeaderExtension([{ id: 3, data: Buffer.alloc(0) }]).profile, TWO_BYTE_PROFILE, 'empty element');
    assert.deepEqual(buildHeaderExtension([{ id: 3, data: hex('01') }], { twoByte: true, appBits: 5 }), { profile: 0x1005, data: hex('03 01 01 00') });
  });

  test('found by id in a packet; built elements parse back', () => {
    assert.deepEqual(findHeaderExtension(parseRtpPacket(PACKET_WITH_TO_AND_AL), 9), hex('da'));
    const elements = [
      { id: 14, data: Buffer.alloc(16, 7) },
      { id: 2, data: hex('61') },
    ];
    const p = packet({ extension: buildHeaderExtension(elements), payload: hex('beef') });
    assert.deepEqual(parseHeaderExtensionElements(parseRtpPacket(serializeRtpPacket(p)).extension!), elements);
  });

  test('elements running past the extension and ids or lengths no form allows are refused', () => {
    assertRtpError(() => parseHeaderExtensionElements({ profile: ONE_BYTE_PROFILE, data: hex('13 aabb') }), 'rtp.bad_extension');
    assertRtpError(() => parseHeaderExtensionElements({ profile: TWO_BYTE_PROFILE, data: hex('01 05 aabb') }), 'rtp.bad_extension');
    assertRtpError(() => parseHeaderExtensionElements({ profile: TWO_BYTE_PROFILE, data: hex('01') }), 'rtp.bad_extension');
    assertRtpError(() => buildHeaderExtension([{ id: 0, data: hex('01') }]), 'rtp.bad_field');
    assertRtpError(() => buildHeaderExtension([{ id: 256, data: hex('01') }]), 'rtp.bad_field');
    assertRtpError(() => buildHeaderExtension([{ id: 1, data: Buffer.alloc(256) }]), 'rtp.bad_field');
    assertRtpError(() => buildHeaderExtension([], { appBits: 16 }), 'rtp.bad_field');
  });
});

describe('packets ffmpeg sent, against tshark', () => {
  for (const name of ['h264-rtp.pcap', 'opus-rtp.pcap'] as const) {
    test(name, () => {
      const expected = tshark[name];
      const datagrams = readCapture(name);
      const rtp = datagrams.filter((d) => d.destinationPort === expected.rtpPort);
      const rtcp = datagrams.filter((d) => d.destinationPort === expected.rtcpPort);
      assert.equal(rtp.length, expected.rtp.length);
      assert.equal(rtcp.length, expected.rtcp.length);
      // RFC 5761 demultiplexing tells them apart by the second byte alone.
      assert.ok(rtp.every((d) => !isRtcpPacket(d.data)));
      assert.ok(rtcp.every((d) => isRtcpPacket(d.data)));
      rtp.forEach(({ data }, i) => {
        const frame = expected.rtp[i]!;
        const p = parseRtpPacket(data);
        assert.deepEqual(
          [p.payloadType, Number(p.marker), p.sequenceNumber, p.timestamp, p.ssrc, Number(p.paddingLength > 0)],
          ['rtp.p_type', 'rtp.marker', 'rtp.seq', 'rtp.timestamp', 'rtp.ssrc', 'rtp.padding'].map((f) => field(frame, f)),
          `frame ${field(frame, 'frame.number')}`,
        );
        assert.deepEqual(serializeRtpPacket(p), data);
      });
    });
  }
});

describe('wraparound', () => {
  test('sequence numbers of the capture unwrap across 65535 -> 0', () => {
    const unwrapper = new SequenceNumberUnwrapper();
    const expected = tshark['h264-rtp.pcap'].rtp.map((f) => field(f, 'rtp.seq'));
    const extended = expected.map((s) => unwrapper.unwrap(s));
    assert.equal(expected[0], 65530);
    assert.deepEqual(extended, expected.map((_, i) => 65530 + i));
  });

  test('reordered and repeated values around the wrap, several cycles', () => {
    const u = new SequenceNumberUnwrapper();
    assert.deepEqual([65534, 65535, 1, 0, 2, 65533, 3].map((s) => u.unwrap(s)), [65534, 65535, 65537, 65536, 65538, 65533, 65539]);
    const v = new SequenceNumberUnwrapper();
    const many: number[] = [];
    for (let i = 0; i < 5 * 65536; i += 1000) many.push(v.unwrap(i & 0xffff));
    assert.deepEqual(many, many.map((_, i) => i * 1000));
    const w = new SequenceNumberUnwrapper();
    assert.deepEqual([3, 65535].map((s) => w.unwrap(s)), [3, -1], 'before the first, across zero');
  });

  test('timestamps unwrap across 2^32; distances are signed and shortest', () => {
    const u = new TimestampUnwrapper();
    assert.deepEqual([0xffffff00, 0xfffffff0, 0x10, 0xffffffff, 0x7fffff00, 0xfffffe00].map((t) => u.unwrap(t)), [
      0xffffff00,
      0xfffffff0,
      2 ** 32 + 0x10,
      0xffffffff,
      2 ** 32 + 0x7fffff00,
      2 ** 32 + 0xfffffe00,
    ]);
    assert.equal(u.unwrap(0x7ffffe00), 2 ** 32 + 0x7ffffe00, 'half the range back is taken as back');
    assert.equal(timestampDistance(0xfffffff0, 0x10), 0x20);
    assert.equal(timestampDistance(0x10, 0xfffffff0), -0x20);
    assert.equal(sequenceNumberDistance(65535, 0), 1);
    assert.equal(sequenceNumberDistance(0, 32768), -32768);
    assert.equal(sequenceNumberDistance(0, 32767), 32767);
    assertRtpError(() => u.unwrap(2 ** 32), 'rtp.bad_field');
    assertRtpError(() => new SequenceNumberUnwrapper().unwrap(65536), 'rtp.bad_field');
  });
});

describe('reorder buffer', () => {
  const bySequence = (...sequenceNumbers: number[]) => sequenceNumbers.map((s) => packet({ sequenceNumber: s & 0xffff, payload: Buffer.from([s & 0xff]) }));
  const summary = (out: OrderedRtpPacket[]) => out.map((o) => [o.packet.sequenceNumber, o.lostBefore, o.restarted]);
  const pushAll = (buffer: RtpReorderBuffer, packets: RtpPacket[]) => packets.flatMap((p) => buffer.push(p));

  test('in order: every packet straight through, across the wrap', () => {
    const b = new RtpReorderBuffer(4);
    const out = pushAll(b, bySequence(65534, 65535, 65536, 65537));
    assert.deepEqual(summary(out), [
      [65534, 0, false],
      [65535, 0, false],
      [0, 0, false],
      [1, 0, false],
    ]);
    assert.deepEqual(out.map((o) => o.sequence), [65534, 65535, 65536, 65537]);
  });

  test('a swap within the window is put right; duplicates and late copies are dropped', () => {
    const b = new RtpReorderBuffer(4);
    assert.deepEqual(summary(pushAll(b, bySequence(10, 12, 13))), [[10, 0, false]]);
    assert.equal(b.held, 2);
    assert.deepEqual(summary(pushAll(b, bySequence(12))), [], 'duplicate of a held packet');
    assert.deepEqual(summary(pushAll(b, bySequence(11))), [
      [11, 0, false],
      [12, 0, false],
      [13, 0, false],
    ]);
    assert.deepEqual(summary(pushAll(b, bySequence(11, 10))), [], 'already released');
    assert.deepEqual(b.stats, { duplicates: 1, late: 2, lost: 0 });
  });

  test('a gap is given up once the window has passed it; the straggler then counts late', () => {
    const b = new RtpReorderBuffer(3);
    pushAll(b, bySequence(1));
    assert.deepEqual(summary(pushAll(b, bySequence(3, 4, 5))), []);
    assert.deepEqual(summary(pushAll(b, bySequence(6))), [
      [3, 1, false],
      [4, 0, false],
      [5, 0, false],
      [6, 0, false],
    ]);
    assert.deepEqual(summary(pushAll(b, bySequence(2))), []);
    assert.deepEqual(b.stats, { duplicates: 0, late: 1, lost: 1 });
  });

  test('a jump far ahead releases what is held; the new packet waits out its own window', () => {
    const b = new RtpReorderBuffer(8);
    pushAll(b, bySequence(100, 102));
    assert.deepEqual(summary(pushAll(b, bySequence(1100))), [[102, 1, false]]);
    assert.equal(b.held, 1, '1092-1099 may still come');
    assert.deepEqual(summary(pushAll(b, bySequence(1099))), []);
    assert.deepEqual(summary(pushAll(b, bySequence(1108))), [
      [1099, 989 + 7, false],
      [1100, 0, false],
    ]);
    assert.deepEqual(summary(b.flush()), [[1108, 7, false]]);
    assert.equal(b.stats.lost, 1 + 996 + 7);
  });

  test('window 0 releases at once; flush gives up on gaps', () => {
    const b = new RtpReorderBuffer(0);
    assert.deepEqual(summary(pushAll(b, bySequence(5, 7, 6))), [
      [5, 0, false],
      [7, 1, false],
    ]);
    const c = new RtpReorderBuffer(10);
    pushAll(c, bySequence(1, 4, 3, 7));
    assert.deepEqual(summary(c.flush()), [
      [3, 1, false],
      [4, 0, false],
      [7, 2, false],
    ]);
    assert.equal(c.held, 0);
    assert.deepEqual(c.flush(), []);
  });

  test('a sender that restarts its sequence numbers far back is followed after two packets in a row', () => {
    const b = new RtpReorderBuffer(4);
    pushAll(b, bySequence(40000, 40001, 40003));
    assert.deepEqual(summary(pushAll(b, bySequence(30000))), [], 'one stray packet far back is just late');
    assert.deepEqual(summary(pushAll(b, bySequence(40004))), []);
    assert.deepEqual(summary(pushAll(b, bySequence(20000, 20001, 20002))), [
      [40003, 1, false],
      [40004, 0, false],
      [20001, 0, true],
      [20002, 0, false],
    ]);
  });

  test('never holds more than the window, whatever arrives', () => {
    const random = prng(7);
    const b = new RtpReorderBuffer(16);
    let released = 0;
    for (let i = 0; i < 20_000; i++) {
      released += b.push(packet({ sequenceNumber: Math.floor(random() * 65536) })).length;
      assert.ok(b.held <= 16);
    }
    assert.ok(released > 0);
    assertRtpError(() => new RtpReorderBuffer(-1), 'rtp.bad_field');
    assertRtpError(() => new RtpReorderBuffer(5000), 'rtp.bad_field');
  });
});

describe('Opus (RFC 7587, RFC 6716)', () => {
  // RFC 6716 table 2: configs in groups of mode and bandwidth, frame sizes in ms.
  const TABLE_2: [number[], string, string, number[]][] = [
    [[0, 1, 2, 3], 'silk', 'narrowband', [10, 20, 40, 60]],
    [[4, 5, 6, 7], 'silk', 'mediumband', [10, 20, 40, 60]],
    [[8, 9, 10, 11], 'silk', 'wideband', [10, 20, 40, 60]],
    [[12, 13], 'hybrid', 'superwideband', [10, 20]],
    [[14, 15], 'hybrid', 'fullband', [10, 20]],
    [[16, 17, 18, 19], 'celt', 'narrowband', [2.5, 5, 10, 20]],
    [[20, 21, 22, 23], 'celt', 'wideband', [2.5, 5, 10, 20]],
    [[24, 25, 26, 27], 'celt', 'superwideband', [2.5, 5, 10, 20]],
    [[28, 29, 30, 31], 'celt', 'fullband', [2.5, 5, 10, 20]],
  ];

  test('every TOC config, with the stereo flag and frame count code', () => {
    for (const [configs, mode, bandwidth, durations] of TABLE_2) {
      configs.forEach((config, i) => {
        const toc = parseOpusToc((config << 3) | 0x04 | 2);
        assert.deepEqual(toc, { config, mode, bandwidth, frameSamples: durations[i]! * 48, stereo: true, frameCountCode: 2 });
      });
    }
  });

  test('samples per packet for codes 0-3', () => {
    assert.equal(opusPacketSamples(hex('00')), 480, 'SILK NB 10 ms, one frame');
    assert.equal(opusPacketSamples(hex('0b 03')), 3 * 960, 'SILK NB 20 ms, code 3 with 3 frames');
    assert.equal(opusPacketSamples(hex('f9 aaaa')), 1920, 'CELT FB 20 ms, two equal frames');
    assert.equal(opusPacketSamples(hex('82 01 aa')), 240, 'CELT NB 2.5 ms, two frames');
    assert.equal(opusPacketSamples(hex('83 30')), 48 * 120, 'CELT NB 2.5 ms x 48 = 120 ms, the most there may be');
    assert.equal(opusPacketSamples(hex('1b c2 00 00')), 2 * 2880, 'SILK NB 60 ms x 2, VBR and padding flags');
  });

  test('code 3 without a count, with zero frames or over 120 ms; empty packets', () => {
    // TOC 0xfb: CELT FB 20 ms, code 3; 0x83: CELT NB 2.5 ms, code 3; 0x1b: SILK NB 60 ms, code 3.
    for (const bytes of ['fb', 'fb 00', '83 31', '1b 03']) assertRtpError(() => opusPacketSamples(hex(bytes)), 'opus.bad_frame_count');
    for (const read of [opusPacketSamples, opusPacketFromRtpPayload, rtpPayloadFromOpusPacket]) assertRtpError(() => read(Buffer.alloc(0)), 'opus.empty_packet');
  });

  test("ffmpeg's libopus packets: TOC as tshark reads it, and samples = the RTP timestamp step", () => {
    const expected = tshark['opus-rtp.pcap'];
    const packets = readCapture('opus-rtp.pcap')
      .filter((d) => d.destinationPort === expected.rtpPort)
      .map((d) => parseRtpPacket(d.data));
    packets.forEach((p, i) => {
      const opus = opusPacketFromRtpPayload(p.payload);
      assert.equal(rtpPayloadFromOpusPacket(opus), p.payload);
      const toc = parseOpusToc(opus[0]!);
      const frame = expected.rtp[i]!;
      assert.deepEqual([toc.config, Number(toc.stereo), toc.frameCountCode, opus[1]! & 0x3f], ['opus.TOC.config', 'opus.TOC.s', 'opus.TOC.c', 'opus.FC.m'].map((f) => field(frame, f)));
      const samples = opusPacketSamples(opus);
      assert.equal((samples / OPUS_RTP_CLOCK_RATE) * 1000, 60);
      if (i > 0) assert.equal(timestampDistance(packets[i - 1]!.timestamp, p.timestamp), samples);
    });
  });
});

describe('hostile input', () => {
  test('truncated at every length', () => {
    for (const bytes of [PACKET_WITH_CSRCS_AND_PADDING, PACKET_WITH_TWO_BYTE_EXTENSION]) {
      for (let cut = 0; cut < bytes.length; cut++) {
        assert.throws(() => parseRtpPacket(bytes.subarray(0, cut)), RtpError, `cut at ${cut}`);
      }
    }
  });

  test('wrong version, padding of zero or longer than the payload, an extension length past the end', () => {
    assertRtpError(() => parseRtpPacket(hex(`40 64 ${FIXED}`)), 'rtp.bad_version');
    assertRtpError(() => parseRtpPacket(hex(`a0 64 ${FIXED} aa 00`)), 'rtp.bad_padding');
    assertRtpError(() => parseRtpPacket(hex(`a0 64 ${FIXED} aa 03`)), 'rtp.bad_padding');
    assert.equal(parseRtpPacket(hex(`a0 64 ${FIXED} aa 02`)).payload.length, 0, 'padding may take everything');
    assertRtpError(() => parseRtpPacket(hex(`90 64 ${FIXED} bede ffff 00000000`)), 'rtp.truncated');
    assertRtpError(() => parseRtpPacket(hex(`8f 64 ${FIXED} 00000001`)), 'rtp.truncated');
  });

  test('random bytes and mutated packets only ever throw RtpError', () => {
    const random = prng(42);
    const samples: Buffer[] = [];
    for (let i = 0; i < 3000; i++) samples.push(randomBytes(Math.floor(random() * 80), i));
    for (const base of [PACKET_WITH_CSRCS_AND_PADDING, PACKET_WITH_TWO_BYTE_EXTENSION, PACKET_WITH_TO_AND_AL]) {
      for (let i = 0; i < 2000; i++) {
        const mutated = Buffer.from(base);
        mutated[Math.floor(random() * mutated.length)] = Math.floor(random() * 256);
        mutated[0] = (mutated[0]! & 0x3f) | 0x80; // keep version 2 so the rest is reached
        samples.push(mutated);
      }
    }
    let parsed = 0;
    for (const bytes of samples) {
      try {
        const p = parseRtpPacket(bytes);
        if (p.extension) parseHeaderExtensionElements(p.extension);
        if (p.payload.length > 0) opusPacketSamples(p.payload);
        parsed++;
      } catch (err) {
        assert.ok(err instanceof RtpError, `${bytes.toString('hex')}: ${err}`);
      }
    }
    assert.ok(parsed > 1000, `${parsed} parsed`);
  });
});
