/**
 * The process's event-loop lag metrics (common/metrics/event-loop-lag.ts) read how late its own
 * timers fire: an event loop that keeps up reads near zero (prom-client's collector at a 100 ms
 * resolution read 0.100 s at every percentile, idle), a loop blocked while the merged-write
 * interval is due reads at least the time it was held up, and the figures start afresh at each
 * scrape.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { processRegistry } from '#common/metrics/registry.ts';
import { WriteBatcher } from '#common/write-batcher.ts';
import { Scrape } from '../support/prometheus.ts';

/** One merged-write interval of `batcher` run to its end. */
function oneInterval(batcher: WriteBatcher, whileDue?: () => void): Promise<void> {
  return new Promise((resolve) => {
    batcher.schedule({ flush: resolve });
    whileDue?.();
  });
}

function blockFor(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until) { /* the event loop is held */ }
}

async function scrape(): Promise<Scrape> {
  return new Scrape(await processRegistry().metrics());
}

test('event-loop lag: near zero while timers fire on time, the time held up when the loop is blocked, afresh at each scrape', async () => {
  const batcher = new WriteBatcher(20);
  await scrape(); // Starts the samples afresh.

  for (let i = 0; i < 10; i++) await oneInterval(batcher);
  const onTime = await scrape();
  // Ten samples: on a loaded machine one may come late, but not all of them by half the old reading.
  assert.ok(onTime.value('nodejs_eventloop_lag_min_seconds') < 0.05, `min ${onTime.value('nodejs_eventloop_lag_min_seconds')} s`);
  assert.ok(onTime.value('nodejs_eventloop_lag_max_seconds') > 0, 'the intervals were sampled (no samples read 0)');

  // The interval comes due 20 ms in; the loop is held for 150 ms: it fires at least 130 ms late.
  await oneInterval(batcher, () => blockFor(150));
  const blocked = await scrape();
  assert.ok(blocked.value('nodejs_eventloop_lag_max_seconds') >= 0.13, `max ${blocked.value('nodejs_eventloop_lag_max_seconds')} s`);
  assert.ok(blocked.value('nodejs_eventloop_lag_p99_seconds') >= 0.13);

  const afresh = await scrape();
  assert.ok(afresh.value('nodejs_eventloop_lag_max_seconds') < 0.13, 'the blocked sample belongs to the scrape before');
  assert.ok(afresh.value('nodejs_eventloop_lag_seconds') >= 0, 'the time to an immediate, measured at the scrape');
});
