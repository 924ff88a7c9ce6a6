/**
 * The logger itself (common/logger.ts), writing to a test destination: JSON lines through pino with
 * the component path and a session's bound fields on each line, levels per component (longest
 * prefix wins) over the process's level, the pretty format, and no secret in any line: a
 * secret-named field, a `token=` query parameter and a JWT are masked wherever they appear.
 * (This tests what the logger writes; no other test reads log text.)
 */
import { after, beforeEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { configureLogging, Logger, logLinesWritten, maskTokens, prettyLine, setLogLevel, type LogSettings } from '#common/logger.ts';
import { processRegistry } from '#common/metrics/registry.ts';

let lines: string[] = [];
const destination = { write: (line: string) => lines.push(line) };
const entries = () => lines.map((line) => JSON.parse(line) as Record<string, unknown>);

function configure(settings: Partial<LogSettings> = {}): void {
  configureLogging({ logLevel: 'info', destination, ...settings });
}

beforeEach(() => {
  lines = [];
  configure();
});
after(() => configureLogging({ logLevel: 'info' }));

test('one JSON line per event: level, ISO time, pid, component path, message and fields', () => {
  const origin = new Logger('origin');
  origin.child('link').info('edge linked', { edge: 'edge-a', sessions: 3, skipped: undefined });
  assert.equal(lines.length, 1);
  assert.ok(lines[0]!.endsWith('\n'), 'a line');
  const [entry] = entries();
  assert.equal(entry!.level, 'info');
  assert.match(String(entry!.time), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  assert.equal(entry!.pid, process.pid);
  assert.equal(entry!.component, 'origin.link');
  assert.equal(entry!.msg, 'edge linked');
  assert.equal(entry!.edge, 'edge-a');
  assert.equal(entry!.sessions, 3);
  assert.ok(!('skipped' in entry!), 'undefined fields are left out');
});

test('a session\'s logger puts its id and client address on every line, in its children too', () => {
  const session = new Logger('edge', { edge: 'edge-b' }).with({ session: 'conn#7', peer: '203.0.113.9:50432' });
  session.info('connected', { peer: '203.0.113.9:50432' });
  session.child('relay').warn('slow player: dropping frames', { backlog: 123 });
  session.error('closing connection', { reason: 'chunk.bad_chunk_size' });
  for (const entry of entries()) {
    assert.equal(entry.session, 'conn#7');
    assert.equal(entry.peer, '203.0.113.9:50432');
    assert.equal(entry.edge, 'edge-b');
  }
  assert.deepEqual(entries().map((e) => [e.level, e.component]), [['info', 'edge'], ['warn', 'edge.relay'], ['error', 'edge']]);
  assert.equal(lines[0]!.split('"peer"').length, 2, 'a field the event repeats appears once');
});

test('levels: the process level, then per component, the longest matching prefix winning', () => {
  configure({ logLevel: 'warn', logLevels: { edge: 'debug', 'origin.link': 'error', 'origin.link.tls': 'info' } });
  const origin = new Logger('origin');
  const edge = new Logger('edge');
  origin.info('origin info: hidden');
  origin.warn('origin warn: shown');
  origin.child('link').warn('link warn: hidden');
  origin.child('link').error('link error: shown');
  origin.child('link').child('tls').info('tls info: shown');
  origin.child('linkage').info('not under origin.link: hidden');
  edge.child('relay').debug('edge debug: shown');
  assert.deepEqual(entries().map((e) => e.msg), ['origin warn: shown', 'link error: shown', 'tls info: shown', 'edge debug: shown']);
  assert.equal(origin.isEnabled('info'), false);
  assert.equal(edge.child('relay').isEnabled('debug'), true);
  // A logger made before a change follows it.
  setLogLevel('error');
  origin.warn('now hidden');
  assert.equal(entries().length, 4);
});

test('lines written are counted by level in classroom_log_lines_total; lines below the level are not', async () => {
  const before = { ...logLinesWritten };
  configure({ logLevel: 'warn' });
  const log = new Logger('origin');
  log.info('hidden');
  log.warn('one');
  log.error('two');
  log.error('three');
  assert.deepEqual(entries().map((e) => e.msg), ['one', 'two', 'three']);
  assert.deepEqual(logLinesWritten, { ...before, warn: before.warn + 1, error: before.error + 2 });
  const metric = await processRegistry().getSingleMetric('classroom_log_lines_total')!.get();
  const scraped = (level: string) => metric.values.find((v) => v.labels.level === level)?.value;
  assert.equal(scraped('error'), before.error + 2);
  assert.equal(scraped('info'), before.info);
});

test('no secret in a line: secret-named fields, token query parameters and JWTs are masked', () => {
  const jwt = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJlLXBhcnQ';
  const log = new Logger('origin');
  log.warn(`connect refused for rtmp://host/classroom/room?token=${jwt}`, {
    tcUrl: `rtmp://127.0.0.1/classroom/lesson?role=student&token=${jwt}`,
    path: `/live/cam.flv?token=abc.def.ghi&x=1`,
    token: jwt,
    linkSecret: 'hunter2',
    authorization: `Bearer ${jwt}`,
    error: new Error(`bad token ${jwt}`),
    sub: 'alice',
    hasToken: true,
  });
  const [line] = lines;
  assert.ok(!line!.includes(jwt) && !line!.includes('hunter2') && !line!.includes('abc.def.ghi'), line);
  const [entry] = entries();
  assert.equal(entry!.token, '[redacted]');
  assert.equal(entry!.linkSecret, '[redacted]');
  assert.equal(entry!.authorization, '[redacted]');
  assert.equal(entry!.tcUrl, 'rtmp://127.0.0.1/classroom/lesson?role=student&token=[redacted]');
  assert.equal(entry!.path, '/live/cam.flv?token=[redacted]&x=1');
  assert.equal(entry!.error, 'bad token [redacted-jwt]');
  assert.equal(entry!.sub, 'alice', 'the token\'s subject is what is logged');
  assert.equal(entry!.hasToken, true, 'a flag about a token is no secret');
  assert.equal(maskTokens('nothing secret here'), 'nothing secret here');
});

test('pretty: time LEVEL [component] message key=value, quoting what needs it', () => {
  configure({ logFormat: 'pretty' });
  new Logger('origin').with({ session: 'conn#3' }).warn('closing connection', { reason: 'chunk.too_many_streams: 10000 streams', bytes: 42 });
  assert.match(lines[0]!, /^\d{4}-\d\d-\d\dT[\d:.]+Z WARN  \[origin\] closing connection session=conn#3 reason="chunk\.too_many_streams: 10000 streams" bytes=42\n$/);
  assert.equal(prettyLine('not json'), 'not json', 'anything else passes through');
});
