/**
 * The faults of issue 14 played on a real cluster (an origin and two edges as separate processes,
 * edge B linked through a FlappingTcpProxy), shared by test/gateway/faults.test.ts (small numbers,
 * asserts what happened) and bench/faults.ts (larger numbers, prints how long each recovery took):
 * kill -9 of an edge, kill -9 of the origin while it records and clients call, the link of edge B
 * cut every few seconds, and a publisher flooding at ten times real time next to a player that
 * stops reading. Each scenario returns what it observed; timings are measured from the fault on
 * this process's clock, by events (onStatus, frames) and by polling the admin API and /metrics. The
 * recoveries of a link are broken down (RecoveryPhases) with the moments the edge reports of its
 * last one (classroom_edge_link_last_recovery_timestamp_seconds: wall-clock times of the same machine).
 */
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { RtmpClient } from '#common/rtmp-client.ts';
import { FlvReader } from '#protocol/flv/flv.ts';
import { decodeOnMetaData } from '#protocol/flv/flv-index.ts';
import { MessageType } from '#protocol/rtmp/message.ts';
import type { AmfObject } from '#protocol/amf/types.ts';
import { eventually, mediaTimeline, publishTestStream, startOrigin, stop, type OriginProcess } from './processes.ts';
import { originHttpOf, startEdge, type EdgeProcess } from './cluster.ts';
import { apiClients, apiStreams, metricValue, originApi, waitForPublished } from './observe.ts';
import { FlappingTcpProxy } from './flapping-tcp-proxy.ts';
import { ffmpegFlv, startFlvPublish } from './flv-publisher.ts';
import { percentile, playSyntheticFrames, startSyntheticPublisher, type SyntheticFrames } from './synthetic-publisher.ts';

/** How often the measuring polls (the admin API, /metrics) run: fine enough for recoveries of tens of milliseconds. */
const POLL_MS = 5;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Scenarios run so far in this process: each names its rooms and streams after it, so a repeated one starts afresh (the whiteboard persists). */
let scenarioRuns = 0;

/** Milliseconds from `start` (performance.now()) until `predicate` holds, polled every POLL_MS. */
export async function msUntil(start: number, predicate: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<number> {
  await eventually(predicate, timeoutMs, what, POLL_MS);
  return performance.now() - start;
}

export interface FaultCluster {
  origin: OriginProcess;
  secret: string;
  /** The origin's link address, 127.0.0.1:PORT. */
  link: string;
  /** Edge B's path to the origin's link. */
  proxy: FlappingTcpProxy;
  /** Linked to the origin directly (replaced when the edge-kill scenario restarts it). */
  edgeA: EdgeProcess;
  /** Linked through `proxy`. */
  edgeB: EdgeProcess;
  /** Extra arguments every edge runs with (a restarted one too). */
  edgeArgs: string[];
}

/** An origin with its link listener, edge A linked to it and edge B linked through a FlappingTcpProxy; `edgeArgs` for both edges (e.g. `--config FILE`). */
export async function startFaultCluster(edgeArgs: string[] = []): Promise<FaultCluster> {
  const secret = 'fault-link-secret';
  const origin = await startOrigin(['--link-port', '0', '--link-secret', secret]);
  const link = `127.0.0.1:${origin.linkPort}`;
  const proxy = new FlappingTcpProxy('127.0.0.1', origin.linkPort!);
  const proxied = await proxy.listen();
  const [edgeA, edgeB] = await Promise.all([
    startEdge('edge-a', link, secret, { originHttp: originHttpOf(origin), args: edgeArgs }),
    startEdge('edge-b', proxied, secret, { originHttp: originHttpOf(origin), args: edgeArgs }),
  ]);
  return { origin, secret, link, proxy, edgeA, edgeB, edgeArgs };
}

export async function stopFaultCluster(cluster: FaultCluster): Promise<void> {
  await Promise.all([cluster.edgeA.stop(), cluster.edgeB.stop()]);
  await cluster.origin.stop();
  await cluster.proxy.close();
}

/** A status a client got, with when (performance.now()). */
interface TimedStatus { streamId: number; code: string; at: number }

/** Every onStatus a client gets, timed; `firstAt(code, after)` is when the first such status came after `after`. */
function recordStatuses(client: RtmpClient): { statuses: TimedStatus[]; firstAt(code: string, after: number): number | null } {
  const statuses: TimedStatus[] = [];
  client.on('status', (streamId, info: AmfObject) => statuses.push({ streamId, code: String(info.code), at: performance.now() }));
  return { statuses, firstAt: (code, after) => statuses.find((s) => s.code === code && s.at >= after)?.at ?? null };
}

/** A player of any stream: its synthetic frames (if the publisher stamps them), when each video frame arrived, and its statuses. */
export interface FaultPlayer extends SyntheticFrames {
  client: RtmpClient;
  /** performance.now() of every video message after the sequence header. */
  arrivals: number[];
  firstStatusAt(code: string, after: number): number | null;
  /** The first video frame that arrived after `after`, null if none yet. */
  firstFrameAfter(after: number): number | null;
}

export async function startFaultPlayer(appUrl: string, name: string): Promise<FaultPlayer> {
  const { client } = await RtmpClient.connect(appUrl);
  const arrivals: number[] = [];
  client.on('media', (message) => { if (message.type === MessageType.Video && message.payload[1] !== 0) arrivals.push(performance.now()); });
  const { firstAt } = recordStatuses(client);
  const frames = await playSyntheticFrames(client, name);
  return {
    client, ...frames, arrivals, firstStatusAt: firstAt,
    firstFrameAfter: (after) => arrivals.find((at) => at > after) ?? null,
  };
}

/** A classroom member (legacy roles, as the test origin runs them) with its NetConnection statuses timed. */
async function joinClassroom(base: string, room: string, name: string, role: 'teacher' | 'student') {
  const { client } = await RtmpClient.connect(`${base}/classroom/${room}`, { connectArgs: [{ name, role }] });
  return { client, ...recordStatuses(client) };
}

/**
 * A new room (named after this scenario run) with its teacher on edge A and a student on edge B,
 * both on its whiteboard: shared object state cannot be carried to another origin session, so
 * when the link goes the edges must tell such members rather than keep them. `board`: the student's.
 */
async function roomAcrossEdges(cluster: FaultCluster, prefix: string) {
  const run = ++scenarioRuns;
  const teacher = await joinClassroom(cluster.edgeA.base, `${prefix}-${run}`, 'Tess', 'teacher');
  const student = await joinClassroom(cluster.edgeB.base, `${prefix}-${run}`, 'Stu', 'student');
  await teacher.client.sharedObject('whiteboard', true).connect();
  const board = await student.client.sharedObject('whiteboard', true).connect();
  return { run, room: `${prefix}-${run}`, teacher, student, board };
}

/** Milliseconds from `since` until the last of `players` got a status `code` (waited for). */
async function slowestStatusMs(players: FaultPlayer[], code: string, since: number): Promise<number> {
  await eventually(() => players.every((p) => p.firstStatusAt(code, since) !== null), 15_000, `${code} on every player`);
  return Math.max(...players.map((p) => p.firstStatusAt(code, since)!)) - since;
}

/** Sequence numbers with no gap. */
export function contiguous(seqs: readonly number[]): boolean {
  return seqs.every((seq, i) => i === 0 || seq === seqs[i - 1]! + 1);
}

function sortedJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => (v && typeof v === 'object' && !Array.isArray(v)
    ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => a.localeCompare(b))) : v));
}

/** Waits until a server process has exited after SIGKILL. */
async function killHard(child: ChildProcess): Promise<void> {
  const exited = once(child, 'exit');
  child.kill('SIGKILL');
  await exited;
}

async function edgeLinked(edge: EdgeProcess): Promise<boolean> {
  return await metricValue(edge.httpPort, 'classroom_edge_link_up').catch(() => 0) === 1;
}

/** The moments of an edge's last link recovery (gateway/link/origin-link.ts LinkRecovery), on this process's performance.now() clock; null before one. */
async function lastLinkRecovery(edge: EdgeProcess): Promise<{ lostAt: number; dialedAt: number; connectedAt: number; upAt: number } | null> {
  const at = async (moment: string) => await edge.metric('classroom_edge_link_last_recovery_timestamp_seconds', { moment }) * 1000 - performance.timeOrigin;
  if (await edge.metric('classroom_edge_link_last_recovery_timestamp_seconds', { moment: 'up' }) === 0) return null;
  return { lostAt: await at('lost'), dialedAt: await at('dialed'), connectedAt: await at('connected'), upAt: await at('up') };
}

/**
 * Where a link recovery's time went (ms), from the fault to the players' first frame. From `from`
 * (the path's restore, or the restarted origin's ready report) the phases add up to the recovery:
 * redial + connect + auth + replay + first frame.
 */
export interface RecoveryPhases {
  /** From the fault until the edge found its link lost. */
  detectMs: number;
  /** From `from` until the attempt that succeeded started (the back-off's share). */
  redialMs: number;
  /** That attempt's TCP connection. */
  connectMs: number;
  /** Hello to AuthOk: the link up, kept sessions replayed. */
  authMs: number;
  /** From the link up until the slowest player got NetStream.Play.Start (its replayed play answered); null without players. */
  replayMs: number | null;
  /** From there until the slowest player's first frame; null without players. */
  firstFrameMs: number | null;
}

/** The phases of `edge`'s last link recovery after a fault at `faultAt` that ended at `from` (performance.now()); with `players`, up to their first frames. */
async function recoveryPhases(edge: EdgeProcess, faultAt: number, from: number, players: FaultPlayer[] = []): Promise<RecoveryPhases | null> {
  const recovery = await lastLinkRecovery(edge);
  if (recovery === null || recovery.lostAt < faultAt - 1) return null; // not this fault's recovery (1 ms: the clocks' rounding)
  const playStarts = players.map((p) => p.firstStatusAt('NetStream.Play.Start', recovery.upAt));
  const frames = players.map((p) => p.firstFrameAfter(recovery.upAt));
  const known = players.length > 0 && playStarts.every((at) => at !== null) && frames.every((at) => at !== null);
  const playStart = known ? Math.max(...playStarts as number[]) : null;
  return {
    detectMs: recovery.lostAt - faultAt, redialMs: recovery.dialedAt - from, connectMs: recovery.connectedAt - recovery.dialedAt, authMs: recovery.upAt - recovery.connectedAt,
    replayMs: playStart === null ? null : playStart - recovery.upAt,
    firstFrameMs: playStart === null ? null : Math.max(...frames as number[]) - playStart,
  };
}

export interface EdgeKillResult {
  /** The origin's admin API lists none of edge A's client sessions any more. */
  sessionsDroppedMs: number;
  /** /api/edges no longer lists edge A. */
  registryGoneMs: number;
  /** Every player of edge A's stream on edge B got NetStream.Play.UnpublishNotify (the slowest). */
  unpublishNotifyMs: number;
  /** The stream published through edge A is no longer published on the origin. */
  streamUnpublished: boolean;
  /** Strokes drawn through edge A before the kill; what the whiteboard reads from edge B after it. */
  strokesDrawn: number;
  strokesOnB: number;
  /** The member on B, a newcomer on B and getWhiteboard all read the same board. */
  boardConsistent: boolean;
  /** The restarted edge A: its ready report, its link up, a new publish through it playing on B; all from its start. */
  restartReadyMs: number;
  restartLinkedMs: number;
  restartServesMs: number;
}

/**
 * kill -9 of edge A while ffmpeg publishes through it to `players` players on edge B and its
 * teacher draws on the whiteboard a student on B sees; then edge A restarted under the same name.
 */
export async function edgeKillScenario(cluster: FaultCluster, options: { players: number; strokes: number }): Promise<EdgeKillResult> {
  const { run, room, teacher, student, board } = await roomAcrossEdges(cluster, 'board');
  for (let i = 0; i < options.strokes; i++) await teacher.client.call('drawStroke', { points: [i, i, i + 10, i + 10], color: 0x336699 });
  await eventually(() => Object.keys(board.data).length === options.strokes, 10_000, 'the strokes on edge B');
  const publisher = publishTestStream(`${cluster.edgeA.base}/live/cam-${run}`);
  const players: FaultPlayer[] = [];
  try {
    await waitForPublished(cluster.origin, `live/cam-${run}`);
    for (let i = 0; i < options.players; i++) players.push(await startFaultPlayer(`${cluster.edgeB.base}/live`, `cam-${run}`));
    await eventually(() => players.every((p) => p.arrivals.length > 10), 15_000, 'the players on B to receive frames');
    await eventually(async () => (await apiClients(cluster.origin)).some((c) => c.via === 'edge-a'), 10_000, 'edge A\'s sessions on the origin');

    const killedAt = performance.now();
    await killHard(cluster.edgeA.child);
    const [sessionsDroppedMs, registryGoneMs, unpublishNotifyMs] = await Promise.all([
      msUntil(killedAt, async () => !(await apiClients(cluster.origin)).some((c) => c.via === 'edge-a'), 15_000, 'edge A\'s sessions dropped'),
      msUntil(killedAt, async () => !(await originApi<{ edges: Array<{ name: string }> }>(cluster.origin, '/api/edges')).edges.some((e) => e.name === 'edge-a'), 15_000, 'edge A gone from the registry'),
      slowestStatusMs(players, 'NetStream.Play.UnpublishNotify', killedAt),
    ]);
    const streamUnpublished = !(await apiStreams(cluster.origin)).some((s) => s.key === `live/cam-${run}` && s.published);

    const newcomer = await RtmpClient.connect(`${cluster.edgeB.base}/classroom/${room}`, { connectArgs: [{ name: 'Nia', role: 'student' }] });
    const [listed] = await newcomer.client.call('getWhiteboard');
    const fresh = await newcomer.client.sharedObject('whiteboard', true).connect();
    const boardConsistent = sortedJson(fresh.data) === sortedJson(board.data) && Array.isArray(listed) && listed.length === Object.keys(board.data).length;
    newcomer.client.close();

    // The same edge comes back: its link, then a publish through it that a player on B receives.
    const waiting = await startFaultPlayer(`${cluster.edgeB.base}/live`, `restarted-${run}`);
    const restartedAt = performance.now();
    const restarted = await startEdge('edge-a', cluster.link, cluster.secret, { originHttp: originHttpOf(cluster.origin), args: cluster.edgeArgs, waitForLink: false });
    cluster.edgeA = restarted;
    const restartReadyMs = performance.now() - restartedAt;
    const restartLinkedMs = await msUntil(restartedAt, () => edgeLinked(restarted), 15_000, 'the restarted edge A linked');
    const second = await startSyntheticPublisher(`${restarted.base}/live`, `restarted-${run}`);
    await eventually(() => waiting.firstFrameAfter(restartedAt) !== null, 15_000, 'a publish through the restarted edge A to play on B');
    const restartServesMs = waiting.firstFrameAfter(restartedAt)! - restartedAt;
    waiting.client.close();
    await second.stop();
    return {
      sessionsDroppedMs, registryGoneMs, unpublishNotifyMs, streamUnpublished, strokesDrawn: options.strokes, strokesOnB: Object.keys(board.data).length,
      boardConsistent, restartReadyMs, restartLinkedMs, restartServesMs,
    };
  } finally {
    for (const p of players) p.client.close();
    teacher.client.close();
    student.client.close();
    await stop(publisher);
  }
}

export interface OriginKillResult {
  /** Seconds recorded (wall time from Record.Start to the kill), and the last media time of the file as ffprobe reads it, before the restart. */
  recordedWallS: number;
  fileLastS: number;
  /** The publisher's last tag timestamp sent, in seconds. */
  sentLastS: number;
  /** The file's last tag survives the repair unchanged, metadata duration matches it, the `.recording` marker is gone. */
  repaired: number;
  repairedLastS: number;
  metadataDurationS: number;
  markerGone: boolean;
  /** Both classroom members on the whiteboard (one per edge) got NetConnection.Connect.Closed; every player on B UnpublishNotify (the slowest of each). */
  clientsToldMs: number;
  playersToldMs: number;
  /** The restarted origin's ready report, from its start; both edges linked again, from its ready report. */
  originReadyMs: number;
  edgesRelinkedMs: number;
  /** Each edge's relink (A, B), from the kill (detect) and from the ready report (redial, connect, auth); null when an edge reported none. */
  relinkPhases: Array<RecoveryPhases | null>;
  /** Attempts to link the edges made (and failed) while the origin was down, both together. */
  failedAttempts: number;
  /** A publish after the restart reaches a player on B that was kept through the outage. */
  playerResumed: boolean;
}

/**
 * kill -9 of the origin while it records a stream published through edge A (`recordSeconds`
 * long so far), `players` players on edge B watch it and two classroom members (one per edge) are
 * on the room's whiteboard; then the origin restarted on the same ports and data folder.
 */
export async function originKillScenario(cluster: FaultCluster, options: { players: number; recordSeconds: number }): Promise<OriginKillResult> {
  const { run, teacher, student } = await roomAcrossEdges(cluster, 'lab');
  const publish = await startFlvPublish(`${cluster.edgeA.base}/live`, `lecture-${run}`, 'record');
  const source = ffmpegFlv(options.recordSeconds + 60, { realtime: true });
  const pumping = publish.pump(source).catch(() => undefined);
  const players: FaultPlayer[] = [];
  try {
    await eventually(() => publish.statuses.some((s) => s.code === 'NetStream.Record.Start'), 10_000, 'NetStream.Record.Start');
    const recordStartedAt = performance.now();
    for (let i = 0; i < options.players; i++) players.push(await startFaultPlayer(`${cluster.edgeB.base}/live`, `lecture-${run}`));
    await eventually(() => players.every((p) => p.arrivals.length > 10), 15_000, 'the players on B to receive frames');
    await teacher.client.call('echo', 'before the crash');
    await student.client.call('echo', 'before the crash');
    await sleep(Math.max(0, options.recordSeconds * 1000 - (performance.now() - recordStartedAt)));

    const { origin } = cluster;
    const attemptFailures = () => Promise.all([cluster.edgeA, cluster.edgeB].map((edge) => edge.metric('classroom_edge_link_attempt_failures_total')))
      .then((counts) => counts.reduce((a, b) => a + b, 0));
    const failuresBefore = await attemptFailures();
    const killedAt = performance.now();
    const sentLastS = publish.sent.lastTimestamp / 1000;
    await killHard(origin.child);
    const recordedWallS = (killedAt - recordStartedAt) / 1000;
    const told = (member: typeof teacher) => member.firstAt('NetConnection.Connect.Closed', killedAt);
    await eventually(() => told(teacher) !== null && told(student) !== null, 15_000, 'both classroom members told Connect.Closed');
    const clientsToldMs = Math.max(told(teacher)!, told(student)!) - killedAt;
    const playersToldMs = await slowestStatusMs(players, 'NetStream.Play.UnpublishNotify', killedAt);
    publish.client.close();
    source.destroy();
    await pumping;

    const file = join(origin.dataDir, 'recordings', 'live', `lecture-${run}.flv`);
    const lastOf = (times: number[]) => times.reduce((a, b) => Math.max(a, b), 0);
    const fileLastS = lastOf((await mediaTimeline(file)).video);
    await eventually(async () => !(await edgeLinked(cluster.edgeA)) && !(await edgeLinked(cluster.edgeB)), 15_000, 'both edges to see the link down');

    const restartedAt = performance.now();
    cluster.origin = await startOrigin(['--rtmp-port', String(origin.port), '--http-port', String(origin.httpPort),
      '--link-port', String(origin.linkPort), '--link-secret', cluster.secret], { dataDir: origin.dataDir });
    const readyAt = performance.now();
    const edgesRelinkedMs = await msUntil(readyAt, async () => (await edgeLinked(cluster.edgeA)) && (await edgeLinked(cluster.edgeB)), 20_000, 'both edges linked to the restarted origin');
    const relinkPhases = await Promise.all([cluster.edgeA, cluster.edgeB].map((edge) => recoveryPhases(edge, killedAt, readyAt)));
    const failedAttempts = await attemptFailures() - failuresBefore;
    const repaired = await metricValue(cluster.origin.httpPort, 'classroom_origin_recordings_repaired_total');
    const tags = new FlvReader().push(readFileSync(file));
    const meta = decodeOnMetaData(tags[0]!.data);
    const repairedLastS = lastOf((await mediaTimeline(file)).video);
    const markerGone = !existsSync(`${file}.recording`);

    // A player kept through the outage plays a publish made after it.
    const again = await startSyntheticPublisher(`${cluster.edgeA.base}/live`, `lecture-${run}`);
    const resumedAfter = performance.now();
    const playerResumed = await eventually(() => players[0]!.firstFrameAfter(resumedAfter) !== null, 15_000, 'a kept player to play the new publish')
      .then(() => true, () => false);
    await again.stop();
    return {
      recordedWallS, fileLastS, sentLastS, repaired, repairedLastS, metadataDurationS: Number(meta?.duration ?? NaN), markerGone,
      clientsToldMs, playersToldMs, originReadyMs: readyAt - restartedAt, edgesRelinkedMs, relinkPhases, failedAttempts, playerResumed,
    };
  } finally {
    for (const p of players) p.client.close();
    teacher.client.close();
    student.client.close();
    publish.client.close();
    source.destroy();
  }
}

export interface FlappingResult {
  cuts: number;
  /** Players on edge A (not behind the flapping link): frames received, and whether every one came with no gap. */
  framesOnA: number;
  everyFrameOnA: boolean;
  /** Per cut, the slowest player on B's wait from the link's restore to its next frame (null: it did not recover within 15 s). */
  recoveriesMs: Array<number | null>;
  /** Per cut, where that time went (null: not recovered, or edge B reported no recovery of it). */
  phases: Array<RecoveryPhases | null>;
  /** Per cut, attempts edge B made to link (and failed) while its path was down. */
  failedAttempts: number[];
  /** Edge B's link came up again after each cut. */
  relinks: number;
  /** Every player on B still connected at the end. */
  playersOnBKept: boolean;
}

/**
 * The link of edge B cut for `downMs` every `periodMs` for `seconds`, while a synthetic publisher
 * on edge A reaches `players` players on A and as many on B.
 */
export async function flappingScenario(cluster: FaultCluster, options: { players: number; seconds: number; periodMs: number; downMs: number }): Promise<FlappingResult> {
  const publisher = await startSyntheticPublisher(`${cluster.edgeA.base}/live`, 'flap');
  const onA: FaultPlayer[] = [];
  const onB: FaultPlayer[] = [];
  try {
    for (let i = 0; i < options.players; i++) {
      onA.push(await startFaultPlayer(`${cluster.edgeA.base}/live`, 'flap'));
      onB.push(await startFaultPlayer(`${cluster.edgeB.base}/live`, 'flap'));
    }
    await eventually(() => [...onA, ...onB].every((p) => p.seqs.length > 10), 15_000, 'every player to receive frames');
    const connectsBefore = await cluster.edgeB.metric('classroom_edge_link_connects_total');
    const recoveriesMs: Array<number | null> = [];
    const phases: Array<RecoveryPhases | null> = [];
    const failedAttempts: number[] = [];
    const endAt = performance.now() + options.seconds * 1000;
    while (performance.now() < endAt) {
      const failuresBefore = await cluster.edgeB.metric('classroom_edge_link_attempt_failures_total');
      const cutAt = performance.now();
      cluster.proxy.cut();
      await sleep(options.downMs);
      cluster.proxy.restore();
      const restoredAt = performance.now();
      const recovered = await eventually(() => onB.every((p) => p.firstFrameAfter(restoredAt) !== null), 15_000, 'the players on B to recover')
        .then(() => true, () => false);
      recoveriesMs.push(recovered ? Math.max(...onB.map((p) => p.firstFrameAfter(restoredAt)!)) - restoredAt : null);
      phases.push(recovered ? await recoveryPhases(cluster.edgeB, cutAt, restoredAt, onB) : null);
      failedAttempts.push(await cluster.edgeB.metric('classroom_edge_link_attempt_failures_total') - failuresBefore);
      await sleep(Math.max(0, options.periodMs - (performance.now() - cutAt)));
    }
    const relinks = await cluster.edgeB.metric('classroom_edge_link_connects_total') - connectsBefore;
    return {
      cuts: recoveriesMs.length, framesOnA: Math.min(...onA.map((p) => p.seqs.length)), everyFrameOnA: onA.every((p) => contiguous(p.seqs)),
      recoveriesMs, phases, failedAttempts, relinks, playersOnBKept: onB.every((p) => !p.client.closed),
    };
  } finally {
    cluster.proxy.restore();
    for (const p of [...onA, ...onB]) p.client.close();
    await publisher.stop();
  }
}

export interface OverloadResult {
  /** Players of a steady 30 fps stream (on both edges): frames each received during the flood (the fewest), and whether every one came with no gap. */
  steadyFramesDuring: number;
  everySteadyFrame: boolean;
  /** Publish-to-play latency of the steady players' frames, before and during the flood. */
  latencyBefore: { p50: number; p99: number };
  latencyDuring: { p50: number; p99: number };
  /** Video frames a reading player of the flooding stream on B received per second of the flood (its publisher sends 30 x `rate` a second). */
  floodFramesPerSecond: number;
  /** Frames the player that stopped reading got before it stopped; it is still connected or was closed by the edge. */
  stalledFrames: number;
  /** Frames the edge dropped for slow players (edge B's drop episodes during the flood). */
  dropEpisodes: number;
}

/**
 * A steady synthetic stream through edge A with `players` players on each edge; then ffmpeg
 * publishes another stream through edge A at `rate` times real time while, on edge B, one player
 * of it reads and one stops reading. What the steady players got before and during `seconds` of it.
 */
export async function overloadScenario(cluster: FaultCluster, options: { players: number; seconds: number; rate: number }): Promise<OverloadResult> {
  const steady = await startSyntheticPublisher(`${cluster.edgeA.base}/live`, 'steady');
  const players: FaultPlayer[] = [];
  let flood: ChildProcess | null = null;
  let floodPlayers: FaultPlayer[] = [];
  try {
    for (let i = 0; i < options.players; i++) {
      players.push(await startFaultPlayer(`${cluster.edgeA.base}/live`, 'steady'));
      players.push(await startFaultPlayer(`${cluster.edgeB.base}/live`, 'steady'));
    }
    await eventually(() => players.every((p) => p.seqs.length > 30), 15_000, 'the steady players past the cached GOP');
    const beforeMarks = players.map((p) => p.latencies.length);
    await sleep(options.seconds * 1000 / 2);
    const floodMarks = players.map((p) => p.latencies.length);
    const dropsBefore = await cluster.edgeB.metric('classroom_edge_media_drop_episodes_total');
    flood = publishTestStream(`${cluster.edgeA.base}/live/flood`, { readRate: options.rate });
    await waitForPublished(cluster.origin, 'live/flood');
    floodPlayers = [await startFaultPlayer(`${cluster.edgeB.base}/live`, 'flood'), await startFaultPlayer(`${cluster.edgeB.base}/live`, 'flood')];
    const [reader, stalled] = floodPlayers as [FaultPlayer, FaultPlayer];
    await eventually(() => stalled.arrivals.length > 0, 10_000, 'the stalling player to start');
    stalled.client.socket.pause();
    const stalledFrames = stalled.arrivals.length;
    const floodStartedAt = performance.now();
    const readerBefore = reader.arrivals.length;
    await sleep(options.seconds * 1000);
    const floodSeconds = (performance.now() - floodStartedAt) / 1000;
    const during = players.map((p, i) => p.seqs.length - floodMarks[i]!);
    const latencies = (from: number[], to: number[] | null) => players.flatMap((p, i) => p.latencies.slice(from[i], to ? to[i] : undefined));
    const summary = (values: number[]) => ({ p50: percentile(values, 50), p99: percentile(values, 99) });
    return {
      steadyFramesDuring: Math.min(...during), everySteadyFrame: players.every((p) => contiguous(p.seqs)),
      latencyBefore: summary(latencies(beforeMarks, floodMarks)), latencyDuring: summary(latencies(floodMarks, null)),
      floodFramesPerSecond: (reader.arrivals.length - readerBefore) / floodSeconds, stalledFrames,
      dropEpisodes: await cluster.edgeB.metric('classroom_edge_media_drop_episodes_total') - dropsBefore,
    };
  } finally {
    for (const p of [...players, ...floodPlayers]) p.client.close();
    if (flood) await stop(flood);
    await steady.stop();
  }
}
