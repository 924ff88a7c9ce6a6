/**
 * One session registry at the edge, checked from outside: an in-process edge (maxConnections 2,
 * fast load reports) linked to a real origin. Browsers on /ws and WS-FLV viewers count in the
 * Load report, so the origin's /api/edges and /api/edges/pick see them; the connection limit
 * counts them too, so a third client of any protocol (RTMP, WebSocket) is refused until one leaves.
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
import { originApi } from '../support/observe.ts';

const SECRET = 'registry-test-secret';
let origin: OriginProcess;
let edge: Edge;
let rtmpPort: number;
const httpPort = () => (edge.http.server.address() as AddressInfo).port;

before(async () => {
  origin = await startOrigin(['--link-port', '0', '--link-secret', SECRET]);
  edge = new Edge({
    ...defaultEdgeConfig, name: 'edge-registry', bind: '127.0.0.1', rtmpPort: 0, httpPort: 0, statsIntervalMs: 0,
    origins: [{ host: '127.0.0.1', port: origin.linkPort! }], secret: SECRET, publicUrl: '', maxConnections: 2, loadIntervalMs: 200,
  });
  rtmpPort = (await edge.start()).port;
  await eventually(() => edge.links.isUp, 10_000, 'link up');
});
after(async () => {
  await edge?.close();
  await stopAll();
});

interface EdgeEntry { name: string; clients: number; load: { protocols?: Record<string, number> } | null }

async function edgeEntry(): Promise<EdgeEntry | undefined> {
  const body = await originApi<{ edges: EdgeEntry[] }>(origin, '/api/edges');
  return body.edges.find((e) => e.name === 'edge-registry');
}

/** A browser on /ws that joined a classroom. */
async function joinedBrowser(room: string): Promise<WebSocket> {
  const ws = new WebSocket(`ws://127.0.0.1:${httpPort()}/ws`);
  const joined = new Promise<void>((resolve, reject) => {
    ws.on('message', (data) => {
      const message = JSON.parse(String(data)) as { type: string };
      if (message.type === 'joined') resolve();
      if (message.type === 'error' || message.type === 'closed') reject(new Error(String(data)));
    });
  });
  await once(ws, 'open');
  ws.send(JSON.stringify({ type: 'join', room, name: 'Ann' }));
  await joined;
  return ws;
}

/** Resolves with the HTTP status of a refused WebSocket upgrade (or 101 when it opened). */
function upgradeStatus(url: string): Promise<number> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url);
    ws.on('open', () => { ws.close(); resolve(101); });
    ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
    ws.on('error', () => {});
  });
}

let browser: WebSocket;
let viewer: WebSocket;

test('browsers and FLV viewers count in the Load report, /api/edges and /api/edges/pick', async () => {
  browser = await joinedBrowser('registry');
  viewer = new WebSocket(`ws://127.0.0.1:${httpPort()}/live/live/registry-cam.flv`);
  viewer.on('error', () => {});
  await once(viewer, 'open');
  await eventually(async () => (await edgeEntry())?.clients === 2, 5000, 'two clients in the load report');
  const entry = (await edgeEntry())!;
  assert.deepEqual(entry.load?.protocols, { ws: 1, 'ws-flv': 1 });
  const pick = await (await fetch(`http://127.0.0.1:${origin.httpPort}/api/edges/pick`)).json() as { name: string; clients: number };
  assert.equal(pick.name, 'edge-registry');
  assert.equal(pick.clients, 2);
  assert.equal(edge.stats.clients, 2);
});

test('maxConnections counts browsers and viewers: an RTMP client and a third browser are refused until one leaves', async () => {
  await assert.rejects(RtmpClient.connect(`rtmp://127.0.0.1:${rtmpPort}/live`));
  assert.equal(await upgradeStatus(`ws://127.0.0.1:${httpPort()}/ws`), 503);
  assert.equal(await upgradeStatus(`ws://127.0.0.1:${httpPort()}/live/live/other.flv`), 503);
  assert.equal((await fetch(`http://127.0.0.1:${httpPort()}/live/live/other.flv`)).status, 503);

  browser.close();
  await eventually(() => edge.stats.clients === 1, 5000, 'the browser left');
  const { client } = await RtmpClient.connect(`rtmp://127.0.0.1:${rtmpPort}/live`);
  assert.equal(edge.stats.clients, 2);
  await eventually(async () => (await edgeEntry())?.load?.protocols?.rtmp === 1, 5000, 'rtmp in the load report');
  assert.deepEqual((await edgeEntry())?.load?.protocols, { 'ws-flv': 1, rtmp: 1 });
  client.close();
  viewer.close();
  await eventually(() => edge.stats.clients === 0, 5000, 'everyone left');
});
