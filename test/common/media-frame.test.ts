/** MediaFrame: the codec-level view of a live packet (codec, timing, flags, codec bytes), byte by byte. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MediaPacket } from '#common/media/media-packet.ts';
import type { MediaFrame } from '#common/media/media-frame.ts';
import { AudioFormat, VideoCodec } from '#protocol/flv/codecs.ts';
import { MessageType } from '#protocol/rtmp/message.ts';

const hex = (spaced: string) => Buffer.from(spaced.replace(/ /g, ''), 'hex');
const video = (bytes: string, timestamp = 1000) => new MediaPacket(MessageType.Video, timestamp, hex(bytes));
const audio = (bytes: string, timestamp = 1000) => new MediaPacket(MessageType.Audio, timestamp, hex(bytes));

/** The whole frame, its payload as hex, so one deepEqual checks every field. */
function described(frame: MediaFrame | null): Record<string, unknown> {
  assert.ok(frame, 'a frame');
  return { ...frame, payload: frame.payload.toString('hex') };
}

test('AVC sequence header: codec config, the AVCDecoderConfigurationRecord without the 5-byte tag header', () => {
  const record = '0164001fffe10004 6764001f 01 0004 68ee3c80';
  assert.deepEqual(described(video(`17 00 000000 ${record}`, 0).frame), {
    kind: 'video', codec: 'h264', codecId: VideoCodec.AVC, trackId: 0, timestamp: 0, compositionTimeOffset: 0,
    isKeyframe: false, isCodecConfig: true, payload: hex(record).toString('hex'),
  });
});

test('AVC keyframe: AVCC NAL units, positive composition offset', () => {
  assert.deepEqual(described(video('17 01 000021 00000005 6588840021', 2000).frame), {
    kind: 'video', codec: 'h264', codecId: VideoCodec.AVC, trackId: 0, timestamp: 2000, compositionTimeOffset: 33,
    isKeyframe: true, isCodecConfig: false, payload: '000000056588840021',
  });
});

test('AVC inter frame with a negative composition offset', () => {
  assert.deepEqual(described(video('27 01 ffffdf 00000003 419a02', 2033).frame), {
    kind: 'video', codec: 'h264', codecId: VideoCodec.AVC, trackId: 0, timestamp: 2033, compositionTimeOffset: -33,
    isKeyframe: false, isCodecConfig: false, payload: '00000003419a02',
  });
});

test('AAC AudioSpecificConfig and raw frame, without the 2-byte tag header', () => {
  const aac = { kind: 'audio', codec: 'aac', codecId: AudioFormat.Aac, trackId: 0, compositionTimeOffset: 0, isKeyframe: false };
  assert.deepEqual(described(audio('af 00 1210', 0).frame), { ...aac, timestamp: 0, isCodecConfig: true, payload: '1210' });
  assert.deepEqual(described(audio('af 01 211b94', 1023).frame), { ...aac, timestamp: 1023, isCodecConfig: false, payload: '211b94' });
});

test('Flash codecs are recognised by their FLV codec id, with the bytes after the 1-byte header', () => {
  const spark = { kind: 'video', codec: 'flash', codecId: VideoCodec.SorensonH263, trackId: 0, timestamp: 1000, compositionTimeOffset: 0, isCodecConfig: false };
  assert.deepEqual(described(video('12 000840a0').frame), { ...spark, isKeyframe: true, payload: '000840a0' });
  assert.deepEqual(described(video('22 00084100').frame), { ...spark, isKeyframe: false, payload: '00084100' });
  for (const [flags, format] of [['52', AudioFormat.Nellymoser8k], ['42', AudioFormat.Nellymoser16k], ['6e', AudioFormat.Nellymoser]] as const) {
    assert.deepEqual(described(audio(`${flags} a1b2c3`).frame), {
      kind: 'audio', codec: 'flash', codecId: format, trackId: 0, timestamp: 1000, compositionTimeOffset: 0,
      isKeyframe: false, isCodecConfig: false, payload: 'a1b2c3',
    });
  }
});

test('no frame for data, empty payloads, video command frames and AVC end of sequence', () => {
  assert.equal(new MediaPacket(MessageType.DataAmf0, 0, Buffer.from([2, 0, 0])).frame, null);
  assert.equal(video('').frame, null);
  assert.equal(audio('').frame, null);
  assert.equal(video('57 00').frame, null, 'info/command frame');
  assert.equal(video('17 02 000000').frame, null, 'end of sequence');
});

test('the frame is computed once per packet and shares the packet bytes', () => {
  const packet = video('17 01 000000 00000002 6588');
  const frame = packet.frame;
  assert.ok(frame);
  assert.equal(packet.frame, frame, 'the same object on every read');
  assert.equal(frame.payload.buffer, packet.payload.buffer, 'a view, not a copy');
  const data = new MediaPacket(MessageType.DataAmf0, 0, Buffer.from([2, 0, 0]));
  assert.equal(data.frame, null);
  assert.equal(data.frame, null, 'null is cached too');
});
