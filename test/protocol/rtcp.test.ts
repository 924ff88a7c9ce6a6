// RTCP tests: the compound packets ffmpeg sent (test/fixtures/rtp) against tshark's reading,
// feedback messages against libwebrtc's and mediasoup's test vectors, RFC 3550's round-trip
// example for the NTP helpers, and hostile input.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { RtpError } from '#protocol/errors.ts';
import { compactNtp, compactNtpToMillis, ntpFromUnixMillis, rtpTimestampToUnixMillis, unixMillisFromNtp } from '#protocol/rtp/ntp-time.ts';
import { isRtcpPacket, parseRtcpCompound, serializeRtcpCompound, serializeRtcpPacket, type RtcpPacket, type SenderReport } from '#protocol/rtp/rtcp.ts';
import { nackEntriesFromSequenceNumbers, sequenceNumbersFromNackEntries } from '#protocol/rtp/rtcp-feedback.ts';
import { cnameOf, SdesItemType } from '#protocol/rtp/rtcp-reports.ts';
import { parseRtpPacket } from '#protocol/rtp/rtp-packet.ts';
import { ascii, hex, prng, randomBytes } from '../support/bytes.ts';
import { field, fields, readCapture, tshark } from '../fixtures/rtp/captures.ts';

function assertRtpError(fn: () => unknown, code: string): void {
  assert.throws(fn, (e: unknown) => e instanceof RtpError && e.code === code, code);
}

/** Parses, checks the packets, and checks that serializing gives the bytes back. */
function assertRoundTrip(bytes: Buffer, packets: RtcpPacket[]): void {
  assert.deepEqual(parseRtcpCompound(bytes), packets);
  assert.deepEqual(serializeRtcpCompound(packets), bytes);
}

const FIXTURE_SSRC = 0x05eed264;
// The compound ffmpeg 5.1's RTP muxer sent when it finished the H.264 stream: SR, SDES CNAME, BYE.
// (Copied from h264-rtp.pcap; regenerating the fixtures changes its NTP and RTP timestamps.)
const FFMPEG_CLOSING_COMPOUND = hex(`
  80c8 0006 05eed264 eeba7c6d 3a1cac08 2b292196 0000001a 00001c48
  81ca 0006 05eed264 01 11 ${ascii('classroom-fixture')} 00
  81cb 0001 05eed264`);

describe('what ffmpeg sent', () => {
  test('the closing compound: SR, SDES and BYE, field by field and byte for byte', () => {
    const captured = readCapture('h264-rtp.pcap').filter((d) => d.destinationPort === tshark['h264-rtp.pcap'].rtcpPort);
    assert.deepEqual(captured.at(-1)!.data, FFMPEG_CLOSING_COMPOUND);
    assertRoundTrip(FFMPEG_CLOSING_COMPOUND, [
      {
        type: 'sr',
        ssrc: FIXTURE_SSRC,
        ntpTimestamp: { seconds: 0xeeba7c6d, fraction: 0x3a1cac08 },
        rtpTimestamp: 0x2b292196,
        packetCount: 26,
        octetCount: 7240,
        reports: [],
      },
      { type: 'sdes', chunks: [{ ssrc: FIXTURE_SSRC, items: [{ type: SdesItemType.Cname, text: 'classroom-fixture' }] }] },
      { type: 'bye', ssrcs: [FIXTURE_SSRC], reason: null },
    ]);
  });

  for (const name of ['h264-rtp.pcap', 'opus-rtp.pcap'] as const) {
    test(`${name}: every compound as tshark reads it; the counts match the RTP packets sent`, () => {
      const expected = tshark[name];
      const datagrams = readCapture(name);
      const rtcp = datagrams.filter((d) => d.destinationPort === expected.rtcpPort);
      rtcp.forEach(({ data }, i) => {
        const frame = expected.rtcp[i]!;
        const packets = parseRtcpCompound(data);
        assert.deepEqual(packets.map((p) => p.type), fields(frame, 'rtcp.pt').map((pt) => ({ 200: 'sr', 202: 'sdes', 203: 'bye' })[pt]));
        const sr = packets[0] as SenderReport;
        assert.deepEqual(
          [sr.ssrc, sr.ntpTimestamp.seconds, sr.ntpTimestamp.fraction, sr.rtpTimestamp, sr.packetCount, sr.octetCount],
          ['rtcp.senderssrc', 'rtcp.timestamp.ntp.msw', 'rtcp.timestamp.ntp.lsw', 'rtcp.timestamp.rtp', 'rtcp.sender.packetcount', 'rtcp.sender.octetcount'].map((f) => field(frame, f)),
        );
        const sdes = packets[1]!;
        assert.ok(sdes.type === 'sdes');
        assert.equal(cnameOf(sdes.chunks[0]!), frame['rtcp.sdes.text']![0]);
        assert.deepEqual(serializeRtcpCompound(packets), data);
      });
      // RFC 3550 6.4.1: the octet count is payload bytes, without headers and padding.
      const rtp = datagrams.filter((d) => d.destinationPort === expected.rtpPort).map((d) => parseRtpPacket(d.data));
      const closing = parseRtcpCompound(rtcp.at(-1)!.data)[0] as SenderReport;
      assert.equal(closing.packetCount, rtp.length);
      assert.equal(closing.octetCount, rtp.reduce((sum, p) => sum + p.payload.length, 0));
    });
  }
});

describe('reports, descriptions and BYE', () => {
  test('RR with a report block (libwebrtc values) and a negative cumulative loss', () => {
    const block = {
      ssrc: 0x23456789,
      fractionLost: 55,
      cumulativeLost: 0x111111,
      highestSequence: 0x22222222,
      jitter: 0x33333333,
      lastSenderReport: 0x44444444,
      delaySinceLastSenderReport: 0x55555555,
    };
    assertRoundTrip(hex('81c9 0007 12345678 23456789 37 111111 22222222 33333333 44444444 55555555'), [{ type: 'rr', ssrc: 0x12345678, reports: [block] }]);
    const negative = hex('81c9 0007 12345678 23456789 00 ffffff 00000000 00000000 00000000 00000000');
    assert.equal((parseRtcpCompound(negative)[0] as { reports: { cumulativeLost: number }[] }).reports[0]!.cumulativeLost, -1);
    assert.deepEqual(serializeRtcpCompound(parseRtcpCompound(negative)), negative);
    assertRoundTrip(hex('80c9 0001 12345678'), [{ type: 'rr', ssrc: 0x12345678, reports: [] }]);
  });

  test('SR with two report blocks', () => {
    const reports = [1, 2].map((n) => ({
      ssrc: n,
      fractionLost: n,
      cumulativeLost: -n,
      highestSequence: 65536 + n,
      jitter: n,
      lastSenderReport: n,
      delaySinceLastSenderReport: n,
    }));
    const sr: SenderReport = { type: 'sr', ssrc: 9, ntpTimestamp: { seconds: 1, fraction: 2 }, rtpTimestamp: 3, packetCount: 4, octetCount: 5, reports };
    const bytes = serializeRtcpPacket(sr);
    assert.deepEqual(bytes.subarray(0, 4), hex('82c8 0012'));
    assert.deepEqual(parseRtcpCompound(bytes), [sr]);
  });

  test('SDES chunks end with a zero item and pad to 32 bits, whatever the text length', () => {
    assertRoundTrip(hex(`81ca 0003 01020304 01 02 ${ascii('ab')} 00000000`), [{ type: 'sdes', chunks: [{ ssrc: 0x01020304, items: [{ type: 1, text: 'ab' }] }] }]);
    for (let length = 0; length < 9; length++) {
      const chunks = [
        { ssrc: 1, items: [{ type: SdesItemType.Cname, text: 'x'.repeat(length) }] },
        { ssrc: 2, items: [{ type: SdesItemType.Tool, text: 'é'.repeat(length) }, { type: SdesItemType.Note, text: '' }] },
        { ssrc: 3, items: [] },
      ];
      const bytes = serializeRtcpPacket({ type: 'sdes', chunks });
      assert.equal(bytes.length % 4, 0);
      assert.deepEqual(parseRtcpCompound(bytes), [{ type: 'sdes', chunks }]);
    }
    assert.equal(cnameOf({ ssrc: 1, items: [{ type: SdesItemType.Name, text: 'n' }] }), undefined);
  });

  test('BYE with several sources and a reason', () => {
    assertRoundTrip(hex(`82cb 0004 12345678 9abcdef0 04 ${ascii('left')} 000000`), [{ type: 'bye', ssrcs: [0x12345678, 0x9abcdef0], reason: 'left' }]);
    assertRoundTrip(hex('80cb 0000'), [{ type: 'bye', ssrcs: [], reason: null }]);
  });

  test('padding at the end of a compound is left out of the body', () => {
    assert.deepEqual(parseRtcpCompound(hex('80c9 0001 12345678 a0c9 0002 87654321 00000004')), [
      { type: 'rr', ssrc: 0x12345678, reports: [] },
      { type: 'rr', ssrc: 0x87654321, reports: [] },
    ]);
  });

  test('APP, XR, transport-cc and non-REMB application feedback come out raw', () => {
    const bytes = hex(`80cc 0002 12345678 ${ascii('name')} 80cf 0001 12345678 8fcd 0002 12345678 23456789 8fce 0003 12345678 00000000 ${ascii('ABCD')}`);
    assertRoundTrip(bytes, [
      { type: 'unknown', packetType: 204, count: 0, body: hex(`12345678 ${ascii('name')}`) },
      { type: 'unknown', packetType: 207, count: 0, body: hex('12345678') },
      { type: 'unknown', packetType: 205, count: 15, body: hex('12345678 23456789') },
      { type: 'unknown', packetType: 206, count: 15, body: hex(`12345678 00000000 ${ascii('ABCD')}`) },
    ]);
  });

  test('RTP and RTCP on one port (RFC 5761)', () => {
    assert.equal(isRtcpPacket(FFMPEG_CLOSING_COMPOUND), true);
    assert.equal(isRtcpPacket(hex('80cd 0003')), true);
    assert.equal(isRtcpPacket(hex('80e0 0001 00000000 00000000')), false, 'RTP payload type 96 with the marker');
    assert.equal(isRtcpPacket(hex('8060 0001 00000000 00000000')), false, 'RTP payload type 96');
    assert.equal(isRtcpPacket(hex('40c8 0006')), false, 'version 1');
    assert.equal(isRtcpPacket(hex('80c8')), false, 'too short');
  });
});

describe('feedback', () => {
  const SENDER = '12345678';
  const MEDIA = '23456789';

  test('generic NACK: libwebrtc vector (0, 1, 3, 8, 16 -> PID 0, BLP 0x8085)', () => {
    assertRoundTrip(hex(`81cd 0003 ${SENDER} ${MEDIA} 0000 8085`), [{ type: 'nack', senderSsrc: 0x12345678, mediaSsrc: 0x23456789, lostSequenceNumbers: [0, 1, 3, 8, 16] }]);
  });

  test('generic NACK across the 16-bit wrap: libwebrtc vector', () => {
    const lost = [0xffdc, 0xffec, 0xfffe, 0xffff, 0x0000, 0x0001, 0x0003, 0x0014, 0x0064];
    assertRoundTrip(hex(`81cd 0006 ${SENDER} ${MEDIA} ffdc 8000 fffe 0017 0014 0000 0064 0000`), [
      { type: 'nack', senderSsrc: 0x12345678, mediaSsrc: 0x23456789, lostSequenceNumbers: lost },
    ]);
    assert.deepEqual(nackEntriesFromSequenceNumbers(lost), [
      { pid: 0xffdc, blp: 0x8000 },
      { pid: 0xfffe, blp: 0x0017 },
      { pid: 0x0014, blp: 0 },
      { pid: 0x0064, blp: 0 },
    ]);
  });

  test('generic NACK: mediasoup vector (PID 2959, BLP 0x0003)', () => {
    assertRoundTrip(hex('81cd 0003 00000001 0330bdee 0b8f 0003'), [{ type: 'nack', senderSsrc: 1, mediaSsrc: 0x0330bdee, lostSequenceNumbers: [2959, 2960, 2961] }]);
  });

  test('NACK entries from an unordered list with repeats; 16 numbers per entry at the most', () => {
    assert.deepEqual(nackEntriesFromSequenceNumbers([20, 3, 19, 3, 4, 36]), [
      { pid: 3, blp: 0x8001 },
      { pid: 20, blp: 0x8000 },
    ]);
    assert.deepEqual(nackEntriesFromSequenceNumbers([5, 21, 22]), [
      { pid: 5, blp: 0x8000 },
      { pid: 22, blp: 0 },
    ]);
    assert.deepEqual(nackEntriesFromSequenceNumbers([]), []);
    assert.deepEqual(sequenceNumbersFromNackEntries([{ pid: 0xfff0, blp: 0xffff }]), Array.from({ length: 17 }, (_, i) => (0xfff0 + i) & 0xffff));
    assert.deepEqual(sequenceNumbersFromNackEntries([{ pid: 1, blp: 1 }, { pid: 2, blp: 0 }]), [1, 2], 'each once');
    assertRtpError(() => nackEntriesFromSequenceNumbers([65536]), 'rtp.bad_field');
    assertRtpError(() => serializeRtcpPacket({ type: 'nack', senderSsrc: 1, mediaSsrc: 2, lostSequenceNumbers: [] }), 'rtp.bad_field');
  });

  test('PLI and FIR: libwebrtc vectors', () => {
    assertRoundTrip(hex(`81ce 0002 ${SENDER} ${MEDIA}`), [{ type: 'pli', senderSsrc: 0x12345678, mediaSsrc: 0x23456789 }]);
    assertRoundTrip(hex(`84ce 0004 ${SENDER} 00000000 ${MEDIA} 0d 000000`), [{ type: 'fir', senderSsrc: 0x12345678, entries: [{ ssrc: 0x23456789, sequenceNumber: 13 }] }]);
    const two = { type: 'fir' as const, senderSsrc: 1, entries: [{ ssrc: 2, sequenceNumber: 255 }, { ssrc: 3, sequenceNumber: 0 }] };
    assert.deepEqual(parseRtcpCompound(serializeRtcpPacket(two)), [two]);
    assertRtpError(() => serializeRtcpPacket({ type: 'fir', senderSsrc: 1, entries: [] }), 'rtp.bad_field');
  });

  test('REMB: 522022 bit/s is mantissa 0x3fb93, exponent 1', () => {
    const bytes = hex(`8fce 0007 ${SENDER} 00000000 ${ascii('REMB')} 03 07fb93 23456789 2345678a 2345678b`);
    assertRoundTrip(bytes, [{ type: 'remb', senderSsrc: 0x12345678, bitrate: 522022, ssrcs: [0x23456789, 0x2345678a, 0x2345678b] }]);
    const small = { type: 'remb' as const, senderSsrc: 1, bitrate: 0x3ffff, ssrcs: [] };
    assert.deepEqual(serializeRtcpPacket(small).subarray(16, 20), hex('00 03ffff'));
    const rounded = parseRtcpCompound(serializeRtcpPacket({ ...small, bitrate: 10_000_001 }))[0] as { bitrate: number };
    assert.equal(rounded.bitrate, 156_250 * 2 ** 6, 'mantissa of 18 bits: rounded down');
    assertRtpError(() => serializeRtcpPacket({ ...small, bitrate: -1 }), 'rtp.bad_field');
  });
});

describe('NTP time and media time', () => {
  // RFC 3550 6.4.1, figure 2: an SR sent at 10 Nov 1995 11:33:25.125 UTC, answered 6.125 s later.
  test('RFC 3550 example: NTP of the SR, its compact form as LSR, and the round trip', () => {
    const sentAt = Date.UTC(1995, 10, 10, 11, 33, 25, 125);
    const ntp = ntpFromUnixMillis(sentAt);
    assert.deepEqual(ntp, { seconds: 0xb44db705, fraction: 0x20000000 });
    assert.equal(unixMillisFromNtp(ntp), sentAt);
    assert.equal(compactNtp(ntp), 0xb7052000);
    const arrival = 0xb7108000;
    const dlsr = 0x00054000;
    assert.equal(compactNtpToMillis(dlsr), 5250);
    assert.equal(compactNtpToMillis(arrival - compactNtp(ntp) - dlsr), 6125);
  });

  test('the Unix epoch, milliseconds, and the NTP era change of 2036', () => {
    assert.deepEqual(ntpFromUnixMillis(0), { seconds: 2_208_988_800, fraction: 0 });
    assert.deepEqual(ntpFromUnixMillis(1500), { seconds: 2_208_988_801, fraction: 0x80000000 });
    assert.equal(new Date(unixMillisFromNtp({ seconds: 0, fraction: 0 })).toISOString(), '2036-02-07T06:28:16.000Z');
    for (const when of [Date.UTC(2026, 0, 1, 12, 0, 0, 250), Date.UTC(2036, 1, 7, 6, 28, 15, 999), Date.UTC(2040, 5, 1)]) {
      assert.equal(unixMillisFromNtp(ntpFromUnixMillis(when)), when);
    }
    assert.ok(Math.abs(unixMillisFromNtp(ntpFromUnixMillis(1234.567)) - 1234.567) < 1e-6);
  });

  test("ffmpeg's two sender reports of one stream describe one clock", () => {
    for (const [name, clockRate] of [['h264-rtp.pcap', 90000], ['opus-rtp.pcap', 48000]] as const) {
      const expected = tshark[name];
      const [first, closing] = readCapture(name)
        .filter((d) => d.destinationPort === expected.rtcpPort)
        .map((d) => parseRtcpCompound(d.data)[0] as SenderReport);
      // ffmpeg derives the SR's RTP timestamp from its wallclock in whole milliseconds.
      const predicted = rtpTimestampToUnixMillis(closing!.rtpTimestamp, first!, clockRate);
      assert.ok(Math.abs(predicted - unixMillisFromNtp(closing!.ntpTimestamp)) <= 1, `${name}: ${predicted} vs ${unixMillisFromNtp(closing!.ntpTimestamp)}`);
    }
  });

  test('media time across the RTP timestamp wrap, and audio lined up with video', () => {
    const at = Date.UTC(2026, 5, 1, 10, 0, 0);
    const video = { ntpTimestamp: ntpFromUnixMillis(at), rtpTimestamp: 0xffffff00 };
    assert.equal(rtpTimestampToUnixMillis(0x00000100, video, 90000), at + (512 * 1000) / 90000);
    assert.equal(rtpTimestampToUnixMillis(0xfffffe00, video, 90000), at - (256 * 1000) / 90000);
    const audio = { ntpTimestamp: ntpFromUnixMillis(at + 500), rtpTimestamp: 1000 };
    // A video frame 1 s after the video SR and an audio packet 0.5 s after the audio SR were captured together.
    assert.equal(rtpTimestampToUnixMillis((0xffffff00 + 90000) % 2 ** 32, video, 90000), rtpTimestampToUnixMillis(1000 + 24000, audio, 48000));
    assertRtpError(() => rtpTimestampToUnixMillis(0, audio, 0), 'rtp.bad_field');
  });
});

describe('hostile input', () => {
  test('cut anywhere but between packets', () => {
    const boundaries = new Set([28, 56]);
    for (let cut = 0; cut < FFMPEG_CLOSING_COMPOUND.length; cut++) {
      const part = FFMPEG_CLOSING_COMPOUND.subarray(0, cut);
      if (boundaries.has(cut)) assert.equal(parseRtcpCompound(part).length, cut === 28 ? 1 : 2);
      else assert.throws(() => parseRtcpCompound(part), RtpError, `cut at ${cut}`);
    }
  });

  const MALFORMED: [string, string, string][] = [
    ['80c8 ffff 05eed264', 'rtcp.truncated', 'a length of 256 KiB in a 8-byte datagram'],
    ['9fc8 0006 05eed264 0000000000000000 00000000 00000000 00000000', 'rtcp.truncated', 'SR saying 31 report blocks, holding none'],
    ['9fc9 0001 05eed264', 'rtcp.truncated', 'RR saying 31 report blocks, holding none'],
    ['82ca 0003 00000001 01 02 6162 00000000', 'rtcp.truncated', 'SDES saying 2 chunks, holding 1'],
    ['81ca 0002 00000001 01 05 6162', 'rtcp.bad_sdes', 'SDES item longer than the packet'],
    ['81ca 0002 00000001 01 02 6162', 'rtcp.bad_sdes', 'SDES chunk without its end item'],
    ['81cb 0002 00000001 09 616263', 'rtcp.truncated', 'BYE reason longer than the packet'],
    ['85cb 0001 00000001', 'rtcp.truncated', 'BYE saying 5 sources, holding 1'],
    ['8fce 0004 00000001 00000000 52454d42 05000001', 'rtcp.bad_feedback', 'REMB saying 5 SSRCs, holding none'],
    ['81cd 0002 00000001 00000002', 'rtcp.bad_feedback', 'NACK without entries'],
    ['84ce 0002 00000001 00000000', 'rtcp.bad_feedback', 'FIR without entries'],
    ['84ce 0003 00000001 00000000 00000002', 'rtcp.bad_feedback', 'FIR with half an entry'],
    ['81ce 0001 00000001', 'rtcp.truncated', 'PLI without the media SSRC'],
    ['40c9 0001 12345678', 'rtcp.bad_version', 'version 1'],
    ['80c9 0001 12345678 00', 'rtcp.truncated', 'a byte after the last packet'],
    ['a0c9 0001 12345678', 'rtcp.bad_padding', 'padding longer than the body'],
    ['a0c9 0001 12345600', 'rtcp.bad_padding', 'padding of 0'],
    ['', 'rtcp.truncated', 'an empty datagram'],
  ];
  for (const [bytes, code, what] of MALFORMED) {
    test(`refused: ${what}`, () => assertRtpError(() => parseRtcpCompound(hex(bytes)), code));
  }

  test('random bytes with a plausible header only ever throw RtpError', () => {
    const random = prng(3);
    let parsed = 0;
    for (let i = 0; i < 20_000; i++) {
      // Mostly as long as the header says, sometimes a few bytes off.
      const words = Math.floor(random() * 16);
      const bytes = randomBytes(4 + 4 * words + (random() < 0.2 ? Math.floor(random() * 8) - 4 : 0), i);
      if (bytes.length < 4) continue;
      bytes[0] = 0x80 | (bytes[0]! & 0x1f) | (random() < 0.1 ? 0x20 : 0);
      bytes[1] = 200 + Math.floor(random() * 8);
      bytes.writeUInt16BE(words, 2);
      try {
        serializeRtcpCompound(parseRtcpCompound(bytes));
        parsed++;
      } catch (err) {
        assert.ok(err instanceof RtpError, `${bytes.toString('hex')}: ${err}`);
      }
    }
    assert.ok(parsed > 5000, `${parsed} parsed`);
  });
});
