/**
 * Per-address limits on every way into the edge, on a real cluster (one origin, one edge with 8
 * connections and 3 handshakes per address): loopback answers for all of 127.0.0.0/8, so attackers
 * come from 127.0.0.2-127.0.0.5 and the normal clients from 127.0.0.1. Silent handshaken RTMP
 * connections, silent TCP connections, idle WebSockets and unfinished RTMPT tunnels from one address each fill
 * that address's share and no more: the next is refused (RTMP: closed; HTTP, WebSocket, WS-FLV,
 * HTTP-FLV, RTMPT: 429 with the limit named), counted in /metrics by protocol and reason, and the
 * top holders show who holds what, while an RTMP client and a browser from 127.0.0.1 connect as usual.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Socket } from 'node:net';
import type WebSocket from 'ws';
import { RtmpClient } from '#common/rtmp-client.ts';
import { stopAll } from '../support/processes.ts';
import { startCluster, type Cluster } from '../support/cluster.ts';
import { waitForMetric } from '../support/observe.ts';
import { joinReply } from '../support/ws-join.ts';
import { closedByServer, httpFrom, socketFrom, webSocketFrom } from '../support/from-address.ts';

const PER_ADDRESS = 8;
const HANDSHAKES = 3;

let cluster: Cluster;
const held: Array<{ close(): unknown }> = [];
before(async () => {
  cluster = await startCluster(['edge-limits'], { edgeArgs: [
    '--max-connections-per-address', String(PER_ADDRESS), '--max-handshakes-per-address', String(HANDSHAKES),
    // The rate limit has its own test (test/common/address-limits.test.ts): here it must not bite first.
    '--connections-per-second-per-address', '1000', '--connection-burst-per-address', '1000',
    // Silent connections must stay while the test looks (the connect deadline has its own test).
    '--connect-timeout-ms', '60000',
  ] });
});
after(async () => {
  for (const one of held) one.close();
  await stopAll();
});
const edge = () => cluster.edges[0]!;
const httpBase = () => `http://127.0.0.1:${edge().httpPort}`;
const refusals = (protocol: string, reason: string) => edge().metric('classroom_edge_address_refusals_total', { protocol, reason });

/** The normal clients from 127.0.0.1 still get in: an RTMP connect and a browser's join. */
async function normalClientsWork(room: string): Promise<void> {
  const { client, info } = await RtmpClient.connect(`${edge().base}/live`);
  assert.equal(info.code, 'NetConnection.Connect.Success');
  client.close();
  const joined = await joinReply(edge().httpPort, { room, name: 'Ann' });
  assert.equal(joined.type, 'joined', JSON.stringify(joined));
}

test('RTMP: one address holds at most its share of handshaken silent connections; others connect as usual', async () => {
  for (let i = 0; i < PER_ADDRESS; i++) {
    const client = await RtmpClient.open('127.0.0.1', edge().port, { localAddress: '127.0.0.2' });
    client.socket.on('error', () => {});
    held.push({ close: () => client.socket.destroy() });
  }
  const before = await refusals('rtmp', 'connections');
  const refused = await socketFrom('127.0.0.2', edge().port);
  await closedByServer(refused);
  await waitForMetric(edge().httpPort, 'classroom_edge_address_refusals_total', (n) => n === before + 1, { labels: { protocol: 'rtmp', reason: 'connections' } });
  assert.equal(await edge().metric('classroom_edge_address_top_connections', { address: '127.0.0.2' }), PER_ADDRESS);
  await normalClientsWork('limits-rtmp');
});

test('RTMP: connections still in their handshake are limited per address', async () => {
  const silent: Socket[] = [];
  for (let i = 0; i < HANDSHAKES; i++) silent.push(await socketFrom('127.0.0.3', edge().port));
  held.push(...silent.map((socket) => ({ close: () => socket.destroy() })));
  const before = await refusals('rtmp', 'handshakes');
  await closedByServer(await socketFrom('127.0.0.3', edge().port));
  await waitForMetric(edge().httpPort, 'classroom_edge_address_refusals_total', (n) => n === before + 1, { labels: { protocol: 'rtmp', reason: 'handshakes' } });
  await normalClientsWork('limits-handshakes');
});

test('WebSocket, WS-FLV and HTTP-FLV: idle WebSockets fill one address\'s share, then 429 with the limit named', async () => {
  const sockets: WebSocket[] = [];
  for (let i = 0; i < PER_ADDRESS; i++) {
    const ws = await webSocketFrom('127.0.0.4', `ws://127.0.0.1:${edge().httpPort}/ws`);
    assert.ok(typeof ws !== 'number', `WebSocket ${i} opened (got ${String(ws)})`);
    sockets.push(ws);
  }
  held.push(...sockets.map((ws) => ({ close: () => ws.terminate() })));
  assert.equal(await webSocketFrom('127.0.0.4', `ws://127.0.0.1:${edge().httpPort}/ws`), 429);
  assert.equal(await webSocketFrom('127.0.0.4', `ws://127.0.0.1:${edge().httpPort}/live/live/limits.flv`), 429);
  const flv = await httpFrom('127.0.0.4', `${httpBase()}/live/live/limits.flv`);
  assert.equal(flv.status, 429);
  assert.match(flv.text, /maxConnectionsPerAddress/);
  // A viewer of an unpublished stream would wait flvPublisherWaitMs (30 s): none was opened for the refused requests.
  assert.equal(await edge().metric('classroom_edge_flv_viewers'), 0, 'a refused request reached no handler');
  assert.ok(await refusals('http', 'connections') >= 3);
  await normalClientsWork('limits-ws');
});

test('RTMPT: a tunnel holds its address\'s share beyond the HTTP requests that carry it', async () => {
  // Opened tunnels that have not completed their RTMP handshake yet: each still counts as a handshake of its address.
  for (let i = 0; i < HANDSHAKES; i++) {
    const opened = await httpFrom('127.0.0.5', `${httpBase()}/open/1`, 'POST', Buffer.of(0));
    assert.equal(opened.status, 200, opened.text);
  }
  // The requests' own connections are gone; the tunnels hold what the address has.
  await waitForMetric(edge().httpPort, 'classroom_edge_address_top_connections', (n) => n === HANDSHAKES, { labels: { address: '127.0.0.5' } });
  const refused = await httpFrom('127.0.0.5', `${httpBase()}/open/1`, 'POST', Buffer.of(0));
  assert.equal(refused.status, 429);
  assert.match(refused.text, /maxHandshakesPerAddress/);
  await normalClientsWork('limits-rtmpt');
});
