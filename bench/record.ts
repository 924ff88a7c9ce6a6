/**
 * Recording benchmark: what recording costs on top of serving live. N streams of ~1 Mbit/s
 * H.264/AAC are published into one room (`live/bench`) and each is played by one rtmpdump
 * viewer; the origin's CPU (utime+stime from /proc) is measured over a window, once with
 * `--record-rooms never` (live only) and once with `--record-rooms always` (every stream also
 * written to its FLV). The goal is an overhead of at most a few percent.
 *
 *   node_modules/.bin/node bench/record.ts [--streams 20] [--seconds 20] [--warmup 5] [--rounds 2]
 *
 * With 40 peer processes on the same cores the noise is of the order of the effect, so live
 * and record runs alternate for --rounds rounds and the means are compared.
 *
 * Each run checks its work: every viewer must receive >= 80 % of the stream bitrate, and in the
 * recording run every stream's FLV must have grown by that much too; otherwise it says INVALID.
 */
import { mkdtempSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import {
  bytesReceivedByClient, cpuTimes, freePort, runBench, sleep, start, stop, waitForPort, type Started,
} from './lib/processes.ts';
import { nodeBin, repoRoot } from './lib/servers.ts';
import { PRODUCTION_NODE_FLAGS } from '../test/support/processes.ts';

const SOURCE_SECONDS = 30;
const MIN_SHARE = 0.8;

interface RunResult {
  mode: 'live' | 'record';
  cpuSeconds: number;
  windowSeconds: number;
  problems: string[];
  recordedBytes: number;
}

function options(): { streams: number; seconds: number; warmup: number; rounds: number } {
  const { values } = parseArgs({
    options: { streams: { type: 'string', default: '20' }, seconds: { type: 'string', default: '20' }, warmup: { type: 'string', default: '5' }, rounds: { type: 'string', default: '2' }, help: { type: 'boolean', short: 'h' } },
    strict: true,
  });
  if (values.help) {
    console.log('usage: node bench/record.ts [--streams N] [--seconds S] [--warmup S] [--rounds N]');
    process.exit(0);
  }
  const n = (name: string, v: string) => {
    const x = Number(v);
    if (!Number.isFinite(x) || x <= 0) throw new Error(`--${name} must be a positive number, got "${v}"`);
    return x;
  };
  return { streams: Math.floor(n('streams', values.streams)), seconds: n('seconds', values.seconds), warmup: n('warmup', values.warmup), rounds: Math.floor(n('rounds', values.rounds)) };
}

async function encodeSource(dir: string): Promise<{ path: string; bitsPerSecond: number }> {
  const path = join(dir, 'source.flv');
  const encoder = start('encoder', 'ffmpeg', ['-nostdin', '-loglevel', 'error', '-y',
    '-f', 'lavfi', '-i', 'testsrc2=size=640x360:rate=30', '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=44100',
    '-t', String(SOURCE_SECONDS), '-c:v', 'libx264', '-preset', 'ultrafast', '-tune', 'zerolatency', '-pix_fmt', 'yuv420p',
    '-b:v', '900k', '-maxrate', '1M', '-bufsize', '1M', '-g', '60', '-c:a', 'aac', '-b:a', '64k', '-f', 'flv', path]);
  if ((await encoder.exited) !== 0) throw new Error('encoding the source failed');
  return { path, bitsPerSecond: (statSync(path).size * 8) / SOURCE_SECONDS };
}

function dirBytes(dir: string): number {
  let total = 0;
  try {
    for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
      if (entry.isFile() && entry.name.endsWith('.flv')) total += statSync(join(entry.parentPath, entry.name)).size;
    }
  } catch {
    // Not created (live run).
  }
  return total;
}

async function measure(mode: 'live' | 'record', opts: ReturnType<typeof options>, source: { path: string; bitsPerSecond: number }, runDir: string): Promise<RunResult> {
  const dir = mkdtempSync(join(runDir, `${mode}-`));
  const port = await freePort();
  const started: Started[] = [];
  const problems: string[] = [];
  try {
    const origin = start('origin', nodeBin, [...PRODUCTION_NODE_FLAGS, join(repoRoot, 'origin/main.ts'), '--bind', '127.0.0.1', '--rtmp-port', String(port), '--http-port', '0',
      '--data-dir', join(dir, 'data'), '--record-rooms', mode === 'record' ? 'always' : 'never'], { logFile: join(dir, 'origin.log'), cwd: repoRoot });
    started.push(origin);
    await waitForPort(port, origin);
    for (let i = 0; i < opts.streams; i++) {
      started.push(start(`publisher-${i}`, 'ffmpeg', ['-nostdin', '-loglevel', 'error', '-re', '-stream_loop', '-1', '-i', source.path, '-c', 'copy',
        '-f', 'flv', '-rtmp_app', 'live/bench', '-rtmp_playpath', `s${i}`, `rtmp://127.0.0.1:${port}/live/bench/s${i}`], { logFile: i === 0 ? join(dir, 'publisher-0.log') : undefined }));
    }
    await sleep(2000);
    const viewers: Started[] = [];
    for (let i = 0; i < opts.streams; i++) {
      const viewer = start(`viewer-${i}`, 'rtmpdump', ['-q', '-v', '-r', `rtmp://127.0.0.1:${port}/live/bench/s${i}`, '-o', '/dev/null']);
      viewers.push(viewer);
      started.push(viewer);
    }
    process.stderr.write(`  ${mode}: ${opts.streams} streams and viewers, warming up ${opts.warmup} s, measuring ${opts.seconds} s...\n`);
    await sleep(opts.warmup * 1000);
    const recordings = join(dir, 'data', 'recordings');
    const cpu0 = cpuTimes(origin.pid);
    const bytes0 = bytesReceivedByClient(port);
    const disk0 = dirBytes(recordings);
    const t0 = performance.now();
    await sleep(opts.seconds * 1000);
    const cpu1 = cpuTimes(origin.pid);
    const bytes1 = bytesReceivedByClient(port);
    const disk1 = dirBytes(recordings);
    const windowSeconds = (performance.now() - t0) / 1000;
    const minBits = MIN_SHARE * source.bitsPerSecond * windowSeconds;
    const served = viewers.filter((v) => ((bytes1.get(v.pid) ?? 0) - (bytes0.get(v.pid) ?? 0)) * 8 >= minBits).length;
    if (served < viewers.length) problems.push(`only ${served}/${viewers.length} viewers got >= ${MIN_SHARE * 100}% of the bitrate`);
    const recordedBytes = disk1 - disk0;
    if (mode === 'record' && recordedBytes * 8 < minBits * opts.streams) {
      problems.push(`recordings grew by ${(recordedBytes / 1e6).toFixed(1)} MB, expected >= ${((minBits * opts.streams) / 8e6).toFixed(1)} MB`);
    }
    if (origin.hasExited()) problems.push('origin exited');
    return { mode, cpuSeconds: cpu1.user + cpu1.system - cpu0.user - cpu0.system, windowSeconds, problems, recordedBytes };
  } finally {
    const [origin, ...others] = started;
    await Promise.all(others.map((p) => stop(p)));
    if (origin) {
      await stop(origin);
      if (problems.length) process.stderr.write(readFileSync(join(dir, 'origin.log'), 'utf8').split('\n').slice(-10).join('\n') + '\n');
    }
  }
}

await runBench('record', async (runDir) => {
  const opts = options();
  process.stderr.write(`encoding a ${SOURCE_SECONDS} s source...\n`);
  const source = await encodeSource(runDir);
  const results: RunResult[] = [];
  for (let round = 0; round < opts.rounds; round++) {
    results.push(await measure('live', opts, source, runDir));
    results.push(await measure('record', opts, source, runDir));
  }
  const perSecond = (r: RunResult) => r.cpuSeconds / r.windowSeconds;
  const mean = (mode: string) => {
    const runs = results.filter((r) => r.mode === mode);
    return runs.reduce((sum, r) => sum + perSecond(r), 0) / runs.length;
  };
  console.log(`\nrecording bench: ${opts.streams} streams of ${(source.bitsPerSecond / 1e6).toFixed(2)} Mbit/s, one viewer each, ${opts.seconds} s windows, ${opts.rounds} round(s)`);
  for (const r of results) {
    console.log(`  ${r.mode.padEnd(6)} origin CPU ${perSecond(r).toFixed(3)} s/s${r.mode === 'record' ? `, wrote ${(r.recordedBytes / 1e6 / r.windowSeconds).toFixed(2)} MB/s` : ''}${r.problems.length ? `  INVALID: ${r.problems.join('; ')}` : ''}`);
  }
  const live = mean('live');
  const record = mean('record');
  console.log(`mean: live ${live.toFixed(3)} s/s, record ${record.toFixed(3)} s/s`);
  console.log(`recording overhead: ${((record / live - 1) * 100).toFixed(1)} % over serving live (${((record - live) * 100).toFixed(2)} % of one core); goal: at most a few percent`);
  if (results.some((r) => r.problems.length)) process.exitCode = 1;
});
