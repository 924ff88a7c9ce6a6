/**
 * What the admin API shows of a stream's codecs (protocol/flv/codec-description.ts), against the FLV
 * files ffmpeg wrote (test/fixtures/flv) and ffprobe's view of them (expected.json): the codec's
 * name, the picture size from an AVC sequence header, rate and channels from an AAC one or, for
 * codecs without one, from a frame's tag header; an Enhanced RTMP track by its FourCC; unreadable
 * payloads give null.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describeAudio, describeVideo } from '#protocol/flv/codec-description.ts';
import { parseAudioTag, parseVideoTag } from '#protocol/flv/codecs.ts';
import { AudioFourCc, AudioPacketType, encodeAudioTrackTag } from '#protocol/flv/enhanced-audio.ts';
import { FlvReader, FlvTagType, type FlvTag } from '#protocol/flv/flv.ts';

const fixtureDir = new URL('../fixtures/flv/', import.meta.url);
const fixture = (name: string): Buffer => readFileSync(new URL(name, fixtureDir));

interface ProbeStream { codec_type: 'audio' | 'video'; codec_name: string; width?: number; height?: number; sample_rate?: string; channels?: number }
const expected = JSON.parse(fixture('expected.json').toString('utf8')) as Record<string, { ffprobe: { streams: ProbeStream[] } }>;

/** ffprobe's codec names -> the admin API's. */
const codecFromProbe: Record<string, string> = {
  h264: 'h264', flv1: 'sorenson-h263', flashsv: 'screen-video', aac: 'aac', mp3: 'mp3', nellymoser: 'nellymoser', speex: 'speex', adpcm_swf: 'adpcm',
};

/** The configuration tag when the codec has one (what a live stream keeps), else the first frame's first byte (what it keeps then). */
function describedAs<T>(tags: FlvTag[], type: number, isHeader: (data: Buffer) => boolean, describe: (payload: Buffer) => T | null): T | null {
  const ofType = tags.filter((t) => t.type === type);
  const header = ofType.find((t) => isHeader(t.data));
  return header ? describe(header.data) : describe(Buffer.of(ofType[0]!.data[0]!));
}

test('codecs, picture size, rate and channels as ffprobe sees them, for every fixture ffmpeg wrote', () => {
  for (const [name, { ffprobe }] of Object.entries(expected)) {
    const tags = new FlvReader().push(fixture(name));
    for (const stream of ffprobe.streams) {
      if (stream.codec_type === 'video') {
        const video = describedAs(tags, FlvTagType.Video, (d) => parseVideoTag(d)?.isSequenceHeader ?? false, describeVideo)!;
        assert.equal(video.codec, codecFromProbe[stream.codec_name], `${name}: video codec`);
        if (video.codec === 'h264') assert.deepEqual([video.width, video.height], [stream.width, stream.height], `${name}: picture size`);
        else assert.deepEqual([video.width, video.height], [null, null], `${name}: no size without a configuration`);
      } else {
        const audio = describedAs(tags, FlvTagType.Audio, (d) => parseAudioTag(d)?.isSequenceHeader ?? false, describeAudio)!;
        assert.equal(audio.codec, codecFromProbe[stream.codec_name], `${name}: audio codec`);
        assert.deepEqual([audio.sampleRate, audio.channels], [Number(stream.sample_rate), stream.channels], `${name}: rate and channels`);
      }
    }
  }
});

test('an AAC frame (not its configuration) names the codec but not a rate: its header flags always say 44.1 kHz', () => {
  assert.deepEqual(describeAudio(Buffer.from('af0121', 'hex')), { codec: 'aac', codecId: 10, sampleRate: null, channels: null });
});

test('Enhanced RTMP audio is named by its FourCC', () => {
  const opus = encodeAudioTrackTag({ trackId: 1, fourCc: AudioFourCc.Opus, packetType: AudioPacketType.SequenceStart, data: Buffer.from('OpusHead') });
  assert.equal(describeAudio(opus)?.codec, 'opus');
  assert.equal(describeAudio(Buffer.from([0x90, 0x00, 0x41]))?.codec ?? null, null, 'a cut E-RTMP header');
});

test('empty and cut payloads give null', () => {
  assert.equal(describeVideo(Buffer.alloc(0)), null);
  assert.equal(describeAudio(Buffer.alloc(0)), null);
  assert.equal(describeVideo(Buffer.from('1700', 'hex')), null, 'AVC without its packet type and composition time');
  // An AVC sequence header whose record is cut: the codec, no size.
  assert.deepEqual(describeVideo(Buffer.from('170000000001', 'hex')), { codec: 'h264', codecId: 7, width: null, height: null, profile: null, level: null });
});
