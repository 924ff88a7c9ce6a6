// H.264 access units from RTP to FLV/RTMP video tags: ffmpeg's RTP capture, depacketized and written
// by AvcTagWriter, gives ffmpeg's own FLV of the same bitstream (sequence header byte for byte, frames
// the same but for the SPS/PPS that travel in the sequence header); parameter sets that change make a
// new sequence header; frames before any SPS/PPS are held back.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FlvReader, FlvTagType } from '#protocol/flv/flv.ts';
import { AvcTagWriter, avcFrameTag } from '#protocol/flv/avc-tags.ts';
import { H264Depacketizer } from '#protocol/rtp/h264-depacketizer.ts';
import { splitAvcc } from '#protocol/rtp/nal-units.ts';
import { parseRtpPacket } from '#protocol/rtp/rtp-packet.ts';
import { parseVideoTag } from '#protocol/flv/codecs.ts';
import { hex } from '../support/bytes.ts';
import { fixture, readCapture, tshark } from '../fixtures/rtp/captures.ts';

const ffmpegTags = new FlvReader().push(fixture('h264.flv')).filter((t) => t.type === FlvTagType.Video);

function accessUnitsFromCapture(): Buffer[][] {
  const depacketizer = new H264Depacketizer();
  const events = readCapture('h264-rtp.pcap')
    .filter((d) => d.destinationPort === tshark['h264-rtp.pcap'].rtpPort)
    .flatMap((d) => depacketizer.push(parseRtpPacket(d.data)));
  return [...events, ...depacketizer.flush()].flatMap((e) => (e.kind === 'access-unit' ? [e.nalUnits] : []));
}

test("ffmpeg's RTP capture becomes ffmpeg's FLV video tags", () => {
  const writer = new AvcTagWriter();
  const ours = accessUnitsFromCapture().flatMap((au) => writer.push(au));
  assert.equal(ours.filter((t) => t.sequenceHeader).length, 1, 'the SPS/PPS repeat unchanged at the second IDR: one sequence header');
  assert.deepEqual(ours[0]!.body, ffmpegTags[0]!.data, 'sequence header byte for byte');
  const ffmpegFrames = ffmpegTags.filter((t) => t.data[1] === 1); // frames only: ffmpeg ends with an end-of-sequence tag
  const ourFrames = ours.slice(1);
  assert.equal(ourFrames.length, ffmpegFrames.length);
  for (const [i, frame] of ourFrames.entries()) {
    const expected = ffmpegFrames[i]!.data;
    const info = parseVideoTag(frame.body)!;
    assert.equal(info.frameType === 1, parseVideoTag(expected)!.frameType === 1, `frame ${i} keyframe flag`);
    assert.equal(frame.keyframe, info.frameType === 1);
    assert.deepEqual(splitAvcc(frame.body.subarray(5)), splitAvcc(expected.subarray(5)), `frame ${i} NAL units, parameter sets in band as ffmpeg keeps them`);
  }
});

test('new parameter sets make a new sequence header; frames before any are held back', () => {
  const writer = new AvcTagWriter();
  const sps = hex('6742c01e d9'), pps = hex('68ce3c80'), idr = hex('65888400'), slice = hex('419a');
  assert.deepEqual(writer.push([slice]), []);
  assert.equal(writer.framesBeforeConfig, 1);
  const first = writer.push([hex('0910'), sps, pps, idr]);
  assert.deepEqual(first.map((t) => [t.sequenceHeader, t.keyframe]), [[true, true], [false, true]]);
  assert.deepEqual(first[1]!.body, avcFrameTag([sps, pps, idr], true), 'the access unit delimiter is not in the frame; the parameter sets stay in band');
  assert.deepEqual(writer.push([sps, pps]), [], 'parameter sets alone are no frame');
  assert.deepEqual(writer.push([sps, pps, idr]).map((t) => t.sequenceHeader), [false], 'same SPS/PPS: no new header');
  const changed = writer.push([hex('6742c01f d9'), pps, idr]);
  assert.deepEqual(changed.map((t) => t.sequenceHeader), [true, false]);
  assert.deepEqual(writer.push([slice]).map((t) => [t.keyframe, t.body[0]]), [[false, 0x27]]);
});

test('composition time is a signed 24-bit field', () => {
  assert.deepEqual(avcFrameTag([hex('41')], false, -33).subarray(0, 5), hex('27 01 ffffdf'));
  assert.deepEqual(avcFrameTag([hex('65')], true, 66).subarray(0, 5), hex('17 01 000042'));
});
