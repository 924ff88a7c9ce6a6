/**
 * Crash safety and write errors. kill -9 of the origin during a recording leaves a file that
 * ffprobe reads up to the last flush, and the next start repairs its metadata; a full disk (a
 * 2 MiB tmpfs as the recordings folder) gives the publisher Record.Failed while a viewer keeps
 * playing, and what was written stays readable.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { FlvReader } from '#protocol/flv/flv.ts';
import { decodeOnMetaData } from '#protocol/flv/flv-index.ts';
import { decodeFrames, eventually, run, startOrigin, stopAll, tempDir, type OriginProcess } from '../support/processes.ts';
import { ffmpegFlv, startFlvPublish } from '../support/flv-publisher.ts';
import { metricValue, waitForMetric } from '../support/observe.ts';

const mounts: string[] = [];
const origins: OriginProcess[] = [];
after(async () => {
  // The origin lets go of the tmpfs, then it is unmounted, then stopAll removes the temp dirs.
  for (const origin of origins) await origin.stop();
  for (const dir of mounts) await run('umount', [dir]);
  await stopAll();
});

async function ffprobeDuration(file: string): Promise<{ duration: number; video: number; stderr: string }> {
  const r = await run('ffprobe', ['-v', 'error', '-count_frames', '-select_streams', 'v', '-show_entries', 'format=duration:stream=nb_read_frames', '-of', 'json', file]);
  const json = JSON.parse(r.stdout) as { format: { duration: string }; streams: Array<{ nb_read_frames: string }> };
  return { duration: Number(json.format.duration), video: Number(json.streams[0]?.nb_read_frames ?? 0), stderr: r.stderr };
}

describe('crash safety', () => {
  test('kill -9 while recording: readable to the last second, metadata repaired at the next start', async () => {
    const origin = await startOrigin();
    const publish = await startFlvPublish(`rtmp://127.0.0.1:${origin.port}/live`, 'crash', 'record');
    const source = ffmpegFlv(30, { realtime: true });
    const pumping = publish.pump(source).catch(() => undefined);
    await eventually(() => publish.statuses.some((status) => status.code === 'NetStream.Record.Start'), 10_000, 'NetStream.Record.Start');
    await new Promise((r) => setTimeout(r, 4000));
    const sentAtKill = publish.sent.lastTimestamp;
    origin.child.kill('SIGKILL');
    await new Promise((r) => origin.child.once('exit', r));
    publish.client.close();
    source.destroy();
    await pumping;
    const file = join(origin.dataDir, 'recordings', 'live', 'crash.flv');
    assert.ok(existsSync(file + '.recording'), 'the file is still marked unfinished');
    // Readable right away, up to within a second (the flush interval is 0.5 s) of what was sent.
    const tags = new FlvReader().push(readFileSync(file));
    const last = Math.max(...tags.map((t) => t.timestamp));
    assert.ok(last >= sentAtKill - 1000, `file ends at ${last} ms, ${sentAtKill} ms were sent`);
    const before = await ffprobeDuration(file);
    assert.ok(before.video > 60, `ffprobe decodes ${before.video} frames before repair`);

    const restarted = await startOrigin([], { dataDir: origin.dataDir });
    // Repaired before the origin listens: its ready report comes after.
    assert.equal(await metricValue(restarted.httpPort, 'classroom_origin_recordings_repaired_total'), 1, 'one unfinished recording repaired');
    assert.ok(!existsSync(file + '.recording'));
    const meta = decodeOnMetaData(new FlvReader().push(readFileSync(file))[0]!.data)!;
    const repairedTags = new FlvReader().push(readFileSync(file));
    const repairedLast = Math.max(...repairedTags.map((t) => t.timestamp));
    assert.equal(repairedLast, last, 'no tag was lost');
    assert.ok(Math.abs(Number(meta.duration) - last / 1000) < 0.001, `metadata duration ${String(meta.duration)} vs last tag ${last}`);
    assert.ok((meta.keyframes as { times: number[] }).times.length >= 3);
    const after = await ffprobeDuration(file);
    assert.ok(Math.abs(after.duration - last / 1000) <= 0.1, `ffprobe duration ${after.duration}`);
    assert.equal(after.video, before.video);
  });
});

describe('disk full', () => {
  test('Record.Failed to the publisher, the viewer keeps playing, the file stays readable', async (t) => {
    if (process.getuid?.() !== 0) return t.skip('mounting a tmpfs needs root');
    const dataDir = tempDir('cg-full-');
    const recordingsDir = join(dataDir, 'recordings');
    mkdirSync(recordingsDir);
    const mounted = await run('mount', ['-t', 'tmpfs', '-o', 'size=2m', 'tmpfs', recordingsDir]);
    if (mounted.code !== 0) return t.skip(`cannot mount a tmpfs: ${mounted.stderr}`);
    mounts.push(recordingsDir);
    const origin = await startOrigin([], { dataDir });
    origins.push(origin);
    const base = `rtmp://127.0.0.1:${origin.port}/live`;
    const publish = await startFlvPublish(base, 'full', 'record');
    // Noise keeps the encoder at its 3 Mbit/s, so 2 MiB fill up in about six seconds.
    const pumping = publish.pump(ffmpegFlv(14, { realtime: true, size: '640x360', videoArgs: ['-vf', 'noise=alls=30:allf=t', '-b:v', '3M', '-maxrate', '3M', '-bufsize', '1M'] }));
    await eventually(() => publish.statuses.some((status) => status.code === 'NetStream.Record.Start'), 10_000, 'NetStream.Record.Start');
    const viewer = decodeFrames(`${base}/full`, 10);
    await publish.client.waitForStatus(publish.streamId, 'NetStream.Record.Failed', 20_000);
    await waitForMetric(origin.httpPort, 'classroom_origin_recording_failures_total', (failures) => failures === 1);
    const watched = await viewer;
    assert.ok(watched.video >= 250, `viewer decoded ${watched.video} frames in 10 s: ${watched.stderr}`);
    await pumping;
    await publish.stop();
    const file = join(recordingsDir, 'live', 'full.flv');
    const probe = await ffprobeDuration(file);
    assert.ok(probe.video > 30, `the partial recording decodes (${probe.video} frames)`);
    assert.equal(probe.stderr, '', 'no damaged tag at the end');
    assert.ok(!existsSync(file + '.recording'), 'the failed recording was finalized');
    await origin.stop();
  });
});
