/**
 * One origin and two edges on loopback, with real peers: ffmpeg publishes through edge A, ffmpeg
 * and rtmpdump play through edge B; a remoting call and a shared object change made through
 * edge A reach a client on edge B (and the origin calls a client on B); a stream published
 * through an edge records to FLV on the origin; an edge with the wrong secret is refused.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { RtmpClient } from '#common/rtmp-client.ts';
import { encodeCommand } from '#protocol/rtmp/command.ts';
import { FlvReader, FlvTagType } from '#protocol/flv/flv.ts';
import { decodeFrames, eventually, publishTestStream, run, startOrigin, stop, stopAll, tempDir } from '../support/processes.ts';
import { startCluster, startEdge, type Cluster } from '../support/cluster.ts';
import { ffmpegFlv, startFlvPublish } from '../support/flv-publisher.ts';
import { checkClassroomExchange } from '../support/classroom-exchange.ts';
import { apiStreams, originApi, waitForIncrease, waitForMetric, waitForPublished } from '../support/observe.ts';

let cluster: Cluster;
before(async () => { cluster = await startCluster(['edge-a', 'edge-b']); });
after(stopAll);
const edgeA = () => cluster.edges[0]!;
const edgeB = () => cluster.edges[1]!;

test('ffmpeg publishes through edge A; ffmpeg and rtmpdump play it through edge B', async () => {
  const publisher = publishTestStream(`${edgeA().base}/live/cam`);
  try {
    await waitForPublished(cluster.origin, 'live/cam');
    const out = join(tempDir(), 'dump.flv');
    // While they play, the origin sees them as clients of edge B: its players of the stream, per edge.
    const playingThroughB = async () => ((await apiStreams(cluster.origin)).find((s) => s.key === 'live/cam')?.viewers.edges['edge-b'] ?? 0) >= 1;
    const [decoded] = await Promise.all([
      decodeFrames(`${edgeB().base}/live/cam`, 3),
      run('timeout', ['6', 'rtmpdump', '-q', '-v', '-r', `${edgeB().base}/live/cam`, '-o', out], 15_000),
      eventually(playingThroughB, 10_000, 'the origin to count edge B\'s players of live/cam'),
    ]);
    console.log(`decoded through edge B: ${decoded.video} video frames, ${decoded.audio} audio frames`);
    assert.ok(decoded.video >= 60, `ffmpeg decoded ${decoded.video} video frames: ${decoded.stderr}`);
    assert.ok(decoded.audio >= 60, `ffmpeg decoded ${decoded.audio} audio frames`);
    const tags = new FlvReader().push(readFileSync(out));
    const video = tags.filter((t) => t.type === FlvTagType.Video).length;
    const audio = tags.filter((t) => t.type === FlvTagType.Audio).length;
    console.log(`rtmpdump through edge B: ${video} video tags, ${audio} audio tags`);
    assert.ok(video >= 60 && audio >= 60, `rtmpdump got ${video} video and ${audio} audio tags`);
  } finally {
    await stop(publisher);
  }
});

test('a call and a shared object change made through edge A reach a client on edge B; the origin calls a client on B', async () => {
  const join = async (base: string, name: string, role: string) =>
    (await RtmpClient.connect(`${base}/classroom/edges`, { connectArgs: [{ name, role }] })).client;
  const teacher = await join(edgeA().base, 'Tina', 'teacher');
  const student = await join(edgeB().base, 'Sam', 'student');
  try {
    // A chat call and a shared object change through A seen on B; a server-to-client call through B, started by a call through A.
    await checkClassroomExchange({ client: teacher, name: 'Tina', role: 'teacher' }, { client: student, name: 'Sam', role: 'student' }, 'through the edges');
  } finally {
    teacher.close();
    student.close();
  }
});

test('a stream published through an edge records to FLV on the origin', async () => {
  const publish = await startFlvPublish(`${edgeA().base}/live`, 'lecture', 'record');
  await eventually(() => publish.statuses.some((s) => s.code === 'NetStream.Record.Start'), 5000, 'NetStream.Record.Start');
  await publish.pump(ffmpegFlv(2));
  await publish.stop();
  const file = join(cluster.origin.dataDir, 'recordings/live/lecture.flv');
  await eventually(() => existsSync(file) && !existsSync(`${file}.recording`), 10_000, 'the recording to finish');
  const tags = new FlvReader().push(readFileSync(file));
  const video = tags.filter((t) => t.type === FlvTagType.Video).length;
  console.log(`recorded through edge A: ${statSync(file).size} bytes, ${video} video tags (publisher sent ${publish.sent.videoFrames} frames)`);
  assert.ok(video >= publish.sent.videoFrames, `recording has ${video} video tags, ${publish.sent.videoFrames} were sent`);
});

test("the origin's registry lists both edges with their load reports and picks one", async () => {
  const api = `http://127.0.0.1:${cluster.origin.httpPort}/api/edges`;
  type Entry = { name: string; publicUrl: string; healthy: boolean; rttMs: number | null; load: Record<string, unknown> | null };
  let edges: Entry[] = [];
  await eventually(async () => {
    edges = (await originApi<{ edges: Entry[] }>(cluster.origin, '/api/edges')).edges;
    return edges.length === 2 && edges.every((e) => e.load !== null && e.rttMs !== null);
  }, 10_000, 'both edges registered with a load report and a round trip');
  console.log(JSON.stringify(edges.map((e) => ({ name: e.name, publicUrl: e.publicUrl, healthy: e.healthy, rttMs: e.rttMs, load: e.load }))));
  assert.deepEqual(edges.map((e) => e.name).sort(), ['edge-a', 'edge-b']);
  assert.deepEqual(edges.map((e) => e.publicUrl).sort(), [edgeA().base, edgeB().base].sort());
  const pick = (await (await fetch(`${api}/pick`)).json()) as { name: string; publicUrl: string };
  assert.ok(['edge-a', 'edge-b'].includes(pick.name));
});

test('garbage from a client closes that client only; the edge and its link go on', async () => {
  const { client: bystander } = await RtmpClient.connect(`${edgeA().base}/live`);
  const hostile = await RtmpClient.open('127.0.0.1', edgeA().port);
  hostile.sendRaw(Buffer.alloc(4096, 0xff));
  await eventually(() => hostile.closed, 5000, 'the hostile client to be closed');
  const beforeConnect = await edgeA().metric('classroom_edge_connections_closed_total', { reason: 'session.before_connect' });
  const early = await RtmpClient.open('127.0.0.1', edgeA().port);
  early.send(encodeCommand({ name: 'createStream', transactionId: 2, commandObject: null, args: [] }, 0), 3);
  await eventually(() => early.closed, 5000, 'a command before connect to close the client');
  await waitForIncrease(edgeA().httpPort, 'classroom_edge_connections_closed_total', beforeConnect, { labels: { reason: 'session.before_connect' } });
  assert.deepEqual(await bystander.call('createStream'), [1]);
  bystander.close();
});

test('an edge with the wrong secret is refused, and both sides count it', async () => {
  const intruder = await startEdge('intruder', cluster.link, 'not-the-secret', { waitForLink: false });
  await waitForMetric(intruder.httpPort, 'classroom_edge_link_attempt_failures_total', (failed) => failed >= 1, { labels: { reason: 'refused' } });
  await waitForMetric(cluster.origin.httpPort, 'classroom_origin_edge_refusals_total', (refused) => refused >= 1, { labels: { reason: 'wrong_secret' } });
  assert.equal(await intruder.metric('classroom_edge_link_connects_total'), 0, 'its link never came up');
  await intruder.stop();
});

test('the link over TLS: the edge checks the origin certificate against --origin-ca', async () => {
  const dir = tempDir();
  const [key, cert] = [join(dir, 'key.pem'), join(dir, 'cert.pem')];
  const made = await run('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1',
    '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1']);
  assert.equal(made.code, 0, made.stderr);
  const origin = await startOrigin(['--link-port', '0', '--link-secret', 'tls-secret', '--link-tls-cert', cert, '--link-tls-key', key]);
  const edge = await startEdge('edge-tls', `127.0.0.1:${origin.linkPort}`, 'tls-secret', { args: ['--origin-tls', '--origin-ca', cert] });
  const { client, info } = await RtmpClient.connect(`${edge.base}/live`);
  assert.equal(info.code, 'NetConnection.Connect.Success');
  client.close();
  // Without the CA the edge does not trust the origin's self-signed certificate.
  const doubting = await startEdge('edge-no-ca', `127.0.0.1:${origin.linkPort}`, 'tls-secret', { args: ['--origin-tls'], waitForLink: false });
  await waitForMetric(doubting.httpPort, 'classroom_edge_link_attempt_failures_total', (failed) => failed >= 1, { labels: { reason: 'tls' } });
  await Promise.all([edge.stop(), doubting.stop(), origin.stop()]);
});
