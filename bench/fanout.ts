/**
 * Fan-out benchmark: CPU seconds per player-minute for serving N players of one ~1 Mbit/s
 * H.264/AAC live stream, measured for our origin, nginx-rtmp and node-media-server in one run,
 * one server after the other, on 127.0.0.1 only.
 *
 *   node_modules/.bin/node bench/fanout.ts [--players 50] [--seconds 30] [--warmup 5] [--baseline 10]
 *                                          [--servers origin,nginx,nms] [--player rtmpdump|ffmpeg]
 *                                          [--origin-flush-ms 50,100] [--rounds 1]
 *
 * Method: a 30 s source is encoded once into a temp FLV and published to each server with
 * `ffmpeg -re -stream_loop -1 -c copy`, so the publisher costs little and is identical for every
 * server. N light players (rtmpdump by default) then play it. After a warm-up (connects, GOP
 * cache bursts), the server process's utime+stime is sampled over the window, and the kernel's
 * per-socket byte counters check that every player really received the stream: a server that
 * fails a player gets its figure flagged INVALID.
 *
 * Before the players join, the server's CPU with the publisher alone is sampled for
 * --baseline seconds; subtracting that gives a "marginal" per-player figure, which matters at
 * small N where a runtime's fixed costs (ingest, GC, timers) dominate the total.
 *
 * --origin-flush-ms runs the origin once per merged-write interval given (its --media-flush-ms;
 * default: the origin's own, 50 ms): what a longer hold buys in CPU, against the latency it adds
 * (bench:edge measures that), each compared with nginx-rtmp of the same run.
 *
 * Latency: one more player, inside this process (bench/lib/latency-probe.ts), notes when each
 * message arrives against its timestamp over the same window; what a message waited beyond the best
 * case seen nearby is compared with nginx-rtmp's in the same run (it holds nothing), and the
 * difference is the latency the origin adds (goal: p99 at most 50 ms more). It is the last player to
 * join, so the last one written to in each merged write: the worst place to be.
 *
 * --rounds N measures every server N times, taking turns (so a busy spell of the machine hits them
 * alike), prints each run with the host's steal time over its window, and judges the goal on the
 * median of the rounds' own ratios: on a shared 2-core machine one run of a server varies by a
 * quarter, and the host's speed drifts over minutes.
 */

import { mkdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { execFileSync } from 'node:child_process';
import {
  bytesReceivedByClient,
  cpuTimes,
  freePort,
  hostStealSeconds,
  rssMiB,
  runBench,
  sleep,
  start,
  stop,
  waitForPort,
  type CpuTimes,
  type Started,
} from './lib/processes.ts';
import { originServer, serverKinds, type ServerKind } from './lib/servers.ts';
import { makeSource, publishSource, SOURCE_SECONDS, type Source } from './lib/source.ts';
import { LatencyProbe, type LatencySummary } from './lib/latency-probe.ts';

/** A player counts as served when it received at least this share of the stream's bitrate. */
const MIN_DELIVERED_SHARE = 0.8;
const PUBLISH_SETTLE_MS = 2000;
const PLAYER_STAGGER_MS = 20;

interface Options {
  players: number;
  seconds: number;
  warmup: number;
  baseline: number;
  servers: ServerKind[];
  player: 'rtmpdump' | 'ffmpeg';
  rounds: number;
}

function parseOptions(): Options {
  const { values } = parseArgs({
    options: {
      players: { type: 'string', default: '50' },
      seconds: { type: 'string', default: '30' },
      warmup: { type: 'string', default: '5' },
      baseline: { type: 'string', default: '10' },
      servers: { type: 'string', default: 'origin,nginx,nms' },
      player: { type: 'string', default: 'rtmpdump' },
      'origin-flush-ms': { type: 'string' },
      rounds: { type: 'string', default: '1' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) {
    console.log('usage: node bench/fanout.ts [--players N] [--seconds S] [--warmup S] [--baseline S|0] [--servers origin,nginx,nms] [--player rtmpdump|ffmpeg] [--origin-flush-ms MS,...] [--rounds N]');
    process.exit(0);
  }
  const positive = (name: string, value: string): number => {
    const n = Number(value);
    if (!Number.isFinite(n) || n <= 0) throw new Error(`--${name} must be a positive number, got "${value}"`);
    return n;
  };
  const flushes = values['origin-flush-ms']?.split(',').map((ms) => {
    const n = Number(ms);
    if (!Number.isInteger(n) || n < 0) throw new Error(`--origin-flush-ms takes whole milliseconds (0 or more), got "${ms}"`);
    return n;
  });
  const servers = values.servers.split(',').flatMap((name) => {
    const kind = serverKinds[name.trim()];
    if (!kind) throw new Error(`unknown server "${name}" (known: ${Object.keys(serverKinds).join(', ')})`);
    return kind.name === 'origin' && flushes ? flushes.map((ms) => originServer(ms)) : [kind];
  });
  if (values.player !== 'rtmpdump' && values.player !== 'ffmpeg') throw new Error('--player must be rtmpdump or ffmpeg');
  return {
    players: Math.floor(positive('players', values.players)),
    seconds: positive('seconds', values.seconds),
    warmup: positive('warmup', values.warmup),
    baseline: values.baseline === '0' ? 0 : positive('baseline', values.baseline),
    servers,
    player: values.player,
    rounds: Math.floor(positive('rounds', values.rounds)),
  };
}

function requireTool(tool: string): void {
  try {
    execFileSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' });
  } catch {
    throw new Error(`${tool} is not installed (see /work/shared/PEERS.md)`);
  }
}

interface Result {
  server: string;
  /** Which of --rounds this run was (1-based). */
  round: number;
  players: number;
  cpuSeconds: number;
  /** Share of cpuSeconds spent in the kernel (on loopback this includes delivering to the players' sockets). */
  systemSeconds: number;
  windowSeconds: number;
  /** Server CPU seconds per second with the publisher and no players (NaN when not measured). */
  baselineCpuPerSecond: number;
  /** Per served player, Mbit/s received during the window. */
  deliveredMbps: number[];
  servedPlayers: number;
  rssMiB: number;
  /** The host's steal time over the window (hostStealSeconds): CPU this guest wanted and did not get. */
  stealSeconds: number;
  /** What the latency probe's messages waited beyond their best case over the window; null when it failed. */
  latency: LatencySummary | null;
  problems: string[];
}

function playerArgs(player: Options['player'], url: string): [string, string[]] {
  return player === 'rtmpdump'
    ? ['rtmpdump', ['-q', '-v', '-r', url, '-o', '/dev/null']]
    : ['ffmpeg', ['-nostdin', '-loglevel', 'error', '-i', url, '-c', 'copy', '-f', 'null', '-']];
}

async function measure(kind: ServerKind, opts: Options, source: Source, runDir: string, round: number): Promise<Result> {
  const dir = join(runDir, opts.rounds > 1 ? `${kind.name}-${round}` : kind.name);
  mkdirSync(dir);
  const port = await freePort();
  const url = `rtmp://127.0.0.1:${port}/live/bench`;
  const started: Started[] = [];
  const problems: string[] = [];
  let probe: LatencyProbe | null = null;
  try {
    const server = kind.start(dir, port);
    started.push(server);
    await waitForPort(port, server);

    const publisher = publishSource(source, url, join(dir, 'publisher.log'));
    started.push(publisher);
    await sleep(PUBLISH_SETTLE_MS);
    if (publisher.hasExited()) throw new Error(`publisher exited: ${readFileSync(join(dir, 'publisher.log'), 'utf8').trim()}`);

    let baselineCpuPerSecond = NaN;
    if (opts.baseline > 0) {
      process.stderr.write(`  ${kind.name}: publisher only, baseline ${opts.baseline} s...\n`);
      const c0 = total(cpuTimes(server.pid));
      const b0 = performance.now();
      await sleep(opts.baseline * 1000);
      baselineCpuPerSecond = (total(cpuTimes(server.pid)) - c0) / ((performance.now() - b0) / 1000);
    }

    const [command, args] = playerArgs(opts.player, url);
    const players: Started[] = [];
    for (let i = 0; i < opts.players; i++) {
      const p = start(`player-${i}`, command, args, { logFile: i === 0 ? join(dir, 'player-0.log') : undefined });
      players.push(p);
      started.push(p);
      await sleep(PLAYER_STAGGER_MS);
    }
    probe = await LatencyProbe.play(`rtmp://127.0.0.1:${port}/live`, 'bench');
    process.stderr.write(`  ${kind.name}: ${opts.players} players connected, warming up ${opts.warmup} s, measuring ${opts.seconds} s...\n`);
    await sleep(opts.warmup * 1000);

    const cpu0 = cpuTimes(server.pid);
    const steal0 = hostStealSeconds();
    const bytes0 = bytesReceivedByClient(port);
    const t0 = performance.now();
    probe.begin();
    await sleep(opts.seconds * 1000);
    const latency = probe.end();
    const cpu1 = cpuTimes(server.pid);
    const steal1 = hostStealSeconds();
    const bytes1 = bytesReceivedByClient(port);
    const windowSeconds = (performance.now() - t0) / 1000;
    const rss = rssMiB(server.pid);

    if (server.hasExited()) problems.push('server exited during the run');
    if (publisher.hasExited()) problems.push('publisher exited during the run');
    const minBits = MIN_DELIVERED_SHARE * source.mediaBitsPerSecond * windowSeconds;
    const delivered: number[] = [];
    let served = 0;
    for (const p of players) {
      // A player whose connection is gone at the end has no counter: it was not served throughout.
      const end = bytes1.get(p.pid);
      const bits = end === undefined ? 0 : (end - (bytes0.get(p.pid) ?? 0)) * 8;
      delivered.push(bits / windowSeconds / 1e6);
      if (bits >= minBits && !p.hasExited()) served++;
    }
    if (served < players.length) {
      problems.push(`only ${served}/${players.length} players received >= ${MIN_DELIVERED_SHARE * 100}% of the stream bitrate`);
    }
    if (latency.messages === 0) problems.push('the latency probe received no media');
    return {
      server: kind.name,
      round,
      players: opts.players,
      cpuSeconds: total(cpu1) - total(cpu0),
      systemSeconds: cpu1.system - cpu0.system,
      windowSeconds,
      baselineCpuPerSecond,
      deliveredMbps: delivered,
      servedPlayers: served,
      rssMiB: rss,
      stealSeconds: steal1 - steal0,
      latency,
      problems,
    };
  } catch (err) {
    const message = (err as Error).message;
    let log = '';
    try {
      log = readFileSync(join(dir, 'server.log'), 'utf8').trim().split('\n').slice(-10).join('\n');
    } catch {
      // No log yet.
    }
    problems.push(`run failed: ${message}${log ? `\n    server log tail:\n    ${log.replaceAll('\n', '\n    ')}` : ''}`);
    return {
      server: kind.name, round, players: opts.players, cpuSeconds: NaN, systemSeconds: NaN, windowSeconds: NaN,
      baselineCpuPerSecond: NaN, deliveredMbps: [], servedPlayers: 0, rssMiB: NaN, stealSeconds: NaN, latency: null, problems,
    };
  } finally {
    // Players first, so the server does not spend the teardown logging publisher loss to them.
    probe?.close();
    const [server, publisher, ...players] = started;
    await Promise.all(players.map((p) => stop(p)));
    if (publisher) await stop(publisher);
    if (server) await stop(server);
  }
}

function total(t: CpuTimes): number {
  return t.user + t.system;
}

function perPlayerMinute(r: Result): number {
  return r.cpuSeconds / (r.players * (r.windowSeconds / 60));
}

/** Per player-minute once the publisher-only baseline is taken out. */
function marginalPerPlayerMinute(r: Result): number {
  return (r.cpuSeconds - r.baselineCpuPerSecond * r.windowSeconds) / (r.players * (r.windowSeconds / 60));
}

/** A figure with `digits` decimals, '-' when it was not measured. */
function fmt(n: number, digits: number): string {
  return Number.isFinite(n) ? n.toFixed(digits) : '-';
}

function printTable(results: Result[], opts: Options, source: Source): void {
  const rows = results.map((r) => {
    const sorted = [...r.deliveredMbps].sort((a, b) => a - b);
    const avg = sorted.reduce((a, b) => a + b, 0) / (sorted.length || 1);
    return [
      r.server,
      String(r.players),
      `${r.servedPlayers}/${r.players}`,
      `${fmt(r.cpuSeconds, 2)} (${fmt(r.systemSeconds, 2)})`,
      fmt(perPlayerMinute(r), 4),
      fmt(r.baselineCpuPerSecond, 3),
      fmt(marginalPerPlayerMinute(r), 4),
      sorted.length ? `${fmt(sorted[0]!, 2)} / ${fmt(avg, 2)}` : '-',
      fmt(r.rssMiB, 0),
      fmt(r.stealSeconds, 2),
      r.latency ? `${fmt(r.latency.p50Ms, 0)} / ${fmt(r.latency.p99Ms, 0)}` : '-',
      r.problems.length ? 'INVALID' : 'ok',
    ];
  });
  const header = ['server', 'players', 'served', 'CPU s (sys)', 'CPU s/player-min', 'baseline CPU s/s', 'marginal s/player-min', 'Mbit/s/player min/avg', 'RSS MiB', 'host steal s', 'held ms p50/p99', 'valid'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: string[]): string => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ');
  console.log(
    `\nfan-out: ${opts.players} ${opts.player} players, ${opts.seconds} s window after ${opts.warmup} s warm-up; ` +
      `source ${(source.mediaBitsPerSecond / 1e6).toFixed(2)} Mbit/s media, keyframe every ${source.keyframeInterval.toFixed(1)} s`,
  );
  console.log(line(header));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const row of rows) console.log(line(row));

  for (const r of results) {
    for (const problem of r.problems) console.log(`\n!!! ${r.server} INVALID: ${problem}`);
  }

  const byName = new Map(opts.servers.map((kind) => [kind.name, medianRun(results.filter((r) => r.server === kind.name))]));
  console.log('');
  if (opts.rounds > 1) console.log(`medians of ${opts.rounds} runs each:`);
  for (const [name, origin] of byName) if (name.startsWith('origin')) printRatios(origin, byName, results);
}

/** The middle value (the mean of the two middle ones for an even count). */
function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** One server's runs as one: the median of each figure (a single run as it is); invalid if any run was. */
function medianRun(runs: Result[]): Result {
  if (runs.length === 1) return runs[0]!;
  const windowSeconds = median(runs.map((r) => r.windowSeconds));
  return {
    ...runs[0]!,
    // Per player-minute and marginal figures are ratios of these: the medians are taken per window second.
    cpuSeconds: median(runs.map((r) => r.cpuSeconds / r.windowSeconds)) * windowSeconds,
    systemSeconds: median(runs.map((r) => r.systemSeconds / r.windowSeconds)) * windowSeconds,
    windowSeconds,
    baselineCpuPerSecond: median(runs.map((r) => r.baselineCpuPerSecond)),
    stealSeconds: median(runs.map((r) => r.stealSeconds)),
    latency: medianLatency(runs),
    problems: runs.flatMap((r) => r.problems),
  };
}

/** Each of the origin's runs with the `other` server's run of the same round (the one right after it). */
function sameRoundPairs(origin: Result, other: string, runs: Result[]): [mine: Result, theirs: Result][] {
  return runs.filter((r) => r.server === origin.server).flatMap((mine) => {
    const theirs = runs.find((r) => r.server === other && r.round === mine.round);
    return theirs ? [[mine, theirs] as [Result, Result]] : [];
  });
}

function medianLatency(runs: Result[]): LatencySummary | null {
  const measured = runs.flatMap((r) => (r.latency ? [r.latency] : []));
  if (measured.length === 0) return null;
  return {
    messages: median(measured.map((l) => l.messages)),
    p50Ms: median(measured.map((l) => l.p50Ms)),
    p99Ms: median(measured.map((l) => l.p99Ms)),
    maxMs: median(measured.map((l) => l.maxMs)),
  };
}

/** The latency the origin adds over a server that holds nothing: its p99 minus the other's, by rounds as the CPU ratio is. */
function addedLatencyP99(origin: Result, other: string, runs: Result[]): number {
  const added = sameRoundPairs(origin, other, runs).flatMap(([mine, theirs]) =>
    (mine.latency && theirs.latency ? [mine.latency.p99Ms - theirs.latency.p99Ms] : []));
  return added.length ? median(added) : NaN;
}

/**
 * The origin against each peer: the ratio the issue's goal is on, and what it is made of. With
 * several rounds the verdict is on the median of each round's own ratio (the origin's run against
 * the peer's run right after it): the host under this guest changes speed over minutes, by a
 * third at times, and a ratio of the two servers' separate medians can pair a fast spell of one
 * with a slow spell of the other (0.24x by separate medians against 0.32x by rounds, same run).
 */
function printRatios(origin: Result, byName: ReadonlyMap<string, Result>, runs: Result[]): void {
  for (const [other, goal, goalText, maxAddedMs] of [
    ['nginx', 0.3, 'origin <= 0.3x nginx adding at most 50 ms at p99', 50],
    ['nms', 1 / 3, 'origin <= nms/3', Infinity],
  ] as const) {
    const o = byName.get(other);
    if (!o) continue;
    const ofMedians = perPlayerMinute(origin) / perPlayerMinute(o);
    const marginal = marginalPerPlayerMinute(origin) / marginalPerPlayerMinute(o);
    // Kernel time includes loopback TCP delivery, a floor every server pays alike per write; user time
    // is what the server's own code costs. The origin's kernel time against the other's whole cost is
    // the floor of the ratio at this write count (merged writes: one per player per mediaFlushMs).
    const user = (origin.cpuSeconds - origin.systemSeconds) / (o.cpuSeconds - o.systemSeconds);
    const kernelFloor = origin.systemSeconds / o.cpuSeconds;
    const byRound = sameRoundPairs(origin, other, runs).map(([mine, theirs]) => perPlayerMinute(mine) / perPlayerMinute(theirs));
    const ratio = byRound.length > 1 ? median(byRound) : ofMedians;
    const added = addedLatencyP99(origin, other, runs);
    const valid = origin.problems.length === 0 && o.problems.length === 0 && Number.isFinite(ratio)
      && (maxAddedMs === Infinity || Number.isFinite(added));
    const verdict = !valid ? 'not comparable (invalid run)' : ratio <= goal && added <= maxAddedMs ? 'goal met' : 'goal MISSED';
    const details = [
      ...(byRound.length > 1 ? [`median of the rounds' own ratios: ${byRound.map((r) => fmt(r, 2)).join(', ')}`, `of the servers' medians ${fmt(ofMedians, 2)}`] : []),
      `marginal ${fmt(marginal, 2)}`,
      `user-mode only ${fmt(user, 2)}`,
      `the origin's kernel time alone ${fmt(kernelFloor, 2)}`,
      `latency added at p99 ${fmt(added, 1)} ms`,
    ];
    console.log(`${origin.server}/${other} = ${fmt(ratio, 3)} (${details.join('; ')}; lower is better; goal ${goalText}): ${verdict}`);
  }
}

await runBench('fanout', async (runDir) => {
  const opts = parseOptions();
  requireTool('ffmpeg');
  requireTool('ss');
  requireTool(opts.player);
  if (opts.servers.some((s) => s.name === 'nginx')) requireTool('nginx');

  process.stderr.write(`encoding a ${SOURCE_SECONDS} s source...\n`);
  const source = await makeSource(runDir);
  process.stderr.write(`  source: ${(statSync(source.path).size / 1024).toFixed(0)} KiB\n`);
  const results: Result[] = [];
  for (let round = 1; round <= opts.rounds; round++) {
    for (const kind of opts.servers) results.push(await measure(kind, opts, source, runDir, round));
  }
  printTable(results, opts, source);
  if (results.some((r) => r.problems.length > 0)) process.exitCode = 1;
});
