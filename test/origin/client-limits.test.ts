/**
 * The origin's own ports against one client that would hold them (connect within 1.5 s, 4
 * connections per address, HTTP headers within 1 s): a handshaken client that keeps sending
 * acknowledgements, chunk sizes and pings but never `connect` is closed at the deadline (counted as
 * connect.timeout) while a connected client stays; one address gets its share of the RTMP and HTTP
 * ports and no more (its next RTMP connection closed, its next HTTP one answered 429), while
 * 127.0.0.1 connects as usual; a slowloris request (a header line now and then) and a connection
 * that sends nothing are answered 408 and closed.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { Socket } from 'node:net';
import { RtmpClient } from '#common/rtmp-client.ts';
import { acknowledgementMessage, pingRequestMessage, setChunkSizeMessage } from '#protocol/rtmp/control.ts';
import { ChunkStreamId } from '#protocol/rtmp/message.ts';
import { startOrigin, stopAll, type OriginProcess } from '../support/processes.ts';
import { metricValue, waitForIncrease, waitForMetric } from '../support/observe.ts';
import { closedByServer, httpFrom, socketFrom } from '../support/from-address.ts';

const CONNECT_TIMEOUT_MS = 1500;
const PER_ADDRESS = 4;

let origin: OriginProcess;
const held: Socket[] = [];
before(async () => {
  origin = await startOrigin(['--connect-timeout-ms', String(CONNECT_TIMEOUT_MS), '--max-connections-per-address', String(PER_ADDRESS),
    '--max-handshakes-per-address', String(PER_ADDRESS), '--connections-per-second-per-address', '1000', '--connection-burst-per-address', '1000',
    '--http-headers-timeout-ms', '1000']);
});
after(async () => {
  for (const socket of held) socket.destroy();
  await stopAll();
});

const closedFor = (reason: string) => metricValue(origin.httpPort, 'classroom_origin_connections_closed_total', { reason });

test('connect deadline: acknowledgements, chunk sizes and pings do not keep a client that never connects; a connected one stays', async () => {
  const { client: connected, info } = await RtmpClient.connect(`rtmp://127.0.0.1:${origin.port}/live`);
  assert.equal(info.code, 'NetConnection.Connect.Success');
  const before = await closedFor('connect.timeout');
  const silent = await RtmpClient.open('127.0.0.1', origin.port);
  let sequence = 0;
  const chatter = setInterval(() => {
    sequence += 4096;
    silent.send(acknowledgementMessage(sequence), ChunkStreamId.Control);
    silent.send(pingRequestMessage(sequence), ChunkStreamId.Control);
    silent.send(setChunkSizeMessage(4096), ChunkStreamId.Control);
  }, 200);
  try {
    if (!silent.closed) await once(silent, 'close');
  } finally {
    clearInterval(chatter);
  }
  await waitForIncrease(origin.httpPort, 'classroom_origin_connections_closed_total', before, { labels: { reason: 'connect.timeout' } });
  // The connected client is older than the deadline by now, and still served.
  assert.equal(connected.closed, false);
  const streamId = await connected.createStream();
  assert.ok(streamId > 0);
  connected.close();
});

test('per address: RTMP and HTTP ports give one address its share, then refuse it; 127.0.0.1 is unaffected', async () => {
  for (let i = 0; i < PER_ADDRESS; i++) {
    const client = await RtmpClient.open('127.0.0.1', origin.port, { localAddress: '127.0.0.2' });
    client.socket.on('error', () => {});
    held.push(client.socket);
  }
  const rtmpBefore = await metricValue(origin.httpPort, 'classroom_origin_address_refusals_total', { protocol: 'rtmp', reason: 'connections' });
  await closedByServer(await socketFrom('127.0.0.2', origin.port));
  await waitForIncrease(origin.httpPort, 'classroom_origin_address_refusals_total', rtmpBefore, { labels: { protocol: 'rtmp', reason: 'connections' } });
  const refused = await httpFrom('127.0.0.2', `http://127.0.0.1:${origin.httpPort}/crossdomain.xml`);
  assert.equal(refused.status, 429);
  assert.match(refused.text, /maxConnectionsPerAddress/);
  assert.equal(await metricValue(origin.httpPort, 'classroom_origin_address_top_connections', { address: '127.0.0.2' }), PER_ADDRESS);
  const { client, info } = await RtmpClient.connect(`rtmp://127.0.0.1:${origin.port}/live`);
  assert.equal(info.code, 'NetConnection.Connect.Success');
  client.close();
  assert.equal((await httpFrom('127.0.0.1', `http://127.0.0.1:${origin.httpPort}/crossdomain.xml`)).status, 200);
  for (const socket of held.splice(0)) socket.destroy();
  await waitForMetric(origin.httpPort, 'classroom_origin_address_top_connections', (n) => n === 0, { labels: { address: '127.0.0.2' } });
});

/** What the server wrote before it closed `socket`. */
async function answerBeforeClose(socket: Socket): Promise<string> {
  const chunks: Buffer[] = [];
  socket.on('data', (chunk: Buffer) => chunks.push(chunk));
  await closedByServer(socket);
  return Buffer.concat(chunks).toString('latin1');
}

test('HTTP: a slowloris request and a connection that sends nothing are answered 408 and closed', async () => {
  const slow = await socketFrom('127.0.0.3', origin.httpPort);
  slow.write('GET /api/recordings HTTP/1.1\r\nHost: origin\r\n');
  const dribble = setInterval(() => slow.write('X-Slow: 1\r\n'), 200);
  const silent = await socketFrom('127.0.0.3', origin.httpPort);
  try {
    const [slowAnswer, silentAnswer] = await Promise.all([answerBeforeClose(slow), answerBeforeClose(silent)]);
    assert.match(slowAnswer, /^HTTP\/1\.1 408 /);
    assert.match(silentAnswer, /^HTTP\/1\.1 408 /);
  } finally {
    clearInterval(dribble);
  }
});
