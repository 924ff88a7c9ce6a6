/**
 * Recordings listing benchmark (issue 14): what listing recordings costs, and what clients listing in
 * a loop cost the edge's pages when origin and edge share a process (`npm start`, main.ts).
 *
 *   npm run bench:recordings-list -- [--files 200,2000] [--requests 40] [--listers 10] [--seconds 10] [--baseline REF]
 *
 * For each number of files, a recordings folder holding that many FLV files (hard links of one
 * 640x360 H.264/AAC clip made by ffmpeg, larger than the 256 KiB a metadata read takes, spread over
 * room folders as room recordings are) and:
 * 1. The index's build, in this process: one stat and one metadata read per file. This is the cold
 *    scan at start, and what every listing request cost before the index (recording-store.ts's
 *    list() read every file's metadata on each request).
 * 2. `npm start` on that folder: GET /api/recordings through the edge (the first page, as a page asks
 *    for it), --requests times one after another, and every page of the whole listing (limit=1000).
 * 3. The edge's page (`GET /`, the classroom's index.html) timed, idle, then while --listers clients
 *    list (GET /api/recordings through the edge) for --seconds: back to back (as the issue measured:
 *    the faster the listing, the more listings), then each once a second (the same load for old
 *    and new code). The server process's CPU per listing (origin and edge together) is taken in 2.
 * The files are hard links of one clip, so the old code's reads all hit one file's pages in the page
 * cache: its figures are a lower bound of what distinct files cost.
 * `--baseline REF` runs 2 and 3 also against that commit's code (`git archive`, with this checkout's
 * node_modules and built page), e.g. the commit before the index, for the figures before and after
 * in one run on the same machine.
 */
import { execFileSync } from 'node:child_process';
import { link, mkdir, mkdtemp, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Logger, setLogLevel } from '#common/logger.ts';
import { RecordingIndex } from '../origin/recording/recording-index.ts';
import { RecordingStore } from '../origin/recording/recording-store.ts';
import { repoRoot, run, stop, stopAll } from '../test/support/processes.ts';
import { startLocalCluster } from '../test/support/cluster.ts';
import { adminToken, bearer } from '../test/support/tokens.ts';
import { listingPages } from '../test/support/recordings-listing.ts';
import { percentile } from '../test/support/synthetic-publisher.ts';
import { positiveNumber } from './lib/options.ts';
import { sleep, treeCpuSeconds } from './lib/processes.ts';

const FILES_PER_FOLDER = 10;
const CLIP_SECONDS = 8;
/** Each client's listing interval in the paced round: ten clients then list 10 times a second together. */
const PACED_MS = 1000;
/** The edge's page is asked for about this often while listers run. */
const PROBE_MS = 50;

interface Options { files: number[]; requests: number; listers: number; seconds: number; baseline: string | null }

function parseOptions(): Options {
  const { values } = parseArgs({
    options: {
      files: { type: 'string', default: '200,2000' },
      requests: { type: 'string', default: '40' },
      listers: { type: 'string', default: '10' },
      seconds: { type: 'string', default: '10' },
      baseline: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) {
    console.log('usage: npm run bench:recordings-list -- [--files 200,2000] [--requests 40] [--listers 10] [--seconds 10] [--baseline REF]');
    process.exit(0);
  }
  return {
    files: values.files.split(',').map((count) => Math.round(positiveNumber('files', count))),
    requests: Math.round(positiveNumber('requests', values.requests)),
    listers: Math.round(positiveNumber('listers', values.listers)),
    seconds: positiveNumber('seconds', values.seconds),
    baseline: values.baseline ?? null,
  };
}

/** Milliseconds `body` takes. */
async function timed(body: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await body();
  return performance.now() - started;
}

const summary = (ms: number[]) => `median ${percentile(ms, 50).toFixed(1)} ms, p95 ${percentile(ms, 95).toFixed(1)} ms (${ms.length} requests)`;

/** A data folder whose recordings folder holds `count` hard links of `clip` in room session folders. */
async function seedDataDir(runDir: string, clip: string, count: number): Promise<string> {
  const dataDir = await mkdtemp(join(runDir, `data-${count}-`));
  for (let i = 0; i < count; i++) {
    const folder = join(dataDir, 'recordings', 'classroom', `room${Math.floor(i / FILES_PER_FOLDER) % 20}`, `rec-20261201T${String(Math.floor(i / FILES_PER_FOLDER)).padStart(6, '0')}Z`);
    await mkdir(folder, { recursive: true });
    await link(clip, join(folder, `cam${i}.flv`));
  }
  return dataDir;
}

/** The cold scan: the index built from nothing, three times (the median), as every request did before it. */
async function coldScanMs(dataDir: string): Promise<number> {
  const store = new RecordingStore(join(dataDir, 'recordings'));
  await store.init();
  const runs: number[] = [];
  for (let i = 0; i < 3; i++) {
    const index = new RecordingIndex(store, new Logger('bench'));
    runs.push(await timed(() => index.build()));
    index.close();
  }
  return percentile(runs, 50);
}

/** `npm start` (of `script`) on `dataDir`: listing times and the edge's page latency, idle and under listers. */
async function measureServer(label: string, dataDir: string, options: Options, script?: string): Promise<void> {
  const cluster = await startLocalCluster(dataDir, [], script === undefined ? {} : { script });
  try {
    const edge = `http://127.0.0.1:${cluster.edgeHttpPort}`;
    const headers = bearer(await adminToken(dataDir));
    /** One listing: its number of files, or null when it was not answered 200 (the edge's 502 after 10 s without the origin's answer). */
    const list = async (): Promise<number | null> => {
      const res = await fetch(`${edge}/api/recordings`, { headers });
      if (res.status !== 200) {
        await res.arrayBuffer();
        return null;
      }
      return (await res.json() as { files: unknown[] }).files.length;
    };
    const page = async () => {
      const res = await fetch(`${edge}/`);
      await res.arrayBuffer();
      if (res.status !== 200) throw new Error(`GET /: HTTP ${res.status}`);
    };
    const firstPage = await list();
    if (firstPage === null) throw new Error('GET /api/recordings is not answered 200');
    const listing: number[] = [];
    const cpuBefore = treeCpuSeconds(cluster.child.pid!);
    for (let i = 0; i < options.requests; i++) listing.push(await timed(list));
    const cpuMsPerListing = ((treeCpuSeconds(cluster.child.pid!) - cpuBefore) * 1000) / options.requests;
    const token = headers.authorization.slice('Bearer '.length);
    let pages = 0;
    const wholeMs = await timed(async () => { pages = (await listingPages(edge, '/api/recordings?limit=1000', token)).length; });
    const idle: number[] = [];
    for (let i = 0; i < options.requests; i++) {
      idle.push(await timed(page));
      await sleep(PROBE_MS);
    }

    const closedLoop = await underListers(options, list, page, null);
    const paced = await underListers(options, list, page, PACED_MS);

    console.log(`  ${label}:`);
    console.log(`    GET /api/recordings (${firstPage} files in the answer): ${summary(listing)}; server CPU ${cpuMsPerListing.toFixed(2)} ms per listing (origin and edge)`);
    console.log(`    every file through pages of 1000 (limit=1000, ${pages} page${pages === 1 ? '' : 's'}; a baseline without paging answers all at once): ${wholeMs.toFixed(1)} ms`);
    console.log(`    edge page GET / idle: ${summary(idle)}`);
    for (const [how, figures] of [['in a loop', closedLoop], [`once every ${PACED_MS} ms each`, paced]] as const) {
      console.log(`    edge page GET / while ${options.listers} clients list ${how}: ${summary(figures.pageMs)}; ${figures.listingsPerSecond.toFixed(1)} listings/s answered, ${figures.failed} not answered 200`);
    }
  } finally {
    await stop(cluster.child);
  }
}

/**
 * The edge's page timed (every PROBE_MS) while `options.listers` clients list for `options.seconds`:
 * back to back (`paceMs` null) or each once every `paceMs`.
 */
async function underListers(options: Options, list: () => Promise<number | null>, page: () => Promise<void>, paceMs: number | null): Promise<{ pageMs: number[]; listingsPerSecond: number; failed: number }> {
  let running = true;
  let listed = 0;
  let failed = 0;
  const listers = Array.from({ length: options.listers }, async () => {
    while (running) {
      const started = performance.now();
      if ((await list()) === null) failed++;
      else listed++;
      if (paceMs !== null && running) await sleep(Math.max(0, paceMs - (performance.now() - started)));
    }
  });
  const pageMs: number[] = [];
  const until = Date.now() + options.seconds * 1000;
  while (Date.now() < until) {
    const took = await timed(page);
    pageMs.push(took);
    await sleep(Math.max(0, PROBE_MS - took));
  }
  const counted = listed;
  running = false;
  await Promise.all(listers);
  return { pageMs, listingsPerSecond: counted / options.seconds, failed };
}

/** `ref`'s tree in a temp folder, with this checkout's node_modules and built page; its main.ts. */
async function baselineScript(runDir: string, ref: string): Promise<string> {
  const tree = join(runDir, 'baseline');
  await mkdir(tree);
  execFileSync('sh', ['-c', `git -C "$1" archive --format=tar "$2" | tar -x -C "$3"`, 'sh', repoRoot, ref, tree]);
  await symlink(join(repoRoot, 'node_modules'), join(tree, 'node_modules'));
  await symlink(join(repoRoot, 'web-client', 'dist'), join(tree, 'web-client', 'dist'));
  return join(tree, 'main.ts');
}

async function main(): Promise<void> {
  const options = parseOptions();
  setLogLevel('warn');
  const runDir = await mkdtemp(join(tmpdir(), 'recordings-list-bench-'));
  try {
    const clip = join(runDir, 'clip.flv');
    const made = await run('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i', 'testsrc2=size=640x360:rate=30', '-f', 'lavfi', '-i', 'sine=frequency=440',
      '-t', String(CLIP_SECONDS), '-c:v', 'libx264', '-preset', 'ultrafast', '-g', '30', '-c:a', 'aac', '-f', 'flv', clip], 120_000);
    if (made.code !== 0) throw new Error(`ffmpeg: ${made.stderr}`);
    const baseline = options.baseline === null ? null : await baselineScript(runDir, options.baseline);
    for (const count of options.files) {
      const dataDir = await seedDataDir(runDir, clip, count);
      console.log(`\n${count} recordings:`);
      console.log(`  cold scan (the index's build at start; before the index, every listing request): ${(await coldScanMs(dataDir)).toFixed(1)} ms`);
      if (baseline !== null) await measureServer(`before (${options.baseline}: every request reads every file)`, dataDir, options, baseline);
      await measureServer('now (the index, pages of 100 by default)', dataDir, options);
    }
  } finally {
    await stopAll();
    await rm(runDir, { recursive: true, force: true });
  }
}

await main();
process.exit(0);
