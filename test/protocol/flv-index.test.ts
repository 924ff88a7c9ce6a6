/**
 * The FLV index and metadata codec, against the ffmpeg-made fixtures: what it counts matches
 * ffprobe's figures in expected.json, the reserved onMetaData comes out at exactly the requested
 * size (so a recorder can rewrite it in place), a too-small reservation thins the keyframe
 * index instead of failing, and ffmpeg-readable padding is used. Also the MP3 frame parser.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { FlvReader, FlvTagType } from '#protocol/flv/flv.ts';
import { FlvIndex, decodeOnMetaData, encodeMetadataTag, metadataReserveSize } from '#protocol/flv/flv-index.ts';
import { amf0Decode } from '#protocol/amf/amf0.ts';
import { parseMp3Frames } from '#protocol/mp3/mp3.ts';

const fixtures = join(import.meta.dirname, '../fixtures');

function indexOf(file: string): FlvIndex {
  const index = new FlvIndex();
  let position = 13;
  for (const tag of new FlvReader().push(readFileSync(join(fixtures, 'flv', file)))) {
    index.add(tag.type, tag.timestamp, tag.data, position);
    position += 11 + tag.data.length + 4;
  }
  return index;
}

test('the index counts frames, keyframes, picture size and codecs of an ffmpeg file', () => {
  const index = indexOf('h264-aac.flv');
  assert.equal(index.videoCodecId, 7);
  assert.equal(index.audioCodecId, 10);
  assert.equal(index.width, 160);
  assert.equal(index.height, 120);
  assert.equal(index.videoFrames, 10); // 1 s at 10 fps
  assert.equal(index.keyframes.length, 2); // GOP of 5
  assert.equal(index.audioSampleRate, 48000);
  assert.equal(index.stereo, true);
  // Keyframe positions point at video keyframe tags.
  const bytes = readFileSync(join(fixtures, 'flv', 'h264-aac.flv'));
  for (const k of index.keyframes) {
    assert.equal(bytes[k.position], FlvTagType.Video);
    assert.equal(bytes[k.position + 11]! >> 4, 1);
  }
});

test('encodeMetadataTag gives exactly the reserved size and decodes back', () => {
  const index = indexOf('h264-aac.flv');
  for (const size of [2000, 4096, 70_000, 200_000]) {
    const encoded = encodeMetadataTag(index, 12345, size, { encoder: 'Lavf', duration: 99 })!;
    assert.equal(encoded.data.length, size);
    assert.equal(encoded.indexedKeyframes, 2);
    const meta = decodeOnMetaData(encoded.data)!;
    assert.equal(meta.filesize, 12345);
    assert.equal(meta.encoder, 'Lavf', 'publisher fields are kept');
    assert.equal(meta.duration, index.durationMs / 1000, 'computed fields win');
    assert.deepEqual((meta.keyframes as { filepositions: number[] }).filepositions, index.keyframes.map((k) => k.position));
    // No AMF0 long string (ffmpeg refuses them in metadata) and no string of 1024+ bytes.
    const [, values] = amf0Decode(encoded.data);
    for (const value of Object.values(values as Record<string, unknown>)) if (typeof value === 'string') assert.ok(value.length < 1024);
  }
});

test('a reservation too small for the index thins it; one too small for anything is null', () => {
  const index = new FlvIndex();
  const key = Buffer.from([0x17, 1, 0, 0, 0, 0xaa]);
  for (let i = 0; i < 1000; i++) index.add(FlvTagType.Video, i * 1000, key, 100 + i * 50);
  const full = encodeMetadataTag(index, 0, metadataReserveSize(1000))!;
  assert.equal(full.indexedKeyframes, 1000);
  const thin = encodeMetadataTag(index, 0, metadataReserveSize(300))!;
  assert.ok(thin.indexedKeyframes < 300 && thin.indexedKeyframes >= 125, `indexed ${thin.indexedKeyframes}`);
  assert.equal(encodeMetadataTag(index, 0, 100), null);
});

test('MP3 frames: the ID3v2 tag is skipped, every frame found, durations add up', () => {
  const frames = parseMp3Frames(readFileSync(join(fixtures, 'mp3', 'tone.mp3')));
  // ffprobe decodes 40 frames; LAME adds one more up front, its Info frame (a silent valid frame).
  assert.ok(frames.length === 40 || frames.length === 41, `frames: ${frames.length}`);
  assert.ok(frames.every((f) => f.sampleRate === 44100 && f.samples === 1152 && f.channels === 1));
  const seconds = (frames.length * 1152) / 44100;
  assert.ok(Math.abs(seconds - 1.045) < 0.03, `duration ${seconds}`);
});
