// VP8-to-H.264 transcoder tests against the real ffmpeg: VP8 frames from libvpx (a test source
// encoded here, read with our IVF reader) pushed with timeline timestamps, a 700 ms hole among
// them, come out as H.264 constrained baseline that ffprobe decodes with the same frame count and
// the same timestamps, with keyframes where the VP8 had them. Frames before the first keyframe are
// skipped; a stalled ffmpeg makes it drop (and count) frames; a missing or dying ffmpeg is a
// 'close' with the reason, never an exception; close() leaves no ffmpeg behind.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { AvcTag } from '#protocol/flv/avc-tags.ts';
import { parseAvcDecoderConfig } from '#protocol/flv/codecs.ts';
import { encodeFlvHeader, encodeFlvTag, FlvTagType } from '#protocol/flv/flv.ts';
import { readIvf } from '#protocol/ivf/ivf.ts';
import { vp8FrameSize } from '#protocol/rtp/vp8-depacketizer.ts';
import { Vp8ToH264, type Vp8InputFrame, type Vp8ToH264Options } from '../../gateway/webrtc/vp8-to-h264.ts';
import { eventually, stopAll, tempDir } from '../support/processes.ts';

after(stopAll);

const FRAME_COUNT = 60;
const KEYFRAME_EVERY = 20;
/** Where the first frame sits on the publisher's timeline, and the hole after frame 30. */
const START_MS = 5000;
const HOLE_AFTER = 30;
const HOLE_MS = 700;

/** 3 s of testsrc at 20 fps as a browser's libvpx sends it (realtime, no alt-ref frames). */
function encodeVp8(size: string): Vp8InputFrame[] {
  const ivf = execFileSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i', `testsrc=size=${size}:rate=20`, '-t', '3',
    '-c:v', 'libvpx', '-deadline', 'realtime', '-cpu-used', '8', '-b:v', '500k', '-g', String(KEYFRAME_EVERY), '-keyint_min', String(KEYFRAME_EVERY),
    '-auto-alt-ref', '0', '-lag-in-frames', '0', '-f', 'ivf', '-'], { maxBuffer: 64 << 20 });
  return readIvf(ivf).frames.map(({ data }) => {
    const size = vp8FrameSize(data);
    return { data, keyframe: size !== null, size };
  });
}
const vp8Frames = encodeVp8('320x240');

/** The tags written as an FLV file, for ffprobe. */
function flvFile(tags: Run['tags']): string {
  const file = join(tempDir(), 'vp8-to-h264.flv');
  writeFileSync(file, Buffer.concat([encodeFlvHeader({ audio: false, video: true }),
    ...tags.map(({ tag, timestamp }) => encodeFlvTag({ type: FlvTagType.Video, timestamp, data: tag.body }))]));
  return file;
}

/** Frame i's time: 50 ms apart from START_MS, HOLE_MS later from frame HOLE_AFTER on. */
const timeOf = (i: number): number => START_MS + i * 50 + (i >= HOLE_AFTER ? HOLE_MS : 0);

interface Run {
  transcoder: Vp8ToH264;
  tags: Array<{ tag: AvcTag; timestamp: number }>;
  closed: Promise<string>;
}

function start(options: Vp8ToH264Options = {}): Run {
  const transcoder = new Vp8ToH264(options);
  const run: Run = { transcoder, tags: [], closed: new Promise((resolve) => transcoder.once('close', resolve)) };
  transcoder.on('video', (tag, timestamp) => run.tags.push({ tag, timestamp }));
  return run;
}

describe('VP8 to H.264 through ffmpeg', () => {
  test('every frame comes out as H.264 at its own time (the hole stays a hole), keyframes where the VP8 had them', async () => {
    assert.equal(vp8Frames.length, FRAME_COUNT);
    const run = start({ keyframeIntervalMs: 10_000 });
    vp8Frames.forEach((frame, i) => run.transcoder.push(frame, timeOf(i)));
    run.transcoder.end();
    assert.equal(await run.closed, 'ended');
    assert.deepEqual(run.transcoder.counters, { written: FRAME_COUNT, droppedBackpressure: 0, skippedAwaitingKeyframe: 0, frames: FRAME_COUNT, restarts: 0 });

    const [header, ...frames] = run.tags;
    assert.equal(header!.tag.sequenceHeader, true);
    const config = parseAvcDecoderConfig(header!.tag.body);
    assert.deepEqual([config?.profile, config?.width, config?.height], [66, 320, 240]); // baseline
    assert.deepEqual(frames.map((f) => f.timestamp), vp8Frames.map((_, i) => timeOf(i)));
    const keyframes = frames.flatMap((f, i) => (f.tag.keyframe ? [i] : []));
    assert.deepEqual(keyframes, [0, 20, 40]);

    // What ffprobe makes of the tags written as FLV: constrained baseline, every frame decodes, same times.
    const file = flvFile(run.tags);
    const stream = execFileSync('ffprobe', ['-v', 'error', '-count_frames', '-show_entries', 'stream=codec_name,profile,width,height,nb_read_frames', '-of', 'csv=p=0', file]).toString().trim();
    assert.equal(stream, `h264,Constrained Baseline,320,240,${FRAME_COUNT}`);
    const packets = execFileSync('ffprobe', ['-v', 'error', '-show_entries', 'packet=pts', '-of', 'csv=p=0', file]).toString().trim().split('\n').map(Number);
    assert.deepEqual(packets, vp8Frames.map((_, i) => timeOf(i)));
  });

  test('keyframes also every keyframeIntervalMs worth of frames; frames before the first VP8 keyframe are skipped', async () => {
    const run = start({ keyframeIntervalMs: 500 }); // 15 frames at the 30 fps it assumes
    vp8Frames.slice(5).forEach((frame, i) => run.transcoder.push(frame, timeOf(i + 5)));
    run.transcoder.end();
    assert.equal(await run.closed, 'ended');
    const counters = run.transcoder.counters;
    assert.equal(counters.skippedAwaitingKeyframe, 15); // frames 5-19
    assert.equal(counters.frames, FRAME_COUNT - 20);
    const keyframes = run.tags.filter((t) => !t.tag.sequenceHeader).flatMap((t, i) => (t.tag.keyframe ? [i] : []));
    assert.deepEqual(keyframes, [0, 15, 20, 35]); // VP8 keyframes at 0 and 20, the interval at 15 and 35
  });

  test('a keyframe of another size (a browser scaling its video) starts a new encoder: a new sequence header, every frame still decodes', async () => {
    const smaller = encodeVp8('160x120').slice(0, KEYFRAME_EVERY);
    const run = start();
    vp8Frames.slice(0, KEYFRAME_EVERY).forEach((frame, i) => run.transcoder.push(frame, timeOf(i)));
    await eventually(() => run.transcoder.counters.frames === KEYFRAME_EVERY, 10_000, 'the first size out'); // the restart loses what ffmpeg holds
    smaller.forEach((frame, i) => run.transcoder.push(frame, timeOf(KEYFRAME_EVERY + i)));
    run.transcoder.end();
    assert.equal(await run.closed, 'ended');
    assert.equal(run.transcoder.counters.restarts, 1);
    const headers = run.tags.filter((t) => t.tag.sequenceHeader).map((t) => parseAvcDecoderConfig(t.tag.body));
    assert.deepEqual(headers.map((h) => `${h?.width}x${h?.height}`), ['320x240', '160x120']);
    const frames = run.tags.filter((t) => !t.tag.sequenceHeader);
    assert.deepEqual(frames.map((f) => f.timestamp), [...vp8Frames.slice(0, KEYFRAME_EVERY), ...smaller].map((_, i) => timeOf(i)));
    const decoded = execFileSync('ffprobe', ['-v', 'error', '-count_frames', '-show_entries', 'stream=nb_read_frames', '-of', 'csv=p=0', flvFile(run.tags)]).toString().trim();
    assert.equal(decoded, String(2 * KEYFRAME_EVERY));
  });

  test('a missing or dying ffmpeg is a close with the reason; close() ends ffmpeg', async () => {
    const missing = start({ ffmpegBinary: join(tempDir(), 'missing-ffmpeg') });
    missing.transcoder.push(vp8Frames[0]!, 0);
    assert.match(await missing.closed, /could not start ffmpeg/);

    const killed = start();
    killed.transcoder.push(vp8Frames[0]!, 0);
    process.kill(killed.transcoder.pid!, 'SIGKILL');
    assert.match(await killed.closed, /ffmpeg killed by SIGKILL/);

    const closed = start();
    vp8Frames.slice(0, 10).forEach((frame, i) => closed.transcoder.push(frame, timeOf(i)));
    await eventually(() => closed.tags.length > 0, 10_000, 'H.264 out');
    closed.transcoder.close();
    assert.equal(await closed.closed, 'closed');
    await eventually(() => closed.transcoder.exited, 5000, 'ffmpeg to exit');
    closed.transcoder.push(vp8Frames[10]!, timeOf(10)); // harmless after close
  });

  test('a stalled ffmpeg: frames beyond the stdin bound are dropped and counted, then skipped to the next keyframe', async () => {
    // A stand-in that never reads its stdin, so the pipe fills and Node's buffer grows.
    const stalled = join(tempDir(), 'stalled-ffmpeg');
    writeFileSync(stalled, '#!/bin/sh\nexec sleep 30\n');
    chmodSync(stalled, 0o755);
    const run = start({ ffmpegBinary: stalled, maxBacklogBytes: 16 * 1024 });
    await sleep(100);
    const pushes = 20;
    for (let round = 0; round < pushes; round++) vp8Frames.forEach((frame, i) => run.transcoder.push(frame, round * 10_000 + timeOf(i)));
    const counters = run.transcoder.counters;
    assert.ok(counters.droppedBackpressure > 0 && counters.skippedAwaitingKeyframe > 0, JSON.stringify(counters));
    assert.equal(counters.written + counters.droppedBackpressure + counters.skippedAwaitingKeyframe, pushes * FRAME_COUNT);
    // What is held stays bounded: the pipe (64 KiB), the bound, and one frame past it.
    const largest = Math.max(...vp8Frames.map((f) => f.data.length));
    const written = run.transcoder.counters.written;
    assert.ok(written < pushes * FRAME_COUNT / 2, JSON.stringify(counters));
    assert.ok(written * Math.min(...vp8Frames.map((f) => f.data.length)) <= 64 * 1024 + 16 * 1024 + largest + 12, JSON.stringify(counters));
    run.transcoder.close();
    await eventually(() => run.transcoder.exited, 5000, 'the stand-in to exit');
  });
});
