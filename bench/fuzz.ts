/**
 * Long property-based fuzz run (issue 14, "Fuzzing"): the properties of test/protocol/fuzz.test.ts
 * at scale, a million inputs per decoder by default. Per decoder it prints inputs run, inputs per
 * second, failures (goal: 0), the slowest input (a hang shows as one that never ends), the heap
 * still used after a full collection at the end against the start (goal: under 16 MB more, whatever
 * the number of inputs: a decoder that keeps something per input fails it) and the peak RSS while it
 * ran (V8 lets its heap grow under this allocation rate before collecting, so the peak grows with the
 * run's length a little without anything being kept), then the first failures found, each as hex to
 * make a fixture of.
 *
 *   npm run bench:fuzz -- --runs 1000000 [--target amf0] [--seed 14]
 */
import { parseArgs } from 'node:util';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import fc from 'fast-check';
import { positiveNumber } from './lib/options.ts';
import { checkInput, fuzzTargets, inputArbitrary, type FuzzTarget } from '../test/support/fuzz-targets.ts';

/** Inputs generated at a time: large enough to amortise sampling, small enough to keep memory flat. */
const BATCH = 1000;
/** Failures kept per decoder to print. */
const KEPT_FAILURES = 3;
/** The heap used after a full collection may end this much above the start before the decoder counts as keeping memory. */
const KEPT_GOAL_MB = 16;

// A full collection on demand, however node was started (the same as `node --expose-gc`).
setFlagsFromString('--expose-gc');
const collectGarbage = runInNewContext('gc') as () => void;

function heapUsedAfterCollectionMb(): number {
  collectGarbage();
  return process.memoryUsage().heapUsed / 1048576;
}

interface TargetFigures {
  name: string;
  inputs: number;
  seconds: number;
  failures: number;
  slowestMs: number;
  keptMb: number;
  peakRssMb: number;
  examples: string[];
}

function options(): { runs: number; target: string | undefined; seed: number } {
  const { values } = parseArgs({
    options: { runs: { type: 'string', default: '1000000' }, target: { type: 'string' }, seed: { type: 'string', default: '14' }, help: { type: 'boolean', short: 'h' } },
    strict: true,
  });
  if (values.help) {
    console.log(`usage: node bench/fuzz.ts [--runs N] [--target ${fuzzTargets.map((t) => t.name).join('|')}] [--seed N]`);
    process.exit(0);
  }
  if (values.target !== undefined && !fuzzTargets.some((t) => t.name === values.target)) throw new Error(`--target must be one of ${fuzzTargets.map((t) => t.name).join(', ')}`);
  return { runs: Math.floor(positiveNumber('runs', values.runs)), target: values.target, seed: Math.floor(positiveNumber('seed', values.seed)) };
}

function fuzzTarget(target: FuzzTarget, runs: number, seed: number): TargetFigures {
  const arbitrary = inputArbitrary(target);
  const figures: TargetFigures = { name: target.name, inputs: 0, seconds: 0, failures: 0, slowestMs: 0, keptMb: 0, peakRssMb: 0, examples: [] };
  const heapAtStartMb = heapUsedAfterCollectionMb();
  const started = process.hrtime.bigint();
  for (let batch = 0; figures.inputs < runs; batch++) {
    const size = Math.min(BATCH, runs - figures.inputs);
    for (const { input, splits } of fc.sample(arbitrary, { numRuns: size, seed: seed + batch })) {
      const before = process.hrtime.bigint();
      const failure = checkInput(target, input, splits);
      figures.slowestMs = Math.max(figures.slowestMs, Number(process.hrtime.bigint() - before) / 1e6);
      if (failure) {
        figures.failures++;
        if (figures.examples.length < KEPT_FAILURES) figures.examples.push(`${failure}\n    input ${input.toString('hex')} splits ${JSON.stringify(splits)}`);
      }
    }
    figures.inputs += size;
    figures.peakRssMb = Math.max(figures.peakRssMb, process.memoryUsage.rss() / 1048576);
  }
  figures.seconds = Number(process.hrtime.bigint() - started) / 1e9;
  figures.keptMb = heapUsedAfterCollectionMb() - heapAtStartMb;
  return figures;
}

const { runs, target: only, seed } = options();
const startRssMb = process.memoryUsage.rss() / 1048576;
console.log(`fuzzing ${runs} inputs per decoder (seed ${seed}), RSS at start ${startRssMb.toFixed(0)} MB`);
console.log('decoder         inputs    inputs/s  failures  slowest ms  heap kept MB  peak RSS MB');
const all: TargetFigures[] = [];
for (const target of fuzzTargets.filter((t) => only === undefined || t.name === only)) {
  const f = fuzzTarget(target, runs, seed);
  all.push(f);
  console.log(
    `${f.name.padEnd(14)} ${String(f.inputs).padStart(8)} ${(f.inputs / f.seconds).toFixed(0).padStart(11)} ${String(f.failures).padStart(9)} ${f.slowestMs.toFixed(1).padStart(11)} ${f.keptMb.toFixed(1).padStart(13)} ${f.peakRssMb.toFixed(0).padStart(12)}`,
  );
}
const failures = all.reduce((sum, f) => sum + f.failures, 0);
const peakRssMb = Math.max(...all.map((f) => f.peakRssMb));
const keptMb = Math.max(...all.map((f) => f.keptMb));
console.log(`failures: ${failures} (goal 0); heap kept after a full collection at most ${keptMb.toFixed(1)} MB per decoder (goal under ${KEPT_GOAL_MB}); ` +
  `peak RSS ${peakRssMb.toFixed(0)} MB, ${(peakRssMb - startRssMb).toFixed(0)} MB over the start`);
for (const f of all) for (const example of f.examples) console.log(`${f.name}: ${example}`);
process.exitCode = failures === 0 && keptMb < KEPT_GOAL_MB ? 0 : 1;
