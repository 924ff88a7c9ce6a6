/**
 * Reconnect delays (common/backoff.ts), as the browser page and the edge's origin link draw them:
 * doubling from the minimum to the maximum, jitter below each step, a lower cap for one step, reset.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Backoff } from '#common/backoff.ts';

test('backoff doubles from its minimum to its maximum, with jitter below each step, and resets', () => {
  const steps = new Backoff({ minMs: 100, maxMs: 1000, jitter: 0 });
  assert.deepEqual([1, 2, 3, 4, 5, 6].map(() => steps.next()), [100, 200, 400, 800, 1000, 1000]);
  assert.equal(steps.attempts, 6);
  steps.reset();
  assert.equal(steps.next(), 100);
  const jittered = new Backoff({ minMs: 1000, jitter: 0.5, random: () => 1 });
  assert.equal(jittered.next(), 500);
});

test('a step capped lower (a failure cheap to retry) still counts, and the next uncapped step goes on doubling', () => {
  const steps = new Backoff({ minMs: 100, maxMs: 5000, jitter: 0 });
  assert.deepEqual([1, 2, 3, 4, 5].map(() => steps.next(250)), [100, 200, 250, 250, 250]);
  assert.equal(steps.attempts, 5);
  assert.equal(steps.next(), 3200, 'the sixth step of 100 ms doubling');
  assert.equal(steps.next(), 5000);
  assert.equal(steps.next(10_000), 5000, 'a cap above maxMs does not lift it');
});
