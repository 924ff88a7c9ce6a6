/**
 * The page's recordings logic (web-client/src/session/recordings.ts) in Node, against an HTTP server
 * answering as the edge forwards the origin: the room's FLV files only, newest recording first, with
 * the start from the recording's folder, the length from the metadata and the unfinished flag; the
 * member's token sent as a bearer header and the room asked for; 401/403 a `recordings.refused`, a
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
/** What the server answers next: status and body. */
let answer: { status: number; body: string } = { status: 200, body: JSON.stringify(LISTING) };

before(async () => {
  server = createServer((req, res) => {
    requests.push({ url: req.url ?? '', headers: req.headers });
    res.writeHead(answer.status, { 'content-type': 'application/json' }).end(answer.body);
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
