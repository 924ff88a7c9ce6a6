/**
 * Enhanced RTMP audio tags (E-RTMP v2, "Enhanced Audio" and "Multitrack"): messages built byte by
 * byte from the specification's bitstream tables, our encoder's bytes checked against them, every
 * multitrack form and ModEx read, and cut-short or random input gives null, never an exception.
 * Also what the rest of the server reads from such a tag: a sequence header, its track, its frame.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseAudioTag, AudioFormat } from '#protocol/flv/codecs.ts';
import {
  additionalTrackOf, AudioFourCc, AudioPacketType, encodeAudioTrackTag, parseEnhancedAudioTag,
} from '#protocol/flv/enhanced-audio.ts';
import { parseMediaFrame } from '#common/media/media-frame.ts';
import { MediaPacket } from '#common/media/media-packet.ts';
import { MessageType } from '#protocol/rtmp/message.ts';

const opus = Buffer.from('Opus', 'latin1');
const opusHead = Buffer.from('4f707573486561640102000080bb00000000', 'hex'); // 'OpusHead', v1, 2 ch, pre-skip 0, 48000 Hz
const packet = Buffer.from([0xfc, 0x01, 0x02, 0x03]); // TOC: CELT fullband 20 ms, stereo, one frame

test('one track: 0x95 (ExHeader, Multitrack), OneTrack | packet type, FourCC, track id, data', () => {
  const bytes = encodeAudioTrackTag({ trackId: 1, fourCc: AudioFourCc.Opus, packetType: AudioPacketType.CodedFrames, data: packet });
  assert.deepEqual(bytes, Buffer.concat([Buffer.from([0x95, 0x01]), opus, Buffer.from([1]), packet]));
  const head = encodeAudioTrackTag({ trackId: 1, fourCc: AudioFourCc.Opus, packetType: AudioPacketType.SequenceStart, data: opusHead });
  assert.deepEqual(head.subarray(0, 7), Buffer.concat([Buffer.from([0x95, 0x00]), opus, Buffer.from([1])]));
  assert.deepEqual(parseEnhancedAudioTag(bytes), { packetType: AudioPacketType.CodedFrames, multitrack: true, tracks: [{ trackId: 1, fourCc: 'Opus', data: packet }] });
  assert.throws(() => encodeAudioTrackTag({ trackId: 256, fourCc: 'Opus', packetType: 1, data: packet }), RangeError);
  assert.throws(() => encodeAudioTrackTag({ trackId: 1, fourCc: 'Op', packetType: 1, data: packet }), RangeError);
});

test('without multitrack: 0x91 then the FourCC, track 0', () => {
  const bytes = Buffer.concat([Buffer.from([0x91]), opus, packet]);
  assert.deepEqual(parseEnhancedAudioTag(bytes), { packetType: AudioPacketType.CodedFrames, multitrack: false, tracks: [{ trackId: 0, fourCc: 'Opus', data: packet }] });
  assert.equal(additionalTrackOf(bytes), 0, 'no multitrack signalling: the default track');
});

test('many tracks of one codec (sizes in UI24), many codecs (a FourCC per track), and a ModEx prefix', () => {
  const many = Buffer.concat([Buffer.from([0x95, 0x11]), opus, Buffer.from([2, 0, 0, 4]), packet, Buffer.from([3, 0, 0, 2, 0xaa, 0xbb])]);
  assert.deepEqual(parseEnhancedAudioTag(many)?.tracks.map((t) => [t.trackId, t.fourCc, t.data.toString('hex')]), [[2, 'Opus', 'fc010203'], [3, 'Opus', 'aabb']]);
  assert.equal(additionalTrackOf(many), 2);
  const manyCodecs = Buffer.concat([Buffer.from([0x95, 0x21]), opus, Buffer.from([0, 0, 0, 4]), packet, Buffer.from('fLaC', 'latin1'), Buffer.from([1, 0, 0, 1, 0x55])]);
  const parsed = parseEnhancedAudioTag(manyCodecs)!;
  assert.deepEqual(parsed.tracks.map((t) => [t.trackId, t.fourCc]), [[0, 'Opus'], [1, 'fLaC']]);
  assert.equal(additionalTrackOf(manyCodecs), 0, 'a message with track 0 in it goes to everyone');
  // ModEx (0x7): size-1 byte, 3 bytes of TimestampOffsetNano, then the modifier type | the real packet type.
  const modEx = Buffer.concat([Buffer.from([0x97, 0x02, 0x00, 0x01, 0x00, 0x05]), Buffer.from([0x01]), opus, Buffer.from([4]), packet]);
  assert.deepEqual(parseEnhancedAudioTag(modEx)?.tracks.map((t) => [t.trackId, t.data.length]), [[4, packet.length]]);
});

test('cut short at every length, a track size past the end, multitrack inside multitrack, random bytes: null, never a throw', () => {
  const full = encodeAudioTrackTag({ trackId: 1, fourCc: 'Opus', packetType: 1, data: Buffer.alloc(0) });
  for (let n = 0; n < full.length; n++) assert.equal(parseEnhancedAudioTag(full.subarray(0, n)), null, `${n} bytes`);
  assert.equal(parseEnhancedAudioTag(Buffer.concat([Buffer.from([0x95, 0x11]), opus, Buffer.from([2, 0, 0, 9]), packet])), null, 'size past the end');
  assert.equal(parseEnhancedAudioTag(Buffer.concat([Buffer.from([0x95, 0x05]), opus, Buffer.from([1])])), null, 'multitrack in multitrack');
  assert.equal(parseEnhancedAudioTag(Buffer.from([0xaf, 0x01, 0x21])), null, 'legacy AAC is not E-RTMP');
  for (let i = 0; i < 5000; i++) {
    const random = Buffer.from(Array.from({ length: 1 + (i % 40) }, () => Math.floor(Math.random() * 256)));
    random[0] = 0x90 | (random[0]! & 0x0f);
    parseEnhancedAudioTag(random);
    additionalTrackOf(random);
    parseAudioTag(random);
  }
});

test('what the server reads from it: the Opus header is a sequence header of track 1, a packet its frame with the codec\'s bytes', () => {
  const head = encodeAudioTrackTag({ trackId: 1, fourCc: AudioFourCc.Opus, packetType: AudioPacketType.SequenceStart, data: opusHead });
  const frame = encodeAudioTrackTag({ trackId: 1, fourCc: AudioFourCc.Opus, packetType: AudioPacketType.CodedFrames, data: packet });
  assert.equal(parseAudioTag(head)?.format, AudioFormat.ExHeader);
  assert.equal(parseAudioTag(head)?.isSequenceHeader, true);
  assert.equal(parseAudioTag(frame)?.isSequenceHeader, false);
  const headPacket = new MediaPacket(MessageType.Audio, 40, head);
  const framePacket = new MediaPacket(MessageType.Audio, 60, frame);
  assert.deepEqual([headPacket.isSequenceHeader, headPacket.trackId, framePacket.isSequenceHeader, framePacket.trackId], [true, 1, false, 1]);
  assert.deepEqual(parseMediaFrame('audio', 60, frame), {
    kind: 'audio', codec: 'opus', codecId: AudioFormat.ExHeader, trackId: 1, timestamp: 60, compositionTimeOffset: 0, isKeyframe: false, isCodecConfig: false, payload: packet,
  });
  assert.equal(parseMediaFrame('audio', 40, head)?.isCodecConfig, true);
  const end = encodeAudioTrackTag({ trackId: 1, fourCc: AudioFourCc.Opus, packetType: AudioPacketType.SequenceEnd, data: Buffer.alloc(0) });
  assert.equal(parseMediaFrame('audio', 80, end), null, 'SequenceEnd carries no media');
  assert.equal(new MediaPacket(MessageType.Audio, 0, Buffer.from([0xaf, 0x00, 0x12, 0x10])).trackId, 0, 'legacy AAC: track 0');
});
