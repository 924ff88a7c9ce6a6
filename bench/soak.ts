/**
 * Soak benchmark (issue 14): a class's worth of everything for minutes, and nothing may creep.
 *
 *   npm run bench:soak [-- --minutes 10 --warmup 2 --players 300 --stayers 30 --classroom 20 --browsers 20 --snapshots DIR --malloc-arena-max N]
 *
 * A real cluster on loopback (an origin and edges A and B as separate processes; the per-address
 * limits lifted, since every client here comes from 127.0.0.1). Three ffmpeg publishers (two into
 * edge A, one into edge B). --players RTMP players (the project's RtmpClient, in this process) spread
 * over both edges and the three streams: --stayers of them play the whole run, the rest join, play
 * 5-30 s and leave, and are replaced at once. --classroom RTMP classroom clients (a teacher per room
 * who clears the board now and then, students who chat and draw) and --browsers browser-protocol
 * WebSocket clients (join, chat, shared-object writes, leave after 10-40 s, join again), both on
 * both edges. A reference player per stream at the origin itself records every keyframe.
 *
 * The three processes run with the node flags production uses (PRODUCTION_NODE_FLAGS) and an inspector on
 * loopback. Sampled every 10 s (plus the time sampling takes): RSS as it is, then (after a full garbage
 * collection asked through the inspector) RSS again, open file descriptors (/proc), heap used, Buffers'
 * external memory and error/warn log lines (their /metrics). As it is, RSS saws up and down with when V8 last collected
 * (a 10 min run of the origin: 150-285 MiB) and the forced collections keep it lower than in production;
 * after a full collection it is what the process retains, which is what a leak grows. Goals: retained
 * RSS after the warm-up, and the V8 heap used after a collection, each grow under 5 % (the floor, the
 * lowest sample, of the second half of the window against the first half's: a leak raises the floor,
 * a passing spike does not); file descriptors flat (within the clients' churn), no error line logged,
 * and every stayer got every keyframe the reference saw from its first one to 3 s before the end.
 * glibc malloc's memory is sampled too, after the collection (bench/lib/malloc-arenas.ts): its main arena
 * ([heap]) and its thread arenas (native memory of the libuv threadpool, zlib, crypto, V8's helper threads),
 * printed with their first- and second-half floors as figures, not a goal: whether the arenas level off
 * (fragmentation) or keep growing (a native leak) is for a long run to show (--minutes 60). CPU seconds each
 * process used in the window (/proc, with the forced collections) are printed per minute.
 * --malloc-arena-max N runs the three servers with MALLOC_ARENA_MAX=N (glibc's cap on arenas), to compare.
 * --snapshots DIR writes each process's heap snapshot before the clients come and after they all left,
 * to compare what a run leaves behind. A snapshot stops the process for seconds and glibc keeps the
 * memory it took (tens of MiB), so they are taken outside the window sampled, and the RSS figures of
 * such a run start that much higher.
 */
import { parseArgs } from 'node:util';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import WebSocket from 'ws';
import { RtmpClient } from '#common/rtmp-client.ts';
import type { RtmpMessage } from '#protocol/rtmp/message.ts';
import { publishTestStream, stopAll, PRODUCTION_NODE_FLAGS } from '../test/support/processes.ts';
import { startCluster, type EdgeProcess } from '../test/support/cluster.ts';
import { ONE_ADDRESS_LOAD_ARGS } from '../test/support/from-address.ts';
import { scrapeMetrics } from '../test/support/prometheus.ts';
import { waitForMetric, waitForPublished } from '../test/support/observe.ts';
import { positiveNumber } from './lib/options.ts';
import { cpuTimes, freePort, rssMiB, sleep } from './lib/processes.ts';
import { mallocMemory } from './lib/malloc-arenas.ts';
import { InspectorSession } from '../test/support/inspector.ts';

const { values } = parseArgs({
  options: {
    minutes: { type: 'string', default: '10' },
    warmup: { type: 'string', default: '2' },
    players: { type: 'string', default: '300' },
    stayers: { type: 'string', default: '30' },
    classroom: { type: 'string', default: '20' },
    browsers: { type: 'string', default: '20' },
    snapshots: { type: 'string' },
    'malloc-arena-max': { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  },
  strict: true,
});
if (values.help) {
  console.log('usage: node bench/soak.ts [--minutes 10] [--warmup 2] [--players 300] [--stayers 30] [--classroom 20] [--browsers 20] [--snapshots DIR] [--malloc-arena-max N]');
  process.exit(0);
}
const MINUTES = positiveNumber('minutes', values.minutes);
const WARMUP_MINUTES = positiveNumber('warmup', values.warmup);
const PLAYERS = positiveNumber('players', values.players);
const STAYERS = Math.min(PLAYERS, positiveNumber('stayers', values.stayers));
const CLASSROOM_CLIENTS = positiveNumber('classroom', values.classroom);
const BROWSERS = positiveNumber('browsers', values.browsers);
const MALLOC_ARENA_MAX = values['malloc-arena-max'] === undefined ? undefined : positiveNumber('malloc-arena-max', values['malloc-arena-max']);
if (WARMUP_MINUTES >= MINUTES) throw new Error('--warmup must be shorter than --minutes');

const STREAMS = ['soak-0', 'soak-1', 'soak-2'];
const ROOMS = ['soak-a', 'soak-b', 'soak-c', 'soak-d'];
const SAMPLE_EVERY_MS = 10_000;
/** Keyframes this close to the end may still be on their way to a stayer. */
const END_MARGIN_MS = 3000;
/** Retained memory's growth allowed after the warm-up (RSS, and the V8 heap alone). */
const GOAL_GROWTH = 0.05;

const random = (min: number, max: number) => min + Math.random() * (max - min);
const pick = <T>(items: readonly T[], i: number): T => items[i % items.length]!;

/** What the clients did, for the report. */
const tally = {
  playerJoins: 0, playerLeaves: 0, playerFailures: 0,
  classroomSessions: 0, classroomCalls: 0, classroomFailures: 0,
  browserSessions: 0, browserMessages: 0, browserFailures: 0,
};
const failures: string[] = [];
function failed(kind: 'playerFailures' | 'classroomFailures' | 'browserFailures', what: string, error: unknown): void {
  tally[kind]++;
  if (failures.length < 20) failures.push(`${what}: ${error instanceof Error ? error.message : String(error)}`);
}
let running = true;

/** An H.264 keyframe (not the sequence header): FLV video tag byte 0 frame type 1, AVC packet type 1. */
function isKeyframe(message: RtmpMessage): boolean {
  return message.type === 9 && message.payload.length > 1 && message.payload[0]! >> 4 === 1 && message.payload[1] === 1;
}

/** A player of `stream` at `base` (an edge, or the origin for the reference) that records its keyframes' timestamps. */
async function play(base: string, stream: string): Promise<{ client: RtmpClient; keyframes: number[] }> {
  const { client } = await RtmpClient.connect(`${base}/live`, { timeoutMs: 10_000 });
  const keyframes: number[] = [];
  client.on('media', (message) => { if (isKeyframe(message)) keyframes.push(message.timestamp); });
  const streamId = await client.createStream();
  client.streamCommand(streamId, 'play', stream, -1000);
  await client.waitForStatus(streamId, 'NetStream.Play.Start', 10_000);
  return { client, keyframes };
}

/** A churning player slot: plays 5-30 s, leaves, and starts again until the run ends. */
async function churningPlayer(slot: number, edges: EdgeProcess[]): Promise<void> {
  while (running) {
    const edge = pick(edges, slot + tally.playerJoins);
    try {
      const { client } = await play(edge.base, pick(STREAMS, slot));
      tally.playerJoins++;
      await sleep(random(5000, 30_000));
      client.close();
      tally.playerLeaves++;
    } catch (error) {
      failed('playerFailures', `player ${slot} on ${edge.name}`, error);
      await sleep(1000);
    }
  }
}

/** A classroom client slot: a teacher (slot < rooms) clears the board every 20 s; students chat and draw every 2 s, for 10-40 s a session. */
async function classroomClient(slot: number, edges: EdgeProcess[]): Promise<void> {
  const teacher = slot < ROOMS.length;
  const room = pick(ROOMS, slot);
  while (running) {
    const edge = pick(edges, slot + tally.classroomSessions);
    let client: RtmpClient | null = null;
    try {
      // A new name per session: the last session's leave may still be on its way through the other edge.
      ({ client } = await RtmpClient.connect(`${edge.base}/classroom/${room}`, { connectArgs: [{ name: `${teacher ? 'Teacher' : 'Student'}${slot}-${tally.classroomSessions}`, role: teacher ? 'teacher' : 'student' }], timeoutMs: 10_000 }));
      tally.classroomSessions++;
      const until = Date.now() + (teacher ? 60_000 : random(10_000, 40_000));
      while (running && Date.now() < until) {
        if (teacher) {
          await client.call('clearWhiteboard');
          await sleep(20_000);
        } else {
          await client.call('sendChat', `hello from ${slot}`);
          await client.call('drawStroke', { color: 0x3366ff, width: 2, points: [random(0, 100), random(0, 100), random(0, 100), random(0, 100)] });
          await sleep(2000);
        }
        tally.classroomCalls += teacher ? 1 : 2;
      }
    } catch (error) {
      if (running) failed('classroomFailures', `classroom client ${slot} on ${edge.name}`, error);
      await sleep(1000);
    } finally {
      client?.close();
    }
  }
}

/** One browser session on /ws: join, chat and write a shared-object slot every 2 s, for `seconds`. */
function browserSession(edge: EdgeProcess, slot: number, seconds: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${edge.httpPort}/ws`);
    let timer: NodeJS.Timeout | undefined;
    let sent = 0;
    const end = (error?: Error) => {
      clearInterval(timer);
      ws.removeAllListeners();
      ws.on('error', () => {});
      ws.close();
      if (error) reject(error); else resolve();
    };
    ws.on('error', (error) => end(error));
    ws.on('close', () => end(running ? new Error('the edge closed the WebSocket') : undefined));
    ws.on('message', (data) => {
      const message = JSON.parse(String(data)) as { type: string; message?: string; code?: string };
      if (message.type === 'hello') ws.send(JSON.stringify({ type: 'join', room: pick(ROOMS, slot), name: `Browser${slot}-${tally.browserSessions}` }));
      else if (message.type === 'joined') {
        ws.send(JSON.stringify({ type: 'so.use', name: 'soak-notes' }));
        timer = setInterval(() => {
          if (!running || ++sent > seconds / 2) return end();
          ws.send(JSON.stringify({ type: 'chat', id: `c${sent}`, text: `browser ${slot} says ${sent}` }));
          ws.send(JSON.stringify({ type: 'so.set', name: 'soak-notes', key: `b${slot}`, value: { sent, at: Date.now() } }));
          tally.browserMessages += 2;
        }, 2000);
      } else if (message.type === 'error') end(new Error(`${message.code}: ${message.message}`));
    });
  });
}

async function browserClient(slot: number, edges: EdgeProcess[]): Promise<void> {
  while (running) {
    const edge = pick(edges, slot + tally.browserSessions);
    try {
      tally.browserSessions++;
      await browserSession(edge, slot, random(10, 40));
    } catch (error) {
      failed('browserFailures', `browser ${slot} on ${edge.name}`, error);
      await sleep(1000);
    }
  }
}

/** A process of the cluster as sampled: its pid, its /metrics port and an inspector session on it. */
interface Watched { pid: number; httpPort: number; inspector: InspectorSession }
/**
 * `rawRssMiB`: RSS as found; `rssMiB`: after a full collection (what the process retains); heap, external and
 * malloc's arenas also after it. `cpuSeconds`: user and kernel time the process has used so far.
 */
interface ProcessSample {
  rawRssMiB: number; rssMiB: number; fds: number; heapMiB: number; externalMiB: number; errors: number; warnings: number;
  mainArenaMiB: number; threadArenasMiB: number; threadArenaHeaps: number; cpuSeconds: number;
}
interface Sample { at: number; processes: Record<string, ProcessSample> }

async function sampleProcess({ pid, httpPort, inspector }: Watched): Promise<ProcessSample> {
  const rawRssMiB = rssMiB(pid);
  await inspector.collectGarbage();
  const scrape = await scrapeMetrics(httpPort);
  const cpu = cpuTimes(pid);
  return {
    rawRssMiB,
    rssMiB: rssMiB(pid),
    ...mallocMemory(pid),
    cpuSeconds: cpu.user + cpu.system,
    fds: readdirSync(`/proc/${pid}/fd`).length,
    heapMiB: scrape.value('nodejs_heap_size_used_bytes') / 2 ** 20,
    // Buffers' memory (media packets) lives outside the V8 heap.
    externalMiB: scrape.value('nodejs_external_memory_bytes') / 2 ** 20,
    errors: scrape.value('classroom_log_lines_total', { level: 'error' }),
    warnings: scrape.value('classroom_log_lines_total', { level: 'warn' }),
  };
}

/**
 * How much the floor (the lowest value) of the second half of `values` is over the first half's: a leak
 * raises the floor retained memory comes back to; one high sample (a burst of clients) does not count.
 */
function floorGrowth(values: number[]): { first: number; second: number; growth: number } {
  const half = Math.ceil(values.length / 2);
  const [first, second] = [Math.min(...values.slice(0, half)), Math.min(...values.slice(half))];
  return { first, second, growth: (second - first) / first };
}

/** Keyframes of the reference (origin) a stayer should have had: from its first keyframe to END_MARGIN_MS before the reference's last. */
function missedKeyframes(reference: readonly number[], got: readonly number[]): number {
  if (got.length === 0) return reference.length;
  const have = new Set(got);
  const last = reference.at(-1)! - END_MARGIN_MS;
  return reference.filter((t) => t >= got[0]! && t <= last && !have.has(t)).length;
}

async function main(): Promise<void> {
  const edgeNames = ['soak-edge-a', 'soak-edge-b'];
  const inspectorPorts = new Map<string, number>();
  for (const name of ['origin', ...edgeNames]) inspectorPorts.set(name, await freePort());
  // The servers inherit this process's environment; glibc reads MALLOC_ARENA_MAX as a process starts, so it is
  // set only while they start (not for the ffmpeg publishers started later, nor this process, started already).
  if (MALLOC_ARENA_MAX !== undefined) process.env.MALLOC_ARENA_MAX = String(MALLOC_ARENA_MAX);
  const cluster = await startCluster(edgeNames, { originArgs: ONE_ADDRESS_LOAD_ARGS, edgeArgs: ONE_ADDRESS_LOAD_ARGS,
    extraNodeFlags: (name) => [InspectorSession.nodeOption(inspectorPorts.get(name)!)] }).finally(() => { delete process.env.MALLOC_ARENA_MAX; });
  const edges = cluster.edges;
  const originBase = `rtmp://127.0.0.1:${cluster.origin.port}`;
  const watched: Record<string, Watched> = {};
  const snapshots = async (label: string) => {
    if (values.snapshots) for (const [name, { inspector }] of Object.entries(watched)) await inspector.heapSnapshot(join(values.snapshots, `${name}-${label}.heapsnapshot`));
  };
  try {
    for (const { name, pid, httpPort } of [{ name: 'origin', pid: cluster.origin.child.pid!, httpPort: cluster.origin.httpPort },
      ...edges.map((edge) => ({ name: edge.name, pid: edge.child.pid!, httpPort: edge.httpPort }))]) {
      watched[name] = { pid, httpPort, inspector: await InspectorSession.attach(inspectorPorts.get(name)!) };
    }
    STREAMS.forEach((stream, i) => publishTestStream(`${pick([edges[0]!, edges[1]!, edges[0]!], i).base}/live/${stream}`));
    for (const stream of STREAMS) await waitForPublished(cluster.origin, `live/${stream}`, 30_000);
    await snapshots('before-clients');
    const references = await Promise.all(STREAMS.map((stream) => play(originBase, stream)));
    const stayers = await Promise.all(Array.from({ length: STAYERS }, async (_, i) => ({ stream: i % STREAMS.length, edge: pick(edges, i).name, ...await play(pick(edges, i).base, pick(STREAMS, i)) })));
    console.log(`soak: ${MINUTES} min (warm-up ${WARMUP_MINUTES}), node ${PRODUCTION_NODE_FLAGS.join(' ')}, 3 streams, ${PLAYERS} players (${STAYERS} stay), ${CLASSROOM_CLIENTS} classroom clients, ${BROWSERS} browsers, over ${edges.length} edges, MALLOC_ARENA_MAX ${MALLOC_ARENA_MAX ?? 'unset (glibc default: 8 per core)'}`);
    const loops = [
      ...Array.from({ length: PLAYERS - STAYERS }, (_, i) => churningPlayer(i, edges)),
      ...Array.from({ length: CLASSROOM_CLIENTS }, (_, i) => classroomClient(i, edges)),
      ...Array.from({ length: BROWSERS }, (_, i) => browserClient(i, edges)),
    ];
    const samples: Sample[] = [];
    const started = Date.now();
    while (Date.now() - started < MINUTES * 60_000) {
      await sleep(SAMPLE_EVERY_MS);
      // The three at once: each collection takes a second or more on a busy 2-core machine.
      const processes = Object.fromEntries(await Promise.all(Object.entries(watched).map(async ([name, target]) => [name, await sampleProcess(target)] as const)));
      const at = (Date.now() - started) / 1000;
      samples.push({ at, processes });
      console.log(`  ${at.toFixed(0).padStart(4)} s: ${Object.entries(processes).map(([name, p]) => `${name} ${p.rawRssMiB.toFixed(0)}/${p.rssMiB.toFixed(0)} MiB ${p.fds} fds heap ${p.heapMiB.toFixed(0)} ext ${p.externalMiB.toFixed(0)} malloc ${p.mainArenaMiB.toFixed(1)}+${p.threadArenasMiB.toFixed(1)} MiB`).join('; ')}`
        + ` | players ${tally.playerJoins} joined ${tally.playerLeaves} left; classroom ${tally.classroomCalls} calls; browsers ${tally.browserSessions} sessions; failures ${tally.playerFailures}/${tally.classroomFailures}/${tally.browserFailures}`);
    }
    running = false;
    const stayersOpen = stayers.filter((s) => !s.client.closed).length;
    for (const s of [...stayers, ...references]) s.client.close();
    await Promise.all(loops);
    if (values.snapshots) {
      await waitForMetric(cluster.origin.httpPort, 'classroom_origin_players', (n) => n === 0, { timeoutMs: 30_000 });
      for (const edge of edges) await waitForMetric(edge.httpPort, 'classroom_edge_players', (n) => n === 0, { timeoutMs: 30_000 });
      await snapshots('after-clients');
    }

    const ok = (pass: boolean) => (pass ? 'OK' : 'MISSED');
    const afterWarmup = samples.find((s) => s.at >= WARMUP_MINUTES * 60) ?? samples[0]!;
    const last = samples.at(-1)!;
    console.log(`\nafter ${MINUTES} min (figures from the first sample after the ${WARMUP_MINUTES} min warm-up at ${afterWarmup.at.toFixed(0)} s to the last at ${last.at.toFixed(0)} s;`
      + ' RSS as found / retained, after a full collection):');
    for (const name of Object.keys(watched)) {
      const from = afterWarmup.processes[name]!;
      const to = last.processes[name]!;
      const window = samples.filter((s) => s.at >= afterWarmup.at).map((s) => s.processes[name]!);
      const rss = window.map((p) => p.rssMiB);
      const rawRss = window.map((p) => p.rawRssMiB);
      const rssGrowth = floorGrowth(rss);
      // The V8 heap alone after a collection: a leak of JavaScript objects shows here long before it moves RSS.
      const heapGrowth = floorGrowth(window.map((p) => p.heapMiB));
      console.log(`  ${name}: RSS as found ${Math.min(...rawRss).toFixed(1)}-${Math.max(...rawRss).toFixed(1)} MiB; retained ${from.rssMiB.toFixed(1)} -> ${to.rssMiB.toFixed(1)} MiB (min ${Math.min(...rss).toFixed(1)}, max ${Math.max(...rss).toFixed(1)}); `
        + `floor of the first half ${rssGrowth.first.toFixed(1)}, of the second ${rssGrowth.second.toFixed(1)} MiB: growth ${(rssGrowth.growth * 100).toFixed(1)} %   goal < 5 %   ${ok(rssGrowth.growth < GOAL_GROWTH)}`);
      console.log(`  ${name}: RSS every sample after warm-up, as found (MiB): ${rawRss.map((v) => v.toFixed(0)).join(' ')}`);
      console.log(`  ${name}: RSS every sample after warm-up, retained (MiB): ${rss.map((v) => v.toFixed(0)).join(' ')}`);
      console.log(`  ${name}: heap used after a collection ${from.heapMiB.toFixed(1)} -> ${to.heapMiB.toFixed(1)} MiB, floor of the first half ${heapGrowth.first.toFixed(1)}, of the second ${heapGrowth.second.toFixed(1)} MiB: `
        + `growth ${(heapGrowth.growth * 100).toFixed(1)} %   goal < 5 %   ${ok(heapGrowth.growth < GOAL_GROWTH)}`);
      console.log(`  ${name}: external (Buffers) ${from.externalMiB.toFixed(1)} -> ${to.externalMiB.toFixed(1)} MiB; file descriptors ${from.fds} -> ${to.fds}   goal flat (within the churn of ${PLAYERS - STAYERS + CLASSROOM_CLIENTS + BROWSERS} clients)   ${ok(to.fds <= from.fds + (PLAYERS - STAYERS + CLASSROOM_CLIENTS + BROWSERS) * 0.1)}`);
      const mainArena = floorGrowth(window.map((p) => p.mainArenaMiB));
      const threadArenas = floorGrowth(window.map((p) => p.threadArenasMiB));
      console.log(`  ${name}: malloc main arena ([heap]) ${from.mainArenaMiB.toFixed(1)} -> ${to.mainArenaMiB.toFixed(1)} MiB, floor of the first half ${mainArena.first.toFixed(1)}, of the second ${mainArena.second.toFixed(1)} MiB; `
        + `thread arenas (${from.threadArenaHeaps} -> ${to.threadArenaHeaps} heaps of 64 MiB) ${from.threadArenasMiB.toFixed(1)} -> ${to.threadArenasMiB.toFixed(1)} MiB (max ${Math.max(...window.map((p) => p.threadArenasMiB)).toFixed(1)}), `
        + `floor of the first half ${threadArenas.first.toFixed(1)}, of the second ${threadArenas.second.toFixed(1)} MiB   (figures, no goal)`);
      console.log(`  ${name}: malloc thread arenas every sample after warm-up (MiB): ${window.map((p) => p.threadArenasMiB.toFixed(1)).join(' ')}`);
      console.log(`  ${name}: CPU ${((to.cpuSeconds - from.cpuSeconds) / ((last.at - afterWarmup.at) / 60)).toFixed(1)} s per minute over the window (with the forced collections)`);
      console.log(`  ${name}: log lines error ${to.errors}, warn ${to.warnings}   goal no error   ${ok(to.errors === 0)}`);
    }
    const missed = stayers.map((s) => missedKeyframes(references[s.stream]!.keyframes, s.keyframes));
    const expected = stayers.map((s) => missedKeyframes(references[s.stream]!.keyframes, []));
    console.log(`  stayers: ${stayersOpen}/${STAYERS} still playing at the end; keyframes missed ${missed.reduce((a, b) => a + b, 0)} of ${expected.reduce((a, b) => a + b, 0)}`
      + ` (worst stayer ${Math.max(...missed)})   goal none missed   ${ok(stayersOpen === STAYERS && missed.every((m) => m === 0))}`);
    console.log(`  clients: players ${tally.playerJoins} joins, ${tally.playerLeaves} leaves, ${tally.playerFailures} failures; classroom ${tally.classroomSessions} sessions, `
      + `${tally.classroomCalls} calls, ${tally.classroomFailures} failures; browsers ${tally.browserSessions} sessions, ${tally.browserMessages} messages, ${tally.browserFailures} failures`);
    for (const failure of failures) console.log(`    failure: ${failure}`);
  } finally {
    running = false;
    for (const { inspector } of Object.values(watched)) inspector.close();
    await stopAll();
  }
}

await main();
process.exit(0);
