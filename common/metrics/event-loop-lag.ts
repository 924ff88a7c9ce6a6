/**
 * Event-loop lag, measured as how late the process's own periodic timers fire, under the names
 * prom-client gives it (`nodejs_eventloop_lag_seconds` and its min, max, mean, stddev and
 * percentiles), so dashboards made for prom-client read it unchanged.
 *
 * prom-client's collector samples with a timer of its own (`monitorEventLoopDelay`), and what it
 * reports is the time between two firings, not the delay beyond the due time: at the 100 ms
 * resolution this process had used, an idle process read 0.100 s at every percentile, and the
 * timer woke every process ten times a second for it (on this project's VMs a wake-up costs ~65 µs
 * of CPU whatever runs: an idle origin used 1.2-1.3 ms a second with it, 0.5 without). Here the
 * timers that run anyway report:
 * the merged-write interval (common/write-batcher.ts: once per batch while media flows, at most 20
 * times a second) and a
 * one-second probe on the process's shared one-second beat (common/shared-interval.ts, which the
 * RTMP connections' checks use too), so an idle process wakes once a second and reads ~0.
 *
 * `nodejs_eventloop_lag_seconds` is measured at each scrape as prom-client does: the time until an
 * immediate runs.
 */
import { createHistogram, type RecordableHistogram } from 'node:perf_hooks';
import { createRequire } from 'node:module';
import type * as PromClient from 'prom-client';
import { sharedInterval } from '#common/shared-interval.ts';

const require = createRequire(import.meta.url);

const PROBE_PERIOD_MS = 1000;

/** The process's samples since the last scrape, in nanoseconds late. */
let lateness: RecordableHistogram | null = null;

/**
 * A periodic timer of the process fired `lateMs` after it was due: one sample of the event loop's
 * delay. Ignored until the metric is registered (no histogram to fill in a process nobody scrapes).
 */
export function recordTimerLateness(lateMs: number): void {
  // A timer may fire a fraction of a millisecond early (libuv counts whole ms); the histogram takes >= 1 ns.
  lateness?.record(Math.max(1, Math.round(lateMs * 1e6)));
}

/** A check for the shared beat that records how late each beat came after the previous one. */
function lateBeatProbe(): () => void {
  let last: number | null = null;
  return () => {
    const now = performance.now();
    // The first beat after joining comes when the interval (started by whoever came first) is due, not a period after.
    if (last !== null) recordTimerLateness(now - last - PROBE_PERIOD_MS);
    last = now;
  };
}

/** Registers the eight event-loop lag gauges in `registry` and starts sampling. Once per process. */
export function registerEventLoopLag(registry: PromClient.Registry): void {
  if (lateness) throw new Error('event-loop lag is registered once per process');
  // Required here, not at the top: the write batcher imports this module in processes that have no metrics.
  const Gauge = require('prom-client/lib/gauge') as typeof PromClient.Gauge;
  const histogram = createHistogram();
  lateness = histogram;
  sharedInterval(PROBE_PERIOD_MS).add(lateBeatProbe());
  const registers = [registry];
  const seconds = (nanoseconds: number) => nanoseconds / 1e9;
  const summary = [
    ['min', 'The minimum recorded event loop delay.', () => histogram.min],
    ['max', 'The maximum recorded event loop delay.', () => histogram.max],
    ['mean', 'The mean of the recorded event loop delays.', () => histogram.mean],
    ['stddev', 'The standard deviation of the recorded event loop delays.', () => histogram.stddev],
    ['p50', 'The 50th percentile of the recorded event loop delays.', () => histogram.percentile(50)],
    ['p90', 'The 90th percentile of the recorded event loop delays.', () => histogram.percentile(90)],
    ['p99', 'The 99th percentile of the recorded event loop delays.', () => histogram.percentile(99)],
  ] as const;
  new Gauge({
    name: 'nodejs_eventloop_lag_seconds',
    help: 'Lag of event loop in seconds.',
    registers,
    // This one metric's collect sets all of them, then starts the next scrape's samples afresh; it is
    // registered first, so a scrape collects it before it reads the others.
    async collect() {
      // With no sample since the last scrape (no timer came due), nothing was late.
      const sampled = histogram.count > 0;
      summary.forEach(([, , read], i) => gauges[i]!.set(sampled ? seconds(read()) : 0));
      histogram.reset();
      const start = performance.now();
      await new Promise((resolve) => setImmediate(resolve));
      this.set((performance.now() - start) / 1000);
    },
  });
  const gauges = summary.map(([name, help]) => new Gauge({ name: `nodejs_eventloop_lag_${name}_seconds`, help, registers }));
}
