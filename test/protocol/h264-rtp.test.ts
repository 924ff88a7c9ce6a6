// H.264 over RTP tests: one x264 bitstream (test/fixtures/rtp) as Annex-B, as ffmpeg's FLV
// (AVCDecoderConfigurationRecord and AVCC access units) and as the RTP packets ffmpeg's muxer
// sent. Our depacketizer must rebuild ffmpeg's access units from ffmpeg's packets, our
// packetizer must cut them as ffmpeg did, and both must survive loss, reordering and hostile
// payloads within their limits.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { RtpError } from '#protocol/errors.ts';
import { FlvReader, FlvTagType } from '#protocol/flv/flv.ts';
import {
  buildAvcDecoderConfigurationRecord,
  describeAvcDecoderConfigurationRecord,
  parseAvcDecoderConfigurationRecord,
} from '#protocol/rtp/avc-config.ts';
import { H264Depacketizer, type H264DepacketizerEvent, type H264DepacketizerLimits } from '#protocol/rtp/h264-depacketizer.ts';
import { packetizeH264 } from '#protocol/rtp/h264-packetizer.ts';
import { buildFuA, buildStapA, parseFuA, parseStapA } from '#protocol/rtp/h264-payload.ts';
import {
  annexBToAvcc,
  avccToAnnexB,
  findParameterSets,
  isKeyframe,
  joinAnnexB,
  joinAvcc,
  nalUnitType,
  splitAnnexB,
  splitAvcc,
} from '#protocol/rtp/nal-units.ts';
import { parseRtpPacket, type RtpPacket } from '#protocol/rtp/rtp-packet.ts';
import { hex, prng, randomBytes } from '../support/bytes.ts';
import { fixture, readCapture, tshark } from '../fixtures/rtp/captures.ts';

function assertRtpError(fn: () => unknown, code: string): void {
  assert.throws(fn, (e: unknown) => e instanceof RtpError && e.code === code, code);
}

const FLV_VIDEO_TAG_HEADER_SIZE = 5;
const MS_TO_90KHZ = 90;

/** ffmpeg's FLV of the bitstream: its sequence header body and its access units (NAL units, ms). */
const flvVideoTags = new FlvReader().push(fixture('h264.flv')).filter((t) => t.type === FlvTagType.Video);
const flvRecord = flvVideoTags.find((t) => t.data[1] === 0)!.data.subarray(FLV_VIDEO_TAG_HEADER_SIZE);
const flvAccessUnits = flvVideoTags
  .filter((t) => t.data[1] === 1)
  .map((t) => ({ timestamp: t.timestamp, body: t.data.subarray(FLV_VIDEO_TAG_HEADER_SIZE), nalUnits: splitAvcc(t.data.subarray(FLV_VIDEO_TAG_HEADER_SIZE)) }));
const annexB = fixture('h264.h264');
/** The RTP packets ffmpeg sent with -pkt_size 400: 388-byte payloads. */
const capturedPackets = readCapture('h264-rtp.pcap')
  .filter((d) => d.destinationPort === tshark['h264-rtp.pcap'].rtpPort)
  .map((d) => parseRtpPacket(d.data));
const FFMPEG_MAX_PAYLOAD = 388;
const FIRST_RTP_TIMESTAMP = capturedPackets[0]!.timestamp;

const typesOf = (nalUnits: Buffer[]) => nalUnits.map(nalUnitType);

/** Our packetizer's packets for access units, sequence numbers from `firstSequence` (wrapping). */
function packetize(accessUnits: { timestamp: number; nalUnits: Buffer[] }[], maxPayload: number, firstSequence = 65000): RtpPacket[] {
  let sequence = firstSequence;
  return accessUnits.flatMap((au) =>
    packetizeH264(au.nalUnits, maxPayload).map(({ payload, marker }) => ({
      payloadType: 96,
      marker,
      sequenceNumber: sequence++ & 0xffff,
      timestamp: (FIRST_RTP_TIMESTAMP + au.timestamp * MS_TO_90KHZ) % 2 ** 32,
      ssrc: 1,
      csrcs: [],
      extension: null,
      payload,
      paddingLength: 0,
    })),
  );
}

/** Pushes the packets, then flushes: the stream ends, nothing more will fill a gap. */
function depacketize(packets: RtpPacket[], limits?: Partial<H264DepacketizerLimits>): { events: H264DepacketizerEvent[]; depacketizer: H264Depacketizer } {
  const depacketizer = new H264Depacketizer(limits);
  return { events: [...packets.flatMap((p) => depacketizer.push(p)), ...depacketizer.flush()], depacketizer };
}

/** Events as [kind, ms since the first access unit, NAL unit types or drop reason]. */
function summary(events: H264DepacketizerEvent[]): [string, number, number[] | string][] {
  return events.map((e) => [e.kind, (e.timestamp - FIRST_RTP_TIMESTAMP) / MS_TO_90KHZ, e.kind === 'access-unit' ? typesOf(e.nalUnits) : e.reason]);
}

const expectedAccessUnits = () => flvAccessUnits.map((au): [string, number, number[]] => ['access-unit', au.timestamp, typesOf(au.nalUnits)]);

describe('NAL units: Annex-B and AVCC', () => {
  test("the Annex-B file holds the NAL units of ffmpeg's FLV access units", () => {
    const nalUnits = splitAnnexB(annexB);
    assert.deepEqual(nalUnits, flvAccessUnits.flatMap((au) => au.nalUnits));
    assert.deepEqual(typesOf(nalUnits), [7, 8, 6, 5, 1, 1, 1, 1, 7, 8, 5, 1, 1, 1, 1]);
    assert.deepEqual(splitAnnexB(joinAnnexB(nalUnits)), nalUnits);
  });

  test('3- and 4-byte start codes, leading zeros, trailing zeros, empty NAL units', () => {
    assert.deepEqual(splitAnnexB(hex('0000 00000001 6742 000001 68ce 0000 000001 000001 65aabb 0000')), [hex('6742'), hex('68ce'), hex('65aabb')]);
    assert.deepEqual(joinAnnexB([hex('6742'), hex('68')]), hex('00000001 6742 00000001 68'));
    assert.deepEqual(splitAnnexB(Buffer.alloc(0)), []);
    assert.deepEqual(splitAnnexB(hex('000000')), []);
  });

  test("AVCC: ffmpeg's FLV bodies split and join byte for byte; conversions both ways", () => {
    for (const au of flvAccessUnits) {
      assert.deepEqual(joinAvcc(au.nalUnits), au.body);
      assert.deepEqual(annexBToAvcc(avccToAnnexB(au.body)), au.body);
    }
    assert.deepEqual(joinAvcc([hex('6742'), hex('68')], 2), hex('0002 6742 0001 68'));
    assert.deepEqual(splitAvcc(hex('02 6742 01 68 00'), 1), [hex('6742'), hex('68')], 'a zero length is skipped');
  });

  test('keyframes and parameter sets of access units', () => {
    assert.deepEqual(flvAccessUnits.map((au) => isKeyframe(au.nalUnits)), [true, false, false, false, false, true, false, false, false, false]);
    const { sps, pps } = findParameterSets(flvAccessUnits[0]!.nalUnits);
    assert.deepEqual([sps.length, pps.length, sps[0]![0], pps[0]![0]], [1, 1, 0x67, 0x68]);
    assert.deepEqual(findParameterSets(flvAccessUnits[1]!.nalUnits), { sps: [], pps: [] });
  });

  test('malformed framing', () => {
    for (const bytes of ['ff 000001 65', '6588']) assertRtpError(() => splitAnnexB(hex(bytes)), 'h264.bad_annexb');
    for (const bytes of ['00000005 6588', '000000', 'ffffffff 65']) assertRtpError(() => splitAvcc(hex(bytes)), 'h264.truncated_avcc');
    assertRtpError(() => splitAvcc(hex('01 65'), 3), 'h264.bad_length_size');
    assertRtpError(() => joinAvcc([Buffer.alloc(256)], 1), 'h264.nal_unit_too_large');
  });
});

describe('AVCDecoderConfigurationRecord', () => {
  test("built from the stream's SPS and PPS: ffmpeg's record byte for byte", () => {
    const { sps, pps } = findParameterSets(flvAccessUnits[0]!.nalUnits);
    assert.deepEqual(buildAvcDecoderConfigurationRecord(sps, pps), flvRecord);
  });

  test("parsed: ffmpeg's record, and what codecs.ts reads of its SPS", () => {
    const { sps, pps } = findParameterSets(flvAccessUnits[0]!.nalUnits);
    assert.deepEqual(parseAvcDecoderConfigurationRecord(flvRecord), { profile: 66, profileCompatibility: 0xc0, level: 10, nalLengthSize: 4, sps, pps });
    assert.deepEqual(describeAvcDecoderConfigurationRecord(flvRecord), { profile: 66, level: 10, width: 160, height: 120 });
    assert.equal(describeAvcDecoderConfigurationRecord(hex('01 42c00a ff e1 0001 67 01 0001 68')), null);
  });

  test('length sizes, several parameter sets, trailing High-profile bytes', () => {
    const sps = [hex('6764001f aabb'), hex('6764001f cc')];
    const pps = [hex('68ee'), hex('68ef'), hex('68f0')];
    const record = buildAvcDecoderConfigurationRecord(sps, pps, 2);
    assert.deepEqual(record, hex('01 64001f fd e2 0006 6764001faabb 0005 6764001fcc 03 0002 68ee 0002 68ef 0002 68f0'));
    assert.deepEqual(parseAvcDecoderConfigurationRecord(Buffer.concat([record, hex('fd f8 f8 00')])), { profile: 100, profileCompatibility: 0, level: 31, nalLengthSize: 2, sps, pps });
    assert.equal(parseAvcDecoderConfigurationRecord(buildAvcDecoderConfigurationRecord(sps, pps, 1)).nalLengthSize, 1);
  });

  test('wrong parameter sets are refused when building; a malformed record when parsing', () => {
    const sps = hex('6742c00a');
    const pps = hex('68ce');
    const wrong: [Buffer[], Buffer[], string][] = [
      [[], [pps], 'no SPS'],
      [[sps], [], 'no PPS'],
      [[pps], [pps], 'a PPS as SPS'],
      [[sps], [sps], 'an SPS as PPS'],
      [[hex('6742')], [pps], 'an SPS without profile and level'],
      [[Buffer.alloc(0)], [pps], 'an empty SPS'],
      [[Buffer.concat([sps, Buffer.alloc(0x10000)])], [pps], 'an SPS over 65535 bytes'],
    ];
    for (const [spsList, ppsList, what] of wrong) {
      assert.throws(() => buildAvcDecoderConfigurationRecord(spsList, ppsList), (e: unknown) => e instanceof RtpError && e.code === 'h264.bad_parameter_sets', what);
    }
    // configurationVersion 0; lengthSizeMinusOne 2.
    for (const bytes of ['00 42c00a ff e1 0001 67 01 0001 68', '01 42c00a fe e1 0001 67 01 0001 68']) {
      assertRtpError(() => parseAvcDecoderConfigurationRecord(hex(bytes)), 'h264.bad_avc_config');
    }
    for (let cut = 0; cut < flvRecord.length; cut++) {
      assert.throws(() => parseAvcDecoderConfigurationRecord(flvRecord.subarray(0, cut)), RtpError, `cut at ${cut}`);
    }
  });
});

describe('payload structures (RFC 6184)', () => {
  test('STAP-A takes the highest NRI and F of its units; parses back', () => {
    const units = [hex('27 aa'), hex('48 bbcc'), hex('86')];
    const stap = buildStapA(units);
    assert.deepEqual(stap, hex('d8 0002 27aa 0003 48bbcc 0001 86'));
    assert.deepEqual(parseStapA(stap), units);
  });

  test('FU-A: indicator from the NAL header, S and E bits, type in the FU header', () => {
    assert.deepEqual(buildFuA(0x65, true, false, hex('0102')), hex('7c 85 0102'));
    assert.deepEqual(buildFuA(0x65, false, true, hex('03')), hex('7c 45 03'));
    assert.deepEqual(parseFuA(hex('7c 45 03')), { start: false, end: true, nalHeader: 0x65, data: hex('03') });
  });

  test('malformed STAP-A and FU-A payloads', () => {
    // Empty, a size past the end, a size cut short, a zero size.
    for (const bytes of ['18', '18 0005 6742', '18 0002 6742 00', '18 0000']) assertRtpError(() => parseStapA(hex(bytes)), 'h264.bad_stap_a');
    // No FU header; start and end both set.
    for (const bytes of ['7c', '7c c5 00']) assertRtpError(() => parseFuA(hex(bytes)), 'h264.bad_fu_a');
  });
});

describe('packetizer', () => {
  test("cuts ffmpeg's access units as ffmpeg did, but for the STAP-A NRI RFC 6184 5.7 asks for", () => {
    const ours = packetize(flvAccessUnits, FFMPEG_MAX_PAYLOAD);
    assert.equal(ours.length, capturedPackets.length);
    ours.forEach((p, i) => {
      const theirs = capturedPackets[i]!;
      assert.equal(p.marker, theirs.marker, `packet ${i} marker`);
      assert.equal((p.timestamp - FIRST_RTP_TIMESTAMP) >>> 0, (theirs.timestamp - FIRST_RTP_TIMESTAMP) >>> 0);
      if ((theirs.payload[0]! & 0x1f) === 24) {
        // ffmpeg writes a bare type 24; the SPS and PPS inside have NRI 3.
        assert.deepEqual([theirs.payload[0], p.payload[0]], [0x18, 0x78]);
        assert.deepEqual(p.payload.subarray(1), theirs.payload.subarray(1));
      } else {
        assert.deepEqual(p.payload, theirs.payload, `packet ${i}`);
      }
    });
  });

  test('a NAL unit of exactly the size goes alone, one byte more is fragmented', () => {
    const nal = Buffer.concat([hex('65'), Buffer.alloc(99, 7)]);
    assert.deepEqual(packetizeH264([nal], 100), [{ payload: nal, marker: true }]);
    const fragments = packetizeH264([nal], 99);
    assert.deepEqual(fragments.map((f) => [f.payload.length, f.payload[1], f.marker]), [
      [99, 0x85, false],
      [4, 0x45, true],
    ]);
  });

  test('small neighbours share STAP-As as long as they fit; the smallest size carries a byte per fragment', () => {
    const small = [hex('6742c0'), hex('68ce'), hex('0605'), hex('41aa')];
    assert.deepEqual(packetizeH264(small, 1 + 5 + 4 + 4).map((p) => p.payload), [buildStapA(small.slice(0, 3)), small[3]]);
    assert.deepEqual(packetizeH264(small, 1 + 5 + 4 + 4 + 4).map((p) => p.payload), [buildStapA(small)]);
    const tiny = packetizeH264([hex('65 010203')], 3);
    assert.deepEqual(tiny.map((p) => p.payload), [hex('7c 85 01'), hex('7c 05 02'), hex('7c 45 03')]);
    assert.deepEqual(packetizeH264([], 1200), []);
  });

  test('sizes below 3 and empty NAL units are refused', () => {
    assertRtpError(() => packetizeH264([hex('65')], 2), 'h264.bad_payload_size');
    assertRtpError(() => packetizeH264([hex('65')], 65536), 'h264.bad_payload_size');
    assertRtpError(() => packetizeH264([hex('65'), Buffer.alloc(0)], 1200), 'h264.empty_nal_unit');
  });
});

describe('depacketizer', () => {
  test("rebuilds ffmpeg's access units from ffmpeg's packets", () => {
    const { events, depacketizer } = depacketize(capturedPackets);
    assert.deepEqual(summary(events), expectedAccessUnits());
    assert.deepEqual(
      events.map((e) => e.kind === 'access-unit' && joinAvcc(e.nalUnits)),
      flvAccessUnits.map((au) => au.body),
    );
    assert.deepEqual(events.map((e) => e.kind === 'access-unit' && e.keyframe), [true, false, false, false, false, true, false, false, false, false]);
    assert.equal(depacketizer.awaitingKeyframe, false);
    assert.deepEqual(depacketizer.stats, { duplicates: 0, late: 0, lost: 0 });
  });

  test('round trip through our packetizer at payload sizes from 3 to 65535, across the sequence wrap', () => {
    for (const size of [3, 4, 17, 100, 388, 1000, 1200, 2600, 65535]) {
      const { events } = depacketize(packetize(flvAccessUnits, size, 65530));
      assert.deepEqual(events.map((e) => e.kind === 'access-unit' && e.nalUnits), flvAccessUnits.map((au) => au.nalUnits), `size ${size}`);
    }
  });

  test('a lost FU-A fragment drops its access unit and asks for a keyframe until the next one', () => {
    const packets = [...capturedPackets];
    packets.splice(6, 1); // a middle fragment of the first IDR slice
    const depacketizer = new H264Depacketizer({ reorderWindow: 0 });
    assert.equal(depacketizer.awaitingKeyframe, true, 'nothing decodable yet');
    const awaiting: boolean[] = [];
    const events = packets.flatMap((p) => {
      const out = depacketizer.push(p);
      if (out.length > 0) awaiting.push(depacketizer.awaitingKeyframe);
      return out;
    });
    const expected = expectedAccessUnits();
    assert.deepEqual(summary(events), [['dropped', 0, 'packet-loss'], ...expected.slice(1)]);
    assert.deepEqual(awaiting, [true, true, true, true, true, false, false, false, false, false]);
    assert.equal((events[0] as { detail: string }).detail, '1 packets lost');
    assert.equal(depacketizer.stats.lost, 1);
  });

  test('a lost marker packet drops its access unit and the next (which the gap may have started)', () => {
    const packets = capturedPackets.filter((_, i) => i !== 9); // the last fragment of the first IDR slice
    const { events } = depacketize(packets);
    assert.deepEqual(summary(events), [['dropped', 0, 'packet-loss'], ['dropped', 100, 'packet-loss'], ...expectedAccessUnits().slice(2)]);
  });

  test("a lost first packet (the second keyframe's SPS and PPS) drops that access unit only", () => {
    const index = capturedPackets.findIndex((p, i) => i > 0 && (p.payload[0]! & 0x1f) === 24);
    const { events } = depacketize(capturedPackets.filter((_, i) => i !== index));
    const expected = expectedAccessUnits();
    assert.deepEqual(summary(events), [...expected.slice(0, 5), ['dropped', 500, 'packet-loss'], ...expected.slice(6)]);
  });

  test('fragments missing without a sequence gap (a broken sender) drop the access unit as missing-fragment', () => {
    const renumber = (packets: RtpPacket[]) => packets.map((p, i) => ({ ...p, sequenceNumber: i }));
    const withoutMiddle = renumber(capturedPackets.filter((_, i) => i !== 6));
    assert.deepEqual(summary(depacketize(withoutMiddle).events)[0], ['access-unit', 0, [7, 8, 6, 5]], 'a middle fragment cannot be missed without a gap');
    const withoutEnd = renumber(capturedPackets.filter((_, i) => i !== 2)); // the SEI's end fragment
    assert.deepEqual(summary(depacketize(withoutEnd).events)[0], ['dropped', 0, 'missing-fragment']);
    const withoutStart = renumber(capturedPackets.filter((_, i) => i !== 3)); // the IDR's start fragment
    assert.deepEqual(summary(depacketize(withoutStart).events)[0], ['dropped', 0, 'missing-fragment']);
    const endless = renumber(capturedPackets.slice(0, 9).concat(capturedPackets.slice(10)).map((p, i) => (i === 8 ? { ...p, marker: true } : p)));
    assert.deepEqual(summary(depacketize(endless).events)[0], ['dropped', 0, 'missing-fragment'], 'marker before the end fragment');
  });

  test('reordering within the window is undone', () => {
    const swaps = [
      [4, 5],
      [9, 10],
      [1, 3],
    ];
    for (const [a, b] of swaps) {
      const packets = [...capturedPackets];
      [packets[a!], packets[b!]] = [packets[b!]!, packets[a!]!];
      assert.deepEqual(summary(depacketize(packets).events), expectedAccessUnits(), `swap ${a} and ${b}`);
    }
    const random = prng(11);
    for (let round = 0; round < 50; round++) {
      // Each packet but the first (which sets where the sequence starts) moves at most 4 places.
      const packets = capturedPackets.map((p, i) => ({ p, key: i === 0 ? -1 : i + random() * 4 })).sort((x, y) => x.key - y.key).map((x) => x.p);
      const { events, depacketizer } = depacketize(packets, { reorderWindow: 8 });
      assert.deepEqual(summary(events), expectedAccessUnits());
      assert.equal(depacketizer.stats.lost, 0);
    }
  });

  test('with reordering turned off, a swap is a loss', () => {
    const packets = [...capturedPackets];
    [packets[4], packets[5]] = [packets[5]!, packets[4]!];
    const { events, depacketizer } = depacketize(packets, { reorderWindow: 0 });
    assert.deepEqual(summary(events)[0], ['dropped', 0, 'packet-loss']);
    assert.deepEqual(depacketizer.stats, { duplicates: 0, late: 1, lost: 1 });
  });

  test('flush stops waiting for a gap', () => {
    const depacketizer = new H264Depacketizer();
    const packets = capturedPackets.slice(0, 12).filter((_, i) => i !== 10);
    assert.deepEqual(summary(packets.flatMap((p) => depacketizer.push(p))), [['access-unit', 0, [7, 8, 6, 5]]]);
    assert.deepEqual(summary(depacketizer.flush()), [['dropped', 200, 'packet-loss']], 'the access unit at 100 ms was the lost packet');
    assert.deepEqual(depacketizer.flush(), []);
  });

  test('without marker bits an access unit ends when the timestamp changes', () => {
    const { events } = depacketize(capturedPackets.map((p) => ({ ...p, marker: false })));
    assert.deepEqual(summary(events), expectedAccessUnits().slice(0, -1), 'the last one waits for a next timestamp');
  });

  test('padding-only packets are skipped', () => {
    const padded: RtpPacket[] = [];
    let sequence = 100;
    for (const p of capturedPackets) {
      padded.push({ ...p, sequenceNumber: sequence++ });
      padded.push({ ...p, marker: false, payload: Buffer.alloc(0), paddingLength: 200, sequenceNumber: sequence++ });
    }
    assert.deepEqual(summary(depacketize(padded).events), expectedAccessUnits());
    // Packets lost before a padding packet may have been the start of the next access unit: it is dropped.
    const lossy = padded.filter((_, i) => i !== 22); // the access unit at 200 ms, one packet
    assert.deepEqual(summary(depacketize(lossy).events).slice(0, 4), [...expectedAccessUnits().slice(0, 2), ['dropped', 300, 'packet-loss'], expectedAccessUnits()[4]!]);
  });

  test('sequence numbers jumping far ahead or back cost the access units at the jump', () => {
    const shifted = (by: number) => capturedPackets.map((p, i) => (i < 12 ? p : { ...p, sequenceNumber: (p.sequenceNumber + by) & 0xffff }));
    const expected = expectedAccessUnits();
    assert.deepEqual(summary(depacketize(shifted(30000)).events), [...expected.slice(0, 3), ['dropped', 300, 'packet-loss'], ...expected.slice(4)]);
    // 20000 back: the first packet there looks late, the second confirms a restart, which is followed.
    const { events, depacketizer } = depacketize(shifted(-20000));
    assert.deepEqual(summary(events), [...expected.slice(0, 3), ['dropped', 400, 'packet-loss'], ...expected.slice(5)]);
    assert.equal(depacketizer.stats.late, 1);
  });
});

describe('depacketizer limits and hostile payloads', () => {
  test('access units over the byte, NAL unit or packet limit are dropped; the others pass', () => {
    const bytes = depacketize(capturedPackets, { maxAccessUnitBytes: 1000 }).events;
    assert.deepEqual(summary(bytes).map(([kind, ms, what]) => (kind === 'dropped' ? [ms, what] : ms)), [[0, 'too-large'], 100, 200, 300, 400, [500, 'too-large'], 600, 700, 800, 900]);
    const nalUnits = depacketize(capturedPackets, { maxNalUnits: 3 }).events;
    assert.deepEqual(summary(nalUnits).map(([kind]) => kind), ['dropped', ...Array(4).fill('access-unit'), 'access-unit', ...Array(4).fill('access-unit')]);
    const packets = depacketize(capturedPackets, { maxPacketsPerAccessUnit: 7 }).events;
    assert.deepEqual(summary(packets).filter(([kind]) => kind === 'dropped'), [['dropped', 0, 'too-large'], ['dropped', 500, 'too-large']]);
  });

  test('an FU-A that never ends is cut off at 8 MiB, once; the next access unit comes through', () => {
    const depacketizer = new H264Depacketizer();
    const fragment = Buffer.alloc(60000, 1);
    const at = (sequenceNumber: number, timestamp: number, payload: Buffer, marker = false): RtpPacket => ({
      payloadType: 96, marker, sequenceNumber, timestamp, ssrc: 1, csrcs: [], extension: null, payload, paddingLength: 0,
    });
    const events: H264DepacketizerEvent[] = [];
    for (let i = 0; i < 400; i++) events.push(...depacketizer.push(at(i, 0, buildFuA(0x65, i === 0, false, fragment))));
    events.push(...depacketizer.push(at(400, 0, buildFuA(0x65, false, true, fragment), true)));
    events.push(...depacketizer.push(at(401, 3000, hex('65 88'), true)));
    assert.deepEqual(events.map((e) => (e.kind === 'dropped' ? [e.reason, e.detail] : e.nalUnits)), [['too-large', 'access unit over 8388608 bytes'], [hex('65 88')]]);
  });

  test('malformed payloads drop their access unit with the error code', () => {
    const at = (sequenceNumber: number, payload: Buffer, marker = true): RtpPacket => ({
      payloadType: 96, marker, sequenceNumber, timestamp: sequenceNumber * 3000, ssrc: 1, csrcs: [], extension: null, payload, paddingLength: 0,
    });
    const { events } = depacketize([at(0, hex('18 0009 6742')), at(1, hex('7c c5 00')), at(2, hex('19 0000')), at(3, hex('1d 85 00')), at(4, hex('00')), at(5, hex('1f')), at(6, hex('65 88'))]);
    assert.deepEqual(events.map((e) => (e.kind === 'dropped' ? e.detail : 'access-unit')), [
      'h264.bad_stap_a',
      'h264.bad_fu_a',
      'h264.unsupported_packet_type',
      'h264.unsupported_packet_type',
      'h264.unsupported_packet_type',
      'h264.unsupported_packet_type',
      'access-unit',
    ]);
  });

  test('random payloads, flags and sequence numbers never throw and never hold more than the window', () => {
    const random = prng(5);
    const depacketizer = new H264Depacketizer({ reorderWindow: 16 });
    let accessUnits = 0;
    for (let i = 0; i < 20_000; i++) {
      const payload = randomBytes(Math.floor(random() * 40), i);
      // Bias towards the packet types that carry structure.
      if (payload.length > 0 && random() < 0.6) payload[0] = (payload[0]! & 0xe0) | [24, 28, 28, 5][Math.floor(random() * 4)]!;
      const events = depacketizer.push({
        payloadType: 96,
        marker: random() < 0.3,
        sequenceNumber: random() < 0.9 ? i & 0xffff : Math.floor(random() * 65536),
        timestamp: Math.floor(i / 5) * 3000,
        ssrc: 1,
        csrcs: [],
        extension: null,
        payload,
        paddingLength: 0,
      });
      accessUnits += events.filter((e) => e.kind === 'access-unit').length;
    }
    assert.ok(accessUnits > 100, `${accessUnits} access units`);
  });
});
