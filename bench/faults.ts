/**
 * Fault benchmark (issue 14): how long a cluster takes to recover from each fault, against the
 * figures measured when the issue was filed. An origin and two edges run as separate processes
 * on loopback, edge B linked through a proxy that can cut its link (test/support/fault-scenarios.ts
 * plays the faults; test/gateway/faults.test.ts asserts the same outcomes with small numbers):
 *
 *   npm run bench:faults -- [--players 10] [--repeat 3] [--record-seconds 10] [--flap-seconds 60]
 *                          [--flap-period-ms 5000] [--flap-down-ms 1000] [--flood-seconds 10] [--edge-config FILE.yaml]
 *
 * - kill -9 of edge A (ffmpeg publishing through it to players on edge B, its teacher drawing on
 *   the whiteboard): the origin drops its sessions and registry entry, B's players get
 *   UnpublishNotify, the board reads the same from B; edge A restarted: linked, then serving.
 * - kill -9 of the origin while it records a stream published through edge A, players on B watch
 *   it and members on both edges are on the whiteboard: the file against wall time, its repair at
 *   restart, members and players told, both edges linked again.
 * - edge B's link cut every --flap-period-ms for --flap-down-ms over --flap-seconds: players on A
 *   get every frame; players on B play again after each restore (time).
 * - ffmpeg publishing at 10x real time next to a player that stops reading: the players of a
 *   steady stream on both edges (frames, latency p99 before and during).
 * The edge-kill and origin-kill faults run --repeat times; the table shows the median and worst.
 * The link cut's recovery and the edges' relink to a restarted origin are broken down (median of
 * each phase: fault -> detected, the back-off's wait, connect, auth, replay, first frame) from the
 * moments the edges report of their last recovery, with the attempts they made meanwhile.
 * --edge-config: a config file both edges run with (e.g. `edge: { reconnectRefusedMaxMs: 1000 }` to
 * see what the link's reconnect back-off costs the recoveries).
 * The servers run as the systemd units run them (deploy/systemd/), with NODE_COMPILE_CACHE set before
 * Node starts: a restart then reads even its entry file compiled, and Node's TypeScript stripper is
 * never loaded (common/compile-cache.ts; without it a restart takes some 0.1 CPU-seconds more).
 */
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { stopAll } from '../test/support/processes.ts';
import { percentile } from '../test/support/synthetic-publisher.ts';
import {
  edgeKillScenario, flappingScenario, originKillScenario, overloadScenario, startFaultCluster, stopFaultCluster,
  type EdgeKillResult, type FaultCluster, type OriginKillResult, type RecoveryPhases,
} from '../test/support/fault-scenarios.ts';
import { positiveNumber } from './lib/options.ts';

const { values } = parseArgs({
  options: {
    players: { type: 'string', default: '10' },
    repeat: { type: 'string', default: '3' },
    'record-seconds': { type: 'string', default: '10' },
    'flap-seconds': { type: 'string', default: '60' },
    'flap-period-ms': { type: 'string', default: '5000' },
    'flap-down-ms': { type: 'string', default: '1000' },
    'flood-seconds': { type: 'string', default: '10' },
    'edge-config': { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  },
  strict: true,
});
if (values.help) {
  console.log('usage: npm run bench:faults -- [--players 10] [--repeat 3] [--record-seconds 10] [--flap-seconds 60] [--flap-period-ms 5000] [--flap-down-ms 1000] [--flood-seconds 10] [--edge-config FILE.yaml]');
  process.exit(0);
}
const players = positiveNumber('players', values.players);
const repeat = positiveNumber('repeat', values.repeat);
const recordSeconds = positiveNumber('record-seconds', values['record-seconds']);
const flap = {
  seconds: positiveNumber('flap-seconds', values['flap-seconds']),
  periodMs: positiveNumber('flap-period-ms', values['flap-period-ms']),
  downMs: positiveNumber('flap-down-ms', values['flap-down-ms']),
};
const floodSeconds = positiveNumber('flood-seconds', values['flood-seconds']);

/** One row of the final table: a recovery's times over the runs against its goal (ms; null: no figure to hold). */
interface Row { what: string; samples: number[]; goalMs: number | null }
const rows: Row[] = [];
/** Outcomes that are not times (every frame, the board, the file): what was seen, against what must hold. */
const outcomes: Array<{ what: string; seen: string; ok: boolean }> = [];

const ms = (value: number) => `${value.toFixed(0)} ms`;
function row(what: string, samples: number[], goalMs: number | null): void {
  rows.push({ what, samples, goalMs });
}
/** The median of each phase over the recoveries that reported them, on one line: where a recovery's time went. */
function printPhases(what: string, phases: Array<RecoveryPhases | null>, outage: string): void {
  const known = phases.filter((p): p is RecoveryPhases => p !== null);
  if (known.length === 0) {
    console.log(`  ${what}: no recovery reported by the edges`);
    return;
  }
  const median = (pick: (p: RecoveryPhases) => number | null) => {
    const values = known.map(pick).filter((v): v is number => v !== null);
    return values.length === 0 ? null : percentile(values, 50);
  };
  const parts: Array<[string, number | null]> = [
    ['redial (back-off)', median((p) => p.redialMs)], ['connect', median((p) => p.connectMs)], ['auth', median((p) => p.authMs)],
    ['replay (Play.Start)', median((p) => p.replayMs)], ['first frame', median((p) => p.firstFrameMs)],
  ];
  const shown = parts.filter(([, v]) => v !== null) as Array<[string, number]>;
  const total = median((p) => p.redialMs + p.connectMs + p.authMs + (p.replayMs ?? 0) + (p.firstFrameMs ?? 0));
  console.log(`  ${what} (median of ${known.length}): fault -> detected ${median((p) => p.detectMs)!.toFixed(1)} ms | ${outage} | `
    + `${shown.map(([name, v]) => `${name} ${v.toFixed(1)} ms`).join(' | ')} | sum ${total!.toFixed(0)} ms`);
}

function outcome(what: string, seen: string, ok: boolean): void {
  outcomes.push({ what, seen, ok });
  console.log(`  ${ok ? 'ok  ' : 'FAIL'} ${what}: ${seen}`);
}

async function edgeKills(cluster: FaultCluster): Promise<void> {
  const runs: EdgeKillResult[] = [];
  for (let i = 0; i < repeat; i++) {
    const r = await edgeKillScenario(cluster, { players, strokes: 20 });
    runs.push(r);
    console.log(`edge A kill #${i + 1}: sessions dropped ${ms(r.sessionsDroppedMs)}, gone from /api/edges ${ms(r.registryGoneMs)}, UnpublishNotify on ${players} players of B ${ms(r.unpublishNotifyMs)}; `
      + `restarted: ready ${ms(r.restartReadyMs)}, linked ${ms(r.restartLinkedMs)}, a publish through it playing on B ${ms(r.restartServesMs)} (from its start)`);
    outcome('stream published through the killed edge unpublished', String(r.streamUnpublished), r.streamUnpublished);
    outcome('whiteboard read from B after the kill', `${r.strokesOnB}/${r.strokesDrawn} strokes, member, newcomer and getWhiteboard ${r.boardConsistent ? 'agree' : 'DISAGREE'}`,
      r.boardConsistent && r.strokesOnB === r.strokesDrawn);
  }
  row('edge kill -9: its sessions dropped by the origin', runs.map((r) => r.sessionsDroppedMs), 100);
  row('edge kill -9: gone from the origin\'s registry', runs.map((r) => r.registryGoneMs), 100);
  row(`edge kill -9: UnpublishNotify on B (slowest of ${players})`, runs.map((r) => r.unpublishNotifyMs), 31);
  row('edge restart: linked (from its start)', runs.map((r) => r.restartLinkedMs), 600);
  row('edge restart: linked (from its ready report)', runs.map((r) => r.restartLinkedMs - r.restartReadyMs), 600);
  row('edge restart: a publish through it plays on B (from its start)', runs.map((r) => r.restartServesMs), null);
}

async function originKills(cluster: FaultCluster): Promise<void> {
  const runs: OriginKillResult[] = [];
  for (let i = 0; i < repeat; i++) {
    const r = await originKillScenario(cluster, { players, recordSeconds });
    runs.push(r);
    console.log(`origin kill #${i + 1}: recorded ${r.recordedWallS.toFixed(2)} s of wall time, publisher sent to ${r.sentLastS.toFixed(2)} s, the file reads to ${r.fileLastS.toFixed(2)} s before repair; `
      + `members told Connect.Closed ${ms(r.clientsToldMs)}, players UnpublishNotify ${ms(r.playersToldMs)}; restarted: ready ${ms(r.originReadyMs)}, both edges seen linked ${ms(r.edgesRelinkedMs)} after that; `
      + `edges A, B up ${r.relinkPhases.map((p) => (p === null ? 'unreported' : ms(p.redialMs + p.connectMs + p.authMs))).join(', ')} after it (their own moments)`);
    outcome('recording readable to the last second', `file ${r.fileLastS.toFixed(2)} s of ${r.sentLastS.toFixed(2)} s sent (${(r.sentLastS - r.fileLastS).toFixed(2)} s short; wall ${r.recordedWallS.toFixed(2)} s)`,
      r.fileLastS >= r.sentLastS - 1);
    outcome('recording repaired at restart', `${r.repaired} repaired, last frame ${r.repairedLastS.toFixed(3)} s, metadata duration ${r.metadataDurationS.toFixed(3)} s, marker ${r.markerGone ? 'gone' : 'LEFT'}`,
      r.repaired >= 1 && r.markerGone && Math.abs(r.repairedLastS - r.fileLastS) < 0.001 && Math.abs(r.metadataDurationS - r.repairedLastS) < 0.1);
    outcome('a player kept through the outage plays again', String(r.playerResumed), r.playerResumed);
  }
  printPhases('where the edges\' relink went', runs.flatMap((r) => r.relinkPhases), 'origin down until its ready report (then:)');
  const failed = runs.map((r) => r.failedAttempts);
  console.log(`  link attempts both edges made while the origin was down: ${failed.join(', ')} (over ${runs.map((r) => ((r.originReadyMs + r.edgesRelinkedMs) / 1000).toFixed(1)).join(', ')} s from the restart, plus the time before it)`);
  row('origin kill -9: members told Connect.Closed', runs.map((r) => r.clientsToldMs), null);
  row(`origin kill -9: UnpublishNotify on B (slowest of ${players})`, runs.map((r) => r.playersToldMs), 31);
  // The edges' own moments of coming up (what the goal is about), and when this process saw both up by polling their /metrics (on a loaded machine later).
  const upAfterReady = (r: OriginKillResult) => (r.relinkPhases.every((p) => p !== null)
    ? Math.max(...r.relinkPhases.map((p) => p!.redialMs + p!.connectMs + p!.authMs)) : null);
  row('origin restart: both edges linked (from its ready report)', runs.flatMap((r) => upAfterReady(r) ?? []), 800);
  row('origin restart: both edges seen linked by polling (from its ready report)', runs.map((r) => r.edgesRelinkedMs), null);
  row('origin restart: both edges linked (from its start)', runs.map((r) => r.originReadyMs + r.edgesRelinkedMs), null);
}

async function flapping(cluster: FaultCluster): Promise<void> {
  const r = await flappingScenario(cluster, { players, ...flap });
  const recovered = r.recoveriesMs.filter((v): v is number => v !== null);
  console.log(`link flapping: ${r.cuts} cuts of ${flap.downMs} ms every ${flap.periodMs} ms over ${flap.seconds} s; edge B linked again ${r.relinks} times; `
    + `players on B played again ${recovered.map((v) => v.toFixed(0)).join(', ')} ms after each restore`);
  printPhases('where the time went', r.phases, `path down ${flap.downMs} ms (then, from the restore:)`);
  console.log(`  link attempts edge B made during each cut: ${r.failedAttempts.join(', ')} (${(r.failedAttempts.reduce((a, b) => a + b, 0) / r.cuts / (flap.downMs / 1000)).toFixed(1)} a second of outage on average)`);
  outcome(`every frame on the ${players} players of A`, `${r.framesOnA} frames each, ${r.everyFrameOnA ? 'no gap' : 'GAPS'}`, r.everyFrameOnA);
  outcome(`the ${players} players of B recover after every cut`, `${recovered.length}/${r.cuts} cuts, players ${r.playersOnBKept ? 'kept' : 'CLOSED'}`, recovered.length === r.cuts && r.playersOnBKept);
  row(`link cut: players on B play again after the restore (${r.cuts} cuts)`, recovered, 600);
}

async function overload(cluster: FaultCluster): Promise<void> {
  const r = await overloadScenario(cluster, { players, seconds: floodSeconds, rate: 10 });
  const latency = (l: { p50: number; p99: number }) => `p50 ${l.p50.toFixed(1)} ms, p99 ${l.p99.toFixed(1)} ms`;
  console.log(`flood: ffmpeg at 10x through edge A, its reading player on B got ${r.floodFramesPerSecond.toFixed(0)} frames/s (real time: 30), the stalled one ${r.stalledFrames} frames before it stopped; `
    + `edge B drop episodes ${r.dropEpisodes}; steady players before: ${latency(r.latencyBefore)}, during: ${latency(r.latencyDuring)}`);
  outcome(`every frame on the ${2 * players} steady players during the flood`, `${r.steadyFramesDuring} frames each in ${floodSeconds} s, ${r.everySteadyFrame ? 'no gap' : 'GAPS'}`, r.everySteadyFrame);
  outcome('steady players\' latency p99 before -> during the flood', `${r.latencyBefore.p99.toFixed(1)} -> ${r.latencyDuring.p99.toFixed(1)} ms`, r.latencyDuring.p99 < r.latencyBefore.p99 + 50);
}

function printTable(): void {
  const width = Math.max(...rows.map((r) => r.what.length));
  console.log(`\nrecovery times (median / worst of the runs) against the issue's figures:`);
  console.log(`  ${'recovery'.padEnd(width)}  ${'median'.padStart(9)}  ${'worst'.padStart(9)}  ${'goal'.padStart(9)}  result`);
  for (const r of rows) {
    if (r.samples.length === 0) {
      console.log(`  ${r.what.padEnd(width)}  ${'none'.padStart(9)}  ${''.padStart(9)}  ${r.goalMs === null ? '-'.padStart(9) : ms(r.goalMs).padStart(9)}  NOT MEASURED`);
      continue;
    }
    const median = percentile(r.samples, 50);
    const worst = Math.max(...r.samples);
    const verdict = r.goalMs === null ? '(no figure)' : median <= r.goalMs ? 'goal met' : 'GOAL MISSED';
    console.log(`  ${r.what.padEnd(width)}  ${ms(median).padStart(9)}  ${ms(worst).padStart(9)}  ${(r.goalMs === null ? '-' : ms(r.goalMs)).padStart(9)}  ${verdict}`);
  }
  const failed = outcomes.filter((o) => !o.ok);
  console.log(`\noutcomes: ${outcomes.length - failed.length}/${outcomes.length} held${failed.length ? `; failed: ${failed.map((o) => o.what).join('; ')}` : ''}`);
}

// The folder the servers' startCompileCache() would pick anyway, named before they start (they inherit it).
process.env.NODE_COMPILE_CACHE ??= join(tmpdir(), 'node-compile-cache');
console.log(`servers' compile cache: NODE_COMPILE_CACHE=${process.env.NODE_COMPILE_CACHE} (as the systemd units set it)`);
const cluster = await startFaultCluster(values['edge-config'] ? ['--config', values['edge-config']] : []);
try {
  // The link cuts and the flood first: the kills replace edge A and the origin.
  await flapping(cluster);
  await overload(cluster);
  await edgeKills(cluster);
  await originKills(cluster);
} catch (error) {
  console.error(`faults bench failed: ${(error as Error).stack ?? String(error)}`);
  process.exitCode = 1;
} finally {
  printTable();
  await stopFaultCluster(cluster).catch(() => undefined);
  await stopAll();
}
