// AAC-to-Opus transcoder (WHEP audio) against the real ffmpeg: 3 s of AAC (FLV audio tags from
// ffmpeg, read with our FLV reader) pushed at RTMP times from 5 s come out as 20 ms Opus packets on
// the same timeline (48 kHz samples = ms x 48), contiguous, covering the input; a 500 ms hole in
// the input stays a hole; close() stops ffmpeg and emits 'close' once.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { FlvReader, FlvTagType } from '#protocol/flv/flv.ts';
import { opusPacketSamples } from '#protocol/rtp/opus.ts';
import { AacToOpus } from '../../gateway/webrtc/aac-to-opus.ts';
import { eventually, stopAll } from '../support/processes.ts';

after(stopAll);

const START_MS = 5000;
const HOLE_AT_MS = 1500;
const HOLE_MS = 500;

/** 3 s of a 440 Hz sine as FLV AAC tags (sequence header first), their times from 0. */
const aacTags = new FlvReader().push(execFileSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=44100',
  '-t', '3', '-c:a', 'aac', '-f', 'flv', '-'])).filter((tag) => tag.type === FlvTagType.Audio);

test('AAC at RTMP times becomes 20 ms Opus packets on the same timeline; a hole stays a hole', async () => {
  const transcoder = new AacToOpus();
  const packets: Array<{ samples: number; time48k: number }> = [];
  const closes: string[] = [];
  transcoder.on('packet', (packet, time48k) => packets.push({ samples: opusPacketSamples(packet), time48k }));
  transcoder.on('close', (reason) => closes.push(reason));
  // The AAC after HOLE_AT_MS is pushed HOLE_MS later: as if the publisher's audio stopped for a while.
  for (const tag of aacTags) transcoder.push(tag.data, START_MS + tag.timestamp + (tag.timestamp >= HOLE_AT_MS ? HOLE_MS : 0));
  await eventually(() => packets.length >= 120, 15_000, `120 Opus packets (${packets.length} so far)`);
  transcoder.close('done');
  transcoder.close('again');
  assert.deepEqual(closes, ['done']);
  assert.ok(packets.every((p) => p.samples === 960), 'every packet is 20 ms at 48 kHz');
  const ms = packets.map((p) => p.time48k / 48);
  assert.ok(Math.abs(ms[0]! - START_MS) <= 30, `the first packet is at ${ms[0]} ms, the input starts at ${START_MS}`);
  const steps = packets.slice(1).map((p, i) => (p.time48k - packets[i]!.time48k) / 48);
  const holes = steps.filter((step) => step > 40);
  assert.equal(holes.length, 1, `one hole: ${JSON.stringify(holes)}`);
  assert.ok(Math.abs(holes[0]! - 20 - HOLE_MS) <= 30, `the hole is ${holes[0]! - 20} ms, the input's ${HOLE_MS}`);
  assert.ok(packets.slice(1).every((p, i) => p.time48k - packets[i]!.time48k === 960 || steps[i]! > 40), `contiguous 20 ms packets around the hole: ${JSON.stringify(steps.filter((step) => step !== 20))}`);
  assert.deepEqual(transcoder.counters.droppedFrames, 0);
});
