// Opus-to-AAC transcoder tests against the real ffmpeg: Opus packets from libopus (a 3 s sine encoded
// here, read with our Ogg reader) pushed with RTP timestamps come out as AAC frames of the right count
// and duration, monotonic from near 0; a 200 ms hole stays a hole; the frames written as FLV decode
// with ffprobe; close() leaves no ffmpeg behind; bad input and a dying ffmpeg are 'error' events;
// a stuck ffmpeg makes it drop packets. Also measures the latency added in real time.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { encodeFlvHeader, encodeFlvTag, FlvTagType } from '#protocol/flv/flv.ts';
import { parseAacConfig } from '#protocol/flv/codecs.ts';
import { parseOggOpus, type PositionedOpusPacket } from '#protocol/ogg/ogg-opus.ts';
import { OpusToAac, type AacFrame, type OpusToAacError, type OpusToAacOptions } from '../../gateway/webrtc/opus-to-aac.ts';
import { randomBytes } from '../support/bytes.ts';
import { stopAll, tempDir } from '../support/processes.ts';

after(stopAll);

const SAMPLE_RATE = 48000;
const AAC_FRAME_MS = (1024 * 1000) / SAMPLE_RATE;
/** RTP timestamps start just below the 32-bit wrap, so the wrap is crossed on the way. */
const RTP_BASE = 0xffffffff - 48000;

/** 3 s of a 440 Hz sine as 20 ms libopus packets, positioned from 0 (pre-skip dropped with the first packet). */
const sinePackets: PositionedOpusPacket[] = (() => {
  const ogg = execFileSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000',
    '-t', '3', '-ac', '2', '-c:a', 'libopus', '-b:a', '48k', '-frame_duration', '20', '-f', 'ogg', '-']);
  const packets = parseOggOpus(ogg).packets.filter((packet) => packet.samplePosition >= 0);
  return packets.map((packet) => ({ packet: packet.packet, samplePosition: packet.samplePosition - packets[0]!.samplePosition }));
})();

const rtpTimestamp = (samplePosition: number): number => (RTP_BASE + samplePosition) >>> 0;

interface Run {
  transcoder: OpusToAac;
  config: Buffer[];
  frames: AacFrame[];
  errors: OpusToAacError[];
  closed: Promise<string>;
}

/** The reason of the transcoder's 'close' (not events.once, which would add an 'error' listener and reject on it). */
function closeReason(transcoder: OpusToAac): Promise<string> {
  return new Promise((resolve) => transcoder.once('close', resolve));
}

function start(options: OpusToAacOptions = {}): Run {
  const transcoder = new OpusToAac(options);
  const run: Run = { transcoder, config: [], frames: [], errors: [], closed: closeReason(transcoder) };
  transcoder.on('config', (data) => run.config.push(data));
  transcoder.on('frame', (frame) => run.frames.push(frame));
  transcoder.on('error', (error) => run.errors.push(error));
  return run;
}

/** Pushes every packet at once (faster than real time), ends the input and waits for ffmpeg to drain. */
async function transcodeAll(packets: PositionedOpusPacket[], options: OpusToAacOptions = {}): Promise<Run> {
  const run = start(options);
  for (const { packet, samplePosition } of packets) run.transcoder.push(packet, rtpTimestamp(samplePosition));
  run.transcoder.end();
  assert.equal(await run.closed, 'ended');
  return run;
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function waitUntil(condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await sleep(20);
  }
}

describe('Opus to AAC through ffmpeg', () => {
  test('frame count and duration match the input, timestamps rise from near 0, the config is AAC-LC', async () => {
    const run = await transcodeAll(sinePackets);
    assert.deepEqual(run.errors, []);
    assert.equal(run.config.length, 1);
    assert.deepEqual(parseAacConfig(run.config[0]!), { objectType: 2, sampleRate: 48000, channels: 2 });
    const inputMs = (sinePackets.length * 960 * 1000) / SAMPLE_RATE;
    const outputMs = run.frames.length * AAC_FRAME_MS;
    assert.ok(Math.abs(outputMs - inputMs) <= AAC_FRAME_MS, `AAC ${outputMs} ms for ${inputMs} ms of Opus`);
    assert.ok(run.frames[0]!.timestamp <= AAC_FRAME_MS, `first frame at ${run.frames[0]!.timestamp} ms`);
    for (let i = 1; i < run.frames.length; i++) assert.ok(run.frames[i]!.timestamp > run.frames[i - 1]!.timestamp, `frame ${i}`);
    const lastEnd = run.frames.at(-1)!.timestamp + AAC_FRAME_MS;
    assert.ok(Math.abs(lastEnd - inputMs) <= AAC_FRAME_MS + 1, `last frame ends at ${lastEnd} ms`);
    assert.ok(run.frames.every((frame) => frame.data[0] === 0xaf && frame.data[1] === 0x01));
    assert.equal(run.transcoder.counters.written, sinePackets.length);
  });

  test('a 200 ms hole in the RTP timestamps is a 200 ms hole in the AAC timestamps', async () => {
    const holeStart = 50;
    const withHole = sinePackets.filter((_, i) => i < holeStart || i >= holeStart + 10); // 10 x 20 ms dropped
    const run = await transcodeAll(withHole);
    const steps = run.frames.slice(1).map((frame, i) => frame.timestamp - run.frames[i]!.timestamp);
    const largest = Math.max(...steps);
    // One frame's own step plus the hole, give or take a frame of rechunking.
    assert.ok(Math.abs(largest - AAC_FRAME_MS - 200) <= AAC_FRAME_MS, `largest step ${largest} ms`);
    assert.equal(steps.filter((step) => step > 2 * AAC_FRAME_MS).length, 1, 'exactly one hole');
    const lastEnd = run.frames.at(-1)!.timestamp + AAC_FRAME_MS;
    assert.ok(Math.abs(lastEnd - 3000) <= AAC_FRAME_MS + 1, `the timeline still ends at 3 s: ${lastEnd}`);
  });

  test('the frames written as FLV (44.1 kHz mono) decode: ffprobe sees AAC of the right duration', async () => {
    const run = await transcodeAll(sinePackets, { channels: 1, sampleRate: 44100, bitrate: 64000 });
    assert.deepEqual(parseAacConfig(run.config[0]!), { objectType: 2, sampleRate: 44100, channels: 1 });
    const flv = Buffer.concat([
      encodeFlvHeader({ audio: true, video: false }),
      encodeFlvTag({ type: FlvTagType.Audio, timestamp: 0, data: run.config[0]! }),
      ...run.frames.map((frame) => encodeFlvTag({ type: FlvTagType.Audio, timestamp: frame.timestamp, data: frame.data })),
    ]);
    const file = join(tempDir(), 'out.flv');
    writeFileSync(file, flv);
    const probe = execFileSync('ffprobe', ['-v', 'error', '-show_entries', 'stream=codec_name,sample_rate,channels', '-of', 'csv=p=0', file]).toString().trim();
    assert.equal(probe, 'aac,44100,1');
    const decoded = execFileSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-i', file, '-f', 's16le', '-'], { maxBuffer: 64 << 20 });
    const seconds = decoded.length / 2 / 44100;
    assert.ok(Math.abs(seconds - 3) <= 0.05, `decoded ${seconds} s`);
  });

  test('close() ends the ffmpeg process', async () => {
    const run = start();
    const pid = run.transcoder.pid!;
    for (const { packet, samplePosition } of sinePackets.slice(0, 20)) run.transcoder.push(packet, rtpTimestamp(samplePosition));
    await waitUntil(() => run.frames.length > 0);
    assert.ok(processAlive(pid));
    run.transcoder.close();
    assert.equal(await run.closed, 'closed');
    await waitUntil(() => run.transcoder.exited && !processAlive(pid));
    assert.deepEqual(run.errors, []);
  });

  test('late and repeated packets are dropped, not fed to ffmpeg', async () => {
    const run = start();
    const [first, second] = sinePackets;
    run.transcoder.push(first!.packet, rtpTimestamp(first!.samplePosition));
    run.transcoder.push(second!.packet, rtpTimestamp(second!.samplePosition));
    run.transcoder.push(first!.packet, rtpTimestamp(first!.samplePosition));
    run.transcoder.push(second!.packet, rtpTimestamp(second!.samplePosition));
    assert.deepEqual(run.transcoder.counters, { written: 2, droppedBackpressure: 0, droppedLate: 2, frames: 0 });
    run.transcoder.close();
    await run.closed;
  });

  test('garbage input is an error event, not a crash; pushing after it is harmless', async () => {
    const run = start();
    run.transcoder.push(sinePackets[0]!.packet, rtpTimestamp(0));
    run.transcoder.push(Buffer.alloc(0), rtpTimestamp(960));
    assert.match(await run.closed, /bad Opus input/);
    assert.equal(run.errors.length, 1);
    run.transcoder.push(Buffer.from([0xfb]), rtpTimestamp(1920));
    await waitUntil(() => run.transcoder.exited);
    // Random bytes with a well-formed TOC reach libopus, which conceals them: the stream goes on.
    const noisy = start();
    for (let i = 0; i < 50; i++) noisy.transcoder.push(Buffer.concat([Buffer.from([0xfc]), randomBytes(60, i + 1)]), rtpTimestamp(i * 960));
    noisy.transcoder.end();
    const reason = await noisy.closed;
    assert.ok(reason === 'ended' || noisy.errors.length === 1, reason);
  });

  test('ffmpeg dying is an error event carrying its stderr; without a listener nothing throws', async () => {
    const run = start();
    run.transcoder.push(sinePackets[0]!.packet, rtpTimestamp(0));
    process.kill(run.transcoder.pid!, 'SIGKILL');
    assert.match(await run.closed, /ffmpeg killed by SIGKILL/);
    assert.equal(run.errors.length, 1);
    assert.equal(typeof run.errors[0]!.stderr, 'string');

    const unheard = new OpusToAac({ ffmpegBinary: 'ffmpeg-that-does-not-exist' });
    assert.match(await closeReason(unheard), /could not start ffmpeg/);

    const failing = start({ ffmpegBinary: join(tempDir(), 'missing') });
    assert.match(await failing.closed, /could not start ffmpeg/);
    assert.equal(failing.errors.length, 1);
  });

  test('a stalled ffmpeg: packets beyond the stdin bound are dropped and counted', async () => {
    // A stand-in that never reads its stdin, so the pipe fills and Node's buffer grows.
    const stalled = join(tempDir(), 'stalled-ffmpeg');
    writeFileSync(stalled, '#!/bin/sh\nexec sleep 30\n');
    chmodSync(stalled, 0o755);
    const run = start({ ffmpegBinary: stalled, maxBacklogBytes: 16 * 1024 });
    await sleep(100);
    const packet = Buffer.concat([Buffer.from([0xfc]), Buffer.alloc(999, 0x55)]);
    for (let i = 0; i < 400; i++) run.transcoder.push(packet, rtpTimestamp(i * 960));
    const counters = run.transcoder.counters;
    assert.ok(counters.droppedBackpressure > 0, JSON.stringify(counters));
    assert.equal(counters.written + counters.droppedBackpressure, 400);
    // The pipe (64 KiB) plus the bound plus one packet's pages: what is held stays bounded.
    assert.ok(counters.written * 1030 <= 64 * 1024 + 16 * 1024 + 2 * 1030, JSON.stringify(counters));
    run.transcoder.close();
    await waitUntil(() => run.transcoder.exited);
  });

  test('latency added, pushing in real time for 3 s', async (t) => {
    const run = start();
    const pushedAt: number[] = [];
    const latencies: number[] = [];
    run.transcoder.on('frame', (frame) => {
      // A frame stamped T holds the audio up to T (ffmpeg shifts out the encoder's 1024-sample priming):
      // the packet carrying its last sample is the one that let it out.
      const packetIndex = Math.min(pushedAt.length - 1, Math.max(0, Math.ceil(frame.timestamp / 20) - 1));
      latencies.push(performance.now() - pushedAt[packetIndex]!);
    });
    const startedAt = performance.now();
    for (const [i, { packet, samplePosition }] of sinePackets.entries()) {
      await sleep(Math.max(0, startedAt + i * 20 - performance.now()));
      pushedAt[i] = performance.now();
      run.transcoder.push(packet, rtpTimestamp(samplePosition));
    }
    await sleep(200);
    run.transcoder.close();
    latencies.sort((a, b) => a - b);
    const median = latencies[latencies.length >> 1]!;
    const p90 = latencies[Math.floor(latencies.length * 0.9)]!;
    t.diagnostic(`latency added (push of the packet completing a frame -> AAC frame out): median ${median.toFixed(1)} ms, p90 ${p90.toFixed(1)} ms over ${latencies.length} frames`);
    assert.ok(latencies.length >= 130);
    assert.ok(median < 250, `median ${median} ms`);
  });
});
