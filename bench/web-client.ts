/**
 * Browser classroom page benchmark (issue 11): how fast the page is for its user, and what one page
 * costs the computer it runs on, each printed beside the issue's goal where it has one.
 *
 *   npm run bench:web -- [--lobby-runs 10] [--join-runs 5] [--cpu-seconds 15] [--publishers 4]
 *
 * It re-runs itself in a loopback-only network namespace (as the WebRTC tests do), builds the page
 * (web-client/build.ts), starts an origin and an edge there, headless Chromium (Debian's, through
 * playwright-core, fake camera and microphone) and ffmpeg publishers; all are stopped by handle when
 * it ends, fails or is interrupted. Members come with tokens the origin signs, as users do.
 *
 * 1. Lobby first render: a new page opens a join link; from the navigation's start to the first
 *    frame painted with the lobby in it (an init script watches for the lobby's name field and
 *    takes the next animation frame). The first run has an empty cache; goal: under 1 s on localhost.
 * 2. Time to first video frame after join: a teacher is in the room publishing her camera; a
 *    student's page opens its link, waits for its camera preview and presses Join; from the press
 *    to the first frame of the teacher's video presented in the student's grid
 *    (requestVideoFrameCallback), both on the page's clock. The student leaves; the next run comes
 *    as another student.
 * 3. CPU of one page publishing its camera and microphone and receiving four streams (ffmpeg RTMP
 *    publishers into the room, 320x240 H.264/AAC, each with a token of its own): the page is alone
 *    in the browser; CPU of Chromium's renderer and GPU processes (and of the whole browser) from
 *    /proc over the window, with the frames per second the page decoded of each stream (getStats).
 */
import type { ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join as joinPath } from 'node:path';
import { parseArgs } from 'node:util';
import type { BrowserContext, Page } from 'playwright-core';
import { percentile } from '../test/support/synthetic-publisher.ts';
import { positiveNumber } from './lib/options.ts';
import { sleep, treeCpuSeconds } from './lib/processes.ts';
import { inLoopbackNamespace } from './lib/loopback-namespace.ts';
import { checkBrowserBenchPrerequisites, runBrowserBench } from './lib/browser-bench.ts';

const GOALS = { lobbyFirstRenderMs: 1000 };
const ROOM = 'bench';
/** Before the CPU window: connections set up, decoders running. */
const SETTLE_MS = 5000;

function parseOptions(): { lobbyRuns: number; joinRuns: number; cpuSeconds: number; publishers: number } {
  const { values } = parseArgs({
    options: {
      'lobby-runs': { type: 'string', default: '10' },
      'join-runs': { type: 'string', default: '5' },
      'cpu-seconds': { type: 'string', default: '15' },
      publishers: { type: 'string', default: '4' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) {
    console.log('usage: npm run bench:web -- [--lobby-runs 10] [--join-runs 5] [--cpu-seconds 15] [--publishers 4]');
    process.exit(0);
  }
  return {
    lobbyRuns: Math.round(positiveNumber('lobby-runs', values['lobby-runs'])),
    joinRuns: Math.round(positiveNumber('join-runs', values['join-runs'])),
    cpuSeconds: positiveNumber('cpu-seconds', values['cpu-seconds']),
    publishers: Math.round(positiveNumber('publishers', values.publishers)),
  };
}

let options: ReturnType<typeof parseOptions>;
try {
  options = parseOptions();
  checkBrowserBenchPrerequisites('page bench');
} catch (error) {
  console.error((error as Error).message);
  process.exit(1);
}

// ---- in the page ---------------------------------------------------------------------------------

/** Init script: the time (page clock, from the navigation's start) of the first frame painted with the lobby in it. */
const LOBBY_PROBE = `
  new MutationObserver((_, observer) => {
    if (!document.getElementById('lobby-name')) return;
    observer.disconnect();
    requestAnimationFrame(() => { window.__lobbyRenderedAt = performance.now(); });
  }).observe(document, { childList: true, subtree: true });`;

/** Init script: when Join was pressed, and when the first frame of another member's video was presented in the grid. */
const FIRST_FRAME_PROBE = `
  document.addEventListener('click', (event) => {
    if (event.target.closest && event.target.closest('button')?.textContent === 'Join') window.__joinPressedAt ??= performance.now();
  }, true);
  new MutationObserver(() => {
    for (const video of document.querySelectorAll('.tile:not(.self) video')) {
      if (video.__watched) continue;
      video.__watched = true;
      video.requestVideoFrameCallback((now) => { window.__firstFrameAt ??= now; });
    }
  }).observe(document, { childList: true, subtree: true });`;

/** Reads a number the page's probe set, waiting for it. */
async function probeValue(page: Page, name: string, timeoutMs: number): Promise<number> {
  const handle = await page.waitForFunction((key) => (globalThis as unknown as Record<string, number | undefined>)[key], name, { timeout: timeoutMs, polling: 20 });
  return (await handle.jsonValue()) as number;
}

// ---- Chromium's processes ------------------------------------------------------------------------

interface ChromiumProcesses { renderers: number[]; gpu: number[]; browser: number | null }

/** Chromium processes started by this bench (descendants of this process), by their `--type`. */
function chromiumProcesses(): ChromiumProcesses {
  const parents = new Map<number, number>();
  const commands = new Map<number, string>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      parents.set(Number(entry), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
      commands.set(Number(entry), readFileSync(`/proc/${entry}/cmdline`, 'utf8').replaceAll('\0', ' '));
    } catch {
      // gone between the listing and the read
    }
  }
  const ours = (pid: number): boolean => {
    for (let at = parents.get(pid); at !== undefined && at > 1; at = parents.get(at)) if (at === process.pid) return true;
    return false;
  };
  const result: ChromiumProcesses = { renderers: [], gpu: [], browser: null };
  for (const [pid, command] of commands) {
    if (!command.includes('chromium') || !ours(pid)) continue;
    if (command.includes('--type=renderer')) result.renderers.push(pid);
    else if (command.includes('--type=gpu-process')) result.gpu.push(pid);
    else if (!command.includes('--type=') && parents.get(pid) === process.pid) result.browser = pid;
  }
  return result;
}

function cpuOf(pids: number[]): number {
  return pids.reduce((sum, pid) => {
    try {
      return sum + treeCpuSeconds(pid);
    } catch {
      return sum; // a process that ended in the window
    }
  }, 0);
}

// ---- the runs ------------------------------------------------------------------------------------

interface Results { lobby: number[]; firstFrame: number[]; cpu: string[] }
const results: Results = { lobby: [], firstFrame: [], cpu: [] };

function summary(samples: number[]): string {
  if (samples.length === 0) return 'no runs';
  return `${samples.length} runs: first ${samples[0]!.toFixed(0)} ms, p50 ${percentile(samples, 50).toFixed(0)} ms, p95 ${percentile(samples, 95).toFixed(0)} ms, max ${Math.max(...samples).toFixed(0)} ms`;
}

async function run(browser: BrowserContext, link: (name: string, role: 'teacher' | 'student') => Promise<string>, rtmpRoom: (name: string) => Promise<string>): Promise<void> {
  const { joinFromLinkPage, pageCounters } = await import('../test/support/web-client.ts');
  const { publishTestStream } = await import('../test/support/processes.ts');

  console.log(`\n1. lobby first render (${options.lobbyRuns} runs, the first with an empty cache)`);
  for (let i = 0; i < options.lobbyRuns; i++) {
    const page = await browser.newPage();
    await page.addInitScript(LOBBY_PROBE);
    await page.goto(await link(`Visitor ${i + 1}`, 'student'));
    results.lobby.push(await probeValue(page, '__lobbyRenderedAt', 10_000));
    await page.close();
  }
  console.log(`   ${summary(results.lobby)}`);

  console.log(`\n2. first video frame after join (${options.joinRuns} runs)`);
  const teacher = await joinFromLinkPage(browser, await link('Ms Bench', 'teacher'), 'Ms Bench');
  // joinFromLinkPage opens its own pages: the probe goes on the context, for every page from now on.
  await browser.addInitScript(FIRST_FRAME_PROBE);
  for (let i = 0; i < options.joinRuns; i++) {
    const page = await joinFromLinkPage(browser, await link(`Student ${i + 1}`, 'student'), `Student ${i + 1}`);
    const pressed = await probeValue(page, '__joinPressedAt', 5000);
    const frame = await probeValue(page, '__firstFrameAt', 30_000);
    results.firstFrame.push(frame - pressed);
    console.log(`   run ${i + 1}: ${(frame - pressed).toFixed(0)} ms`);
    await page.close();
  }
  console.log(`   ${summary(results.firstFrame)}`);
  await teacher.close();

  console.log(`\n3. CPU of one page publishing and receiving ${options.publishers} streams (${options.cpuSeconds} s)`);
  const publishers: ChildProcess[] = [];
  for (let i = 1; i <= options.publishers; i++) publishers.push(publishTestStream(`${await rtmpRoom(`Projector ${i}`)}/lecture${i}`, { baseline: true }));
  const watcher = await joinFromLinkPage(browser, await link('Watcher', 'teacher'), 'Watcher');
  const decoding = async (): Promise<Record<string, { framesDecoded: number }>> => {
    const counters = await pageCounters(watcher);
    return Object.fromEntries(Object.entries(counters).filter(([, c]) => c.framesDecoded > 0));
  };
  const deadline = Date.now() + 60_000;
  while (Object.keys(await decoding()).length < options.publishers) {
    if (Date.now() > deadline) throw new Error(`the page decodes ${Object.keys(await decoding()).length} of ${options.publishers} streams after 60 s`);
    await sleep(250);
  }
  await sleep(SETTLE_MS);
  const processes = chromiumProcesses();
  if (processes.renderers.length === 0 || processes.browser === null) throw new Error('cannot find Chromium\'s processes in /proc');
  const before = { renderer: cpuOf(processes.renderers), gpu: cpuOf(processes.gpu), browser: treeCpuSeconds(processes.browser), frames: await decoding(), at: performance.now() };
  await sleep(options.cpuSeconds * 1000);
  const after = { renderer: cpuOf(processes.renderers), gpu: cpuOf(processes.gpu), browser: treeCpuSeconds(processes.browser), frames: await decoding(), at: performance.now() };
  const seconds = (after.at - before.at) / 1000;
  const pct = (cpu: number) => `${(100 * cpu / seconds).toFixed(1)}%`;
  const fps = Object.keys(after.frames).sort().map((stream) => `${stream} ${((after.frames[stream]!.framesDecoded - (before.frames[stream]?.framesDecoded ?? 0)) / seconds).toFixed(1)}`);
  results.cpu.push(`renderer ${pct(after.renderer - before.renderer)} of a core (${processes.renderers.length} process${processes.renderers.length === 1 ? '' : 'es'}), GPU process ${pct(after.gpu - before.gpu)}, whole browser ${pct(after.browser - before.browser)}`);
  results.cpu.push(`frames decoded per second: ${fps.join(', ')}`);
  for (const line of results.cpu) console.log(`   ${line}`);
  await watcher.close();
  for (const publisher of publishers) publisher.kill('SIGTERM');
}

function printTable(): void {
  const lobbyVerdict = results.lobby.length === 0 ? '' : percentile(results.lobby, 95) < GOALS.lobbyFirstRenderMs ? 'met' : 'not met';
  console.log('\n== Browser classroom page (headless Chromium, fake camera and microphone, one origin and one edge on loopback) ==');
  console.log(`lobby first render (navigation start to the lobby painted)      ${summary(results.lobby)}   goal < ${GOALS.lobbyFirstRenderMs} ms on localhost (on p95): ${lobbyVerdict}`);
  console.log(`first video frame after join (Join pressed to another's frame)  ${summary(results.firstFrame)}   goal: none in the issue`);
  console.log(`CPU, one page publishing 1 and receiving ${options.publishers} streams             ${results.cpu.join('; ') || 'not measured'}   goal: none in the issue`);
}

async function main(): Promise<void> {
  const { startCluster } = await import('../test/support/cluster.ts');
  const { mintToken } = await import('../test/support/tokens.ts');
  const { repoRoot, run: runProcess } = await import('../test/support/processes.ts');
  const failed = await runBrowserBench('page bench', async (launchBrowser) => {
    console.log('building the page, starting an origin and an edge (127.0.0.1 only) and headless Chromium...');
    const built = await runProcess(process.execPath, [joinPath(repoRoot, 'web-client', 'build.ts')], 120_000);
    if (built.code !== 0) throw new Error(`web-client build failed: ${built.stderr}`);
    // `--auth` given: the classroom keeps its default policy, required: every member comes with a token.
    const cluster = await startCluster(['web-bench'], { originArgs: ['--auth', 'live=legacy'], edgeArgs: ['--webrtc-bind', '127.0.0.1'] });
    const edge = cluster.edges[0]!;
    const token = (name: string, role: 'teacher' | 'student') => mintToken(cluster.origin.dataDir, { room: `classroom/${ROOM}`, role, name });
    await run(await launchBrowser(),
      async (name, role) => `http://127.0.0.1:${edge.httpPort}/?room=${ROOM}&token=${await token(name, role)}`,
      async (name) => `rtmp://127.0.0.1:${edge.port}/classroom/${ROOM}?token=${await token(name, 'student')}`);
  });
  printTable();
  process.exit(failed ? 1 : 0);
}

await inLoopbackNamespace(main);
