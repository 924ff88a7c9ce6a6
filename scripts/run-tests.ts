/**
 * Runs the test suite (`npm test`) in two lanes at once, each lane one file at a time: the files that
 * drive browsers and peer programs (Chromium, WebRTC in network namespaces, the interop matrix) in one,
 * everything else in the other. On 2 cores this halves the wall time while no two browser-heavy files
 * ever run together, which is what made a plain `--test-concurrency=2` slow them past their timeouts.
 * Each lane's report is printed whole once both have ended, a failed lane's last; the exit status fails
 * if either lane fails.
 *
 *   node scripts/run-tests.ts                      # both lanes
 *   node scripts/run-tests.ts test/origin/x.test.ts  # just these files, one lane
 */
import { spawn } from 'node:child_process';
import { globSync } from 'node:fs';

/** Files that start Chromium or run WebRTC peers: one of them at a time. */
const BROWSER_LANE = [
  'test/webrtc/*.test.ts',
  'test/interop/*.test.ts',
  'test/**/*browser*.test.ts',
];

interface LaneResult { name: string; files: number; code: number; output: string; seconds: number }

function runLane(name: string, files: string[]): Promise<LaneResult> {
  const started = performance.now();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--test', '--test-concurrency=1', ...files], { stdio: ['ignore', 'pipe', 'pipe'] });
    const chunks: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => chunks.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => chunks.push(chunk));
    child.on('close', (code, signal) => resolve({
      name, files: files.length, code: code ?? (signal ? 1 : 0), output: Buffer.concat(chunks).toString(), seconds: (performance.now() - started) / 1000,
    }));
  });
}

const explicit = process.argv.slice(2);
const all = explicit.length > 0 ? explicit : globSync('test/**/*.test.ts').sort();
const browserFiles = new Set(BROWSER_LANE.flatMap((pattern) => globSync(pattern)));
const lanes = explicit.length > 0
  ? [{ name: 'tests', files: all }]
  : [
      { name: 'browsers and peers', files: all.filter((file) => browserFiles.has(file)) },
      { name: 'servers and codecs', files: all.filter((file) => !browserFiles.has(file)) },
    ];

const results = await Promise.all(lanes.filter((lane) => lane.files.length > 0).map((lane) => runLane(lane.name, lane.files)));

// Passed lanes first, failed ones last: a CI log is often read from its tail, and a lane's failures
// (node's "failing tests" list, with each one's error) are at the end of its own report.
for (const result of results.toSorted((a, b) => Number(a.code !== 0) - Number(b.code !== 0))) {
  process.stdout.write(`\n=== lane "${result.name}": ${result.files} files, ${result.seconds.toFixed(0)} s, ${result.code === 0 ? 'passed' : 'FAILED'} ===\n`);
  process.stdout.write(result.output);
}

process.stdout.write('\n');
for (const result of results) {
  // The lane's own totals are its last lines: files that run tests in a network namespace print their inner report too.
  const summary = result.output.split('\n').filter((line) => /^ℹ (tests|pass|fail) /.test(line)).slice(-3).join(', ');
  process.stdout.write(`lane "${result.name}": ${result.code === 0 ? 'passed' : 'FAILED'} in ${result.seconds.toFixed(0)} s (${summary})\n`);
}
process.exitCode = results.some((result) => result.code !== 0) ? 1 : 0;
