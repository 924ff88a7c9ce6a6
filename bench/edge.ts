/**
 * Edge benchmark: publish-to-play latency through edge A -> origin -> edge B against the same
 * directly through the origin, in one run, and what the link carries for N players of one stream.
 *
 *   node_modules/.bin/node bench/edge.ts [--players 20] [--seconds 10] [--flush-ms 50,0]
 *
 * For each merged-write interval in --flush-ms (applied to the origin and both edges: it holds
 * media on every path's last hop) a cluster is started on loopback (the processes as users run
 * them), and two synthetic publishers send 30 fps of 4 KB frames stamped with their send time:
 * one into the origin directly with N players on the origin, one into edge A with N players on
 * edge B. Players live in this process, so arrival - send is measured on one clock. Startup (the
 * cached GOP a joiner gets) is excluded: only frames sent during the window count.
 * Goal: added p99 (edge path p99 - direct p99) below 20 ms; link bytes ~1x one player's.
 */
import { parseArgs } from 'node:util';
import { stopAll } from '../test/support/processes.ts';
import { startCluster, type EdgeProcess } from '../test/support/cluster.ts';
import { scrapeMetrics } from '../test/support/prometheus.ts';
import { percentile, startLightPlayer, startSyntheticPublisher, type LightPlayer } from '../test/support/synthetic-publisher.ts';

const { values } = parseArgs({
  options: {
    players: { type: 'string', default: '20' },
    seconds: { type: 'string', default: '10' },
    'flush-ms': { type: 'string', default: '50,0' },
    help: { type: 'boolean', short: 'h' },
  },
  strict: true,
});
if (values.help) {
  console.log('usage: node bench/edge.ts [--players 20] [--seconds 10] [--flush-ms 50,0]');
  process.exit(0);
}
const players = Number(values.players);
const seconds = Number(values.seconds);
const flushes = values['flush-ms'].split(',').map(Number);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Latencies of frames that arrived during the window, over all players. */
function windowed(list: LightPlayer[], marks: number[]): number[] {
  return list.flatMap((p, i) => p.latencies.slice(marks[i]));
}

function summary(samples: number[]): string {
  return `p50 ${percentile(samples, 50).toFixed(1)} ms, p99 ${percentile(samples, 99).toFixed(1)} ms, max ${Math.max(...samples).toFixed(1)} ms (${samples.length} frames)`;
}

/** What the edge's /metrics says of its link and players now. */
async function edgeStats(edge: EdgeProcess): Promise<{ linkBytesIn: number; players: number }> {
  const scrape = await scrapeMetrics(edge.httpPort);
  return { linkBytesIn: scrape.value('classroom_edge_link_bytes_received_total'), players: scrape.value('classroom_edge_players') };
}

async function run(flushMs: number): Promise<{ addedP99: number; ratio: number }> {
  const flush = ['--media-flush-ms', String(flushMs)];
  const cluster = await startCluster(['bench-a', 'bench-b'], { originArgs: flush, edgeArgs: flush });
  const origin = `rtmp://127.0.0.1:${cluster.origin.port}/live`;
  const [edgeA, edgeB] = cluster.edges as [EdgeProcess, EdgeProcess];
  try {
    const direct = await startSyntheticPublisher(origin, 'direct');
    const relayed = await startSyntheticPublisher(`${edgeA.base}/live`, 'relayed');
    const directPlayers: LightPlayer[] = [];
    const edgePlayers: LightPlayer[] = [];
    for (let i = 0; i < players; i++) {
      directPlayers.push(await startLightPlayer(origin, 'direct'));
      edgePlayers.push(await startLightPlayer(`${edgeB.base}/live`, 'relayed'));
    }
    await sleep(2000); // past the startup GOP
    const directMarks = directPlayers.map((p) => p.latencies.length);
    const edgeMarks = edgePlayers.map((p) => p.latencies.length);
    const reference = edgePlayers[0]!;
    const start = await edgeStats(edgeB);
    const startPlayerBytes = reference.bytes();
    const startedAt = Date.now();
    await sleep(seconds * 1000);
    const end = await edgeStats(edgeB);
    const endPlayerBytes = reference.bytes();
    const elapsed = (Date.now() - startedAt) / 1000;
    const directSamples = windowed(directPlayers, directMarks);
    const edgeSamples = windowed(edgePlayers, edgeMarks);
    const linkBytes = end.linkBytesIn - start.linkBytesIn;
    const playerBytes = endPlayerBytes - startPlayerBytes;
    const addedP99 = percentile(edgeSamples, 99) - percentile(directSamples, 99);
    console.log(`\n== merged writes ${flushMs} ms (origin and edges), ${players} players per path, ${elapsed.toFixed(1)} s window`);
    console.log(`direct (publisher -> origin -> player):              ${summary(directSamples)}`);
    console.log(`edge   (publisher -> edge A -> origin -> edge B -> player): ${summary(edgeSamples)}`);
    console.log(`added by the edges: p50 ${(percentile(edgeSamples, 50) - percentile(directSamples, 50)).toFixed(1)} ms, p99 ${addedP99.toFixed(1)} ms (goal < 20 ms)`);
    console.log(`link into edge B: ${(linkBytes / elapsed / 1000).toFixed(1)} kB/s for ${end.players} players; one player: ${(playerBytes / elapsed / 1000).toFixed(1)} kB/s; ratio ${(linkBytes / playerBytes).toFixed(3)} (one copy: ~1.0; ${players} players get ${(players * playerBytes / elapsed / 1000).toFixed(1)} kB/s in all)`);
    for (const p of [...directPlayers, ...edgePlayers]) p.client.close();
    await Promise.all([direct.stop(), relayed.stop()]);
    return { addedP99, ratio: linkBytes / playerBytes };
  } finally {
    await stopAll();
  }
}

const results: string[] = [];
for (const flushMs of flushes) {
  const { addedP99, ratio } = await run(flushMs);
  results.push(`flush ${flushMs} ms: added p99 ${addedP99.toFixed(1)} ms ${addedP99 < 20 ? '(goal met)' : '(GOAL MISSED)'}, link/player bytes ${ratio.toFixed(3)}`);
}
console.log(`\nsummary:\n  ${results.join('\n  ')}`);
