/**
 * Child processes for tests: the origin as users run it, and peers (ffmpeg, ffprobe, rtmpdump)
 * that nobody here wrote. Every process started here is tracked and killed by PID at the end
 * of the test file (`stopAll`), whatever happened. Servers are started with `--ready-fd` and
 * their ports read from the ready report; what they log is kept only to be printed when a test
 * fails (tests learn what happened from events, the admin API and /metrics: observe.ts).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import type { Readable } from 'node:stream';
import { afterEach } from 'node:test';
import type { ReadyReport } from '#common/ready-report.ts';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const running = new Set<ChildProcess>();
const tempDirs: string[] = [];
export const repoRoot = resolve(import.meta.dirname, '../..');
const node = process.execPath;

/**
 * The flags production runs node with, in the one place the test and benchmark starters take them
 * from: package.json's start scripts and the systemd units (deploy/systemd/) spell out the same list,
 * and test/deploy/node-flags.test.ts fails when one of them drifts. Every server started here runs with
 * them, so what a test or benchmark measures is what a school runs.
 * --max-semi-space-size=4: V8's young generation capped at 4 MiB a semi-space (default 16), so what a
 * burst of allocation made is given back (docs/benchmarks.md, "Memory").
 */
export const PRODUCTION_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=4'];

export function tempDir(prefix = 'cg-test-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  tempDirs.push(dir);
  return dir;
}

export function track(child: ChildProcess): ChildProcess {
  running.add(child);
  child.once('exit', () => running.delete(child));
  return child;
}

export async function stop(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill(signal);
  const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
  await exited;
  clearTimeout(timer);
}

/** Kills every process this file started and removes its temp dirs. */
export async function stopAll(): Promise<void> {
  await Promise.all([...running].map((child) => stop(child)));
  outputs.clear();
  for (const dir of tempDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
}

export interface RunResult { code: number | null; stdout: string; stderr: string }

/** Runs a command to completion (killed after `timeoutMs`). */
export async function run(command: string, args: string[], timeoutMs = 30_000): Promise<RunResult> {
  const child = track(spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] }));
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d) => { stdout += d; });
  child.stderr!.on('data', (d) => { stderr += d; });
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const [code] = (await once(child, 'exit')) as [number | null];
  clearTimeout(timer);
  return { code, stdout, stderr };
}

export interface OriginProcess {
  port: number;
  /** The HTTP API's port. */
  httpPort: number;
  /** The edge link's port; null when the origin runs without a link secret (no link listener). */
  linkPort: number | null;
  /** The RTMPS port; null unless started with --rtmps-port. */
  rtmpsPort: number | null;
  /** The origin's --data-dir. */
  dataDir: string;
  /** Everything it bound, from its ready report. */
  ready: ReadyReport;
  child: ChildProcess;
  stop(): Promise<void>;
}

/**
 * Starts `node origin/main.ts` on free loopback ports (RTMP and HTTP) and waits for its ready report.
 * `dataDir` reuses a data folder (a restart after a crash); by default each origin gets a new one.
 * Tests of what a classroom does (rather than who may do it: those are
 * test/origin/authorization.test.ts and pass their own `--auth`) run it with `classroom=legacy`, so
 * their clients declare their roles as Flash clients did.
 */
export async function startOrigin(extraArgs: string[] = [], options: { dataDir?: string; nodeFlags?: readonly string[] } = {}): Promise<OriginProcess> {
  const dataDir = options.dataDir ?? tempDir('cg-origin-');
  const auth = extraArgs.includes('--auth') ? [] : ['--auth', 'classroom=legacy'];
  const { child, ready } = await startServer('origin/main.ts', ['--bind', '127.0.0.1', '--rtmp-port', '0', '--http-port', '0', '--data-dir', dataDir, ...auth, ...extraArgs], 'origin', { nodeFlags: options.nodeFlags });
  const origin = ready.origin ?? {};
  return {
    port: origin.rtmp!.port, httpPort: origin.http!.port, linkPort: origin.link?.port ?? null, rtmpsPort: origin.rtmps?.port ?? null,
    dataDir, ready, child, stop: () => stop(child),
  };
}

/** How startServer runs node: `nodeFlags` (PRODUCTION_NODE_FLAGS unless given: a benchmark adds an inspector, or measures V8's defaults with []). */
export interface ServerStartOptions { nodeFlags?: readonly string[]; timeoutMs?: number }

/**
 * Starts a server script (origin/main.ts, gateway/main.ts, main.ts) with `--ready-fd 3` and
 * resolves with its ready report (common/ready-report.ts); rejects when it exits or stays silent
 * for `timeoutMs` first. Its output is kept only to be printed if a test fails.
 */
export async function startServer(script: string, args: string[], what: string, options: ServerStartOptions = {}): Promise<{ child: ChildProcess; ready: ReadyReport }> {
  const { nodeFlags = PRODUCTION_NODE_FLAGS, timeoutMs = 60_000 } = options;
  const child = track(spawn(node, [...nodeFlags, script, ...args, '--ready-fd', '3'], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe', 'pipe'] }));
  keepOutput(child, what);
  const readyStream = child.stdio[3] as Readable;
  let text = '';
  readyStream.setEncoding('utf8');
  readyStream.on('data', (chunk: string) => { text += chunk; });
  const reported = once(readyStream, 'end');
  const exited = once(child, 'exit').then(([code, signal]) => { throw new Error(`${what} exited (${code ?? signal}) before it was ready`); });
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(`${what} not ready after ${timeoutMs} ms`)), timeoutMs); });
  try {
    await Promise.race([reported, exited, late]);
  } catch (error) {
    printOutput(child);
    await stop(child);
    throw error;
  } finally {
    clearTimeout(timer);
    exited.catch(() => undefined);
  }
  if (text.trim() === '') {
    printOutput(child);
    throw new Error(`${what} closed its ready fd without a report`);
  }
  return { child, ready: JSON.parse(text) as ReadyReport };
}

/** The last output of each server started here, to print when a test fails (never to read). */
const outputs = new Map<ChildProcess, { what: string; text: string }>();
const MAX_KEPT_OUTPUT = 256 * 1024;

function keepOutput(child: ChildProcess, what: string): void {
  const kept = { what, text: '' };
  outputs.set(child, kept);
  const onOutput = (d: Buffer) => {
    kept.text += d;
    if (kept.text.length > MAX_KEPT_OUTPUT) kept.text = kept.text.slice(-MAX_KEPT_OUTPUT / 2);
  };
  child.stdout!.on('data', onOutput);
  child.stderr!.on('data', onOutput);
}

/** Writes the tail of a server's output (or every server's) to stderr. */
export function printOutput(child?: ChildProcess, lines = 60): void {
  for (const [owner, { what, text }] of outputs) {
    if (child && owner !== child) continue;
    process.stderr.write(`--- last output of ${what} (pid ${owner.pid}) ---\n${text.trimEnd().split('\n').slice(-lines).join('\n')}\n`);
  }
}

// Under the test runner, a failed test shows what the servers of its file said.
if (process.env.NODE_TEST_CONTEXT || /\.test\.ts$/.test(process.argv[1] ?? '')) {
  // TestContext.passed is in Node 24's runtime, not yet in @types/node's TestContext.
  afterEach((context) => { if ((context as { passed?: boolean }).passed === false) printOutput(); });
}

/**
 * ffmpeg publishing a generated H.264/AAC (or Flash-era) test stream in real time until stopped;
 * `readRate` sends it that many times faster than real time (a publisher flooding its edge).
 */
export function publishTestStream(url: string, options: { seconds?: number; flashCodecs?: boolean; gop?: number; baseline?: boolean; bframes?: boolean; readRate?: number } = {}): ChildProcess {
  // baseline: constrained-baseline H.264 without B-frames, what a WebRTC browser plays as is.
  // bframes: high profile with two B-frames (OBS's default shape; zerolatency and ultrafast would turn them off).
  const profile = options.baseline ? ['-pix_fmt', 'yuv420p', '-profile:v', 'baseline', '-bf', '0'] : [];
  const x264 = options.bframes ? ['-preset', 'veryfast', '-pix_fmt', 'yuv420p', '-profile:v', 'high', '-bf', '2'] : ['-preset', 'ultrafast', '-tune', 'zerolatency', ...profile];
  const codecs = options.flashCodecs
    ? ['-c:v', 'flv', '-c:a', 'nellymoser', '-ar', '44100']
    : ['-c:v', 'libx264', ...x264, '-g', String(options.gop ?? 30), '-c:a', 'aac'];
  const args = ['-hide_banner', '-loglevel', 'error', '-readrate', String(options.readRate ?? 1),
    '-f', 'lavfi', '-i', 'testsrc=size=320x240:rate=30', '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=44100',
    ...(options.seconds ? ['-t', String(options.seconds)] : []), ...codecs, '-f', 'flv', url];
  return track(spawn('ffmpeg', args, { stdio: ['ignore', 'ignore', 'pipe'] }));
}

/** Decodes `seconds` of a stream with ffmpeg and counts decoded video and audio frames; `inputArgs` go before `-i` (e.g. `-rtmp_conn`). */
export async function decodeFrames(url: string, seconds: number, options: { audio?: boolean; inputArgs?: string[] } = {}): Promise<{ video: number; audio: number; stderr: string }> {
  const result = await run('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-rw_timeout', '10000000', ...(options.inputArgs ?? []), '-i', url,
    '-t', String(seconds), '-map', '0:v', ...(options.audio === false ? [] : ['-map', '0:a']), '-f', 'framecrc', '-'], (seconds + 20) * 1000);
  const lines = result.stdout.split('\n').filter((l) => !l.startsWith('#'));
  return {
    video: lines.filter((l) => l.startsWith('0,')).length,
    audio: lines.filter((l) => l.startsWith('1,')).length,
    stderr: result.stderr,
  };
}

/**
 * The audio and video streams ffprobe finds in a stream or file, one `codec,width,height` or
 * `codec,sample_rate` line each: e.g. ['h264,640,360', 'aac,48000']. (ffmpeg's FLV reader also
 * makes data and subtitle streams of a live stream's data messages; those are left out.)
 */
export async function probeStreams(url: string): Promise<string[]> {
  const probe = await run('ffprobe', ['-v', 'error', '-rw_timeout', '10000000', '-show_entries', 'stream=codec_type,codec_name,width,height,sample_rate', '-of', 'json', url], 30_000);
  if (probe.code !== 0) throw new Error(`ffprobe ${url}: ${probe.stderr}`);
  type Stream = { codec_type?: string; codec_name?: string; width?: number; height?: number; sample_rate?: string };
  const { streams = [] } = JSON.parse(probe.stdout) as { streams?: Stream[] };
  return streams.filter((s) => s.codec_type === 'audio' || s.codec_type === 'video')
    .map((s) => (s.codec_type === 'video' ? [s.codec_name, s.width, s.height] : [s.codec_name, s.sample_rate]).filter((f) => f !== undefined && f !== '').join(','));
}

/** ffmpeg saving a stream as it plays (stream copy) to `file` until the stream ends or it is stopped. */
export function playToFile(url: string, file: string): ChildProcess {
  return track(spawn('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-rw_timeout', '30000000', '-i', url, '-c', 'copy', '-f', 'flv', file],
    { stdio: ['ignore', 'ignore', 'inherit'] }));
}

export interface MediaTimeline {
  /** Video and audio packets' presentation times, in seconds, in file order. */
  video: number[];
  audio: number[];
}

/** Every packet's time in a media file, read by ffprobe. */
export async function mediaTimeline(file: string): Promise<MediaTimeline> {
  const result = await run('ffprobe', ['-v', 'error', '-show_entries', 'packet=codec_type,pts_time', '-of', 'csv=p=0', file], 60_000);
  if (result.code !== 0) throw new Error(`ffprobe ${file}: ${result.stderr}`);
  const timeline: MediaTimeline = { video: [], audio: [] };
  for (const line of result.stdout.split('\n')) {
    const [kind, time] = line.split(',');
    if ((kind === 'video' || kind === 'audio') && time && time !== 'N/A') timeline[kind].push(Number(time));
  }
  return timeline;
}

/** The longest pause between consecutive times (0 for fewer than two). */
export function largestGap(times: number[]): number {
  let gap = 0;
  for (let i = 1; i < times.length; i++) gap = Math.max(gap, times[i]! - times[i - 1]!);
  return gap;
}

/** A self-signed certificate for 127.0.0.1 made by openssl in `dir`, for RTMPS and TLS tests. */
export async function selfSignedCertificate(dir: string): Promise<{ cert: string; key: string }> {
  const cert = join(dir, 'cert.pem');
  const key = join(dir, 'key.pem');
  const made = await run('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=127.0.0.1', '-days', '1', '-keyout', key, '-out', cert]);
  if (made.code !== 0) throw new Error(`openssl: ${made.stderr}`);
  return { cert, key };
}

/** Polls `predicate` every `intervalMs` until true or throws after `timeoutMs`. */
export async function eventually(predicate: () => boolean | Promise<boolean>, timeoutMs = 10_000, what: string | (() => string) = 'condition', intervalMs = 100): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await predicate()) return;
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  // A function describes the state at the timeout (e.g. the last value read), not at the call.
  throw new Error(`timed out waiting for ${typeof what === 'function' ? what() : what}`);
}
