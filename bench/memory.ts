/**
 * Memory benchmark (issue 14): what one player and one idle connection cost `npm start` (main.ts: an
 * origin and its edge in one process), and whether it is returned when they leave. Goal: under 64 KiB each.
 *
 *   npm run bench:memory [-- --players 200 --idle 5000 --settle 10 --servers ours,nginx --node-options=--max-semi-space-size=1]
 *
 * (a) Players: a ~1 Mbit/s H.264/AAC stream (bench/lib/source.ts) is published to the edge; --players
 *     rtmpdump players join at the edge, then leave, twice; then as many play directly at the origin, then leave.
 *     The first round at the edge also pays what the process pays once (the relay path's compiled code, the
 *     allocator's arenas growing for the sockets' native memory, kept for the next players): the second
 *     round is what each further player costs, and the goal is judged on it; both are printed.
 *     Each phase is sampled once the edge's or origin's players gauge shows them all and --settle seconds
 *     have passed: process RSS (/proc) and V8 heap used and external memory (the process's /metrics,
 *     prom-client's nodejs_* gauges). Per player = (RSS with N - RSS before) / N. nginx-rtmp serves
 *     the same players in the same run, for the ratio.
 * (b) Idle connections: --idle TCP connections (try 10000) complete the RTMP handshake at the edge and
 *     then say nothing (the connect deadline and idle timeout are lifted for this phase); per connection
 *     = (RSS with them - RSS before) / N; then they close and it is sampled again.
 * "returned" compares the sample after they leave with the one before they came (within 25% of what they took).
 * Before each sample of ours V8 collects garbage (asked through the inspector: node --inspect=127.0.0.1:PORT),
 * so heap figures are live memory; --snapshots DIR also writes a heap snapshot there per sample.
 * --node-options are the node flags our server runs with (default PRODUCTION_NODE_FLAGS, test/support/processes.ts: as
 * `npm start` and the systemd units run it; `--node-options=` measures V8's defaults); --script runs another
 * checkout's main.ts (a baseline: `git archive HEAD | tar -x -C DIR`, with DIR/node_modules linked to this one's).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { ChildProcess } from 'node:child_process';
import type { Socket } from 'node:net';
import { RtmpClient } from '#common/rtmp-client.ts';
import { freePort, procStatusMiB, rssMiB, runBench, sleep, start, stop, waitForPort, type Started } from './lib/processes.ts';
import { serverKinds } from './lib/servers.ts';
import { InspectorSession } from '../test/support/inspector.ts';
import { mallocMemory } from './lib/malloc-arenas.ts';
import { makeSource, publishSource, type Source } from './lib/source.ts';
import { ONE_ADDRESS_LOAD_ARGS, socketFrom } from '../test/support/from-address.ts';
import { startLocalCluster } from '../test/support/cluster.ts';
import { stop as stopServer, PRODUCTION_NODE_FLAGS } from '../test/support/processes.ts';
import { scrapeMetrics } from '../test/support/prometheus.ts';
import { waitForMetric } from '../test/support/observe.ts';

const GOAL_KIB = 64;
/** Memory counts as returned when what is left after they leave is at most this share of what they took. */
const RETURNED_SHARE = 0.25;
/** Idle connections opened at once (the kernel's accept queue and the edge's handshakes in flight). */
const IDLE_IN_FLIGHT = 200;
/** Sources of idle connections: loopback addresses, so one address does not exhaust its ephemeral ports. */
const IDLE_ADDRESSES = ['127.0.0.2', '127.0.0.3', '127.0.0.4', '127.0.0.5'];
const PLAYER_STAGGER_MS = 20;

const { values } = parseArgs({
  options: {
    players: { type: 'string', default: '200' },
    idle: { type: 'string', default: '5000' },
    settle: { type: 'string', default: '10' },
    servers: { type: 'string', default: 'ours,nginx' },
    // As `npm start` and the systemd units run the servers.
    'node-options': { type: 'string', default: PRODUCTION_NODE_FLAGS.join(' ') },
    snapshots: { type: 'string' },
    script: { type: 'string', default: 'main.ts' },
    help: { type: 'boolean', short: 'h' },
  },
  strict: true,
});
if (values.help) {
  console.log('usage: node bench/memory.ts [--players 200] [--idle 5000] [--settle 10] [--servers ours,nginx] [--node-options=...] [--snapshots DIR] [--script main.ts]');
  process.exit(0);
}
const PLAYERS = Number(values.players);
const IDLE = Number(values.idle);
const SETTLE_MS = Number(values.settle) * 1000;
const SERVERS = values.servers.split(',');

/**
 * One sample of a process's memory: RSS, its anonymous part (the heap, malloc, stacks: what clients can
 * grow; the rest is mapped files such as the node binary), and for ours V8's heap and external memory
 * (NaN where the server has no /metrics: nginx).
 */
interface MemorySample { rssMiB: number; anonMiB: number; brkMiB: number; heapUsedMiB: number; heapTotalMiB: number; externalMiB: number }

/** Ours, after a full garbage collection (so the heap counts what is live), with a heap snapshot in --snapshots if asked. */
async function sampleOurs(pid: number, httpPort: number, inspector: InspectorSession, label: string): Promise<MemorySample> {
  if (values.snapshots) await inspector.heapSnapshot(join(values.snapshots, `${String(++snapshotCount).padStart(2, '0')}-${label.replaceAll(/\W+/g, '-')}.heapsnapshot`));
  await inspector.collectGarbage();
  const metrics = await scrapeMetrics(httpPort);
  const mib = (name: string) => metrics.value(name) / 1024 / 1024;
  return { ...sampleProcess(pid), heapUsedMiB: mib('nodejs_heap_size_used_bytes'), heapTotalMiB: mib('nodejs_heap_size_total_bytes'), externalMiB: mib('nodejs_external_memory_bytes') };
}
let snapshotCount = 0;

/** What /proc says of any process (nginx's too); V8's figures NaN. */
function sampleProcess(pid: number): MemorySample {
  return { rssMiB: rssMiB(pid), anonMiB: procStatusMiB(pid, 'RssAnon'), brkMiB: mallocMemory(pid).mainArenaMiB, heapUsedMiB: NaN, heapTotalMiB: NaN, externalMiB: NaN };
}

const fmt = (n: number, digits = 1): string => (Number.isFinite(n) ? n.toFixed(digits) : '-');

function printSample(label: string, sample: MemorySample): void {
  console.log(`  ${label.padEnd(34)} RSS ${fmt(sample.rssMiB).padStart(7)} MiB (anonymous ${fmt(sample.anonMiB).padStart(6)}, malloc [heap] ${fmt(sample.brkMiB).padStart(5)})  heap used ${fmt(sample.heapUsedMiB).padStart(6)} / total ${fmt(sample.heapTotalMiB).padStart(6)} MiB  external ${fmt(sample.externalMiB).padStart(6)} MiB`);
}

/**
 * Prints what each of `count` clients cost (RSS and heap), against the goal unless `judged` is false
 * (a round that also pays the process's one-time costs), and whether leaving returned it.
 */
function printPerClient(what: string, count: number, before: MemorySample, during: MemorySample, after: MemorySample | null, judged = true): void {
  const perKiB = (key: keyof MemorySample) => ((during[key] - before[key]) * 1024) / count;
  const rss = perKiB('rssMiB');
  const verdict = judged ? `goal < ${GOAL_KIB} KiB: ${rss < GOAL_KIB ? 'met' : 'MISSED'}` : 'with what the process pays once';
  console.log(`  => ${what}: ${fmt(rss)} KiB RSS each (${verdict}); anonymous ${fmt(perKiB('anonMiB'))} KiB, heap used ${fmt(perKiB('heapUsedMiB'))} KiB, external ${fmt(perKiB('externalMiB'))} KiB each`);
  if (!after) return;
  const taken = during.rssMiB - before.rssMiB;
  const left = after.rssMiB - before.rssMiB;
  const returned = left <= Math.max(taken, 0) * RETURNED_SHARE;
  console.log(`     after they left: ${fmt(left)} of ${fmt(taken)} MiB RSS still held (${returned ? 'returned' : 'NOT returned'}); malloc [heap] ${fmt(after.brkMiB - before.brkMiB)} MiB, heap used ${fmt(after.heapUsedMiB - before.heapUsedMiB)} MiB over before`);
}

/** rtmpdump players of `url`, started a little apart (as fanout.ts does) so the server is not sampled mid-burst. */
async function rtmpdumpPlayers(url: string, count: number): Promise<Started[]> {
  const players: Started[] = [];
  for (let i = 0; i < count; i++) {
    players.push(start(`player-${i}`, 'rtmpdump', ['-q', '-r', url, '-o', '/dev/null']));
    await sleep(PLAYER_STAGGER_MS);
  }
  return players;
}

/** Waits until the server's `gauge` counts every player still running; says how many gave up. */
async function waitForPlayers(httpPort: number, gauge: string, players: Started[]): Promise<void> {
  const deadline = Date.now() + 120_000;
  for (;;) {
    const running = players.filter((p) => !p.hasExited()).length;
    const counted = (await scrapeMetrics(httpPort)).value(gauge);
    if (counted >= running) {
      if (running < players.length) console.log(`  !!! ${players.length - running} of ${players.length} players exited`);
      return;
    }
    if (Date.now() > deadline) throw new Error(`${gauge} is ${counted} of ${running} players after 120 s`);
    await sleep(500);
  }
}

/** Our server: players at the edge, then at the origin, then idle connections at the edge. */
async function measureOurs(source: Source, runDir: string): Promise<{ perPlayerKiB: number }> {
  const dataDir = join(runDir, 'ours');
  mkdirSync(dataDir);
  // Room for every idle connection, and neither the connect deadline nor the idle timeout closes them (players are unaffected).
  const configFile = join(runDir, 'ours.json');
  writeFileSync(configFile, JSON.stringify({ origin: { maxConnections: IDLE + PLAYERS + 100, idleTimeoutMs: 3_600_000, connectTimeoutMs: 600_000 } }));
  const inspectorPort = await freePort();
  const nodeFlags = [...values['node-options'].split(' ').filter((flag) => flag !== ''), InspectorSession.nodeOption(inspectorPort)];
  let server: ChildProcess | null = null;
  let inspector: InspectorSession | null = null;
  try {
    const cluster = await startLocalCluster(dataDir, [...ONE_ADDRESS_LOAD_ARGS, '--config', configFile], { script: values.script, nodeFlags });
    server = cluster.child;
    const pid = server.pid!;
    const session = inspector = await InspectorSession.attach(inspectorPort);
    const sample = async (what: string) => {
      const result = await sampleOurs(pid, cluster.originHttpPort, session, what);
      printSample(what, result);
      return result;
    };
    const settle = () => sleep(SETTLE_MS);

    console.log(`\nours (${values.script}, pid ${pid}${values['node-options'] ? `, node ${values['node-options']}` : ''}):`);
    await settle();
    await sample('idle');

    const publisher = publishSource(source, `rtmp://127.0.0.1:${cluster.edgePort}/live/bench`, join(runDir, 'publisher.log'));
    await waitForMetric(cluster.originHttpPort, 'classroom_origin_publishers', (n) => n === 1, { timeoutMs: 30_000 });
    await settle();
    let before = await sample('publisher alone');

    let perPlayerKiB = NaN;
    const rounds = [
      ['edge', 'the first players at the edge', cluster.edgePort, 'classroom_edge_players'],
      ['edge', 'players at the edge again', cluster.edgePort, 'classroom_edge_players'],
      ['origin', 'players at the origin', cluster.ready.origin!.rtmp!.port, 'classroom_origin_players'],
    ] as const;
    for (const [where, round, port, gauge] of rounds) {
      const players = await rtmpdumpPlayers(`rtmp://127.0.0.1:${port}/live/bench`, PLAYERS);
      await waitForPlayers(cluster.originHttpPort, gauge, players);
      await settle();
      const serving = await sample(`${PLAYERS} ${round}`);
      await Promise.all(players.map((p) => stop(p)));
      await waitForMetric(cluster.originHttpPort, gauge, (n) => n === 0, { timeoutMs: 60_000 });
      await settle();
      const left = await sample(`after they left the ${where}`);
      printPerClient(`per player, ${round}`, PLAYERS, before, serving, left, round !== 'the first players at the edge');
      if (round === 'players at the edge again') perPlayerKiB = ((serving.rssMiB - before.rssMiB) * 1024) / PLAYERS;
      before = left;
    }
    await stop(publisher);
    await waitForMetric(cluster.originHttpPort, 'classroom_origin_publishers', (n) => n === 0, { timeoutMs: 30_000 });

    if (IDLE > 0) {
      await settle();
      before = await sample('before idle connections');
      const sockets = await openIdleConnections(cluster.edgePort, IDLE);
      await waitForMetric(cluster.originHttpPort, 'classroom_edge_rtmp_connections', (n) => n >= sockets.length, { timeoutMs: 60_000 });
      await settle();
      const holding = await sample(`${sockets.length} idle connections`);
      for (const socket of sockets) socket.destroy();
      await waitForMetric(cluster.originHttpPort, 'classroom_edge_rtmp_connections', (n) => n === 0, { timeoutMs: 60_000 });
      await settle();
      const closed = await sample('after they closed');
      if (sockets.length < IDLE) console.log(`  !!! only ${sockets.length} of ${IDLE} idle connections completed the handshake`);
      printPerClient('per idle connection', sockets.length, before, holding, closed);
    }
    return { perPlayerKiB };
  } finally {
    inspector?.close();
    if (server) await stopServer(server);
  }
}

/** `count` connections to the edge that complete the handshake and then say nothing; the ones that made it. */
async function openIdleConnections(port: number, count: number): Promise<Socket[]> {
  const sockets: Socket[] = [];
  let next = 0;
  const opener = async (): Promise<void> => {
    while (next < count) {
      const index = next++;
      try {
        const socket = await socketFrom(IDLE_ADDRESSES[index % IDLE_ADDRESSES.length]!, port);
        await RtmpClient.over(socket, { timeoutMs: 30_000 });
        sockets.push(socket);
      } catch {
        // Counted as missing in the report.
      }
    }
  };
  await Promise.all(Array.from({ length: IDLE_IN_FLIGHT }, opener));
  return sockets;
}

async function measureNginx(source: Source, runDir: string): Promise<{ perPlayerKiB: number }> {
  const dir = join(runDir, 'nginx');
  mkdirSync(dir);
  const port = await freePort();
  const server = serverKinds.nginx!.start(dir, port);
  try {
    await waitForPort(port, server);
    const url = `rtmp://127.0.0.1:${port}/live/bench`;
    console.log(`\nnginx-rtmp (pid ${server.pid}):`);
    const publisher = publishSource(source, url, join(dir, 'publisher.log'));
    // nginx has no metrics: its players are counted by the connections it holds once they are all in.
    await sleep(SETTLE_MS);
    const published = sampleProcess(server.pid);
    printSample('publisher alone', published);
    const players = await rtmpdumpPlayers(url, PLAYERS);
    await sleep(SETTLE_MS * 2);
    const serving = sampleProcess(server.pid);
    printSample(`${PLAYERS} players`, serving);
    const live = players.filter((p) => !p.hasExited()).length;
    if (live < PLAYERS) console.log(`  !!! only ${live} of ${PLAYERS} players still playing`);
    await Promise.all(players.map((p) => stop(p)));
    await sleep(SETTLE_MS);
    const left = sampleProcess(server.pid);
    printSample('after they left', left);
    printPerClient('per player', PLAYERS, published, serving, left);
    await stop(publisher);
    return { perPlayerKiB: ((serving.rssMiB - published.rssMiB) * 1024) / PLAYERS };
  } finally {
    await stop(server);
  }
}

await runBench('memory', async (runDir) => {
  process.stderr.write('encoding the source...\n');
  const source = await makeSource(runDir);
  console.log(`memory: ${PLAYERS} players of a ${fmt(source.mediaBitsPerSecond / 1e6, 2)} Mbit/s stream, ${IDLE} idle connections; samples ${SETTLE_MS / 1000} s after each change`);
  const ours = SERVERS.includes('ours') ? await measureOurs(source, runDir) : null;
  const nginx = SERVERS.includes('nginx') ? await measureNginx(source, runDir) : null;
  if (ours && nginx) console.log(`\nper player at the edge / nginx-rtmp per player: ${fmt(ours.perPlayerKiB / nginx.perPlayerKiB, 2)} (${fmt(ours.perPlayerKiB)} vs ${fmt(nginx.perPlayerKiB)} KiB)`);
});
