/**
 * The page's recordings logic (web-client/src/session/recordings.ts) in Node, against an HTTP server
 * answering as the edge forwards the origin: the room's FLV files only, newest recording first, with
 * the start from the recording's folder, the length from the metadata and the unfinished flag; the
 * member's token sent as a bearer header and the room asked for; the listing's pages followed by their
 * `next` until the last (a `next` outside the listing, or one already asked for, refused); 401/403 a `recordings.refused`, a
 * 502 or no server a `recordings.unavailable` with the reason; file URLs with their segments encoded.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { fetchRecordings, recordingUrl, RecordingsError } from '../../web-client/src/session/recordings.ts';

const LISTING = {
  files: [
    { path: 'classroom/lesson/rec-20261202T090000Z/Ms-Li-cam.flv', kind: 'flv', size: 1000, modified: '2026-12-02T09:10:00.000Z', recording: false, duration: 65.4 },
    { path: 'classroom/lesson/rec-20261202T100000Z/Sam-cam.flv', kind: 'flv', size: 2000, modified: '2026-12-02T10:10:00.000Z', recording: true },
    { path: 'classroom/lesson/rec-20261202T100000Z/Ms-Li-cam.flv', kind: 'flv', size: 3000, modified: '2026-12-02T10:10:00.000Z', recording: false, duration: 12 },
    { path: 'classroom/lesson/intro.mp3', kind: 'mp3', size: 10, modified: '2026-12-02T10:10:00.000Z', recording: false },
    { path: 'classroom/lesson2/rec-20261202T110000Z/Kim-cam.flv', kind: 'flv', size: 10, modified: '2026-12-02T11:10:00.000Z', recording: false },
  ],
  rooms: [],
};

let server: Server;
let base: string;
const requests: Array<{ url: string; headers: IncomingHttpHeaders }> = [];
/** What the server answers next: status and body, or by the URL asked for. */
let answer: { status: number; body: string } | ((url: string) => { status: number; body: string }) = { status: 200, body: JSON.stringify(LISTING) };

before(async () => {
  server = createServer((req, res) => {
    requests.push({ url: req.url ?? '', headers: req.headers });
    const { status, body } = typeof answer === 'function' ? answer(req.url ?? '') : answer;
    res.writeHead(status, { 'content-type': 'application/json' }).end(body);
  }).listen(0, '127.0.0.1');
  await once(server, 'listening');
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(() => { server.close(); });

test('the room\'s FLV recordings, newest first, with when, how long and whether still written; the token and room sent', async () => {
  answer = { status: 200, body: JSON.stringify(LISTING) };
  const entries = await fetchRecordings('lesson', 'TOKEN', base);
  assert.deepEqual(entries.map((e) => [e.stream, e.startedAt.toISOString(), e.duration, e.unfinished]), [
    ['Ms-Li-cam', '2026-12-02T10:00:00.000Z', 12, false],
    ['Sam-cam', '2026-12-02T10:00:00.000Z', null, true],
    ['Ms-Li-cam', '2026-12-02T09:00:00.000Z', 65.4, false],
  ]);
  const sent = requests.at(-1)!;
  assert.equal(sent.url, '/api/recordings?room=classroom%2Flesson');
  assert.equal(sent.headers.authorization, 'Bearer TOKEN');
  await fetchRecordings('lesson', undefined, base);
  assert.equal(requests.at(-1)!.headers.authorization, undefined, 'no token, no header: the origin says 401');
});

test('the listing\'s pages are followed by their next, with the token, until the last; a next elsewhere or again is refused', async () => {
  const pages: Record<string, { files: unknown[]; rooms: unknown[]; next: string | null }> = {
    '/api/recordings?room=classroom%2Flesson': { files: LISTING.files.slice(0, 2), rooms: [], next: '/api/recordings?room=classroom%2Flesson&limit=2&after=p2' },
    '/api/recordings?room=classroom%2Flesson&limit=2&after=p2': { files: LISTING.files.slice(2, 4), rooms: [], next: '/api/recordings?room=classroom%2Flesson&limit=2&after=p4' },
    '/api/recordings?room=classroom%2Flesson&limit=2&after=p4': { files: LISTING.files.slice(4), rooms: [], next: null },
  };
  answer = (url) => ({ status: pages[url] ? 200 : 404, body: JSON.stringify(pages[url] ?? { error: 'no such page' }) });
  const asked = requests.length;
  const entries = await fetchRecordings('lesson', 'TOKEN', base);
  assert.deepEqual(requests.slice(asked).map((r) => r.url), Object.keys(pages));
  assert.ok(requests.slice(asked).every((r) => r.headers.authorization === 'Bearer TOKEN'));
  assert.deepEqual(entries.map((e) => e.path), [
    'classroom/lesson/rec-20261202T100000Z/Ms-Li-cam.flv', 'classroom/lesson/rec-20261202T100000Z/Sam-cam.flv', 'classroom/lesson/rec-20261202T090000Z/Ms-Li-cam.flv',
  ], 'the files of every page, the room\'s FLV files only, newest first');
  for (const next of ['https://elsewhere.example/api/recordings?x', '/api/recordings?room=classroom%2Flesson']) {
    answer = () => ({ status: 200, body: JSON.stringify({ files: [], rooms: [], next }) });
    await assert.rejects(fetchRecordings('lesson', 'TOKEN', base), (error: RecordingsError) => error.code === 'recordings.unavailable' && /next page/.test(error.message), next);
  }
});

test('the origin\'s refusal is recordings.refused, anything else recordings.unavailable with the reason', async () => {
  answer = { status: 403, body: JSON.stringify({ error: 'a student token may not use this (recordings.read)' }) };
  await assert.rejects(fetchRecordings('lesson', 'TOKEN', base), (error: RecordingsError) =>
    error instanceof RecordingsError && error.code === 'recordings.refused' && error.status === 403 && /recordings\.read/.test(error.message));
  answer = { status: 502, body: 'the origin\'s HTTP API (127.0.0.1:8086) cannot be reached: connect ECONNREFUSED\n' };
  await assert.rejects(fetchRecordings('lesson', 'TOKEN', base), (error: RecordingsError) =>
    error.code === 'recordings.unavailable' && error.status === 502 && /cannot be reached/.test(error.message));
  await assert.rejects(fetchRecordings('lesson', 'TOKEN', 'http://127.0.0.1:1'), (error: RecordingsError) => error.code === 'recordings.unavailable' && error.status === 0);
});

test('a recording\'s URL encodes each segment of its path', () => {
  assert.equal(recordingUrl('classroom/lesson/rec-1/Ms Li?cam.flv'), '/recordings/classroom/lesson/rec-1/Ms%20Li%3Fcam.flv');
});
