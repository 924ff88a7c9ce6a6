/**
 * The signal handling every server process uses (common/graceful-shutdown.ts), driven by real
 * signals to this process (SIGHUP: the test runner handles SIGTERM and SIGINT, and Node writes a
 * diagnostic report on SIGUSR2) with the
 * exit observed instead of taken: a shutdown that finishes exits 0, one that fails or outlives its
 * deadline exits 1, and a second signal exits at once with 128 + its number.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { constants } from 'node:os';
import { exitOnSignals, settledWithin } from '#common/graceful-shutdown.ts';
import { Logger } from '#common/logger.ts';

const log = new Logger('shutdown-test');
const SIGNAL = 'SIGHUP';

/** Installs the handlers with a recorded exit; `exited` resolves with the first exit code. */
function handle(shutdown: () => Promise<void>, deadlineMs = 10_000) {
  const codes: number[] = [];
  let onExit: (code: number) => void = () => {};
  const exited = new Promise<number>((resolve) => { onExit = resolve; });
  const remove = exitOnSignals(log, shutdown, { deadlineMs, signals: [SIGNAL], exit: (code) => { codes.push(code); onExit(code); } });
  return { codes, exited, remove };
}

test('a shutdown that finishes exits 0, once', async () => {
  let calls = 0;
  const { exited, codes, remove } = handle(async () => { calls++; });
  process.kill(process.pid, SIGNAL);
  assert.equal(await exited, 0);
  remove();
  assert.equal(calls, 1);
  assert.deepEqual(codes, [0]);
});

test('a shutdown that fails exits 1', async () => {
  const { exited, remove } = handle(async () => { throw new Error('disk gone'); });
  process.kill(process.pid, SIGNAL);
  assert.equal(await exited, 1);
  remove();
});

test('a shutdown that hangs is cut by the deadline: exit 1', async () => {
  const { exited, remove } = handle(() => new Promise(() => {}), 50);
  process.kill(process.pid, SIGNAL);
  assert.equal(await exited, 1);
  remove();
});

test('a second signal exits at once with 128 + its number, while the shutdown still runs', async () => {
  let shutdownStarted: () => void = () => {};
  const started = new Promise<void>((resolve) => { shutdownStarted = resolve; });
  const { exited, codes, remove } = handle(() => { shutdownStarted(); return new Promise(() => {}); });
  process.kill(process.pid, SIGNAL);
  await started;
  process.kill(process.pid, SIGNAL);
  assert.equal(await exited, 128 + constants.signals[SIGNAL]);
  remove();
  assert.deepEqual(codes, [128 + constants.signals[SIGNAL]], 'the deadline has not fired meanwhile');
});

test('settledWithin: true once all settled (rejections count), false when one is still pending', async () => {
  assert.equal(await settledWithin([], 10), true);
  assert.equal(await settledWithin([Promise.resolve(1), Promise.reject(new Error('x'))], 1000), true);
  assert.equal(await settledWithin([Promise.resolve(1), new Promise(() => {})], 20), false);
});
