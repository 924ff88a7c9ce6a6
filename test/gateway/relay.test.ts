/**
 * The edge's relay on a real cluster (one origin, two edges, as users run them): 50 players of
 * one stream on edge B cost the link one copy of it; a player that stops reading does not hold
 * up the other players or a remoting call on its edge; killing the origin (SIGKILL) and
 * restarting it on the same ports, the edges reconnect, players are kept and resume when the
 * publisher publishes again, the publisher and a shared object user are told their connection
 * closed, and a client connecting during the outage is held until the link is back. Pause and
 * receiveVideo reach the edge's relay.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { RtmpClient } from '#common/rtmp-client.ts';
import { encodeCommand } from '#protocol/rtmp/command.ts';
import { ChunkStreamId } from '#protocol/rtmp/message.ts';
import { eventually, startOrigin, stopAll } from '../support/processes.ts';
import { startCluster, type Cluster } from '../support/cluster.ts';
import { apiClients, waitForIncrease, waitForMetric } from '../support/observe.ts';
import { scrapeMetrics } from '../support/prometheus.ts';
import { frameStamp, percentile, startLightPlayer, startSyntheticPublisher, type LightPlayer } from '../support/synthetic-publisher.ts';

let cluster: Cluster;
before(async () => { cluster = await startCluster(['edge-a', 'edge-b']); });
after(stopAll);
const edgeA = () => cluster.edges[0]!;
const edgeB = () => cluster.edges[1]!;

/** Edge B's link bytes, players and streams from its /metrics, together with `sample()` taken right then. */
async function nextStats<T>(sample: () => T): Promise<{ stats: { linkBytesIn: number; players: number; streams: number }; sample: T }> {
  const scrape = await scrapeMetrics(edgeB().httpPort);
  const taken = sample();
  const stats = {
    linkBytesIn: scrape.value('classroom_edge_link_bytes_received_total'),
    players: scrape.value('classroom_edge_players'),
    streams: scrape.value('classroom_edge_live_streams'),
  };
  return { stats, sample: taken };
}

function contiguous(seqs: number[]): boolean {
  return seqs.every((seq, i) => i === 0 || seq === seqs[i - 1]! + 1);
}

test('50 players of one stream on edge B: the link carries the stream once', async () => {
  const publisher = await startSyntheticPublisher(`${edgeA().base}/live`, 'fifty', { frameBytes: 8000 });
  const players: LightPlayer[] = [];
  try {
    for (let i = 0; i < 50; i++) players.push(await startLightPlayer(`${edgeB().base}/live`, 'fifty'));
    await eventually(() => players.every((p) => p.seqs.length > 10), 10_000, 'every player to receive frames');
    const reference = players[0]!;
    const start = await nextStats(() => reference.bytes());
    await new Promise((r) => setTimeout(r, 4000));
    const end = await nextStats(() => reference.bytes());
    const link = end.stats.linkBytesIn - start.stats.linkBytesIn;
    const player = end.sample - start.sample;
    const ratio = link / player;
    console.log(`edge B: ${end.stats.players} players, ${end.stats.streams} stream(s); link bytes in ${link}, one player's bytes ${player}, ratio ${ratio.toFixed(3)}; all players together ${(player * 50 / 1e6).toFixed(1)} MB`);
    assert.equal(end.stats.players, 50);
    assert.equal(end.stats.streams, 1);
    assert.ok(ratio > 0.9 && ratio < 1.1, `link carried ${ratio.toFixed(3)}x one player's bytes`);
    for (const p of players) assert.ok(contiguous(p.seqs), 'every player got every frame after its first');
  } finally {
    for (const p of players) p.client.close();
    await publisher.stop();
  }
});

test('a player that stops reading does not delay the other players or a call on the same edge', async () => {
  // 100 KB frames at 30 fps (3 MB/s) fill a stalled socket's kernel buffers within seconds.
  const publisher = await startSyntheticPublisher(`${edgeA().base}/live`, 'stall', { frameBytes: 100_000 });
  const stalled = await startLightPlayer(`${edgeB().base}/live`, 'stall');
  const others = [await startLightPlayer(`${edgeB().base}/live`, 'stall'), await startLightPlayer(`${edgeB().base}/live`, 'stall')];
  const { client: caller } = await RtmpClient.connect(`${edgeB().base}/classroom/stall`, { connectArgs: [{ name: 'Cal' }] });
  try {
    await eventually(() => stalled.seqs.length > 0 && others.every((p) => p.seqs.length > 0), 10_000, 'players to start');
    await new Promise((r) => setTimeout(r, 1500));
    const baseline = others.map((p) => p.latencies.length);
    const stallsBefore = await edgeB().metric('classroom_edge_media_drop_episodes_total');
    stalled.client.socket.pause();
    const calls: number[] = [];
    const deadline = Date.now() + 6000;
    while (Date.now() < deadline) {
      const t0 = performance.now();
      const [echoed] = await caller.call('echo', { ping: calls.length });
      assert.deepEqual(echoed, { ping: calls.length });
      calls.push(performance.now() - t0);
      await new Promise((r) => setTimeout(r, 200));
    }
    // Edge B dropped frames for the stalled player rather than queue them.
    await waitForIncrease(edgeB().httpPort, 'classroom_edge_media_drop_episodes_total', stallsBefore);
    const lastSent = publisher.sent - 1;
    await eventually(() => others.every((p) => p.seqs.at(-1)! >= lastSent - 1), 5000, 'the other players to catch up');
    const ms = (values: number[]) => `p50 ${percentile(values, 50).toFixed(1)} ms, p99 ${percentile(values, 99).toFixed(1)} ms`;
    others.forEach((p, i) => {
      assert.ok(contiguous(p.seqs), 'the other players got every frame');
      // Startup (the cached GOP) is left out of the baseline: its frames are old by design.
      const before = p.latencies.slice(Math.min(30, baseline[i]!), baseline[i]);
      console.log(`reading player: ${p.seqs.length} frames; latency before the stall ${ms(before)}, during it ${ms(p.latencies.slice(baseline[i]))}`);
    });
    console.log(`stalled player read ${stalled.seqs.length} frames; ${calls.length} echo calls through edge B, p50 ${percentile(calls, 50).toFixed(1)} ms, max ${Math.max(...calls).toFixed(1)} ms`);
  } finally {
    stalled.client.close();
    for (const p of others) p.client.close();
    caller.close();
    await publisher.stop();
  }
});

test('origin killed and restarted on the same ports: edges reconnect, players resume when the publisher publishes again, a client connecting meanwhile is held', async () => {
  const first = await startSyntheticPublisher(`${edgeA().base}/live`, 'phoenix');
  const player = await startLightPlayer(`${edgeB().base}/live`, 'phoenix');
  const statuses: string[] = [];
  player.client.on('status', (_id, info) => statuses.push(String(info.code)));
  const publisherStatuses: string[] = [];
  first.client.on('status', (id, info) => { if (id === 0) publisherStatuses.push(String(info.code)); });
  // ffmpeg and librtmp number their play commands: still a player that only plays, so it is kept too.
  const numbered = await RtmpClient.connect(`${edgeB().base}/live`).then(({ client }) => client);
  const numberedStream = await numbered.createStream();
  numbered.send(encodeCommand({ name: 'play', transactionId: 9, commandObject: null, args: ['phoenix', -2000] }, numberedStream), ChunkStreamId.Data);
  let numberedFrames = 0;
  numbered.on('media', (m) => { if (frameStamp(m)) numberedFrames++; });
  // A client using a shared object cannot be carried over: it is told and closed.
  const { client: member } = await RtmpClient.connect(`${edgeB().base}/classroom/phoenix`, { connectArgs: [{ name: 'Mo' }] });
  await member.sharedObject('roster').connect();
  const memberStatuses: string[] = [];
  member.on('status', (id, info) => { if (id === 0) memberStatuses.push(String(info.code)); });
  await eventually(() => player.seqs.length > 10 && numberedFrames > 10, 10_000, 'the players to receive frames');
  const { origin } = cluster;
  const exited = once(origin.child, 'exit');
  origin.child.kill('SIGKILL');
  await exited;
  await eventually(() => statuses.includes('NetStream.Play.UnpublishNotify'), 10_000, 'UnpublishNotify on the player');
  await eventually(() => publisherStatuses.includes('NetConnection.Connect.Closed') && first.client.closed, 10_000, 'the publisher told Connect.Closed and closed');
  await eventually(() => memberStatuses.includes('NetConnection.Connect.Closed') && member.closed, 10_000, 'the shared object user told Connect.Closed and closed');
  await Promise.all([edgeA(), edgeB()].map((edge) => waitForMetric(edge.httpPort, 'classroom_edge_link_up', (up) => up === 0)));
  const connectsBefore = await Promise.all([edgeA(), edgeB()].map((edge) => edge.metric('classroom_edge_link_connects_total')));
  const heldBefore = await edgeB().metric('classroom_edge_connects_held_total');
  // A client that connects during the outage is held until the link is back, not refused.
  const latecomer = RtmpClient.connect(`${edgeB().base}/live`);
  await waitForIncrease(edgeB().httpPort, 'classroom_edge_connects_held_total', heldBefore);
  const restartedAt = Date.now();
  cluster.origin = await startOrigin(['--rtmp-port', String(origin.port), '--http-port', String(origin.httpPort),
    '--link-port', String(origin.linkPort), '--link-secret', cluster.secret], { dataDir: origin.dataDir });
  for (const [i, edge] of [edgeA(), edgeB()].entries()) {
    await waitForIncrease(edge.httpPort, 'classroom_edge_link_connects_total', connectsBefore[i]!, { timeoutMs: 15_000 });
  }
  console.log(`edges reconnected ${Date.now() - restartedAt} ms after the origin restarted`);
  assert.ok(!player.client.closed && !numbered.closed, 'the players were kept through the outage');
  const late = await latecomer;
  assert.equal(late.info.code, 'NetConnection.Connect.Success');
  late.client.close();
  const seen = player.seqs.length;
  const numberedSeen = numberedFrames;
  const second = await startSyntheticPublisher(`${edgeA().base}/live`, 'phoenix');
  try {
    await eventually(() => statuses.includes('NetStream.Play.PublishNotify'), 10_000, 'PublishNotify after the new publish');
    await eventually(() => player.seqs.length > seen + 10 && numberedFrames > numberedSeen + 10, 10_000, 'media from the new publisher');
    const replayed = (await apiClients(cluster.origin)).filter((c) => c.via === 'edge-b' && c.playing.includes('live/phoenix'));
    assert.ok(replayed.length >= 1, 'the edge replayed the play to the new origin');
  } finally {
    player.client.close();
    numbered.close();
    await Promise.all([first.stop(), second.stop()]);
  }
});

test('pause and receiveVideo reach the edge relay: that player stops and resumes, the others go on', async () => {
  const publisher = await startSyntheticPublisher(`${edgeA().base}/live`, 'pausable');
  const player = await startLightPlayer(`${edgeB().base}/live`, 'pausable');
  const other = await startLightPlayer(`${edgeB().base}/live`, 'pausable');
  const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));
  try {
    await eventually(() => player.seqs.length > 10, 10_000, 'frames');
    player.client.streamCommand(player.streamId, 'pause', true, 0);
    await player.client.waitForStatus(player.streamId, 'NetStream.Pause.Notify');
    await wait(300); // frames already written may still arrive
    const paused = player.seqs.length;
    const otherBefore = other.seqs.length;
    await wait(700);
    assert.equal(player.seqs.length, paused, 'nothing while paused');
    assert.ok(other.seqs.length > otherBefore + 10, 'the other player went on');
    player.client.streamCommand(player.streamId, 'pause', false, 0);
    await eventually(() => player.seqs.length > paused + 10, 5000, 'frames after unpause');
    player.client.streamCommand(player.streamId, 'receiveVideo', false);
    await wait(300);
    const noVideo = player.seqs.length;
    await wait(700);
    assert.equal(player.seqs.length, noVideo, 'no video after receiveVideo(false)');
    player.client.streamCommand(player.streamId, 'receiveVideo', true);
    await eventually(() => player.seqs.length > noVideo + 10, 5000, 'video again (from the next keyframe)');
  } finally {
    player.client.close();
    other.client.close();
    await publisher.stop();
  }
});
