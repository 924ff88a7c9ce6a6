/**
 * WriteBatcher: held media flushed once per interval on one timer, and targets scheduled while it
 * flushes (a live stream's batch handed to a connection that holds it) flushed in the same pass;
 * deferred readers resumed first, and the flush in the same turn when they all read right there.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { WriteBatcher, type DeferredReader, type Flushable } from '#common/write-batcher.ts';

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

/** A deferred reader that either reads at once (pulled) or has its socket read later in the turn; it logs what happens when. */
class Reader implements DeferredReader {
  readonly #log: string[];
  readonly #pulls: boolean;
  constructor(log: string[], pulls: boolean) {
    this.#log = log;
    this.#pulls = pulls;
  }
  resumeReading(): boolean {
    this.#log.push('resume');
    // Whatever runs in the loop's next phases: an immediate queued here.
    setImmediate(() => this.#log.push('next phase'));
    return this.#pulls;
  }
}

test('deferred readers that pull are resumed and flushed in the same turn; one whose socket reads again is flushed after the poll phase', async () => {
  for (const pulls of [true, false]) {
    const log: string[] = [];
    const batcher = new WriteBatcher(5);
    const target: Flushable = { flush: () => log.push('flush') };
    batcher.schedule(target);
    batcher.deferRead(new Reader(log, true));
    batcher.deferRead(new Reader(log, pulls));
    await interval(batcher);
    const expected = pulls ? ['resume', 'resume', 'flush', 'next phase', 'next phase'] : ['resume', 'resume', 'next phase', 'next phase', 'flush'];
    assert.deepEqual(log, expected, pulls ? 'all pulled' : 'one reads through its socket');
  }
});
