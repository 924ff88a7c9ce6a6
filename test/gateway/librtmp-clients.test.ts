/**
 * librtmp-based clients as they are in the field, through an edge and directly to the origin:
 * python3-librtmp publishing (live and record) for a minute while the servers ping it every
 * second — librtmp answers pings on chunk stream 2 with a type 1 header it never sent a full
 * header for — with ffmpeg playing every second of it; a python3-librtmp classroom member (its
 * token a connect argument) that only calls methods across many pings; GStreamer's librtmp-based
 * rtmpsink publishing.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { startCluster, type Cluster } from '../support/cluster.ts';
import { apiStreams } from '../support/observe.ts';
import { decodeFrames, eventually, largestGap, mediaTimeline, playToFile, run, stopAll, tempDir, track } from '../support/processes.ts';
import { librtmp, librtmpPublish } from '../support/peers.ts';
import { mintToken } from '../support/tokens.ts';

const SECONDS = 60;
const PING_MS = 1000;
let cluster: Cluster;
let work: string;
let source: string;

before(async () => {
  // `live` as in the field (legacy: no token); the classroom keeps its default policy, so the caller joins with a token.
  cluster = await startCluster(['librtmp-edge'], { originArgs: ['--ping-interval-ms', String(PING_MS), '--auth', 'live=legacy'], edgeArgs: ['--ping-interval-ms', String(PING_MS)] });
  work = tempDir();
  source = join(work, 'source.flv');
  // One minute of H.264/AAC (320x240, 30 fps, a keyframe a second), encoded once, sent in real time by the peer.
  const made = await run('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i', 'testsrc=size=320x240:rate=30',
    '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=44100', '-t', String(SECONDS), '-c:v', 'libx264', '-preset', 'ultrafast',
    '-g', '30', '-c:a', 'aac', '-f', 'flv', source], 120_000);
  assert.equal(made.code, 0, made.stderr);
});
after(stopAll);

const servers = () => [
  { via: 'edge', base: cluster.edges[0]!.base },
  { via: 'origin', base: `rtmp://127.0.0.1:${cluster.origin.port}` },
];

describe('python3-librtmp', () => {
  test(`publishes ${SECONDS} s (live and record) through the edge and to the origin while pinged; ffmpeg plays every second`, async (t) => {
    const runs = servers().flatMap(({ via, base }) => (['live', 'record'] as const).map((type) => ({ via, base, type, name: `py-${via}-${type}` })));
    await Promise.all(runs.map(async ({ base, type, name }) => {
      const file = join(work, `${name}.flv`);
      const playerExit = once(playToFile(`${base}/live/${name}`, file), 'exit');
      // The player waits for the publisher (Play.PublishNotify), so it gets the stream from its start:
      // the publisher starts once the origin counts the player (on a loaded machine ffmpeg may take seconds to get there).
      await eventually(async () => ((await apiStreams(cluster.origin)).find((s) => s.key === `live/${name}`)?.viewers.total ?? 0) > 0, 30_000, `${name}: ffmpeg playing, waiting for the publisher`);
      const publish = await librtmpPublish(`${base}/live`, name, type, source);
      const report = await publish.done;
      assert.ok(report.pings >= SECONDS / 2, `${name}: the server pinged and the peer answered (${report.pings} pings)`);
      const [code] = await playerExit;
      assert.equal(code, 0, `${name}: ffmpeg ended with the stream`);
      const timeline = await mediaTimeline(file);
      for (const kind of ['video', 'audio'] as const) {
        const times = timeline[kind];
        assert.ok(times.length > 0, `${name}: ${kind} played`);
        assert.ok(times[0]! < 1, `${name}: ${kind} starts at ${times[0]} s`);
        assert.ok(times.at(-1)! > SECONDS - 1, `${name}: ${kind} ends at ${times.at(-1)} s`);
        assert.ok(largestGap(times) < 0.5, `${name}: ${kind} has no gap (largest ${largestGap(times)} s)`);
      }
      assert.ok(timeline.video.length >= SECONDS * 30 - 30, `${name}: ${timeline.video.length} video frames`);
      t.diagnostic(`${name}: ${report.pings} pings answered; ffmpeg played ${timeline.video.length} video frames ${timeline.video[0]}-${timeline.video.at(-1)} s, `
        + `${timeline.audio.length} audio frames, largest gap ${largestGap(timeline.video).toFixed(3)} s`);
    }));
    // Both records made a whole file on the origin.
    for (const via of ['edge', 'origin']) {
      const timeline = await mediaTimeline(join(cluster.origin.dataDir, 'recordings', 'live', `py-${via}-record.flv`));
      assert.ok(timeline.video.at(-1)! > SECONDS - 1 && largestGap(timeline.video) < 0.5, `recording via ${via}: ${timeline.video.at(-1)} s`);
    }
  });

  test('a connection that only calls methods stays up across many pings', async (t) => {
    await Promise.all(servers().map(async ({ via, base }) => {
      const token = await mintToken(cluster.origin.dataDir, { room: `classroom/pings-${via}`, role: 'student', name: `caller-${via}` });
      const out = await librtmp('calls', `${base}/classroom/pings-${via}`, `classroom/pings-${via}`, { connect: { token }, method: 'whoami', seconds: 6 }, 30_000);
      assert.ok(out.pings >= 4, `${via}: ${out.pings} pings answered`);
      assert.equal(out.answered, out.calls, `${via}: every call answered (${out.answered}/${out.calls})`);
      assert.ok(out.calls >= 5);
      t.diagnostic(`${via}: ${out.answered}/${out.calls} calls answered across ${out.pings} pings`);
    }));
  });
});

describe('GStreamer rtmpsink (librtmp)', () => {
  for (const via of ['edge', 'origin']) {
    test(`publishes H.264/AAC to the ${via}; ffmpeg decodes it`, async () => {
      const base = via === 'edge' ? cluster.edges[0]!.base : `rtmp://127.0.0.1:${cluster.origin.port}`;
      const url = `${base}/live/gst-${via}`;
      const gst = track(spawn('gst-launch-1.0', ['-q',
        'videotestsrc', 'is-live=true', 'num-buffers=450', '!', 'video/x-raw,width=320,height=240,framerate=30/1', '!',
        'x264enc', 'tune=zerolatency', 'speed-preset=ultrafast', 'key-int-max=30', '!', 'h264parse', '!', 'flvmux', 'name=m', 'streamable=true', '!',
        'rtmpsink', `location=${url} live=1`,
        'audiotestsrc', 'is-live=true', 'num-buffers=646', '!', 'audioconvert', '!', 'avenc_aac', '!', 'aacparse', '!', 'm.'], { stdio: ['ignore', 'ignore', 'pipe'] }));
      let stderr = '';
      gst.stderr!.on('data', (d) => { stderr += d; });
      const gstExit = once(gst, 'exit');
      await new Promise((r) => setTimeout(r, 2000));
      const frames = await decodeFrames(url, 5);
      assert.ok(frames.video >= 100 && frames.audio >= 100, `decoded ${frames.video} video and ${frames.audio} audio frames; ${frames.stderr} ${stderr}`);
      const [code] = await gstExit;
      assert.equal(code, 0, `gst-launch: ${stderr}`);
    });
  }
});
