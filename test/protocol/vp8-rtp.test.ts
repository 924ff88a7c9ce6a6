// VP8 over RTP tests (RFC 7741): one libvpx stream (test/fixtures/rtp) as IVF and as the RTP
// packets ffmpeg's muxer sent. Our descriptor parser must read every packet as Wireshark's VP8
// dissector did, our depacketizer must rebuild the IVF's frames byte for byte from the packets,
// and must drop (and report) what loss hurt, undo reordering, and survive hostile payloads.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { RtpError } from '#protocol/errors.ts';
import { readIvf } from '#protocol/ivf/ivf.ts';
import { parseRtpPacket, type RtpPacket } from '#protocol/rtp/rtp-packet.ts';
import {
  parseVp8PayloadDescriptor,
  Vp8Depacketizer,
  type Vp8DepacketizerEvent,
  type Vp8DepacketizerLimits,
  vp8FrameSize,
} from '#protocol/rtp/vp8-depacketizer.ts';
import { hex, prng, randomBytes } from '../support/bytes.ts';
import { field, fixture, readCapture, tshark } from '../fixtures/rtp/captures.ts';

function assertRtpError(fn: () => unknown, code: string): void {
  assert.throws(fn, (e: unknown) => e instanceof RtpError && e.code === code, code);
}

const capture = tshark['vp8-rtp.pcap'];
const ivf = readIvf(fixture('vp8.ivf'));
/** The RTP packets ffmpeg sent with -pkt_size 400. */
const capturedPackets = readCapture('vp8-rtp.pcap')
  .filter((d) => d.destinationPort === capture.rtpPort)
  .map((d) => parseRtpPacket(d.data));
const FIRST_RTP_TIMESTAMP = capturedPackets[0]!.timestamp;
/** IVF ticks (1/10 s here) to 90 kHz RTP ticks. */
const RTP_TICKS_PER_IVF_TICK = (90000 * ivf.info.timebaseNumerator) / ivf.info.timebaseDenominator;

function depacketize(packets: RtpPacket[], limits?: Partial<Vp8DepacketizerLimits>): { events: Vp8DepacketizerEvent[]; depacketizer: Vp8Depacketizer } {
  const depacketizer = new Vp8Depacketizer(limits);
  // The end of the capture is no reason to keep waiting for a gap to fill.
  const events = [...packets.flatMap((p) => depacketizer.push(p)), ...depacketizer.flush()];
  return { events, depacketizer };
}

/** Frame index in the fixture (from the RTP timestamp), and what came out: 'key'/'delta' (+ '!' when it references something lost) or the drop reason. */
function summary(events: Vp8DepacketizerEvent[]): [number, string][] {
  return events.map((e) => [
    (e.timestamp - FIRST_RTP_TIMESTAMP) / RTP_TICKS_PER_IVF_TICK,
    e.kind === 'frame' ? `${e.keyframe ? 'key' : 'delta'}${e.referencesLost ? '!' : ''}` : e.reason,
  ]);
}

/** The captured packets without those of frame `index` for which `which(packetIndexInFrame, packetCount)` holds. */
function without(index: number, which: (i: number, count: number) => boolean): RtpPacket[] {
  const timestamp = FIRST_RTP_TIMESTAMP + index * RTP_TICKS_PER_IVF_TICK;
  const frame = capturedPackets.filter((p) => p.timestamp === timestamp);
  return capturedPackets.filter((p) => p.timestamp !== timestamp || !which(frame.indexOf(p), frame.length));
}

function packet(payload: Buffer, sequenceNumber: number, timestamp: number, marker = true): RtpPacket {
  return { payloadType: 96, marker, sequenceNumber, timestamp, ssrc: 1, csrcs: [], extension: null, payload, paddingLength: 0 };
}

describe('VP8 payload descriptor (RFC 7741 4.2)', () => {
  test("reads every captured packet as Wireshark's VP8 dissector does", () => {
    assert.equal(capturedPackets.length, capture.rtp.length);
    let starts = 0;
    capturedPackets.forEach((p, i) => {
      const frame = capture.rtp[i]!;
      assert.equal(p.sequenceNumber, field(frame, 'rtp.seq'));
      const d = parseVp8PayloadDescriptor(p.payload);
      assert.equal(d.nonReference, field(frame, 'vp8.pld.n') === 1, `packet ${i} N`);
      assert.equal(d.startOfPartition, field(frame, 'vp8.pld.s') === 1, `packet ${i} S`);
      assert.equal(d.partitionIndex, field(frame, 'vp8.pld.partid'));
      assert.equal(d.pictureId, field(frame, 'vp8.pld.pictureid'));
      assert.equal(d.pictureIdBits, 15); // ffmpeg always writes the long form
      assert.equal(d.size, 4);
      if (!d.startOfPartition) return;
      starts++;
      // The frame tag right after the descriptor: Wireshark's frame type 0 is a keyframe.
      const size = vp8FrameSize(p.payload.subarray(d.size));
      assert.equal(size !== null, field(frame, 'vp8.hdr.frametype') === 0, `packet ${i} frame type`);
      if (size) assert.deepEqual(size, { width: field(frame, 'vp8.keyframe.width'), height: field(frame, 'vp8.keyframe.height') });
    });
    assert.equal(starts, ivf.frames.length);
  });

  test('the 7-bit picture id and the L, T/Y and K extensions, hand-made as RFC 7741 draws them', () => {
    // X=1 N=1 S=1 PID=2 | I L T K | M=0 id 0x55 | TL0PICIDX 0xab | TID 2, Y, KEYIDX 9
    assert.deepEqual(parseVp8PayloadDescriptor(hex('b2 f0 55 ab a9 ff')), {
      nonReference: true, startOfPartition: true, partitionIndex: 2, pictureId: 0x55, pictureIdBits: 7,
      tl0PicIndex: 0xab, temporalLayer: 2, layerSync: true, keyIndex: 9, size: 5,
    });
    // 15-bit picture id and T without K (Chromium's usual shape): X=1 S=1 | I T | M=1 0x1234 | TID 1
    const chromium = parseVp8PayloadDescriptor(hex('90 a0 92 34 40'));
    assert.deepEqual([chromium.pictureId, chromium.pictureIdBits, chromium.temporalLayer, chromium.keyIndex, chromium.size], [0x1234, 15, 1, null, 5]);
    // K without T: the shared byte carries KEYIDX only.
    const keyOnly = parseVp8PayloadDescriptor(hex('80 10 e5'));
    assert.deepEqual([keyOnly.temporalLayer, keyOnly.keyIndex, keyOnly.size], [null, 5, 3]);
    // No X: one byte, nothing else.
    assert.deepEqual(parseVp8PayloadDescriptor(hex('10 9d')), {
      nonReference: false, startOfPartition: true, partitionIndex: 0, pictureId: null, pictureIdBits: null,
      tl0PicIndex: null, temporalLayer: null, layerSync: false, keyIndex: null, size: 1,
    });
  });

  test('cut-short descriptors and keyframe headers are RtpErrors', () => {
    assertRtpError(() => parseVp8PayloadDescriptor(Buffer.alloc(0)), 'vp8.truncated');
    assertRtpError(() => parseVp8PayloadDescriptor(hex('90')), 'vp8.truncated');
    assertRtpError(() => parseVp8PayloadDescriptor(hex('90 80')), 'vp8.truncated');
    assertRtpError(() => parseVp8PayloadDescriptor(hex('90 80 80')), 'vp8.truncated');
    assertRtpError(() => parseVp8PayloadDescriptor(hex('90 40')), 'vp8.truncated');
    assertRtpError(() => parseVp8PayloadDescriptor(hex('90 f0 05 01')), 'vp8.truncated');
    assertRtpError(() => vp8FrameSize(hex('00 00')), 'vp8.truncated');
    assertRtpError(() => vp8FrameSize(hex('00 00 00 9d 01 2a 01')), 'vp8.truncated');
    assertRtpError(() => vp8FrameSize(hex('00 00 00 9d 01 2b 2c 01 c8 00')), 'vp8.bad_start_code');
    assertRtpError(() => vp8FrameSize(hex('00 00 00 9d 01 2a 00 00 c8 00')), 'vp8.bad_size');
    assert.equal(vp8FrameSize(hex('01 00 00')), null); // an interframe needs only its tag
  });
});

describe('Vp8Depacketizer', () => {
  test("rebuilds the IVF's frames byte for byte, with their times, keyframes and picture ids", () => {
    const { events, depacketizer } = depacketize(capturedPackets);
    assert.equal(events.length, ivf.frames.length);
    events.forEach((event, i) => {
      assert.equal(event.kind, 'frame');
      if (event.kind !== 'frame') return;
      assert.ok(event.data.equals(ivf.frames[i]!.data), `frame ${i} bytes`);
      assert.equal(event.timestamp - FIRST_RTP_TIMESTAMP, ivf.frames[i]!.timestamp * RTP_TICKS_PER_IVF_TICK);
      assert.equal(event.keyframe, i % 5 === 0);
      assert.deepEqual(event.size, event.keyframe ? { width: 300, height: 200 } : null);
      assert.equal(event.pictureId, i);
      assert.equal(event.referencesLost, false);
    });
    assert.equal(depacketizer.awaitingKeyframe, false);
    assert.deepEqual(depacketizer.stats, { duplicates: 0, late: 0, lost: 0 });
  });

  test('awaits a keyframe from the start: frames before the first keyframe say they reference something lost', () => {
    const fromFrame2 = capturedPackets.filter((p) => p.timestamp >= FIRST_RTP_TIMESTAMP + 2 * RTP_TICKS_PER_IVF_TICK);
    const depacketizer = new Vp8Depacketizer();
    assert.equal(depacketizer.awaitingKeyframe, true);
    const events = fromFrame2.flatMap((p) => depacketizer.push(p));
    assert.deepEqual(summary(events), [[2, 'delta!'], [3, 'delta!'], [4, 'delta!'], [5, 'key'], [6, 'delta'], [7, 'delta'], [8, 'delta'], [9, 'delta']]);
    assert.equal(depacketizer.awaitingKeyframe, false);
  });

  test("a lost packet in a keyframe's middle drops it; what follows references it until the next keyframe", () => {
    const { events, depacketizer } = depacketize(without(0, (i) => i === 3));
    assert.deepEqual(summary(events), [[0, 'packet-loss'], [1, 'delta!'], [2, 'delta!'], [3, 'delta!'], [4, 'delta!'], [5, 'key'], [6, 'delta'], [7, 'delta'], [8, 'delta'], [9, 'delta']]);
    assert.equal(events[0]!.kind === 'dropped' && events[0]!.detail, '1 packets lost');
    assert.equal(depacketizer.awaitingKeyframe, false);
    assert.equal(depacketizer.stats.lost, 1);
  });

  test("a frame's lost first packet is a missing start; a lost last packet (marker) drops it when the next frame begins", () => {
    const head = depacketize(without(5, (i) => i === 0)).events;
    assert.deepEqual(summary(head).slice(4, 7), [[4, 'delta'], [5, 'missing-start'], [6, 'delta!']]);
    const tail = depacketize(without(5, (i, count) => i === count - 1));
    assert.deepEqual(summary(tail.events).slice(4, 7), [[4, 'delta'], [5, 'packet-loss'], [6, 'delta!']]);
    assert.equal(tail.depacketizer.awaitingKeyframe, true);
  });

  test('a whole lost frame breaks the picture id sequence: the next frame references it; a lost non-reference frame (N bit) costs only itself', () => {
    const { events, depacketizer } = depacketize(without(3, () => true));
    assert.deepEqual(summary(events).slice(2, 5), [[2, 'delta'], [4, 'delta!'], [5, 'key']]);
    assert.equal(depacketizer.awaitingKeyframe, false);
    // The same loss when frame 3 was sent as a non-reference frame (N bit on each of its packets).
    const frame3 = FIRST_RTP_TIMESTAMP + 3 * RTP_TICKS_PER_IVF_TICK;
    const marked = capturedPackets.map((p) => (p.timestamp === frame3 ? { ...p, payload: Buffer.concat([Buffer.of(p.payload[0]! | 0x20), p.payload.subarray(1)]) } : p));
    const nonReference = marked.filter((p) => !(p.timestamp === frame3 && p.marker)); // its tail lost
    assert.deepEqual(summary(depacketize(nonReference).events).slice(2, 5), [[2, 'delta'], [3, 'packet-loss'], [4, 'delta']]);
    // A gap between two complete frames whose picture ids follow each other lost no frame (padding, say).
    const frame4 = frame3 + RTP_TICKS_PER_IVF_TICK;
    const gapBefore4 = capturedPackets.map((p) => (p.timestamp >= frame4 ? { ...p, sequenceNumber: (p.sequenceNumber + 1) & 0xffff } : p));
    const gap = depacketize(gapBefore4);
    assert.deepEqual(summary(gap.events).slice(2, 5), [[2, 'delta'], [3, 'delta'], [4, 'delta']]);
    assert.equal(gap.depacketizer.stats.lost, 1);
  });

  test('reordering within the window is undone; with reordering off, a swap is a loss', () => {
    const random = prng(0x7e8);
    for (let round = 0; round < 20; round++) {
      // Each packet moves at most 4 places (the first stays first: it sets where the sequence starts).
      const shuffled = capturedPackets.map((p, i) => ({ p, at: i === 0 ? -1 : i + random() * 4 })).sort((a, b) => a.at - b.at).map(({ p }) => p);
      const { events } = depacketize(shuffled, { reorderWindow: 8 });
      assert.deepEqual(events.map((e) => e.kind === 'frame' && e.data.length), ivf.frames.map((f) => f.data.length), `round ${round}`);
    }
    const swapped = [...capturedPackets];
    [swapped[2], swapped[3]] = [swapped[3]!, swapped[2]!];
    const { events, depacketizer } = depacketize(swapped, { reorderWindow: 0 });
    assert.deepEqual(summary(events).slice(0, 2), [[0, 'packet-loss'], [1, 'delta!']]);
    assert.equal(depacketizer.stats.late, 1);
  });

  test('a new RTP timestamp ends a frame whose marker was left out', () => {
    const noMarkers = capturedPackets.map((p) => ({ ...p, marker: false }));
    const { events, depacketizer } = depacketize(noMarkers);
    assert.equal(events.length, ivf.frames.length - 1); // the last frame stays open
    assert.ok(events.every((e, i) => e.kind === 'frame' && e.data.equals(ivf.frames[i]!.data)));
    assert.equal(depacketizer.flush().length, 0);
  });

  test('limits: a frame over maxFrameBytes or maxPacketsPerFrame is dropped as too-large, and the depacketizer goes on', () => {
    const bytes = depacketize(capturedPackets, { maxFrameBytes: 2000 }).events;
    assert.ok(bytes.some((e) => e.kind === 'dropped' && e.reason === 'too-large' && /2000 bytes/.test(e.detail)));
    assert.ok(bytes.some((e) => e.kind === 'frame' && !e.keyframe));
    const packets = depacketize(capturedPackets, { maxPacketsPerFrame: 3 }).events;
    assert.deepEqual(summary(packets).slice(0, 2), [[0, 'too-large'], [1, 'delta!']]);
    assert.throws(() => new Vp8Depacketizer({ maxFrameBytes: 0 }), RtpError);
  });

  test('malformed payloads drop their frame: a cut descriptor, a keyframe without its start code', () => {
    const depacketizer = new Vp8Depacketizer({ reorderWindow: 0 });
    const events = [
      ...depacketizer.push(packet(hex('90 80'), 1, 1000)),
      ...depacketizer.push(packet(hex('10 00 00 00 9d 01 2b 2c 01 c8 00'), 2, 2000)),
      ...depacketizer.push(packet(hex('10 00 00 00 9d 01 2a 2c 01 c8 00'), 3, 3000)),
    ];
    assert.deepEqual(events.map((e) => (e.kind === 'dropped' ? `${e.reason} ${e.detail}` : `${e.kind} ${JSON.stringify(e.size)}`)),
      ['malformed vp8.truncated', 'malformed vp8.bad_start_code', 'frame {"width":300,"height":200}']);
  });

  test('random payloads and random cuts of real packets never throw', () => {
    const random = prng(0x9e8);
    const depacketizer = new Vp8Depacketizer({ maxFrameBytes: 64 * 1024 });
    let frames = 0;
    for (let round = 0; round < 3000; round++) {
      const real = capturedPackets[round % capturedPackets.length]!;
      const payload = round % 3 === 0 ? randomBytes(Math.floor(random() * 40), round) : real.payload.subarray(0, Math.floor(random() * (real.payload.length + 1)));
      const events = depacketizer.push(packet(payload, round & 0xffff, Math.floor(round / 4) * 3000, random() < 0.3));
      frames += events.filter((e) => e.kind === 'frame').length;
    }
    assert.ok(frames > 0);
  });
});
