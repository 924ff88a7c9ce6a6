/**
 * The process's one Prometheus registry (prom-client) and how components put metrics in it.
 *
 * One registry per process, served at `GET /metrics` by the process's HTTP router (the origin's API
 * port, the edge's HTTP port). Process metrics (CPU, memory, file descriptors, GC, event-loop lag:
 * prom-client's defaults, and `classroom_log_lines_total` by level) belong to the process, so they are registered once; the origin's metrics
 * are named `classroom_origin_*` and the edge's `classroom_edge_*`, so `npm start` (origin and edge in
 * one process) holds both without a clash, and either port shows the whole process.
 *
 * Metrics are read when scraped from the stats objects the components already keep (`MetricGroup`'s
 * `gauge` and `counter` take a read function): nothing runs per packet. A component's group removes its
 * metrics when the component closes; a second live component of the same kind in one process is refused
 * by prom-client ("already registered"), since its figures would be indistinguishable.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import type * as PromClient from 'prom-client';
import { logLinesWritten } from '#common/logger.ts';
import { registerEventLoopLag } from './event-loop-lag.ts';

/*
 * prom-client's parts used here, required from their own files: its index also loads what no process
 * here uses (the push gateway's client with node:http and node:https, the cluster aggregator with
 * node:cluster, summaries with tdigest), some 0.03 CPU-seconds of every start, which a restarted
 * edge's clients wait for (README, "Start time"). Its own types describe them.
 */
const require = createRequire(import.meta.url);
const Registry = require('prom-client/lib/registry') as typeof PromClient.Registry;
const Counter = require('prom-client/lib/counter') as typeof PromClient.Counter;
const Gauge = require('prom-client/lib/gauge') as typeof PromClient.Gauge;
type Registry = PromClient.Registry;
type Counter<L extends string> = PromClient.Counter<L>;
type Gauge<L extends string> = PromClient.Gauge<L>;

/**
 * prom-client's default process metrics (what its collectDefaultMetrics registers), each from its
 * own file, but for the process's CPU: its processCpuTotal.js loads @opentelemetry/api (51 modules,
 * some 0.03 CPU-seconds of every start) for exemplars no metric here has. processCpuCounters makes
 * the same three counters. And for event-loop lag, whose collector samples with a timer of its own
 * and reports the time between its firings: common/metrics/event-loop-lag.ts makes the same eight
 * gauges from how late the process's own timers fire. test/common/metrics.test.ts checks that no
 * default metric is missing.
 */
type DefaultMetric = (register: Registry, config: PromClient.DefaultMetricsCollectorConfiguration<PromClient.RegistryContentType>) => void;
const DEFAULT_METRICS_BUT_CPU = [
  'processStartTime', 'osMemoryHeap', 'processOpenFileDescriptors', 'processMaxFileDescriptors',
  'processResources', 'processHandles', 'processRequests', 'heapSizeAndUsed', 'heapSpacesSizeAndUsed', 'version', 'gc',
].map((name) => require(`prom-client/lib/metrics/${name}`) as DefaultMetric);

/** process_cpu_{user,system}_seconds_total and process_cpu_seconds_total, as prom-client names them: the CPU the process has used since it started. */
function processCpuCounters(target: Registry): void {
  const cpu = new MetricGroup(target);
  const seconds = (micros: number) => micros / 1e6;
  cpu.counter({ name: 'process_cpu_user_seconds_total', help: 'Total user CPU time spent in seconds.' }, () => seconds(process.cpuUsage().user));
  cpu.counter({ name: 'process_cpu_system_seconds_total', help: 'Total system CPU time spent in seconds.' }, () => seconds(process.cpuUsage().system));
  cpu.counter({ name: 'process_cpu_seconds_total', help: 'Total user and system CPU time spent in seconds.' }, () => {
    const used = process.cpuUsage();
    return seconds(used.user + used.system);
  });
}

let registry: Registry | null = null;

/** The process's registry, with prom-client's default process metrics (made on first use). */
export function processRegistry(): Registry {
  if (!registry) {
    registry = new Registry();
    for (const register of DEFAULT_METRICS_BUT_CPU) register(registry, {});
    processCpuCounters(registry);
    registerEventLoopLag(registry);
    registry.registerMetric(new Counter({
      name: 'classroom_log_lines_total',
      help: 'Log lines the process wrote, by level (lines below the configured level are not written and not counted).',
      labelNames: ['level'],
      registers: [],
      collect() {
        this.reset();
        for (const [level, lines] of Object.entries(logLinesWritten)) this.inc({ level }, lines);
      },
    }));
  }
  return registry;
}

/** One sample of a labelled metric: its label values and its value. */
export type Sample<L extends string> = readonly [labels: Readonly<Record<L, string>>, value: number];

/** What a read function returns: one value (a metric without labels) or one sample per label set. */
export type Reading<L extends string> = [L] extends [never] ? number : Iterable<Sample<L>>;

interface MetricSpec<L extends string> {
  name: string;
  help: string;
  labelNames?: readonly L[];
}

/** prom-client's options for a metric of this group's own (registered by the group, not at construction). */
function options<L extends string>(spec: MetricSpec<L>) {
  return { name: spec.name, help: spec.help, labelNames: spec.labelNames ?? [], registers: [] };
}

/** Puts a reading into a metric just reset: `put(null, value)` for a metric without labels. */
function apply<L extends string>(reading: Reading<L>, put: (labels: Readonly<Record<L, string>> | null, value: number) => void): void {
  if (typeof reading === 'number') put(null, reading);
  else for (const [labels, value] of reading as Iterable<Sample<L>>) put(labels, value);
}

/** The metrics one component (an origin, an edge) adds to the registry; `close()` takes them out. */
export class MetricGroup {
  readonly #registry: Registry;
  readonly #names: string[] = [];

  constructor(target: Registry = processRegistry()) {
    this.#registry = target;
  }

  /** A gauge whose value(s) `read` gives at each scrape (label sets it does not return are left out). */
  gauge<L extends string = never>(spec: MetricSpec<L>, read: () => Reading<L>): void {
    this.#register(spec.name, new Gauge<L>({
      ...options(spec),
      collect() {
        this.reset();
        apply(read(), (labels, value) => (labels ? this.set(labels, value) : this.set(value)));
      },
    }));
  }

  /**
   * A counter whose total(s) `read` gives at each scrape: totals the component keeps that only grow
   * (bytes, frames dropped). A total that starts again (a reconnected link) reads as a counter reset.
   */
  counter<L extends string = never>(spec: MetricSpec<L>, read: () => Reading<L>): void {
    this.#register(spec.name, new Counter<L>({
      ...options(spec),
      collect() {
        this.reset();
        apply(read(), (labels, value) => (labels ? this.inc(labels, value) : this.inc(value)));
      },
    }));
  }

  /** Adds a counter of events made elsewhere (refusals, shared object changes). */
  add(counter: EventCounter<string>): void {
    this.#register(counter.name, counter.metric);
  }

  close(): void {
    for (const name of this.#names.splice(0)) this.#registry.removeSingleMetric(name);
  }

  #register(name: string, metric: Counter<string> | Gauge<string>): void {
    try {
      this.#registry.registerMetric(metric);
    } catch (error) {
      this.close();
      throw error;
    }
    this.#names.push(name);
  }
}

/**
 * A counter of events (rare ones: refusals, shared object changes, not packets), made once per
 * process and added to a component's group: its count outlives a component that closes.
 */
export class EventCounter<L extends string = never> {
  readonly name: string;
  readonly metric: Counter<L>;

  constructor(spec: MetricSpec<L>) {
    this.name = spec.name;
    this.metric = new Counter<L>(options(spec));
  }

  inc(...labels: [L] extends [never] ? [] : [Readonly<Record<L, string>>]): void {
    if (labels[0]) this.metric.inc(labels[0]);
    else this.metric.inc();
  }
}

/** `GET /metrics`: the registry in Prometheus's text format. */
export async function serveMetrics(req: IncomingMessage, res: ServerResponse): Promise<void> {
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain; charset=utf-8' });
    res.end('method not allowed\n');
    return;
  }
  const target = processRegistry();
  const text = await target.metrics();
  res.writeHead(200, { 'content-type': target.contentType, 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' });
  res.end(req.method === 'HEAD' ? undefined : text);
}
