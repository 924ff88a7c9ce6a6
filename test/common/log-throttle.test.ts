/**
 * Rate-limited WARN lines (common/log-throttle.ts), writing to a test destination under mocked
 * clocks: the first lines of a key per interval are written, the rest counted, one summary line
 * with the count once the interval ends, and keys (address and reason) are limited apart.
 * (This tests what the throttle writes; no other test reads log text.)
 */
import { after, afterEach, beforeEach, mock, test } from 'node:test';
import assert from 'node:assert/strict';
import { configureLogging, Logger } from '#common/logger.ts';
import { LogThrottle } from '#common/log-throttle.ts';

let lines: Array<Record<string, unknown>> = [];
const destination = { write: (line: string) => lines.push(JSON.parse(line) as Record<string, unknown>) };

beforeEach(() => {
  lines = [];
  configureLogging({ logLevel: 'info', destination });
  mock.timers.enable({ apis: ['Date', 'setInterval'] });
});
afterEach(() => mock.timers.reset());
after(() => configureLogging({ logLevel: 'info' }));

test('the first lines of a key per interval are written, the rest summed up in one line when it ends', () => {
  const throttle = new LogThrottle(new Logger('test'), { linesPerInterval: 3, intervalMs: 10_000 });
  for (let i = 0; i < 1000; i++) throttle.warn('203.0.113.9 bad_request', 'bad request', { peer: '203.0.113.9', n: i });
  assert.equal(lines.length, 3, 'three lines, not a thousand');
  assert.deepEqual(lines.map((line) => line.n), [0, 1, 2]);
  assert.equal(throttle.suppressed('203.0.113.9 bad_request'), 997);
  mock.timers.tick(10_000);
  assert.equal(lines.length, 4, 'one summary line once the interval is over');
  const summary = lines[3]!;
  assert.equal(summary.level, 'warn');
  assert.equal(summary.suppressed, 997);
  assert.equal(summary.key, '203.0.113.9 bad_request');
  assert.equal(summary.peer, '203.0.113.9', 'the summary carries the suppressed line\'s fields');
  assert.match(String(summary.msg), /^bad request/);
  // A new interval starts afresh.
  throttle.warn('203.0.113.9 bad_request', 'bad request', { n: 1000 });
  assert.equal(lines.length, 5);
  assert.equal(lines[4]!.n, 1000);
  throttle.close();
});

test('keys are limited apart: one address flooding does not silence another, nor another reason', () => {
  const throttle = new LogThrottle(new Logger('test'), { linesPerInterval: 2, intervalMs: 5000 });
  for (let i = 0; i < 50; i++) throttle.warn('198.51.100.1 rate', 'refused');
  throttle.warn('198.51.100.2 rate', 'refused', { peer: '198.51.100.2' });
  throttle.warn('198.51.100.1 connections', 'refused', { reason: 'connections' });
  assert.equal(lines.length, 4);
  assert.equal(lines[2]!.peer, '198.51.100.2');
  assert.equal(lines[3]!.reason, 'connections');
  throttle.close();
  assert.equal(lines.length, 5, 'close writes the pending summary');
  assert.equal(lines[4]!.suppressed, 48);
});

test('lazy fields are made only for lines written; a quiet key writes no summary', () => {
  const throttle = new LogThrottle(new Logger('test'), { linesPerInterval: 1, intervalMs: 1000 });
  let made = 0;
  for (let i = 0; i < 10; i++) throttle.warn('k', 'full', () => ({ top: `made ${++made}` }));
  assert.equal(made, 1);
  assert.equal(lines[0]!.top, 'made 1');
  throttle.warn('quiet', 'once');
  mock.timers.tick(1000);
  assert.deepEqual(lines.map((line) => line.suppressed ?? null), [null, null, 9]);
  throttle.close();
});
