/**
 * WriteBatcher: held media flushed once per interval on one timer, and targets scheduled while it
 * flushes (a live stream's batch handed to a connection that holds it) flushed in the same pass.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { WriteBatcher, type Flushable } from '#common/write-batcher.ts';

/** A target that records its flushes and, when given `next`, schedules it from inside its own flush. */
class Target implements Flushable {
  flushes = 0;
  readonly #batcher: WriteBatcher;
  readonly #next: Target | null;
  constructor(batcher: WriteBatcher, next: Target | null = null) {
    this.#batcher = batcher;
    this.#next = next;
  }
  flush(): void {
    this.flushes++;
    if (this.#next) this.#batcher.schedule(this.#next);
  }
}

/** Past the batcher's interval: its timer, set earlier for a shorter time, has fired. */
async function interval(batcher: WriteBatcher): Promise<void> {
  await sleep(batcher.intervalMs * 3);
}

test('targets scheduled in one interval are flushed once, together', async () => {
  const batcher = new WriteBatcher(5);
  const [a, b] = [new Target(batcher), new Target(batcher)];
  batcher.schedule(a);
  batcher.schedule(b);
  batcher.schedule(a);
  assert.equal(a.flushes, 0, 'held until the interval ends');
  await interval(batcher);
  assert.deepEqual([a.flushes, b.flushes], [1, 1]);
  await interval(batcher);
  assert.deepEqual([a.flushes, b.flushes], [1, 1], 'nothing scheduled: no flush');
});

test('a target scheduled while flushing goes out in the same pass, not an interval later', async () => {
  const batcher = new WriteBatcher(5);
  const connection = new Target(batcher);
  const stream = new Target(batcher, connection);
  batcher.schedule(stream);
  await interval(batcher);
  assert.equal(stream.flushes, 1);
  assert.equal(connection.flushes, 1, 'flushed in the pass that scheduled it');
  await interval(batcher);
  assert.equal(connection.flushes, 1, 'and no timer left behind to flush it again');
});

test('a target that flushed on its own is not flushed again at the interval', async () => {
  const batcher = new WriteBatcher(5);
  const target = new Target(batcher);
  batcher.schedule(target);
  batcher.cancel(target);
  await interval(batcher);
  assert.equal(target.flushes, 0);
});
