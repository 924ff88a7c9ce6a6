// The WebRTC feed (one per stream, shared by its WebRTC viewers) against the real ffmpeg: streams
// made by ffmpeg (FLV tags read with our reader) go into a viewer's tap as the relay would deliver
// them. H.264 without B-frames passes through (keyframe first with SPS/PPS in a STAP-A, RTP times =
// presentation ms x 90) and AAC becomes Opus, with no video transcoder; H.264 with B-frames, H.264
// High 4:4:4 and Sorenson Spark go through one video transcoder (constrained baseline: keyframe
// first, times only growing, on the source's timeline, a keyframe about every second); a second
// viewer starts from the feed's GOP, reads on when the first leaves, and the last one leaving stops
// the feed and its transcoders; a republished stream (times back to 0) is decided again. And the
// feed's clock. A browser's Opus carried as an Enhanced RTMP track beside the AAC passes through
// as it is, with no audio transcoder (one started on AAC before the track showed up stops).
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { Logger } from '#common/logger.ts';
import { MediaPacket } from '#common/media/media-packet.ts';
import { FlvReader, FlvTagType } from '#protocol/flv/flv.ts';
import { AudioFourCc, AudioPacketType, encodeAudioTrackTag } from '#protocol/flv/enhanced-audio.ts';
import { encodeOpusHead } from '#protocol/ogg/ogg-opus.ts';
import { OggReader } from '#protocol/ogg/ogg-page.ts';
import { NalUnitType } from '#protocol/rtp/nal-units.ts';
import type { FeedVideoFrame, FeedViewer } from '../../gateway/webrtc/webrtc-feed.ts';
import { WebRtcFeedClock } from '../../gateway/webrtc/webrtc-feed-clock.ts';
import { WebRtcFeeds } from '../../gateway/webrtc/webrtc-feeds.ts';
import { eventually, stopAll } from '../support/processes.ts';

after(stopAll);

const SECONDS = 3;
const log = new Logger('webrtc-feed test');

/** `SECONDS` of a 30 fps test picture and a sine made by ffmpeg with `codecs`, as the packets of a live stream (data tags left out). */
function ffmpegStream(codecs: string[]): MediaPacket[] {
  const flv = execFileSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i', 'testsrc=size=320x240:rate=30',
    '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=44100', '-t', String(SECONDS), ...codecs, '-f', 'flv', '-'], { maxBuffer: 64 << 20 });
  return new FlvReader().push(flv).filter((tag) => tag.type !== FlvTagType.Script).map((tag) => new MediaPacket(tag.type, tag.timestamp, tag.data));
}

/** The pictures among the packets (no sequence header, no end-of-sequence tag). */
const pictures = (packets: MediaPacket[]) => packets.filter((p) => p.kind === 'video' && p.frame && !p.frame.isCodecConfig);

const BASELINE = ['-c:v', 'libx264', '-preset', 'ultrafast', '-profile:v', 'baseline', '-pix_fmt', 'yuv420p', '-bf', '0', '-g', '30', '-c:a', 'aac'];
const BFRAMES = ['-c:v', 'libx264', '-preset', 'veryfast', '-profile:v', 'high', '-pix_fmt', 'yuv420p', '-bf', '2', '-g', '30', '-c:a', 'aac'];
const FLASH = ['-c:v', 'flv', '-c:a', 'nellymoser', '-ar', '44100'];
const HIGH_444 = ['-c:v', 'libx264', '-preset', 'ultrafast', '-profile:v', 'high444', '-pix_fmt', 'yuv444p', '-bf', '0', '-g', '30', '-c:a', 'aac'];

class RecordingViewer implements FeedViewer {
  readonly video: FeedVideoFrame[] = [];
  readonly audio: Array<{ samples: number; time48k: number }> = [];
  closedWith: string | null = null;
  sendVideo(frame: FeedVideoFrame): void { this.video.push(frame); }
  sendAudio(packet: Buffer, time48k: number): void { this.audio.push({ samples: packet.length, time48k }); }
  feedClosed(reason: string): void { this.closedWith = reason; }
}

/** A registry, and a viewer of `live/test` whose tap gets `packets` (after joining, as the relay delivers once the play is accepted). */
function watch(packets: MediaPacket[], feeds = new WebRtcFeeds({ maxGopBytes: 8 << 20 }, log)) {
  const viewer = new RecordingViewer();
  const source = feeds.newSource();
  const feed = feeds.join({ app: 'live', stream: 'test' }, viewer, source);
  for (const packet of packets) source.sendMedia(packet, 1);
  return { feeds, feed, viewer, source };
}

/** The NAL unit types in a frame's first RTP payload (a STAP-A's aggregated units, or the single unit's). */
function firstNalTypes(frame: FeedVideoFrame): number[] {
  const payload = frame.payloads[0]!.payload;
  if ((payload[0]! & 0x1f) !== 24) return [payload[0]! & 0x1f];
  const types: number[] = [];
  for (let offset = 1; offset + 2 < payload.length; offset += 2 + payload.readUInt16BE(offset)) types.push(payload[offset + 2]! & 0x1f);
  return types;
}

/** The SPS's profile_idc in a keyframe's STAP-A (66: baseline). */
function spsProfile(frame: FeedVideoFrame): number {
  const payload = frame.payloads[0]!.payload;
  assert.equal(payload[0]! & 0x1f, 24, 'a keyframe starts with a STAP-A');
  assert.equal(payload[3]! & 0x1f, NalUnitType.Sps, 'whose first unit is the SPS');
  return payload[4]!;
}

test('H.264 without B-frames passes through (keyframe first, SPS/PPS before it, presentation times x 90) and AAC becomes Opus', async () => {
  const packets = ffmpegStream(BASELINE);
  const { feeds, feed, viewer } = watch(packets);
  const frames = pictures(packets);
  assert.equal(viewer.video.length, frames.length, 'every frame at once, none held back');
  assert.deepEqual(viewer.video.map((f) => f.rtpTimestamp), frames.map((p) => (p.timestamp + p.frame!.compositionTimeOffset) * 90));
  assert.ok(viewer.video[0]!.isKeyframe);
  assert.deepEqual(firstNalTypes(viewer.video[0]!).slice(0, 2), [NalUnitType.Sps, NalUnitType.Pps]);
  assert.ok(viewer.video.every((f) => f.payloads.every(({ payload }) => payload.length <= 1200)), 'RTP payloads of at most 1200 bytes');
  await eventually(() => viewer.audio.length >= 100, 15_000, `Opus packets (${viewer.audio.length})`);
  assert.deepEqual(feed.transcoding, { video: false, audio: true });
  assert.deepEqual([feeds.stats.videoTranscodersStarted, feeds.stats.audioTranscodersStarted], [0, 1]);
  feeds.close('done');
  assert.equal(viewer.closedWith, "the stream's WebRTC feed stopped: done");
  assert.deepEqual(feed.transcoding, { video: false, audio: false });
});

for (const [what, codecs] of [['H.264 with B-frames', BFRAMES], ['Sorenson Spark', FLASH], ['H.264 High 4:4:4 (no B-frames)', HIGH_444]] as const) {
  test(`${what} goes through one video transcoder to H.264 constrained baseline on the source's timeline, a keyframe about every second`, async () => {
    const packets = ffmpegStream(codecs);
    const frames = pictures(packets);
    if (codecs === BFRAMES) assert.ok(frames.some((p) => p.frame!.compositionTimeOffset !== 0), 'the input has B-frames');
    const { feeds, feed, viewer } = watch(packets);
    assert.ok(feed.transcoding.video, 'the transcoder started at the first frame');
    // ffmpeg keeps the last few (its decoder's reordering delay) until more input comes.
    await eventually(() => viewer.video.length >= frames.length - 10, 20_000, `transcoded frames (of ${frames.length})`);
    const out = viewer.video;
    assert.ok(out[0]!.isKeyframe, 'the first frame is a keyframe');
    assert.equal(spsProfile(out[0]!), 66, 'constrained baseline');
    assert.ok(out.every((f, i) => i === 0 || f.rtpTimestamp > out[i - 1]!.rtpTimestamp), 'times only grow: no B-frames');
    const firstPresentation = Math.min(...frames.map((p) => p.timestamp + p.frame!.compositionTimeOffset));
    assert.ok(Math.abs(out[0]!.rtpTimestamp / 90 - firstPresentation) <= 34, `the first frame at ${out[0]!.rtpTimestamp / 90} ms, the source's first picture at ${firstPresentation} ms`);
    const keyframeTimes = out.filter((f) => f.isKeyframe).map((f) => f.rtpTimestamp / 90);
    assert.ok(keyframeTimes.length >= SECONDS - 1, `keyframes at ${keyframeTimes.join(', ')} ms`);
    assert.ok(keyframeTimes.every((t, i) => i === 0 || t - keyframeTimes[i - 1]! <= 1100), `a keyframe about every second: ${keyframeTimes.join(', ')} ms`);
    assert.match(JSON.stringify(feeds.stats), /"videoTranscoders":1,"videoTranscodersStarted":1/);
    await eventually(() => viewer.audio.length >= 100, 15_000, `Opus packets (${viewer.audio.length})`);
    feeds.close('done');
    assert.deepEqual(feeds.stats, { feedViewers: 0, feeds: 0, feedsStarted: 1, videoTranscoders: 0, videoTranscodersStarted: 1, audioTranscoders: 0, audioTranscodersStarted: 1, opusPassthroughFeeds: 0 });
  });
}

test('viewers share one feed: a joiner starts from its GOP, the next tap is read when the first viewer leaves, the last one stops it all', async () => {
  const packets = ffmpegStream(BASELINE);
  const half = packets.findIndex((p) => p.kind === 'video' && p.timestamp >= 1500);
  const { feeds, feed, viewer: first, source: firstSource } = watch(packets.slice(0, half));
  const beforeJoin = first.video.length;
  const second = new RecordingViewer();
  const secondSource = feeds.newSource();
  assert.equal(feeds.join({ app: 'live', stream: 'test' }, second, secondSource), feed, 'the same feed');
  assert.ok(feed.gop[0]?.isKeyframe && feed.gop.length > 1, 'the feed keeps the current GOP from its keyframe for joiners');
  assert.equal(feeds.stats.feeds, 1);
  // The relay delivers the rest to both taps; the feed reads the first viewer's only.
  const deliver = (part: MediaPacket[]) => { for (const packet of part) { firstSource.sendMedia(packet, 1); secondSource.sendMedia(packet, 1); } };
  deliver(packets.slice(half, half + 30));
  feed.removeViewer(first);
  const whenLeft = first.video.length;
  deliver(packets.slice(half + 30));
  assert.equal(first.video.length, whenLeft, 'nothing more for the viewer that left');
  const frames = pictures(packets);
  assert.deepEqual(second.video.map((f) => f.rtpTimestamp), frames.slice(beforeJoin).map((p) => p.timestamp * 90),
    'the second viewer got every frame since it joined, once, across the change of tap');
  await eventually(() => second.audio.length > 0, 15_000, 'Opus for the second viewer');
  feed.removeViewer(second);
  assert.ok(feed.closed, 'the last viewer leaving stops the feed');
  assert.deepEqual([feeds.stats.feeds, feeds.stats.audioTranscoders], [0, 0]);
  assert.equal(second.closedWith, null, 'a viewer that left is not told the feed stopped');
});

test('a stream published again (times back to 0) is decided again: after B-frames, baseline passes through', async () => {
  const { feeds, feed, viewer, source } = watch(ffmpegStream(BFRAMES));
  assert.ok(feed.transcoding.video);
  const baseline = ffmpegStream(BASELINE);
  const before = viewer.video.length;
  for (const packet of baseline) source.sendMedia(packet, 1);
  assert.equal(feed.transcoding.video, false, 'the video transcoder stopped');
  assert.deepEqual(viewer.video.slice(before).map((f) => f.rtpTimestamp), pictures(baseline).map((p) => p.timestamp * 90), 'the baseline stream passes through');
  await eventually(() => feeds.stats.audioTranscodersStarted === 2 && feed.transcoding.audio, 5000, 'a new audio transcoder for the new timeline');
  feeds.close('done');
});

/** `SECONDS` of a sine encoded by ffmpeg's libopus (20 ms packets) as the Opus track (E-RTMP track 1) packets a browser's edge sends, OpusHead first. */
function opusTrack(): { packets: MediaPacket[]; opus: Buffer[] } {
  const ogg = execFileSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000', '-t', String(SECONDS),
    '-c:a', 'libopus', '-frame_duration', '20', '-f', 'ogg', '-']);
  const opus = new OggReader().push(ogg).flatMap((page) => page.packets).slice(2); // OpusHead and OpusTags first
  const tag = (packetType: number, data: Buffer, timestamp: number) =>
    new MediaPacket(FlvTagType.Audio, timestamp, encodeAudioTrackTag({ trackId: 1, fourCc: AudioFourCc.Opus, packetType, data }));
  const head = tag(AudioPacketType.SequenceStart, encodeOpusHead({ channels: 2, preSkip: 0, inputSampleRate: 48000, outputGain: 0 }), 0);
  return { packets: [head, ...opus.map((packet, i) => tag(AudioPacketType.CodedFrames, packet, i * 20))], opus };
}

/** Packets of two streams in time order (stable: the first's come first at equal times). */
const interleave = (a: MediaPacket[], b: MediaPacket[]) => [...a, ...b].map((p, i) => ({ p, i })).sort((x, y) => x.p.timestamp - y.p.timestamp || x.i - y.i).map(({ p }) => p);

test("a publisher's own Opus track passes through as it is, with no audio transcoder; the AAC beside it is not used", () => {
  const track = opusTrack();
  assert.equal(track.packets[1]!.trackId, 1, 'an additional track');
  // The Opus track first at equal times, as its edge sends it (the AAC comes out of a transcoder).
  const { feeds, feed, viewer } = watch(interleave(track.packets, ffmpegStream(BASELINE)));
  assert.equal(viewer.audio.length, track.opus.length, 'every Opus packet, at once');
  assert.deepEqual(viewer.audio.map((a) => a.samples), track.opus.map((p) => p.length), 'the packets as they are');
  assert.ok(viewer.audio.every((a, i) => a.time48k === i * 960), 'contiguous 48 kHz times from the track\'s millisecond timestamps');
  assert.deepEqual(feed.transcoding, { video: false, audio: false });
  assert.deepEqual([feeds.stats.audioTranscodersStarted, feeds.stats.opusPassthroughFeeds], [0, 1]);
  feeds.close('done');
});

test('an audio transcoder started on AAC stops when the Opus track shows up', () => {
  const aac = ffmpegStream(BASELINE);
  const track = opusTrack();
  const { feeds, feed, viewer, source } = watch(aac.slice(0, 40));
  assert.ok(feed.transcoding.audio, 'AAC first: transcoded');
  const startedAt = aac[39]!.timestamp;
  for (const packet of interleave(aac.slice(40), track.packets.filter((p, i) => i === 0 || p.timestamp > startedAt))) source.sendMedia(packet, 1);
  assert.deepEqual(feed.transcoding, { video: false, audio: false }, 'the transcoder stopped');
  assert.ok(viewer.audio.length > 0 && feed.opusPassthrough);
  assert.deepEqual([feeds.stats.audioTranscodersStarted, feeds.stats.audioTranscoders, feeds.stats.opusPassthroughFeeds], [1, 0, 1]);
  feeds.close('done');
});

test('the feed clock ties stream time to when media arrives, moves forward with media ahead of it, starts again far behind', () => {
  const clock = new WebRtcFeedClock();
  assert.equal(clock.streamTimeAt(1000), null);
  clock.observe(5000, 1000);
  assert.equal(clock.streamTimeAt(1500), 5500);
  clock.observe(5400, 1500); // a little late: jitter, kept
  assert.equal(clock.streamTimeAt(1500), 5500);
  clock.observe(9000, 1600); // a GOP caught up
  assert.equal(clock.streamTimeAt(1600), 9000);
  clock.observe(0, 1700); // published again
  assert.equal(clock.streamTimeAt(1800), 100);
  clock.reset();
  assert.equal(clock.streamTimeAt(1800), null);
});
