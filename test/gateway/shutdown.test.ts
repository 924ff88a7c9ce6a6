/**
 * SIGTERM on an edge (`node gateway/main.ts`) and on `npm start` (main.ts, origin and edge in one
 * process), with real clients. An edge that stops drains: the origin's /api/edges/pick stops
 * choosing it by the time its clients hear of it, it takes no new connection, its RTMP client is
 * told NetConnection.Connect.AppShutdown, its browser's WebSocket closes with 1001, and it exits 0.
 * `npm start` does the same for a player through its edge while a publish through it is recorded,
 * and the recording ends with its final metadata.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect } from 'node:net';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { WebSocket } from 'ws';
import type { AmfObject } from '#protocol/amf/types.ts';
import { FlvReader, FlvTagType } from '#protocol/flv/flv.ts';
import { decodeOnMetaData } from '#protocol/flv/flv-index.ts';
import { RtmpClient } from '#common/rtmp-client.ts';
import { eventually, stopAll, tempDir } from '../support/processes.ts';
import { startCluster, startLocalCluster } from '../support/cluster.ts';
import { ffmpegFlv, startFlvPublish } from '../support/flv-publisher.ts';
import { adminToken, bearer } from '../support/tokens.ts';

after(stopAll);

interface PickedEdge { name: string }
interface ListedEdge { name: string; draining: boolean }

/** An RTMP client of `appUrl` playing `name` (waiting for it if unpublished), and what its NetConnection is told. */
async function player(appUrl: string, name: string): Promise<{ client: RtmpClient; media: () => number }> {
  const { client } = await RtmpClient.connect(appUrl);
  let media = 0;
  client.on('media', () => { media++; });
  client.streamCommand(await client.createStream(), 'play', name);
  return { client, media: () => media };
}

test('an edge that gets SIGTERM drains: out of the pick at once, AppShutdown to RTMP, 1001 to WebSocket, exit 0', async () => {
  const cluster = await startCluster(['drain-a', 'drain-b']);
  const [edgeA, edgeB] = cluster.edges as [typeof cluster.edges[0], typeof cluster.edges[0]];
  const admin = bearer(await adminToken(cluster.origin.dataDir));
  const api = async <T>(path: string): Promise<T> => (await fetch(`http://127.0.0.1:${cluster.origin.httpPort}${path}`, { headers: admin })).json() as Promise<T>;
  // Edge B carries more clients, so the origin picks A while A takes users.
  const others = await Promise.all([1, 2, 3].map(async () => (await RtmpClient.connect(`${edgeB.base}/live`)).client));
  // This client keeps its side open when the edge ends the connection (as a client busy elsewhere
  // would), so edge A stays linked, draining, until its grace for leaving clients is over.
  const socket = connect({ host: '127.0.0.1', port: edgeA.port, allowHalfOpen: true });
  await once(socket, 'connect');
  const { client } = await (await RtmpClient.over(socket)).connectUrl(`${edgeA.base}/live`);
  client.streamCommand(await client.createStream(), 'play', 'not-yet');
  const browser = new WebSocket(`ws://127.0.0.1:${edgeA.httpPort}/ws`);
  await once(browser, 'message');
  await eventually(async () => (await api<PickedEdge>('/api/edges/pick')).name === 'drain-a', 15_000, 'the origin picks edge A');

  const browserClosed = once(browser, 'close') as Promise<[number, Buffer]>;
  const told = client.waitForStatus(0, 'NetConnection.Connect.AppShutdown', 10_000);
  const exited = once(edgeA.child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
  const sentAt = Date.now();
  edgeA.child.kill('SIGTERM');
  const notice: AmfObject = await told;
  assert.equal(notice.level, 'error');
  // By the time its clients are told, the origin knows: the next user goes to B.
  assert.equal((await api<PickedEdge>('/api/edges/pick')).name, 'drain-b');
  const listed = (await api<{ edges: ListedEdge[] }>('/api/edges')).edges.find((edge) => edge.name === 'drain-a');
  assert.equal(listed?.draining, true, `edge A is still linked, draining: ${JSON.stringify(listed)}`);
  await assert.rejects(RtmpClient.open('127.0.0.1', edgeA.port), /ECONNREFUSED/, 'no new RTMP connection is accepted');
  const [code, reason] = await browserClosed;
  assert.equal(code, 1001, `WebSocket closed with ${code} ${reason.toString()}`);
  const [exitCode, signal] = await exited;
  console.log(`edge exited ${exitCode ?? signal} ${Date.now() - sentAt} ms after SIGTERM`);
  assert.equal(exitCode, 0);
  await eventually(async () => !(await api<{ edges: ListedEdge[] }>('/api/edges')).edges.some((edge) => edge.name === 'drain-a'), 5000, 'edge A leaves the registry');
  assert.equal((await api<PickedEdge>('/api/edges/pick')).name, 'drain-b');
  for (const other of [...others, client]) other.close();
  socket.destroy();
});

test('npm start: SIGTERM during a recording and a live play through the edge: AppShutdown, final metadata, exit 0', async () => {
  const dataDir = tempDir();
  const { child, edgePort } = await startLocalCluster(dataDir);
  const edgeUrl = `rtmp://127.0.0.1:${edgePort}/live`;

  const publish = await startFlvPublish(edgeUrl, 'through-edge', 'record');
  void publish.pump(ffmpegFlv(60, { realtime: true })).catch(() => undefined);
  await publish.client.waitForStatus(publish.streamId, 'NetStream.Record.Start');
  const viewer = await player(edgeUrl, 'through-edge');
  await eventually(() => viewer.media() > 0 && publish.sent.lastTimestamp >= 3000, 15_000, '3 s published and played');

  const told = viewer.client.waitForStatus(0, 'NetConnection.Connect.AppShutdown', 10_000);
  const publisherTold = publish.client.waitForStatus(0, 'NetConnection.Connect.AppShutdown', 10_000);
  const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
  const sentAt = Date.now();
  child.kill('SIGTERM');
  assert.equal((await told).level, 'error');
  await publisherTold;
  const [code, signal] = await exited;
  console.log(`npm start exited ${code ?? signal} ${Date.now() - sentAt} ms after SIGTERM`);
  assert.equal(code, 0);

  const file = join(dataDir, 'recordings', 'live', 'through-edge.flv');
  assert.ok(!existsSync(`${file}.recording`), 'the recording is finished');
  const tags = new FlvReader().push(readFileSync(file));
  const last = Math.max(...tags.filter((tag) => tag.type !== FlvTagType.Script).map((tag) => tag.timestamp));
  const metadata = decodeOnMetaData(tags[0]!.data)!;
  assert.ok(last >= 3000, `the recording holds what was published (last tag at ${last} ms)`);
  assert.ok(Math.abs(Number(metadata.duration) - last / 1000) < 0.001, `metadata duration ${String(metadata.duration)} s vs last tag ${last} ms`);
  viewer.client.close();
  publish.client.close();
});
