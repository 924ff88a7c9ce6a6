// What forwarding RTP (an SFU) does to packets, byte by byte and against the captures of
// test/fixtures/rtp: rewriting a packet for one receiver (SSRC, payload type, sequence numbers;
// extensions and CSRCs left out), mapping the receiver's NACKed numbers back, the history that
// answers NACKs, the packets a receiver may start at (checked against tshark's reading), the
// receiver-side NACK schedule of the ingest, and which viewer offers take a publisher's codecs.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { isH264KeyframeStart, isVp8KeyframeStart } from '#protocol/rtp/keyframe-start.ts';
import { NackTracker } from '#protocol/rtp/nack-tracker.ts';
import { RtpPacketHistory } from '#protocol/rtp/packet-history.ts';
import { parseRtpPacket, type RtpPacket } from '#protocol/rtp/rtp-packet.ts';
import { forwardingView, RtpRewriter } from '#protocol/rtp/rtp-rewriter.ts';
import { chooseForwardedCodecs } from '#protocol/sdp/forwarding-codecs.ts';
import { chooseIngestCodecs, parseSdp } from '#protocol/sdp/sdp.ts';
import { hex } from '../support/bytes.ts';
import { field, fields, readCapture, tshark } from '../fixtures/rtp/captures.ts';

/** The RTP datagrams of a capture (RTCP went to another port). */
function rtpOf(name: keyof typeof tshark): Buffer[] {
  return readCapture(name).filter((d) => d.destinationPort === tshark[name].rtpPort).map((d) => d.data);
}

// V=2, P, X, CC=1, M, PT 96, seq 0x1234, ts 0x01020304, SSRC 0xaabbccdd, CSRC 0x11111111,
// extension 0xBEDE of one word, payload 4 bytes, 3 bytes of padding (count 3).
const SENT = hex('b1e0 1234 01020304 aabbccdd 11111111 bede0001 10ff0000 deadbeef 000003');
// SSRC 0x01020304, PT 102, seq 0xfffe: P and M kept, X and CC cleared, payload and padding as they were.
const REWRITTEN = hex('a0e6 fffe 01020304 01020304 deadbeef 000003');

/** What `rewriter` sends for `packet` (parsed from `data`): a copy of `data` rewritten in place, as the forwarder does; null when it sends nothing. */
function rewrite(rewriter: RtpRewriter, data: Buffer, packet: RtpPacket): Buffer | null {
  const view = forwardingView(Buffer.from(data), packet);
  return rewriter.rewriteInPlace(view, packet) ? view : null;
}

describe('rewriting one packet for a receiver', () => {
  test('SSRC, payload type and sequence number replaced; extension and CSRC left out; marker, timestamp, payload and padding kept', () => {
    const packet = parseRtpPacket(SENT);
    assert.deepEqual(rewrite(new RtpRewriter(0x01020304, 102, 0xfffe), SENT, packet), REWRITTEN);
    const reread = parseRtpPacket(REWRITTEN);
    assert.deepEqual({ ...reread, payload: [...reread.payload] }, {
      payloadType: 102, marker: true, sequenceNumber: 0xfffe, timestamp: 0x01020304, ssrc: 0x01020304, csrcs: [], extension: null, payload: [0xde, 0xad, 0xbe, 0xef], paddingLength: 3,
    });
  });

  test('one view serves every receiver in turn, and again later (a NACK): each write is that receiver\'s whole header over the sender\'s', () => {
    const data = Buffer.from(SENT);
    const packet = parseRtpPacket(data);
    const view = forwardingView(data, packet);
    assert.equal(view.buffer, data.buffer, 'no copy');
    const receivers = [new RtpRewriter(0x01020304, 102, 0xfffe), new RtpRewriter(0xcafe, 96, 7)];
    const sent = receivers.map((receiver) => {
      assert.equal(receiver.rewriteInPlace(view, packet), true);
      return Buffer.from(view);
    });
    assert.deepEqual(sent[0], REWRITTEN);
    assert.deepEqual(sent[1], hex('a0e0 0007 01020304 0000cafe deadbeef 000003'));
    // The first receiver again: the second's header is gone, and the packet without marker or padding reads the same.
    assert.equal(receivers[0]!.rewriteInPlace(view, packet), true);
    assert.deepEqual(view, REWRITTEN);
    const plain = hex('80 60 0001 00000010 00000001 0102');
    const plainPacket = parseRtpPacket(plain);
    assert.equal(forwardingView(plain, plainPacket), plain, 'no CSRC or extension: the datagram itself');
    receivers[1]!.rewriteInPlace(plain, { ...plainPacket, sequenceNumber: 0x1235 });
    assert.deepEqual(plain, hex('80 60 0008 00000010 0000cafe 0102'));
  });

  test('every packet of the H.264 capture comes out with its payload, timestamp and marker, numbered on from the receiver\'s start across the wrap', () => {
    const rewriter = new RtpRewriter(0x77, 100, 65534);
    const sent = rtpOf('h264-rtp.pcap');
    sent.forEach((data, i) => {
      const packet = parseRtpPacket(data);
      const out = parseRtpPacket(rewrite(rewriter, data, packet)!);
      assert.equal(out.sequenceNumber, (65534 + i) & 0xffff);
      assert.deepEqual([out.ssrc, out.payloadType, out.timestamp, out.marker], [0x77, 100, packet.timestamp, packet.marker]);
      assert.deepEqual(out.payload, packet.payload);
    });
    assert.equal(rewriter.packets, sent.length);
    assert.equal(rewriter.octets, sent.reduce((sum, d) => sum + parseRtpPacket(d).payload.length, 0));
  });

  test('the receiver\'s sequence numbers map back to the sender\'s; a packet from before the start is not forwarded', () => {
    const rewriter = new RtpRewriter(1, 96, 10);
    assert.equal(rewriter.toSender(10), null, 'nothing forwarded yet');
    const at = (sequenceNumber: number) => ({ ...parseRtpPacket(SENT), sequenceNumber });
    // The sender's 65530 becomes the receiver's 10.
    assert.equal(parseRtpPacket(rewrite(rewriter, SENT, at(65530))!).sequenceNumber, 10);
    assert.equal(parseRtpPacket(rewrite(rewriter, SENT, at(3))!).sequenceNumber, 19, 'a gap stays a gap, across the wrap');
    assert.equal(rewriter.toSender(10), 65530);
    assert.equal(rewriter.toSender(15), 65535);
    assert.equal(rewriter.toSender(17), 1);
    assert.equal(rewriter.toSender(9), null, 'before the start');
    assert.equal(rewrite(rewriter, SENT, at(65529)), null, 'a late packet from before the start');
    assert.equal(rewriter.packets, 2);
  });

  test('a long stream: the sequence numbers wrap many times and every packet still goes on, mapping back', () => {
    const rewriter = new RtpRewriter(1, 96, 0);
    const data = Buffer.from(SENT);
    const packet = parseRtpPacket(data);
    const view = forwardingView(data, packet);
    for (let i = 0; i < 200_000; i++) {
      assert.ok(rewriter.rewriteInPlace(view, { ...packet, sequenceNumber: (40_000 + i) & 0xffff }), `packet ${i}`);
      assert.equal(view.readUInt16BE(2), i & 0xffff);
    }
    assert.equal(rewriter.toSender(199_999 & 0xffff), (40_000 + 199_999) & 0xffff);
    assert.equal(rewriter.toSender((199_999 - 1000) & 0xffff), (40_000 + 199_999 - 1000) & 0xffff);
  });
});

describe('packet history', () => {
  test('keeps the last packets by sequence number, refuses a duplicate, forgets the oldest first', () => {
    const history = new RtpPacketHistory(3);
    const packets = rtpOf('h264-rtp.pcap').slice(0, 4).map((data) => ({ data, packet: parseRtpPacket(data) }));
    for (const { data, packet } of packets.slice(0, 3)) assert.equal(history.add(data, packet), true);
    assert.equal(history.add(packets[1]!.data, packets[1]!.packet), false, 'a retransmission of a packet held');
    assert.equal(history.get(packets[1]!.packet.sequenceNumber)?.data, packets[1]!.data);
    history.add(packets[3]!.data, packets[3]!.packet);
    assert.equal(history.size, 3);
    assert.equal(history.get(packets[0]!.packet.sequenceNumber), undefined, 'the oldest went');
    assert.equal(history.get(65533)?.data, packets[3]!.data);
  });
});

describe('where a receiver may start', () => {
  test('H.264: the packets carrying an SPS or an IDR start, as tshark reads the capture; one per IDR access unit first', () => {
    const sent = rtpOf('h264-rtp.pcap');
    let accessUnitStarts = 0;
    let previousTimestamp: number | null = null;
    tshark['h264-rtp.pcap'].rtp.forEach((frame, i) => {
      const [header, ...inner] = fields(frame, 'h264.nal_unit_hdr');
      const types = header === 24 ? inner : header === 28 ? (field(frame, 'h264.start.bit') === 1 ? fields(frame, 'h264.nal_unit_type') : []) : [header!];
      const expected = types.includes(7) || types.includes(5);
      const payload = parseRtpPacket(sent[i]!).payload;
      assert.equal(isH264KeyframeStart(payload), expected, `packet ${i}: NAL unit headers ${JSON.stringify(frame['h264.nal_unit_hdr'])}`);
      const timestamp = field(frame, 'rtp.timestamp');
      if (expected && timestamp !== previousTimestamp) accessUnitStarts++;
      previousTimestamp = timestamp;
    });
    assert.equal(accessUnitStarts, 2, 'an IDR every 5 of the 10 frames');
  });

  test('H.264: a non-IDR slice, an FU-A middle, an empty or broken payload are no start', () => {
    assert.equal(isH264KeyframeStart(hex('41 9a00')), false);
    assert.equal(isH264KeyframeStart(hex('7c 05 0102')), false, 'FU-A of an IDR, not its start');
    assert.equal(isH264KeyframeStart(hex('7c 85 0102')), true, 'FU-A start of an IDR');
    assert.equal(isH264KeyframeStart(hex('65 8800')), true, 'a whole IDR slice');
    assert.equal(isH264KeyframeStart(Buffer.alloc(0)), false);
    assert.equal(isH264KeyframeStart(hex('78 0010 67')), false, 'STAP-A whose size runs past the payload');
  });

  test('VP8: the first packet of each key frame, as tshark reads the capture', () => {
    const sent = rtpOf('vp8-rtp.pcap');
    const starts = tshark['vp8-rtp.pcap'].rtp.map((frame, i) => {
      const expected = frame['vp8.hdr.frametype']?.[0] === '0';
      assert.equal(isVp8KeyframeStart(parseRtpPacket(sent[i]!).payload), expected, `packet ${i}`);
      return expected;
    });
    assert.equal(starts.filter(Boolean).length, 2, 'a key frame every 5 of the 10 frames');
    assert.equal(isVp8KeyframeStart(hex('90')), false, 'descriptor cut short');
  });
});

describe('NACK schedule of a receiver', () => {
  const options = { retryIntervalMs: 30, maxRetries: 3, maxWaitMs: 120, maxGap: 256 };

  test('a gap is asked for at once, again after the retry interval, three times at most; what comes is no longer asked', () => {
    const tracker = new NackTracker(options);
    for (const s of [65533, 65534, 65535]) tracker.receive(s, 0);
    tracker.receive(3, 10); // 0, 1 and 2 missing, across the wrap
    assert.equal(tracker.missing, 3);
    assert.deepEqual(tracker.due(10), [0, 1, 2]);
    assert.deepEqual(tracker.due(20), [], 'not again before the retry interval');
    assert.equal(tracker.isMissing(1), true);
    tracker.receive(1, 25); // retransmitted
    assert.equal(tracker.isMissing(1), false);
    assert.deepEqual(tracker.due(40), [0, 2]);
    assert.deepEqual(tracker.due(70), [0, 2]);
    assert.deepEqual(tracker.due(100), [], 'three requests each at the most');
    assert.equal(tracker.expired(129), false);
    assert.equal(tracker.expired(130), true, 'waited 120 ms');
    tracker.giveUp();
    assert.equal(tracker.missing, 0);
    assert.deepEqual(tracker.stats, { missed: 3, requested: 7, recovered: 1, givenUp: 2 });
    assert.equal(tracker.nextDeadline(130), null);
  });

  test('reordering fills a gap before it is asked again; late duplicates change nothing; a jump over maxGap is not asked for', () => {
    const tracker = new NackTracker(options);
    tracker.receive(100, 0);
    tracker.receive(102, 1);
    assert.equal(tracker.nextDeadline(1), 0, 'due at once');
    tracker.receive(101, 2);
    tracker.receive(101, 3);
    assert.deepEqual(tracker.due(3), []);
    tracker.receive(102 + 300, 4);
    assert.equal(tracker.missing, 0);
    assert.deepEqual(tracker.stats, { missed: 1, requested: 0, recovered: 1, givenUp: 299 });
  });

  test('the next deadline is the next retry or the oldest gap\'s expiry', () => {
    const tracker = new NackTracker(options);
    tracker.receive(1, 0);
    tracker.receive(3, 0);
    tracker.due(0);
    assert.equal(tracker.nextDeadline(0), 30);
    tracker.due(30);
    tracker.due(60);
    assert.equal(tracker.nextDeadline(60), 60, 'no retries left: the expiry at 120');
  });
});

describe('which viewer offers take a publisher\'s codecs as they are', () => {
  const chromium = readFileSync(new URL('../fixtures/sdp/chromium-h264-opus-offer.sdp', import.meta.url), 'utf8');
  const published = chooseIngestCodecs(parseSdp(chromium));
  const viewer = (edit: (sdp: string) => string = (s) => s) => parseSdp(edit(chromium.replaceAll('a=sendonly', 'a=recvonly')));

  test('Chromium publishing H.264 42e01f mode 1 and Opus; Chromium playing: the same formats, in the viewer\'s mids and payload types', () => {
    assert.equal(published.video?.format.payloadType, 108);
    const choice = chooseForwardedCodecs(viewer((s) => s.replaceAll(' 108', ' 120').replaceAll(':108 ', ':120 ')), published);
    assert.equal(choice?.video?.format.payloadType, 120);
    assert.match(choice!.video!.format.parameters, /packetization-mode=1;profile-level-id=42e01f/);
    assert.equal(choice?.video?.codec, 'h264');
    assert.deepEqual([choice?.video?.mid, choice?.audio?.mid, choice?.audio?.format.payloadType], ['1', '0', 111]);
  });

  test('without the exact profile-level-id, the same profile with the same packetization-mode', () => {
    const choice = chooseForwardedCodecs(viewer((s) => s.replaceAll('profile-level-id=42e01f', 'profile-level-id=42e015')), published);
    assert.equal(choice?.video?.format.payloadType, 108);
    const without42e = chooseForwardedCodecs(viewer((s) => s.replace(/a=fmtp:108 .*\r\n/, 'a=fmtp:108 packetization-mode=0\r\n')), published);
    assert.equal(without42e?.video?.format.payloadType, 102, '42001f, mode 1');
  });

  test('an offer without the publisher\'s video codec and packetization is not forwarded; one without video takes the audio', () => {
    const onlyMode0 = viewer((s) => s.replaceAll('packetization-mode=1', 'packetization-mode=0'));
    assert.equal(chooseForwardedCodecs(onlyMode0, published), null);
    const vp8Only = viewer((s) => s.replaceAll('H264/90000', 'VP8/90000'));
    assert.equal(chooseForwardedCodecs(vp8Only, published), null);
    const audioOnly = viewer().filter((section) => section.kind === 'audio');
    assert.deepEqual(chooseForwardedCodecs(audioOnly, published)?.video, null);
    assert.equal(chooseForwardedCodecs(viewer().filter((s) => s.kind === 'video'), { video: null, audio: published.audio }), null, 'nothing of an audio-only publisher');
  });
});
