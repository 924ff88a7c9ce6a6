/**
 * Tokens on the edge's HTTP routes, with `--auth live=required` (and the classroom's default,
 * `required`), through two edges: one given the origin's token secret (`--token-secret-file`), which
 * refuses an expired token, one signed with another secret and one for another room itself (HTTP-FLV
 * and WS-FLV 401/401/403, the /ws join `forbidden`, WHIP and WHEP 401/403) without opening a session
 * on the link, so the origin counts none of those refusals while the edge's /metrics counts each;
 * and one without it, which forwards and lets the origin refuse (the same statuses, counted by the
 * origin). A request without a token goes to the origin on both (whether one is needed is its
 * policy): 401 for FLV, `forbidden` for the join. Valid tokens (`?token=` or `Authorization: Bearer`)
 * play and join. `npm start`'s edge checks tokens with its own origin's secret.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import WebSocket from 'ws';
import { TokenService } from '#common/auth/tokens.ts';
import { startCluster, startEdge, startLocalCluster, type Cluster, type EdgeProcess } from '../support/cluster.ts';
import { waitForPublished } from '../support/observe.ts';
import { publishTestStream, stopAll, tempDir } from '../support/processes.ts';
import { scrapeMetrics } from '../support/prometheus.ts';
import { bearer, mintToken } from '../support/tokens.ts';
import { joinReply } from '../support/ws-join.ts';

let cluster: Cluster;
/** Has the origin's token secret: refuses bad tokens itself. */
let checking: EdgeProcess;
/** Has no token secret: forwards every request, the origin decides. */
let forwarding: EdgeProcess;
/** Refusal code -> a token the origin refuses with it, for the live application. */
let badTokens: Record<'auth.expired' | 'auth.bad_token' | 'auth.wrong_room', string>;
const token = (claims: Parameters<typeof mintToken>[1], ttl?: number) => mintToken(cluster.origin.dataDir, claims, ttl);

before(async () => {
  cluster = await startCluster(['auth-forwarding'], { originArgs: ['--auth', 'live=required'] });
  forwarding = cluster.edges[0]!;
  checking = await startEdge('auth-checking', cluster.link, cluster.secret, { args: ['--token-secret-file', join(cluster.origin.dataDir, 'token-secret')] });
  badTokens = {
    'auth.expired': await token({ room: 'live', role: 'viewer', name: 'late' }, -120),
    'auth.bad_token': await new TokenService('another-secret-another-secret-another-secret').sign({ sub: 'x', name: 'x', room: 'live', role: 'viewer' }, 600),
    'auth.wrong_room': await token({ room: 'classroom/math', role: 'teacher', name: 'elsewhere' }),
  };
  const publisher = await token({ room: 'live', role: 'student', name: 'cam-owner' });
  publishTestStream(`rtmp://127.0.0.1:${cluster.origin.port}/live/guarded?token=${publisher}`, { seconds: 120 });
  await waitForPublished(cluster.origin, 'live/guarded', 20_000);
});
after(stopAll);

/** A counter's value over the samples with `labels`; 0 before its first sample (a labelled counter has no family until then). */
async function counted(port: number, name: string, labels: Record<string, string>): Promise<number> {
  const scrape = await scrapeMetrics(port);
  return scrape.families.has(name) ? scrape.value(name, labels) : 0;
}

/** Refusals the origin counted, at connect (reason) and at play (action play, reason). */
async function originRefusals(reason: string): Promise<number> {
  const port = cluster.origin.httpPort;
  return await counted(port, 'classroom_origin_connect_refusals_total', { reason }) + await counted(port, 'classroom_origin_access_refusals_total', { action: 'play', reason });
}

const edgeRefusals = (edge: Pick<EdgeProcess, 'httpPort'>, protocol: string, reason: string) => counted(edge.httpPort, 'classroom_edge_token_refusals_total', { protocol, reason });

/** GET an HTTP-FLV stream: the status, and for 200 whether the body starts as FLV (then the request is cut). */
async function httpFlv(edge: EdgeProcess, path: string, headers: Record<string, string> = {}): Promise<{ status: number; flv: boolean; text: string }> {
  const controller = new AbortController();
  const response = await fetch(`http://127.0.0.1:${edge.httpPort}${path}`, { headers, signal: controller.signal });
  if (response.status !== 200) return { status: response.status, flv: false, text: await response.text() };
  const reader = response.body!.getReader();
  const { value } = await reader.read();
  controller.abort();
  return { status: 200, flv: Buffer.from(value ?? []).subarray(0, 3).toString() === 'FLV', text: '' };
}

/** Opens a WS-FLV stream: the refusal's HTTP status, or how the WebSocket went (an FLV message first, or its close code). */
function wsFlv(edge: EdgeProcess, path: string): Promise<{ status: number } | { flv: boolean } | { closed: number; reason: string }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${edge.httpPort}${path}`);
    ws.once('unexpected-response', (_req, res) => { resolve({ status: res.statusCode ?? 0 }); res.resume(); ws.terminate(); });
    ws.once('message', (data: Buffer) => { resolve({ flv: data.subarray(0, 3).toString() === 'FLV' }); ws.close(); });
    ws.once('close', (code, reason) => resolve({ closed: code, reason: String(reason) }));
    ws.once('error', (error) => { if (!/Unexpected server response/.test(error.message)) reject(error); });
  });
}

const joinRoom = (edge: EdgeProcess, message: object) => joinReply(edge.httpPort, message);

describe('HTTP-FLV and WS-FLV', () => {
  test('a viewer token plays, as ?token= and as a bearer header; no token is 401 from the origin on both edges', async () => {
    const viewer = await token({ room: 'live', role: 'viewer', name: 'watcher' });
    for (const edge of [checking, forwarding]) {
      assert.deepEqual(await httpFlv(edge, `/live/live/guarded.flv?token=${viewer}`).then((r) => [r.status, r.flv]), [200, true], edge.name);
      assert.deepEqual(await httpFlv(edge, '/live/live/guarded.flv', bearer(viewer)).then((r) => [r.status, r.flv]), [200, true], edge.name);
      assert.deepEqual(await wsFlv(edge, `/live/live/guarded.flv?token=${viewer}`), { flv: true }, edge.name);
      const before = await originRefusals('auth.no_token');
      const refused = await httpFlv(edge, '/live/live/guarded.flv');
      assert.equal(refused.status, 401, `${edge.name}: ${refused.text}`);
      assert.match(refused.text, /token is needed/);
      const ws = await wsFlv(edge, '/live/live/guarded.flv');
      assert.ok('closed' in ws && ws.closed === 4000 && /token is needed/.test(ws.reason), `${edge.name}: the origin ends the WS-FLV play: ${JSON.stringify(ws)}`);
      assert.equal(await originRefusals('auth.no_token') - before, 2, 'the origin refused both');
    }
  });

  test('expired, foreign-signed and other-room tokens: the checking edge refuses them (401, 401, 403) without the origin; the other edge forwards and the origin refuses', async () => {
    for (const [reason, bad] of Object.entries(badTokens)) {
      const status = reason === 'auth.wrong_room' ? 403 : 401;
      const originBefore = await originRefusals(reason);
      const edgeBefore = [await edgeRefusals(checking, 'http-flv', reason), await edgeRefusals(checking, 'ws-flv', reason)];
      const refused = await httpFlv(checking, `/live/live/guarded.flv?token=${bad}`);
      assert.equal(refused.status, status, `${reason}: ${refused.text}`);
      assert.ok(refused.text.length > 10, `a reason: ${refused.text}`);
      assert.deepEqual(await wsFlv(checking, `/live/live/guarded.flv?token=${bad}`), { status }, reason);
      assert.deepEqual([await edgeRefusals(checking, 'http-flv', reason), await edgeRefusals(checking, 'ws-flv', reason)], edgeBefore.map((n) => n + 1), `${reason} counted by the edge`);
      assert.equal(await originRefusals(reason), originBefore, `${reason}: the origin never saw the checked requests`);

      const forwarded = await httpFlv(forwarding, '/live/live/guarded.flv', bearer(bad));
      assert.equal(forwarded.status, status, `${reason} through the forwarding edge: ${forwarded.text}`);
      assert.equal(await originRefusals(reason), originBefore + 1, `${reason}: the origin refused the forwarded one`);
      assert.equal(await edgeRefusals(forwarding, 'http-flv', reason), 0, 'the forwarding edge checks nothing');
    }
  });
});

describe('the /ws join', () => {
  test('expired, foreign-signed and other-room tokens are forbidden at the checking edge, the origin untouched; no token is the origin\'s forbidden; a room token joins', async () => {
    const room = 'classroom/math';
    const bad = {
      'auth.expired': await token({ room, role: 'student', name: 'Late' }, -120),
      'auth.bad_token': await new TokenService('another-secret-another-secret-another-secret').sign({ sub: 'x', name: 'X', room, role: 'student' }, 600),
      'auth.wrong_room': await token({ room: 'classroom/art', role: 'student', name: 'Artie' }),
    };
    for (const [reason, badToken] of Object.entries(bad)) {
      const originBefore = await originRefusals(reason);
      const edgeBefore = await edgeRefusals(checking, 'ws', reason);
      const reply = await joinRoom(checking, { room: 'math', name: 'Eve', token: badToken });
      assert.deepEqual([reply.type, reply.code, reply.info?.error], ['error', 'forbidden', reason], JSON.stringify(reply));
      assert.equal(await edgeRefusals(checking, 'ws', reason), edgeBefore + 1);
      assert.equal(await originRefusals(reason), originBefore, `${reason}: no session reached the origin`);
      const forwarded = await joinRoom(forwarding, { room: 'math', name: 'Eve', token: badToken });
      assert.deepEqual([forwarded.type, forwarded.code, forwarded.info?.error], ['error', 'forbidden', reason], JSON.stringify(forwarded));
      assert.equal(await originRefusals(reason), originBefore + 1, `${reason}: the origin refused the forwarded join`);
    }
    const anonymous = await joinRoom(checking, { room: 'math', name: 'Eve', role: 'teacher' });
    assert.deepEqual([anonymous.type, anonymous.code, anonymous.info?.error], ['error', 'forbidden', 'auth.no_token']);
    const joined = await joinRoom(checking, { room: 'math', name: 'Whoever', token: await token({ room, role: 'student', name: 'Wendy' }) });
    assert.equal(joined.type, 'joined', JSON.stringify(joined));
  });
});

describe('WHIP and WHEP', () => {
  test('the checking edge refuses bad tokens before it reads the offer: 401, 401, 403, counted', async () => {
    for (const [route, path] of [['whip', '/whip/live/guarded-webrtc'], ['whep', '/whep/live/guarded']] as const) {
      for (const [reason, bad] of Object.entries(badTokens)) {
        const before = await edgeRefusals(checking, route, reason);
        const response = await fetch(`http://127.0.0.1:${checking.httpPort}${path}`, { method: 'POST', headers: { 'content-type': 'application/sdp', ...bearer(bad) }, body: 'v=0\r\n' });
        const text = await response.text();
        assert.equal(response.status, reason === 'auth.wrong_room' ? 403 : 401, `${route} ${reason}: ${text}`);
        assert.equal(await edgeRefusals(checking, route, reason), before + 1, `${route} ${reason} counted`);
      }
    }
  });
});

describe('npm start', () => {
  test('the local edge checks tokens with its origin\'s secret: a foreign one is refused there, the origin\'s own joins', async () => {
    const dataDir = tempDir();
    const local = await startLocalCluster(dataDir);
    const edge = { httpPort: local.edgeHttpPort };
    const before = await edgeRefusals(edge, 'http-flv', 'auth.bad_token');
    const refused = await fetch(`http://127.0.0.1:${local.edgeHttpPort}/live/live/any.flv?token=${badTokens['auth.bad_token']}`);
    assert.equal(refused.status, 401, await refused.text());
    assert.equal(await edgeRefusals(edge, 'http-flv', 'auth.bad_token'), before + 1);
    const own = await mintToken(dataDir, { room: 'classroom/local', role: 'student', name: 'Lou' });
    const joined = await joinReply(local.edgeHttpPort, { room: 'local', name: 'Lou', token: own });
    assert.equal(joined.type, 'joined', JSON.stringify(joined));
  });
});
