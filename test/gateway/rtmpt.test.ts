/**
 * RTMPT on the edge's HTTP port, on a real cluster (one origin, one edge): ffmpeg publishes over
 * rtmpt:// and an RTMP player decodes it; ffmpeg plays an RTMP-published stream over rtmpt://; a
 * classroom call, a shared object change and a server call made over RTMPT (the project's
 * RtmpClient over a test tunnel) reach an RTMP client; a slow poller is dropped to keyframes while
 * others play on, and one that stops taking its control traffic is closed at the queue limit; 200
 * abandoned sessions are reaped after the idle timeout and every count returns to 0; garbage
 * requests get 400/404 and close only the session they name.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { RtmpClient, type RtmpCallError } from '#common/rtmp-client.ts';
import { encodeCommand } from '#protocol/rtmp/command.ts';
import { ChunkEncoder } from '#protocol/rtmp/chunk-encoder.ts';
import { ClientHandshake } from '#protocol/rtmp/handshake.ts';
import { ChunkStreamId } from '#protocol/rtmp/message.ts';
import type { RtmptStats } from '../../gateway/rtmpt/rtmpt-server.ts';
import { decodeFrames, eventually, publishTestStream, stop, stopAll } from '../support/processes.ts';
import { startCluster, type Cluster } from '../support/cluster.ts';
import { ONE_ADDRESS_LOAD_ARGS } from '../support/from-address.ts';
import { checkClassroomExchange } from '../support/classroom-exchange.ts';
import { connectRtmpt, openRtmptSession, rtmptRequest } from '../support/rtmpt-client.ts';
import { playSyntheticFrames, startLightPlayer, startSyntheticPublisher } from '../support/synthetic-publisher.ts';
import { originApi, waitForMetric, waitForPublished } from '../support/observe.ts';

const IDLE_TIMEOUT_MS = 3000;
const MAX_QUEUED_BYTES = 3 * 1024 * 1024;
const MAX_BODY_BYTES = 4 * 1024 * 1024;

let cluster: Cluster;
before(async () => {
  cluster = await startCluster(['edge-t'], { edgeArgs: [
    '--rtmpt-idle-timeout-ms', String(IDLE_TIMEOUT_MS), '--rtmpt-max-queued-bytes', String(MAX_QUEUED_BYTES),
    '--rtmpt-max-reply-bytes', '65536', '--rtmpt-max-body-bytes', String(MAX_BODY_BYTES),
    // 200 abandoned sessions and the other tests' clients all come from 127.0.0.1: more than one address's default share.
    ...ONE_ADDRESS_LOAD_ARGS,
  ] });
});
after(stopAll);
const edge = () => cluster.edges[0]!;
const httpBase = () => `http://127.0.0.1:${edge().httpPort}`;
const rtmptUrl = (path: string) => `rtmpt://127.0.0.1:${edge().httpPort}/${path}`;

async function rtmptStats(): Promise<RtmptStats> {
  return (await (await fetch(`${httpBase()}/rtmpt/stats`)).json()) as RtmptStats;
}

/** The edge's sessions as the origin counts them (its registry, fed by SessionOpen/SessionClose). */
async function originSessionsOfEdge(): Promise<number> {
  const { edges } = await originApi<{ edges: Array<{ name: string; sessions: number }> }>(cluster.origin, '/api/edges');
  return edges.find((e) => e.name === edge().name)!.sessions;
}

/** Every tunnel and every edge client gone (earlier tests' clients included). */
async function allClosed(): Promise<void> {
  await eventually(async () => (await rtmptStats()).sessions === 0, 10_000, 'no RTMPT session left');
  await waitForMetric(edge().httpPort, 'classroom_edge_clients', (clients) => clients === 0);
}

/** ffmpeg publishes `live/NAME` to `publishUrl`; ffmpeg decodes 3 s of it from `playUrl`; `whilePublishing` runs before the decode. */
async function publishAndDecode(name: string, publishUrl: string, playUrl: string, what: string, whilePublishing = async () => {}): Promise<void> {
  const publisher = publishTestStream(publishUrl);
  try {
    await waitForPublished(cluster.origin, `live/${name}`, 20_000);
    await whilePublishing();
    const decoded = await decodeFrames(playUrl, 3);
    console.log(`${what}: ${decoded.video} video frames, ${decoded.audio} audio frames`);
    assert.ok(decoded.video >= 60, `ffmpeg decoded ${decoded.video} video frames: ${decoded.stderr}`);
    assert.ok(decoded.audio >= 60, `ffmpeg decoded ${decoded.audio} audio frames`);
  } finally {
    await stop(publisher);
  }
}

test('ffmpeg publishes over rtmpt://; an RTMP player on the edge decodes it', async () => {
  await publishAndDecode('tunnelled', rtmptUrl('live/tunnelled'), `${edge().base}/live/tunnelled`, 'published over RTMPT, decoded over RTMP', async () => {
    assert.equal((await rtmptStats()).sessions, 1, 'the publisher is one RTMPT session');
  });
});

test('ffmpeg plays over rtmpt:// a stream published over RTMP', async () => {
  await publishAndDecode('direct', `${edge().base}/live/direct`, rtmptUrl('live/direct'), 'published over RTMP, decoded over RTMPT');
});

test('a classroom call, a shared object change and a server call over RTMPT reach an RTMP client', async () => {
  await allClosed();
  const { client: student, info } = await connectRtmpt(rtmptUrl('classroom/tunnel'), { connectArgs: [{ name: 'Tom', role: 'student' }] });
  const { client: teacher } = await RtmpClient.connect(`${edge().base}/classroom/tunnel`, { connectArgs: [{ name: 'Tess', role: 'teacher' }] });
  try {
    assert.equal(info.code, 'NetConnection.Connect.Success');
    // A rejection reaches an RTMPT client too (its last reply, then the session ends).
    await assert.rejects(connectRtmpt(rtmptUrl('classroom/tunnel'), { connectArgs: [{ name: 'Tom' }] }),
      (error: RtmpCallError) => error.info.code === 'NetConnection.Connect.Rejected' && /already/.test(String(error.info.application)));
    // The RTMPT client is an ordinary edge client: counted with the RTMP one.
    await waitForMetric(edge().httpPort, 'classroom_edge_clients', (clients) => clients === 2, { timeoutMs: 5000 });
    assert.equal((await rtmptStats()).sessions, 1);
    await checkClassroomExchange({ client: student, name: 'Tom', role: 'student' }, { client: teacher, name: 'Tess', role: 'teacher' }, 'over HTTP');
  } finally {
    teacher.close();
    student.close();
  }
  await allClosed();
});

test('a slow poller is dropped to keyframes while others play on; one that stops taking its control traffic is closed at the queue limit', async () => {
  const gop = 10;
  // 50 KB frames at 30 fps: 1.5 MB/s, more than a poller taking 64 KiB every 100 ms.
  const publisher = await startSyntheticPublisher(`${edge().base}/live`, 'heavy', { frameBytes: 50_000, gop });
  const fast = await startLightPlayer(`${edge().base}/live`, 'heavy');
  const { client: slow } = await connectRtmpt(rtmptUrl('live'));
  const { client: flooded } = await connectRtmpt(rtmptUrl('classroom/flood'), { connectArgs: [{ name: 'Flo' }] });
  const { client: writer } = await RtmpClient.connect(`${edge().base}/classroom/flood`, { connectArgs: [{ name: 'Wes' }] });
  try {
    const frames = await playSyntheticFrames(slow, 'heavy');
    await eventually(() => frames.seqs.length > 5, 10_000, 'the slow poller to get frames');
    slow.socket.throttleMs = 100;
    const gapAt = () => frames.seqs.findIndex((seq, i) => i > 0 && seq !== frames.seqs[i - 1]! + 1);
    await eventually(() => gapAt() > 0 && frames.seqs.length > gapAt() + 10, 30_000, 'frames dropped, then delivery going on');
    const stats = await rtmptStats();
    console.log(`slow poller: ${frames.seqs.length} frames, first gap after seq ${frames.seqs[gapAt() - 1]}; queued now ${stats.largestQueueBytes} bytes; fast player ${fast.seqs.length} frames`);
    frames.seqs.forEach((seq, i) => {
      if (i > 0 && seq !== frames.seqs[i - 1]! + 1) assert.equal(seq % gop, 0, `after a drop the slow poller resumes on a keyframe (seq ${seq})`);
    });
    assert.ok(stats.largestQueueBytes <= MAX_QUEUED_BYTES, 'the queue stays under the limit');
    assert.ok(!slow.closed, 'the slow poller is kept');
    assert.ok(fast.seqs.every((seq, i) => i === 0 || seq === fast.seqs[i - 1]! + 1), 'the RTMP player got every frame');

    // Shared object changes are never dropped: a client that keeps polling but takes far less than it gets is closed.
    const board = await flooded.sharedObject('board').connect();
    flooded.socket.throttleMs = 1000;
    const mine = await writer.sharedObject('board').connect();
    const page = 'x'.repeat(60_000);
    for (let round = 0; !flooded.closed && round < 20; round++) {
      for (let i = 0; i < 40; i++) mine.set(`page${i % 4}`, `${round}:${i}:${page}`);
      await new Promise((r) => setTimeout(r, 1100));
    }
    assert.ok(flooded.closed, 'the flooded RTMPT client was closed');
    assert.ok(board.version > 0);
    await eventually(async () => (await rtmptStats()).overflowClosed >= 1, 5000, 'a session closed over rtmptMaxQueuedBytes');
    assert.deepEqual(await writer.call('echo', 'still here'), ['still here'], 'the writer goes on');
    assert.ok(!slow.closed, 'the slow poller is still kept');
  } finally {
    for (const client of [slow, flooded, writer, fast.client]) client.close();
    await publisher.stop();
  }
  await allClosed();
});

test('200 abandoned sessions (open, a send or two, then nothing) are reaped after the idle timeout', async () => {
  await allClosed();
  const before = await rtmptStats();
  const abandon = async () => {
    const id = await openRtmptSession(httpBase());
    const handshake = new ClientHandshake({ digest: false });
    const first = await rtmptRequest(httpBase(), `/send/${id}/0`, handshake.start());
    assert.equal(first.status, 200);
    const step = handshake.push(first.body.subarray(1));
    assert.ok(step.done && step.send, 'S0+S1+S2 came in the first reply');
    const connect = new ChunkEncoder().encode(encodeCommand({ name: 'connect', transactionId: 1,
      commandObject: { app: 'live', tcUrl: rtmptUrl('live') }, args: [] }, 0), ChunkStreamId.Command);
    assert.equal((await rtmptRequest(httpBase(), `/send/${id}/1`, Buffer.concat([step.send, connect]))).status, 200);
    return id;
  };
  const ids: string[] = [];
  for (let batch = 0; batch < 10; batch++) ids.push(...await Promise.all(Array.from({ length: 20 }, abandon)));
  const open = await rtmptStats();
  console.log(`200 sessions opened: ${JSON.stringify(open)}`);
  assert.equal(open.opened - before.opened, 200);
  assert.ok(open.sessions > 0, 'they are open until the idle timeout');
  await waitForMetric(edge().httpPort, 'classroom_edge_clients', (clients) => clients > 0, { timeoutMs: 5000 });
  await allClosed();
  const reaped = await rtmptStats();
  console.log(`after the idle timeout: ${JSON.stringify(reaped)}`);
  assert.equal(reaped.idleClosed - before.idleClosed, 200, 'every one closed by the idle timeout');
  assert.equal(reaped.queuedBytes, 0, 'their queues released');
  await eventually(async () => (await originSessionsOfEdge()) === 0, 10_000, 'the origin to see the sessions closed');
  assert.equal((await rtmptRequest(httpBase(), `/idle/${ids[0]}/2`)).status, 404, 'a reaped session is unknown');
});

test('garbage requests get 400/404 and close only the session they name; other sessions keep working', async () => {
  const { client: bystander } = await connectRtmpt(rtmptUrl('live'));
  const base = httpBase();
  try {
    const victims = await Promise.all(Array.from({ length: 6 }, () => openRtmptSession(base)));
    const [badSequence, repeatedSequence, notPost, missingSequence, oversize, extraSegment] = victims as [string, string, string, string, string, string];
    assert.equal((await rtmptRequest(base, `/idle/${repeatedSequence}/5`)).status, 200);
    const answers = {
      unknownSession: (await rtmptRequest(base, '/idle/0123456789abcdef01234567/1')).status,
      malformedSession: (await rtmptRequest(base, '/idle/not-a-session/1')).status,
      getOpen: (await rtmptRequest(base, '/open/1', undefined, 'GET')).status,
      badOpen: (await rtmptRequest(base, '/open/x')).status,
      badSequence: (await rtmptRequest(base, `/send/${badSequence}/one`)).status,
      repeatedSequence: (await rtmptRequest(base, `/idle/${repeatedSequence}/5`)).status,
      notPost: (await rtmptRequest(base, `/idle/${notPost}/1`, Buffer.of(0), 'PUT')).status,
      missingSequence: (await rtmptRequest(base, `/send/${missingSequence}`)).status,
      oversize: (await rtmptRequest(base, `/send/${oversize}/1`, Buffer.alloc(MAX_BODY_BYTES + 1))).status,
      extraSegment: (await rtmptRequest(base, `/send/${extraSegment}/1/2`)).status,
      ident2: (await rtmptRequest(base, '/fcs/ident2')).status,
    };
    assert.deepEqual(answers, {
      unknownSession: 404, malformedSession: 400, getOpen: 400, badOpen: 400, badSequence: 400, repeatedSequence: 400,
      notPost: 400, missingSequence: 400, oversize: 400, extraSegment: 400, ident2: 404,
    });
    for (const id of victims) assert.equal((await rtmptRequest(base, `/idle/${id}/100`)).status, 404, 'the session named by garbage is closed');
    assert.deepEqual(await bystander.call('createStream'), [1], 'the bystander keeps working');
    assert.equal((await rtmptStats()).sessions, 1, 'only the bystander is left');
  } finally {
    bystander.close();
  }
  await allClosed();
});
