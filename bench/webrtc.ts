/**
 * WebRTC benchmark (issue 10): end-to-end latency of browser -> RTMP, RTMP -> browser and browser ->
 * browser on one edge, read from the frames themselves (each carries its capture time in pixels,
 * lib/frame-stamp.ts), and the edge's CPU per forwarded and per transcoded WebRTC stream, each
 * printed beside its goal.
 *
 *   npm run bench:webrtc -- [--seconds 20] [--cpu-seconds 15] [--viewers 4] [--transcoded h264-bframes,flash]
 *
 * It re-runs itself in a loopback-only network namespace (`unshare -n`, lo up: no candidate and no
 * media can reach anything but 127.0.0.1) and starts an origin and edges A and B there (as users run
 * them), headless Chromium (Debian's, through playwright-core) and ffmpeg; all are stopped by handle
 * when it ends, fails or is interrupted. Clocks: the page's Date.now() and this process's are the
 * same system clock, so a stamp drawn in a page and read by ffmpeg here (or the other way) is one
 * clock. Latency = when a decoded frame reached its reader - its stamp; only frames that arrive
 * after a warm-up count (players first get the cached GOP, late by design).
 *
 * 1. browser -> RTMP: a page draws a stamped 640x360 canvas at 30 fps (noise below the stamp keeps
 *    the encoder at ~1 Mbit/s) and publishes it with WHIP (H.264) to edge A; ffmpeg plays it over RTMP
 *    from edge A and from edge B and decodes each frame as it comes.
 * 3. browser -> browser, one edge: another page plays that publish with WHEP from edge A and reads the
 *    stamp of each displayed frame (requestVideoFrameCallback). The path the edge took (same-edge
 *    forwarding or through the origin) is printed from GET /webrtc/forwarding/stats when the edge has it.
 * 2. RTMP -> browser: this process hands stamped raw frames to ffmpeg (libx264 baseline, zerolatency,
 *    no B-frames, 1 Mbit/s) publishing to edge B; pages play it with WHEP from edges B and A.
 * 4. CPU of edge A (its process and its ffmpeg children, from /proc): an idle baseline first; then
 *    for each source, the source alone, then N WHEP viewers of it on edge A. Per forwarded stream:
 *    (with viewers - source alone) / N / the Mbit/s each viewer received (getStats). Per transcoded
 *    stream (H.264 with B-frames, Sorenson Spark: the edge re-encodes them for WebRTC): the same
 *    difference for N viewers sharing it, and what is left after N forwarded streams.
 */
import { parseArgs } from 'node:util';
import { printOutput } from '../test/support/processes.ts';
import { inLoopbackNamespace } from './lib/loopback-namespace.ts';
import { checkBrowserBenchPrerequisites, runBrowserBench } from './lib/browser-bench.ts';
import type { Cluster, EdgeProcess } from '../test/support/cluster.ts';
import { percentile } from '../test/support/synthetic-publisher.ts';
import { positiveNumber } from './lib/options.ts';
import { measureDatachannelFloor } from './lib/datachannel-floor.ts';
import { sleep, treeCpuSeconds } from './lib/processes.ts';
import { latenciesSince, playStamped, publishStamped, type StampedCodec, type StampedPlayer } from './lib/stamped-media.ts';
import type { BenchPage, PeerCounters } from './lib/webrtc-bench-page.ts';

const GOALS = {
  browserToRtmpMs: 400,
  rtmpToBrowserMs: 500,
  browserToBrowserMs: 150,
  /** Forwarding: at most this % of one core per 1 Mbit/s stream. */
  forwardPercentPerMbit: 0.15,
};
/** What the sources aim at: the "1 Mbit/s stream" of the forwarding goal. */
const BITRATE = 1_000_000;
/** Before a latency window: players get the cached GOP and the decoders settle. */
const WARMUP_MS = 5000;
/** Before a CPU window: connections set up, first keyframes sent. */
const SETTLE_MS = 3000;

const TRANSCODED_LABELS: Partial<Record<StampedCodec, string>> = { 'h264-bframes': 'H.264 with B-frames', flash: 'Sorenson Spark (Flash)' };

/** The command line, checked: a bad value stops the bench with the option's name, before anything starts. */
function parseOptions(): { seconds: number; cpuSeconds: number; viewers: number; transcoded: StampedCodec[] } {
  const { values } = parseArgs({
    options: {
      seconds: { type: 'string', default: '20' },
      'cpu-seconds': { type: 'string', default: '15' },
      viewers: { type: 'string', default: '4' },
      transcoded: { type: 'string', default: 'h264-bframes,flash' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) {
    console.log('usage: npm run bench:webrtc -- [--seconds 20] [--cpu-seconds 15] [--viewers 4] [--transcoded h264-bframes,flash|none]');
    process.exit(0);
  }
  const transcoded = values.transcoded === 'none' ? [] : values.transcoded.split(',').map((kind) => {
    if (!(kind in TRANSCODED_LABELS)) throw new Error(`--transcoded takes ${Object.keys(TRANSCODED_LABELS).join(', ')} or none, got "${kind}"`);
    return kind as StampedCodec;
  });
  return {
    seconds: positiveNumber('seconds', values.seconds),
    cpuSeconds: positiveNumber('cpu-seconds', values['cpu-seconds']),
    viewers: Math.round(positiveNumber('viewers', values.viewers)),
    transcoded,
  };
}

let options: ReturnType<typeof parseOptions>;
try {
  options = parseOptions();
  checkBrowserBenchPrerequisites('WebRTC bench');
} catch (error) {
  console.error((error as Error).message);
  process.exit(1);
}
const { seconds, cpuSeconds, viewers, transcoded } = options;

// ---- figures -------------------------------------------------------------------------------------

interface LatencyRow { what: string; samples: number[]; unreadable: number; goalMs: number }
interface CpuRow { what: string; figure: string; goal: string; verdict: string }

/** node-datachannel's own cost of sending to one viewer, % of a core per Mbit/s (measured first in run()). */
let floorPercentPerMbit = Number.NaN;
const latencyRows: LatencyRow[] = [];
const cpuRows: CpuRow[] = [];
const notes: string[] = [];

function latencyLine(row: LatencyRow): string {
  const p50 = percentile(row.samples, 50);
  const p95 = percentile(row.samples, 95);
  const verdict = row.samples.length === 0 ? 'no frames' : p95 < row.goalMs ? 'met' : 'not met';
  return `${row.what.padEnd(52)} ${String(row.samples.length).padStart(6)} ${String(row.unreadable).padStart(7)} ${p50.toFixed(0).padStart(7)} ${p95.toFixed(0).padStart(7)}   < ${row.goalMs} ms  ${verdict}`;
}

function addLatency(row: LatencyRow): void {
  latencyRows.push(row);
  console.log(`  ${latencyLine(row)}`);
}

function addCpu(row: CpuRow): void {
  cpuRows.push(row);
  console.log(`  ${row.what}: ${row.figure}  goal ${row.goal}  ${row.verdict}`);
}

function printTable(): void {
  console.log(`\n== WebRTC at the edge: ${seconds} s latency windows, ${cpuSeconds} s CPU windows, ${viewers} viewers per CPU run ==`);
  console.log(`${'latency (stamp in pixels, read back)'.padEnd(52)} ${'frames'.padStart(6)} ${'unread'.padStart(7)} ${'p50 ms'.padStart(7)} ${'p95 ms'.padStart(7)}   goal (on p95)`);
  for (const row of latencyRows) console.log(latencyLine(row));
  console.log('\nCPU of edge A (its process and its ffmpeg children, minus the same edge with the source alone)');
  for (const row of cpuRows) console.log(`${row.what.padEnd(48)} ${row.figure.padEnd(64)} goal ${row.goal.padEnd(26)} ${row.verdict}`);
  for (const note of notes) console.log(`note: ${note}`);
}

// ---- measuring ------------------------------------------------------------------------------------

/** Milliseconds since the bench's epoch (the stamps' clock). */
let epoch = 0;
const now = (): number => Date.now() - epoch;

/** Edge A's CPU (process tree) as a share of one core over `windowSeconds`. */
async function cpuShare(edge: EdgeProcess, windowSeconds: number): Promise<number> {
  const pid = edge.child.pid!;
  const cpuBefore = treeCpuSeconds(pid);
  const before = performance.now();
  await sleep(windowSeconds * 1000);
  return (treeCpuSeconds(pid) - cpuBefore) / ((performance.now() - before) / 1000);
}

interface ViewerWindow {
  /** Edge CPU share over the window. */
  share: number;
  /** Mean video Mbit/s each viewer received. */
  mbps: number;
  /** Frames each viewer decoded in the window. */
  frames: number[];
}

/** Edge CPU over a window while the page's viewers play, with what each received (getStats) in it. */
async function viewerWindow(edge: EdgeProcess, page: BenchPage): Promise<ViewerWindow> {
  const before = await page.counters();
  const startedAt = performance.now();
  const share = await cpuShare(edge, cpuSeconds);
  const after = await page.counters();
  const elapsed = (performance.now() - startedAt) / 1000;
  const delta = (k: 'bytes' | 'frames') => after.map((c: PeerCounters, i) => c[k] - (before[i]?.[k] ?? 0));
  const bytes = delta('bytes');
  return { share, mbps: bytes.reduce((a, b) => a + b, 0) / bytes.length / elapsed * 8 / 1e6, frames: delta('frames') };
}

/** Empty when every viewer decoded frames in the window, else what went wrong (the figure is not valid). */
function viewerProblems(window: ViewerWindow): string {
  const least = Math.min(...window.frames);
  const median = percentile(window.frames, 50);
  return least > 0 && least >= median / 2 ? '' : `INVALID: frames decoded per viewer ${window.frames.join(', ')}`;
}

/**
 * Waits (at most 30 s) until the page's publisher encodes 20 fps or more: Chromium starts low
 * (bandwidth estimate, CPU adaptation) and would otherwise make the first seconds look slow.
 */
async function untilPublisherSteady(page: BenchPage): Promise<void> {
  const deadline = Date.now() + 30_000;
  let previous = (await page.counters())[0]!;
  for (;;) {
    await sleep(1000);
    const current = (await page.counters())[0]!;
    const fps = current.frames - previous.frames;
    const rate = `${fps} fps, ${((current.bytes - previous.bytes) * 8 / 1e6).toFixed(2)} Mbit/s`;
    previous = current;
    if (fps >= 20) return console.log(`  the browser sends ${rate}`);
    if (Date.now() > deadline) {
      notes.push(`the browser publisher never reached 20 fps in 30 s (last second: ${rate}): the machine is busy`);
      return console.log(`  the browser sends only ${rate} after 30 s; measuring anyway`);
    }
  }
}

/** A JSON stats route of the edge (GET `path` on its HTTP port), or null when the edge has no such route. */
async function edgeStats(edge: EdgeProcess, path: string): Promise<Record<string, unknown> | null> {
  const response = await fetch(`http://127.0.0.1:${edge.httpPort}${path}`);
  if (response.status === 404) return null;
  if (response.status !== 200) throw new Error(`GET ${path} on edge ${edge.name}: ${response.status}`);
  return (await response.json()) as Record<string, unknown>;
}

/** Which way a browser's stream reaches browsers on `edge`, from its forwarding (SFU) counters when it has them. */
async function browserToBrowserPath(edge: EdgeProcess): Promise<string> {
  const forwarding = await edgeStats(edge, '/webrtc/forwarding/stats').catch((error: Error) => ({ error: error.message }));
  if (forwarding && 'error' in forwarding) return `unknown (${String(forwarding.error)})`;
  if (forwarding === null) return `through the origin (edge ${edge.name} has no /webrtc/forwarding/stats, so no same-edge forwarding)`;
  const forwarded = Number(forwarding.forwardedViewers ?? 0);
  return forwarded > 0 ? `forwarded on edge ${edge.name} (SFU: ${forwarded} viewer(s) get the publisher's RTP)` : `through the origin (edge ${edge.name} forwards to no viewer)`;
}

/** The edge's WebRTC playback counters (GET /webrtc/stats: feeds, transcoders), compact, or that it has none. */
async function playbackStats(edge: EdgeProcess): Promise<string> {
  const stats = await edgeStats(edge, '/webrtc/stats').catch((error: Error) => error);
  const text = stats === null ? 'none (no /webrtc/stats)' : stats instanceof Error ? `unreadable (${stats.message})` : JSON.stringify(stats);
  return `edge ${edge.name} /webrtc/stats: ${text.length > 400 ? `${text.slice(0, 400)}...` : text}`;
}

const pct = (share: number): string => `${(share * 100).toFixed(2)} %`;

// ---- the run --------------------------------------------------------------------------------------

async function run(edgeA: EdgeProcess, edgeB: EdgeProcess, openPage: (edge: EdgeProcess) => Promise<BenchPage>): Promise<void> {
  console.log(`idle baseline: edge A for ${cpuSeconds} s`);
  const idle = await cpuShare(edgeA, cpuSeconds);
  cpuRows.push({ what: 'idle edge A', figure: `${pct(idle)} of a core`, goal: '-', verdict: '(reference)' });
  console.log(`  idle edge A: ${pct(idle)} of a core`);
  // The peer to compare forwarding with: the WebRTC library alone sending as much to as many viewers.
  console.log(`\nfloor: node-datachannel alone sending ${BITRATE / 1e6} Mbit/s to ${viewers} viewers (one peer connection each) for ${cpuSeconds} s`);
  try {
    const floor = await measureDatachannelFloor(viewers, BITRATE, cpuSeconds);
    floorPercentPerMbit = floor.percentPerMbit;
    addCpu({ what: 'node-datachannel alone (the floor)', figure: `${floor.percentPerMbit.toFixed(3)} % of a core per Mbit/s (${floor.received} packets received${floor.attempts > 1 ? `, attempt ${floor.attempts}` : ''})`, goal: '-', verdict: '(reference)' });
  } catch (error) {
    notes.push(`the node-datachannel floor could not be measured: ${(error as Error).message}`);
  }

  // 1 and 3: one browser publish, read back by ffmpeg over RTMP and by a browser over WHEP.
  console.log(`\nbrowser publishes to edge A (WHIP, H.264 <= ${BITRATE / 1e6} Mbit/s): RTMP players on A and B, WHEP player on A; ${seconds} s`);
  const publisher = await openPage(edgeA);
  await publisher.publish('/whip/live/from-browser', BITRATE);
  await untilPublisherSteady(publisher);
  const rtmpPlayers: Array<[string, StampedPlayer]> = [
    ['browser -> RTMP player, same edge (A)', playStamped(`${edgeA.base}/live/from-browser`, epoch)],
    ['browser -> RTMP player, other edge (B)', playStamped(`${edgeB.base}/live/from-browser`, epoch)],
  ];
  const browserViewer = await openPage(edgeA);
  await browserViewer.play('/whep/live/from-browser', true);
  await sleep(WARMUP_MS);
  const from = now();
  await sleep(seconds * 1000);
  for (const [what, player] of rtmpPlayers) {
    if (player.samples.length === 0) notes.push(`${what}: no frames read; ffmpeg said: ${player.stderr().trim().split('\n').slice(0, 3).join(' | ') || '(nothing)'}`);
    addLatency({ what, samples: latenciesSince(player.samples, from), unreadable: player.unreadable, goalMs: GOALS.browserToRtmpMs });
  }
  const [viewerReadings] = await browserViewer.readings();
  addLatency({ what: 'browser -> browser, one edge (A)', samples: latenciesSince(viewerReadings!.samples, from), unreadable: viewerReadings!.unreadable, goalMs: GOALS.browserToBrowserMs });
  const path = await browserToBrowserPath(edgeA);
  console.log(`  browser -> browser path: ${path}`);
  notes.push(`browser -> browser path: ${path}`);
  await Promise.all(rtmpPlayers.map(([, player]) => player.stop()));
  await browserViewer.close();

  // 4a. Forwarding a browser's stream to N browsers on the same edge.
  await forwardingCpu(`forwarded, browser source (${viewers} viewers)`, edgeA, '/whep/live/from-browser', async (edge) => `path: ${await browserToBrowserPath(edge)}`, openPage);
  await publisher.close();

  // 2. RTMP -> browser, then 4b: forwarding it (H.264 passthrough) to N browsers.
  console.log(`\nffmpeg publishes stamped H.264 (baseline, no B-frames, ${BITRATE / 1e6} Mbit/s) to edge B: WHEP players on B and A; ${seconds} s`);
  const source = publishStamped(`${edgeB.base}/live/from-rtmp`, epoch, 'h264');
  await sleep(2000);
  if (source.child.exitCode !== null) throw new Error(`the RTMP publisher exited: ${source.stderr()}`);
  const readers: Array<[string, BenchPage]> = [['RTMP -> browser, same edge (B)', await openPage(edgeB)], ['RTMP -> browser, other edge (A)', await openPage(edgeA)]];
  for (const [, page] of readers) await page.play('/whep/live/from-rtmp', true);
  await sleep(WARMUP_MS);
  const rtmpFrom = now();
  await sleep(seconds * 1000);
  for (const [what, page] of readers) {
    const [readings] = await page.readings();
    addLatency({ what, samples: latenciesSince(readings!.samples, rtmpFrom), unreadable: readings!.unreadable, goalMs: GOALS.rtmpToBrowserMs });
    await page.close();
  }
  const forwardShare = await forwardingCpu(`forwarded, RTMP H.264 passthrough (${viewers} viewers)`, edgeA, '/whep/live/from-rtmp', playbackStats, openPage);
  await source.stop();

  // 4c. Transcoded streams: N viewers share one transcoder (the first viewer's frames give its latency too).
  for (const codec of transcoded) await transcodedCpu(codec, edgeA, edgeB, forwardShare, openPage);
}

/**
 * CPU per forwarded stream: edge A with the source alone, then with N WHEP viewers of `path` on it
 * (`describe` says what the edge did for them); resolves with the share of a core one viewer's stream costs.
 */
async function forwardingCpu(what: string, edgeA: EdgeProcess, path: string, describe: (edge: EdgeProcess) => Promise<string>, openPage: (edge: EdgeProcess) => Promise<BenchPage>): Promise<number> {
  console.log(`\nCPU: ${what}: the source alone for ${cpuSeconds} s, then ${viewers} WHEP viewers on edge A for ${cpuSeconds} s`);
  const alone = await cpuShare(edgeA, cpuSeconds);
  const page = await openPage(edgeA);
  for (let i = 0; i < viewers; i++) await page.play(path, false);
  await sleep(SETTLE_MS);
  console.log(`  ${await describe(edgeA)}`);
  const window = await viewerWindow(edgeA, page);
  await page.close();
  const perStream = (window.share - alone) / viewers;
  const perMbit = (perStream * 100) / window.mbps;
  const problems = viewerProblems(window);
  addCpu({
    what,
    figure: `${perMbit.toFixed(3)} % of a core per Mbit/s (${window.mbps.toFixed(2)} Mbit/s each; ${pct(perStream)} per stream; ${(perMbit / floorPercentPerMbit).toFixed(2)}x the floor)`,
    goal: `<= ${GOALS.forwardPercentPerMbit} % per Mbit/s`,
    verdict: problems || (perMbit <= GOALS.forwardPercentPerMbit ? 'met' : 'not met'),
  });
  console.log(`  edge A: source alone ${pct(alone)}, with ${viewers} viewers ${pct(window.share)}`);
  return perStream;
}

/** A source the edge must re-encode for WebRTC, played by N viewers on edge A sharing one transcoder. */
async function transcodedCpu(codec: StampedCodec, edgeA: EdgeProcess, edgeB: EdgeProcess, forwardShare: number, openPage: (edge: EdgeProcess) => Promise<BenchPage>): Promise<void> {
  const label = TRANSCODED_LABELS[codec]!;
  const stream = `transcoded-${codec}`;
  console.log(`\nCPU: transcoded, ${label} published to edge B: the source alone for ${cpuSeconds} s, then ${viewers} WHEP viewers on edge A for ${cpuSeconds} s`);
  const source = publishStamped(`${edgeB.base}/live/${stream}`, epoch, codec);
  await sleep(2000);
  if (source.child.exitCode !== null) throw new Error(`the ${label} publisher exited: ${source.stderr()}`);
  const alone = await cpuShare(edgeA, cpuSeconds);
  const page = await openPage(edgeA);
  const what = `transcoded, ${label}`;
  try {
    for (let i = 0; i < viewers; i++) await page.play(`/whep/live/${stream}`, i === 0);
  } catch (error) {
    const reason = ((error as Error).message.split('\n')[0] ?? '').replace(/^.*?: (\d{3}): /, '$1 ');
    addCpu({ what, figure: 'not measured: the edge refused WHEP', goal: '(none in the issue)', verdict: `refused: ${reason.trim().slice(0, 160)}` });
    await page.close();
    await source.stop();
    return;
  }
  await sleep(WARMUP_MS);
  const playing = await page.counters();
  if (playing.every((viewer) => viewer.frames === 0)) {
    addCpu({ what, figure: 'not measured: the viewers got no video', goal: '(none in the issue)', verdict: `peer states: ${playing.map((viewer) => viewer.state).join(', ')}` });
    await page.close();
    await source.stop();
    return;
  }
  console.log(`  ${await playbackStats(edgeA)}`);
  const from = now();
  const window = await viewerWindow(edgeA, page);
  const [readings] = await page.readings();
  addLatency({ what: `RTMP (${label}) -> browser, other edge`, samples: latenciesSince(readings!.samples, from), unreadable: readings!.unreadable, goalMs: GOALS.rtmpToBrowserMs });
  await page.close();
  await source.stop();
  const total = window.share - alone;
  const transcoder = total - viewers * forwardShare;
  addCpu({
    what: `${what} (${viewers} viewers)`,
    figure: `${pct(total)} of a core in all; ${pct(transcoder)} after ${viewers} forwarded streams`,
    goal: '(none in the issue)',
    verdict: viewerProblems(window) || `${window.mbps.toFixed(2)} Mbit/s each`,
  });
}

async function main(): Promise<void> {
  epoch = Date.now();
  // Loaded only here: the checks above say what is missing first.
  const { startCluster } = await import('../test/support/cluster.ts');
  const { BenchPage } = await import('./lib/webrtc-bench-page.ts');
  let cluster: Cluster | null = null;
  const failed = await runBrowserBench('WebRTC bench', async (launchBrowser) => {
    console.log('starting origin, edges A and B (127.0.0.1 only) and headless Chromium...');
    cluster = await startCluster(['webrtc-a', 'webrtc-b'], { edgeArgs: ['--webrtc-bind', '127.0.0.1'] });
    const [edgeA, edgeB] = cluster.edges as [EdgeProcess, EdgeProcess];
    const context = await launchBrowser();
    await run(edgeA, edgeB, (edge) => BenchPage.open(context, `http://127.0.0.1:${edge.httpPort}`, epoch));
  }, () => {
    for (const edge of (cluster as Cluster | null)?.edges ?? []) {
      const exit = edge.child.exitCode ?? edge.child.signalCode;
      if (exit !== null) {
        console.error(`edge ${edge.name} exited (${exit}); its last log lines:`);
        printOutput(edge.child, 15);
      }
    }
  });
  if (latencyRows.length + cpuRows.length > 0) printTable();
  // node-datachannel's threads (the floor's receivers live in this process) would keep it alive.
  process.exit(failed ? 1 : 0);
}

await inLoopbackNamespace(main);
