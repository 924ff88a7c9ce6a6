/**
 * The metrics building blocks: running totals of things that come and go (deliveries, connections)
 * only grow, whatever closes; every LiveDelivery counts into its kind's process totals without any
 * work per packet beyond its own counters; a MetricGroup's gauges and counters are read at scrape
 * time, come out as Prometheus text that an independent parser reads, and leave the registry when
 * the group closes; a second group with the same names is refused whole; connect refusals without a
 * code get a bounded one; the process registry has every default metric prom-client makes (made
 * without prom-client's index, which loads @opentelemetry/api).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { LiveDelivery, type MediaOutput } from '#common/media/live-delivery.ts';
import { MediaPacket } from '#common/media/media-packet.ts';
import { Logger } from '#common/logger.ts';
import { RunningTotals } from '#common/metrics/running-totals.ts';
import { deliveryTotals } from '#common/metrics/delivery-totals.ts';
import { MetricGroup, processRegistry } from '#common/metrics/registry.ts';
import { connectRefusalCode } from '../../origin/origin-metrics.ts';
import { avcVideo } from '../support/synthetic-media.ts';
import { Scrape } from '../support/prometheus.ts';

test('running totals: live figures are read when asked, a closing one adds its last figures once', () => {
  const totals = new RunningTotals<{ bytes: number }, 'bytes'>(['bytes'], (item) => item);
  const a = { bytes: 10 };
  const b = { bytes: 5 };
  totals.open(a);
  totals.open(b);
  assert.equal(totals.live, 2);
  assert.deepEqual(totals.totals(), { bytes: 15 });
  a.bytes = 30;
  assert.deepEqual(totals.totals(), { bytes: 35 }, 'a live figure is read now');
  totals.close(a);
  totals.close(a);
  totals.close({ bytes: 1000 });
  assert.equal(totals.live, 1);
  assert.deepEqual(totals.totals(), { bytes: 35 }, 'closing (twice, or something never opened) changes no total');
  a.bytes = 99;
  assert.deepEqual(totals.totals(), { bytes: 35 }, 'a closed one is no longer read');
});

class FakeOutput implements MediaOutput {
  backlogBytes = 0;
  sendMedia(): void {}
}

test('every LiveDelivery counts into its kind\'s process totals, live and after it closed', () => {
  const kind = 'metrics test consumer';
  const totals = deliveryTotals.of(kind);
  const make = (output: MediaOutput) => new LiveDelivery(output, 1, { duration: 0, maxBacklogBytes: 1000 }, {
    log: new Logger('test'), label: kind, dropWarning: 'slow', identity: {},
  });
  const key = (t: number) => MediaPacket.fromMessage(avcVideo('key', t, 1, 100));
  const inter = (t: number) => MediaPacket.fromMessage(avcVideo('inter', t, 1, 100));
  const first = new FakeOutput();
  const a = make(first);
  const b = make(new FakeOutput());
  assert.equal(totals.live, 2);
  a.deliver(key(0));
  a.deliver(inter(33));
  b.deliver(key(0));
  assert.deepEqual(totals.totals(), { packetsSent: 3, bytesSent: 300, packetsDropped: 0, bytesDropped: 0, dropEpisodes: 0 });
  first.backlogBytes = 5000; // a stalls
  a.deliver(inter(66));
  a.deliver(inter(99));
  assert.deepEqual(totals.totals(), { packetsSent: 3, bytesSent: 300, packetsDropped: 2, bytesDropped: 200, dropEpisodes: 1 });
  a.close();
  assert.equal(totals.live, 1);
  assert.deepEqual(totals.totals(), { packetsSent: 3, bytesSent: 300, packetsDropped: 2, bytesDropped: 200, dropEpisodes: 1 }, 'what a closed delivery did stays counted');
  b.deliver(inter(33));
  b.close();
  const c = make(new FakeOutput());
  c.deliver(key(0));
  assert.deepEqual(totals.totals(), { packetsSent: 5, bytesSent: 500, packetsDropped: 2, bytesDropped: 200, dropEpisodes: 1 });
  assert.equal(deliveryTotals.of('another kind').totals().packetsSent, 0, 'kinds are counted apart');
  c.close();
});

test('a metric group is read at scrape time, parses with an independent parser, and leaves the registry on close', async () => {
  const registry = new Registry();
  const group = new MetricGroup(registry);
  let clients = 3;
  let bytes = 100;
  group.gauge({ name: 'test_clients', help: 'Clients.' }, () => clients);
  group.gauge({ name: 'test_clients_by_protocol', help: 'Clients by protocol.', labelNames: ['protocol'] }, () => [[{ protocol: 'rtmp' }, 2], [{ protocol: 'ws' }, 1]] as const);
  group.counter({ name: 'test_bytes_total', help: 'Bytes.' }, () => bytes);
  group.counter({ name: 'test_nothing_yet_total', help: 'No label set yet.', labelNames: ['reason'] }, () => []);
  let scrape = new Scrape(await registry.metrics());
  assert.equal(scrape.type('test_clients'), 'GAUGE');
  assert.equal(scrape.type('test_bytes_total'), 'COUNTER');
  assert.equal(scrape.value('test_clients'), 3);
  assert.equal(scrape.value('test_clients_by_protocol', { protocol: 'ws' }), 1);
  assert.equal(scrape.value('test_clients_by_protocol'), 3);
  assert.deepEqual(scrape.samples('test_nothing_yet_total'), []);
  clients = 0;
  bytes = 250;
  scrape = new Scrape(await registry.metrics());
  assert.equal(scrape.value('test_clients'), 0);
  assert.equal(scrape.value('test_bytes_total'), 250, 'the counter reads the running total, it does not add to it');

  const second = new MetricGroup(registry);
  second.gauge({ name: 'test_other', help: 'Registered before the clash.' }, () => 1);
  assert.throws(() => second.counter({ name: 'test_bytes_total', help: 'Bytes again.' }, () => 1), /already been registered/);
  assert.equal(registry.getSingleMetric('test_other'), undefined, 'a refused group leaves nothing behind');

  group.close();
  assert.equal((await registry.metrics()).trim(), '');
});

test('the process registry has every default metric of prom-client\'s, of the same type, the CPU counted from the process\'s start', async () => {
  const defaults = new Registry();
  collectDefaultMetrics({ register: defaults });
  const expected = new Scrape(await defaults.metrics());
  const usedBefore = process.cpuUsage();
  const scrape = new Scrape(await processRegistry().metrics());
  for (const name of expected.families.keys()) assert.equal(scrape.type(name), expected.type(name), name);
  // Counted since the process started, not since the registry was made (after its modules loaded).
  assert.ok(scrape.value('process_cpu_seconds_total') >= (usedBefore.user + usedBefore.system) / 1e6, 'the CPU used before the scrape is counted');
  assert.ok(scrape.value('process_cpu_user_seconds_total') >= usedBefore.user / 1e6);
  assert.ok(scrape.value('process_cpu_system_seconds_total') >= usedBefore.system / 1e6);
});

test('connect refusals without a code get one of a few', () => {
  assert.equal(connectRefusalCode("Unknown application 'nope'"), 'connect.unknown_application');
  assert.equal(connectRefusalCode('Invalid application path: bad name'), 'connect.bad_path');
  assert.equal(connectRefusalCode('Internal error in the application.'), 'connect.internal_error');
  assert.equal(connectRefusalCode('The server is shutting down.'), 'connect.shutting_down');
  assert.equal(connectRefusalCode("The name 'alice' is already in use in this room."), 'connect.rejected');
});
