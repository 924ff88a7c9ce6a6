/**
 * What an idle or waiting browser may hold, on an in-process edge (WebSocket idle timeout 1 s,
 * viewers wait 3 s for a publisher) linked to a real origin that lets one edge hold 3 sessions:
 * a WebSocket that answers no ping (/ws and WS-FLV) is closed while one that answers stays; an
 * HTTP-FLV or WS-FLV viewer of a stream nobody publishes is closed and its session on the origin
 * ends; an edge's sessions beyond maxSessionsPerEdge are refused by the origin (SessionClose),
 * counted in its /metrics, and the next client gets in once one leaves.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { WebSocket } from 'ws';
import { RtmpClient } from '#common/rtmp-client.ts';
import { Edge } from '../../gateway/edge.ts';
import { defaultEdgeConfig } from '../../gateway/config.ts';
import { eventually, startOrigin, stopAll, type OriginProcess } from '../support/processes.ts';
import { metricValue, originApi, waitForIncrease } from '../support/observe.ts';
import { httpFrom } from '../support/from-address.ts';

const SECRET = 'viewer-limits-secret';
const IDLE_TIMEOUT_MS = 1000;
const SESSIONS_PER_EDGE = 3;
let origin: OriginProcess;
let edge: Edge;
let rtmpPort: number;
const httpPort = () => (edge.http.server.address() as AddressInfo).port;

before(async () => {
  origin = await startOrigin(['--link-port', '0', '--link-secret', SECRET, '--max-sessions-per-edge', String(SESSIONS_PER_EDGE)]);
  edge = new Edge({
    ...defaultEdgeConfig, name: 'edge-viewer-limits', bind: '127.0.0.1', rtmpPort: 0, httpPort: 0, statsIntervalMs: 0,
    origins: [{ host: '127.0.0.1', port: origin.linkPort! }], secret: SECRET, publicUrl: '',
    // Longer than the idle timeout, so a deaf WS-FLV viewer is closed for its silence first.
    flvPublisherWaitMs: 3000, browser: { ...defaultEdgeConfig.browser, idleTimeoutMs: IDLE_TIMEOUT_MS },
  });
  rtmpPort = (await edge.start()).port;
  await eventually(async () => (await metricValue(httpPort(), 'classroom_edge_link_up')) === 1, 10_000, 'link up');
});
after(async () => {
  await edge?.close();
  await stopAll();
});

/** The edge's sessions as the origin counts them. */
async function originSessions(): Promise<number> {
  const { edges } = await originApi<{ edges: Array<{ name: string; sessions: number }> }>(origin, '/api/edges');
  return edges.find((e) => e.name === 'edge-viewer-limits')?.sessions ?? 0;
}

test('an edge\'s sessions beyond maxSessionsPerEdge are refused by the origin, counted, and room comes back when one leaves', async () => {
  const clients: RtmpClient[] = [];
  for (let i = 0; i < SESSIONS_PER_EDGE; i++) {
    const { client, info } = await RtmpClient.connect(`rtmp://127.0.0.1:${rtmpPort}/live`);
    assert.equal(info.code, 'NetConnection.Connect.Success');
    clients.push(client);
  }
  const before = await metricValue(origin.httpPort, 'classroom_origin_client_refusals_total', { via: 'link', reason: 'max_sessions_per_edge' });
  const refused = await RtmpClient.connect(`rtmp://127.0.0.1:${rtmpPort}/live`).then(({ client, info }) => { client.close(); return info.code; }, (error: Error) => error.message);
  assert.notEqual(refused, 'NetConnection.Connect.Success');
  await waitForIncrease(origin.httpPort, 'classroom_origin_client_refusals_total', before, { labels: { via: 'link', reason: 'max_sessions_per_edge' } });
  assert.equal(await originSessions(), SESSIONS_PER_EDGE);
  clients.pop()!.close();
  await eventually(async () => (await originSessions()) < SESSIONS_PER_EDGE, 5000, 'a session gone at the origin');
  const { client, info } = await RtmpClient.connect(`rtmp://127.0.0.1:${rtmpPort}/live`);
  assert.equal(info.code, 'NetConnection.Connect.Success');
  for (const one of [...clients, client]) one.close();
  await eventually(async () => (await originSessions()) === 0, 5000, 'every session gone at the origin');
});

test('a WebSocket that answers no ping is closed (/ws and WS-FLV); one that answers stays', async () => {
  const idleBefore = await metricValue(httpPort(), 'classroom_edge_browser_closes_total', { reason: 'idle' });
  const viewerIdleBefore = await metricValue(httpPort(), 'classroom_edge_viewer_closes_total', { protocol: 'ws-flv', reason: 'idle' });
  const live = new WebSocket(`ws://127.0.0.1:${httpPort()}/ws`);
  const deaf = new WebSocket(`ws://127.0.0.1:${httpPort()}/ws`, { autoPong: false });
  const deafViewer = new WebSocket(`ws://127.0.0.1:${httpPort()}/live/live/deaf.flv`, { autoPong: false });
  for (const ws of [live, deaf, deafViewer]) ws.on('error', () => {});
  await Promise.all([live, deaf, deafViewer].map((ws) => once(ws, 'open')));
  await Promise.all([once(deaf, 'close'), once(deafViewer, 'close')]);
  await waitForIncrease(httpPort(), 'classroom_edge_browser_closes_total', idleBefore, { labels: { reason: 'idle' } });
  await waitForIncrease(httpPort(), 'classroom_edge_viewer_closes_total', viewerIdleBefore, { labels: { protocol: 'ws-flv', reason: 'idle' } });
  // Opened with the deaf ones, answered every ping since: still open and served.
  assert.equal(live.readyState, WebSocket.OPEN);
  const pong = once(live, 'message', { signal: AbortSignal.timeout(5000) });
  live.send(JSON.stringify({ type: 'ping', id: 1 }));
  let reply = JSON.parse(String((await pong)[0])) as { type: string };
  if (reply.type === 'hello') reply = JSON.parse(String((await once(live, 'message'))[0])) as { type: string };
  assert.equal(reply.type, 'pong');
  live.close();
});

test('an HTTP-FLV or WS-FLV viewer of a stream nobody publishes is closed, and its session on the origin ends', async () => {
  const before = await metricValue(httpPort(), 'classroom_edge_viewer_closes_total', { reason: 'no_media' });
  const wsViewer = new WebSocket(`ws://127.0.0.1:${httpPort()}/live/live/nobody.flv`);
  wsViewer.on('error', () => {});
  const [httpViewer, [code]] = await Promise.all([
    httpFrom('127.0.0.1', `http://127.0.0.1:${httpPort()}/live/live/nobody.flv`),
    once(wsViewer, 'close') as Promise<[number, Buffer]>,
  ]);
  assert.ok(httpViewer.status === 200 || httpViewer.status >= 400, `the HTTP-FLV response ended (${httpViewer.status})`);
  assert.equal(code, 4000, 'WS-FLV closed with the play-ended code');
  await waitForIncrease(httpPort(), 'classroom_edge_viewer_closes_total', before, { labels: { reason: 'no_media' }, by: 2 });
  await eventually(async () => (await originSessions()) === 0, 5000, 'the viewers\' sessions gone at the origin');
});
