/**
 * Prometheus metrics on a real cluster (an origin and an edge, as users run them), read only through
 * `/metrics` and an independent parser: both expose their families, typed, with prom-client's process
 * metrics; media bytes sent grow with the number of players (measured against the bytes the
 * publisher sent in the same window); a player that stops reading (ffmpeg under SIGSTOP) shows up as
 * dropped frames and a drop episode at the origin and at the edge; connects to an unknown application
 * count as refusals whichever way they came; a shared object change and a recording (python3-librtmp
 * publishing with type `record`) are counted; no stream name appears in any label.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { eventually, publishTestStream, run, stop, stopAll, tempDir, track } from '../support/processes.ts';
import { startCluster, type Cluster } from '../support/cluster.ts';
import { librtmpPublish, npmConnect, npmSharedObject } from '../support/peers.ts';
import { scrapeMetrics, type Scrape } from '../support/prometheus.ts';

let cluster: Cluster;
before(async () => { cluster = await startCluster(['metrics-edge']); });
after(stopAll);

const origin = () => cluster.origin;
const edge = () => cluster.edges[0]!;
const originMetrics = () => scrapeMetrics(origin().httpPort);
const edgeMetrics = () => scrapeMetrics(edge().httpPort);
const originUrl = (path: string) => `rtmp://127.0.0.1:${origin().port}/${path}`;
const edgeUrl = (path: string) => `${edge().base}/${path}`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** ffmpeg playing a live stream as fast as it comes, keeping nothing. */
function ffmpegPlayer(url: string): ChildProcess {
  return track(spawn('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-rw_timeout', '30000000', '-i', url, '-c', 'copy', '-f', 'null', '-'], { stdio: ['ignore', 'ignore', 'ignore'] }));
}

/** Resumes a player stopped with SIGSTOP, then ends it. */
async function resumeAndStop(player: ChildProcess): Promise<void> {
  player.kill('SIGCONT');
  await stop(player, 'SIGKILL');
}

/** Waits until `read` of a fresh scrape satisfies `predicate`; returns that scrape. */
async function until(scrape: () => Promise<Scrape>, predicate: (s: Scrape) => boolean, what: string, timeoutMs = 15_000): Promise<Scrape> {
  let last: Scrape | null = null;
  await eventually(async () => predicate((last = await scrape())), timeoutMs, what);
  return last!;
}

const ORIGIN_FAMILIES: Record<string, 'COUNTER' | 'GAUGE'> = {
  classroom_origin_direct_connections: 'GAUGE', classroom_origin_rtmp_bytes_received_total: 'COUNTER', classroom_origin_rtmp_bytes_sent_total: 'COUNTER',
  classroom_origin_clients: 'GAUGE', classroom_origin_rooms: 'GAUGE', classroom_origin_publishers: 'GAUGE', classroom_origin_live_streams: 'GAUGE',
  classroom_origin_players: 'GAUGE', classroom_origin_link_subscriptions: 'GAUGE',
  classroom_origin_media_bytes_sent_total: 'COUNTER', classroom_origin_media_frames_sent_total: 'COUNTER', classroom_origin_media_frames_dropped_total: 'COUNTER',
  classroom_origin_media_bytes_dropped_total: 'COUNTER', classroom_origin_media_drop_episodes_total: 'COUNTER',
  classroom_origin_edges: 'GAUGE', classroom_origin_link_rtt_seconds: 'GAUGE', classroom_origin_link_backlog_bytes: 'GAUGE', classroom_origin_link_sessions: 'GAUGE',
  classroom_origin_link_bytes_received_total: 'COUNTER', classroom_origin_link_bytes_sent_total: 'COUNTER', classroom_origin_edge_clients: 'GAUGE',
  classroom_origin_recordings_open: 'GAUGE', classroom_origin_room_recordings: 'GAUGE', classroom_origin_recording_bytes_written_total: 'COUNTER',
  classroom_origin_recording_failures_total: 'COUNTER', classroom_origin_shared_object_changes_total: 'COUNTER', classroom_origin_connect_refusals_total: 'COUNTER', classroom_origin_access_refusals_total: 'COUNTER',
  classroom_origin_recordings_started_total: 'COUNTER', classroom_origin_recordings_finished_total: 'COUNTER', classroom_origin_recordings_repaired_total: 'COUNTER',
  classroom_origin_connections_closed_total: 'COUNTER', classroom_origin_shared_object_refusals_total: 'COUNTER', classroom_origin_client_calls_failed_total: 'COUNTER',
  classroom_origin_edge_refusals_total: 'COUNTER', classroom_origin_edge_link_closes_total: 'COUNTER',
  classroom_origin_client_refusals_total: 'COUNTER', classroom_origin_address_refusals_total: 'COUNTER', classroom_origin_address_top_connections: 'GAUGE',
  classroom_origin_address_connections: 'GAUGE',
};
const EDGE_FAMILIES: Record<string, 'COUNTER' | 'GAUGE'> = {
  classroom_edge_clients: 'GAUGE', classroom_edge_rtmp_connections: 'GAUGE', classroom_edge_rtmp_bytes_received_total: 'COUNTER', classroom_edge_rtmp_bytes_sent_total: 'COUNTER',
  classroom_edge_connection_refusals_total: 'COUNTER', classroom_edge_token_refusals_total: 'COUNTER', classroom_edge_live_streams: 'GAUGE', classroom_edge_players: 'GAUGE', classroom_edge_flv_viewers: 'GAUGE',
  classroom_edge_webrtc_publishers: 'GAUGE', classroom_edge_webrtc_viewers: 'GAUGE', classroom_edge_webrtc_feeds: 'GAUGE',
  classroom_edge_transcoders: 'GAUGE', classroom_edge_transcoders_started_total: 'COUNTER',
  classroom_edge_transcoders_failed_total: 'COUNTER', classroom_edge_connections_closed_total: 'COUNTER', classroom_edge_browser_closes_total: 'COUNTER',
  classroom_edge_internal_errors_total: 'COUNTER', classroom_edge_connects_held_total: 'COUNTER', classroom_edge_link_attempt_failures_total: 'COUNTER',
  classroom_edge_link_up: 'GAUGE', classroom_edge_links: 'GAUGE', classroom_edge_link_connects_total: 'COUNTER', classroom_edge_link_rtt_seconds: 'GAUGE', classroom_edge_link_backlog_bytes: 'GAUGE',
  classroom_edge_link_last_recovery_timestamp_seconds: 'GAUGE',
  classroom_edge_link_bytes_received_total: 'COUNTER', classroom_edge_link_bytes_sent_total: 'COUNTER', classroom_edge_link_media_bytes_received_total: 'COUNTER',
  classroom_edge_media_bytes_sent_total: 'COUNTER', classroom_edge_media_frames_sent_total: 'COUNTER', classroom_edge_media_frames_dropped_total: 'COUNTER',
  classroom_edge_media_bytes_dropped_total: 'COUNTER', classroom_edge_media_drop_episodes_total: 'COUNTER',
  classroom_edge_address_refusals_total: 'COUNTER', classroom_edge_address_top_connections: 'GAUGE', classroom_edge_address_connections: 'GAUGE',
  classroom_edge_viewer_closes_total: 'COUNTER',
};
/** prom-client's default process metrics, event-loop lag among them. */
const PROCESS_FAMILIES = { process_cpu_user_seconds_total: 'COUNTER', process_resident_memory_bytes: 'GAUGE', nodejs_eventloop_lag_seconds: 'GAUGE', nodejs_eventloop_lag_p99_seconds: 'GAUGE', nodejs_heap_size_used_bytes: 'GAUGE', classroom_log_lines_total: 'COUNTER' } as const;

test('/metrics on the origin and the edge parse with an independent parser: every family typed, process metrics included', async () => {
  for (const [scrape, families, other] of [[await originMetrics(), ORIGIN_FAMILIES, 'classroom_edge_'], [await edgeMetrics(), EDGE_FAMILIES, 'classroom_origin_']] as const) {
    for (const [name, type] of Object.entries({ ...families, ...PROCESS_FAMILIES })) assert.equal(scrape.type(name), type, name);
    const ours = [...scrape.families.keys()].filter((name) => name.startsWith('classroom_') && !(name in PROCESS_FAMILIES));
    assert.deepEqual(ours.filter((name) => !(name in families)), [], 'no family the test does not know (nor the other process\'s)');
    assert.ok(!scrape.text.includes(other));
    for (const name of ours) if (scrape.type(name) === 'COUNTER') assert.match(name, /_total$/);
  }
  const e = await edgeMetrics();
  assert.equal(e.value('classroom_edge_link_up'), 1);
  assert.equal((await originMetrics()).value('classroom_origin_edges'), 1);
  assert.ok(e.value('classroom_edge_link_bytes_received_total') > 0);
});

test('media bytes sent grow with the players: one, then two, against the bytes the publisher sent meanwhile', async () => {
  const name = 'metrics-cam-7f3a';
  const publisher = publishTestStream(originUrl(`live/${name}`));
  const players: ChildProcess[] = [];
  try {
    await until(originMetrics, (s) => s.value('classroom_origin_publishers', { application: 'live', via: 'direct' }) === 1
      && s.value('classroom_origin_live_streams', { application: 'live', state: 'published' }) === 1, 'the publish');
    /** Media bytes sent to direct players per byte the origin received (the publisher's), over a window. */
    const sentPerReceived = async () => {
      const a = await originMetrics();
      await sleep(3000);
      const b = await originMetrics();
      const sent = b.value('classroom_origin_media_bytes_sent_total', { consumer: 'player' }) - a.value('classroom_origin_media_bytes_sent_total', { consumer: 'player' });
      const received = b.value('classroom_origin_rtmp_bytes_received_total') - a.value('classroom_origin_rtmp_bytes_received_total');
      assert.ok(received > 0, 'the publisher sends');
      return sent / received;
    };
    const none = await sentPerReceived();
    players.push(ffmpegPlayer(originUrl(`live/${name}`)));
    await until(originMetrics, (s) => s.value('classroom_origin_players') === 1 && s.value('classroom_origin_media_frames_sent_total', { consumer: 'player' }) > 0, 'one player');
    const one = await sentPerReceived();
    players.push(ffmpegPlayer(originUrl(`live/${name}`)));
    await until(originMetrics, (s) => s.value('classroom_origin_players') === 2, 'two players');
    await sleep(1000); // the second player's startup burst (the cached GOP) out of the window
    const two = await sentPerReceived();
    console.log(`media bytes sent per byte received: no player ${none.toFixed(3)}, one ${one.toFixed(3)}, two ${two.toFixed(3)}`);
    assert.equal(none, 0);
    assert.ok(one > 0.8 && one < 1.2, `one player: ${one}`);
    assert.ok(two > 1.6 * one && two < 2.4 * one, `two players: ${two} vs one: ${one}`);

    // A player at the edge: the link carries the stream once, the edge sends it on.
    const edgeBefore = await edgeMetrics();
    players.push(ffmpegPlayer(edgeUrl(`live/${name}`)));
    const o = await until(originMetrics, (s) => s.value('classroom_origin_link_subscriptions') === 1 && s.value('classroom_origin_players') === 3
      && s.value('classroom_origin_edge_clients', { edge: 'metrics-edge', protocol: 'rtmp' }) === 1, 'the edge player at the origin');
    assert.equal(o.value('classroom_origin_clients', { application: 'live', via: 'edge' }), 1);
    assert.equal(o.value('classroom_origin_link_sessions', { edge: 'metrics-edge' }), 1);
    const e = await until(edgeMetrics, (s) => s.value('classroom_edge_media_bytes_sent_total') > edgeBefore.value('classroom_edge_media_bytes_sent_total')
      && s.value('classroom_edge_rtmp_bytes_sent_total') > edgeBefore.value('classroom_edge_rtmp_bytes_sent_total'), 'media to the edge\'s player');
    assert.equal(e.value('classroom_edge_players'), 1);
    assert.equal(e.value('classroom_edge_live_streams'), 1);
    assert.equal(e.value('classroom_edge_clients', { protocol: 'rtmp' }), 1);
    const linked = await until(originMetrics, (s) => s.value('classroom_origin_media_bytes_sent_total', { consumer: 'link' }) > o.value('classroom_origin_media_bytes_sent_total', { consumer: 'link' }), 'media down the link');
    assert.ok(linked.value('classroom_origin_link_bytes_sent_total', { edge: 'metrics-edge' }) > linked.value('classroom_origin_media_bytes_sent_total', { consumer: 'link' }));
    for (const text of [linked.text, (await edgeMetrics()).text]) assert.ok(!text.includes(name), 'no stream name in any label');
  } finally {
    for (const player of players) await stop(player);
    await stop(publisher);
  }
  await until(originMetrics, (s) => s.value('classroom_origin_players') === 0 && s.value('classroom_origin_publishers') === 0 && s.value('classroom_origin_direct_connections') === 0, 'everyone gone');
});

test('a player that stops reading (SIGSTOP) shows as dropped frames and a drop episode, at the origin and at the edge', async () => {
  // About 3.5 MB/s of H.264 noise, published in a loop without re-encoding: a stopped player's kernel buffers fill in seconds.
  const file = join(tempDir('cg-metrics-'), 'noise.flv');
  const made = await run('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i', 'testsrc=size=640x360:rate=30,noise=alls=40:allf=t',
    '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=44100', '-t', '2', '-c:v', 'libx264', '-preset', 'ultrafast', '-qp', '22', '-g', '30', '-c:a', 'aac', '-f', 'flv', file]);
  assert.equal(made.code, 0, made.stderr);
  const url = originUrl('live/metrics-noise');
  const publisher = track(spawn('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-re', '-stream_loop', '-1', '-i', file, '-c', 'copy', '-f', 'flv', url], { stdio: ['ignore', 'ignore', 'ignore'] }));
  const originDrops = (s: Scrape) => ({
    frames: s.value('classroom_origin_media_frames_dropped_total', { consumer: 'player' }),
    bytes: s.value('classroom_origin_media_bytes_dropped_total', { consumer: 'player' }),
    episodes: s.value('classroom_origin_media_drop_episodes_total', { consumer: 'player' }),
    linkEpisodes: s.value('classroom_origin_media_drop_episodes_total', { consumer: 'link' }),
  });
  const edgeDrops = (s: Scrape) => ({
    frames: s.value('classroom_edge_media_frames_dropped_total'),
    bytes: s.value('classroom_edge_media_bytes_dropped_total'),
    episodes: s.value('classroom_edge_media_drop_episodes_total'),
  });
  const before = { origin: originDrops(await originMetrics()), edge: edgeDrops(await edgeMetrics()), edgeFrames: (await edgeMetrics()).value('classroom_edge_media_frames_sent_total') };
  const atOrigin = ffmpegPlayer(url);
  const atEdge = ffmpegPlayer(edgeUrl('live/metrics-noise'));
  try {
    await until(originMetrics, (s) => s.value('classroom_origin_players') === 2, 'both players');
    await until(edgeMetrics, (s) => s.value('classroom_edge_media_frames_sent_total') > before.edgeFrames, 'media at the edge player');
    atOrigin.kill('SIGSTOP');
    atEdge.kill('SIGSTOP');
    const o = originDrops(await until(originMetrics, (s) => originDrops(s).episodes > before.origin.episodes, 'a drop episode at the origin', 30_000));
    const e = edgeDrops(await until(edgeMetrics, (s) => edgeDrops(s).episodes > before.edge.episodes, 'a drop episode at the edge', 30_000));
    console.log(`stalled origin player: ${o.frames - before.origin.frames} frames (${o.bytes - before.origin.bytes} bytes) dropped; stalled edge player: ${e.frames - before.edge.frames} frames (${e.bytes - before.edge.bytes} bytes)`);
    assert.ok(o.frames > before.origin.frames && o.bytes > before.origin.bytes);
    assert.ok(e.frames > before.edge.frames && e.bytes > before.edge.bytes);
    assert.equal(o.linkEpisodes, before.origin.linkEpisodes, 'the link kept up: only the stalled players dropped');
  } finally {
    await resumeAndStop(atOrigin);
    await resumeAndStop(atEdge);
    await stop(publisher);
  }
});

test('connects to an unknown application count as refusals, directly and through the edge', async () => {
  const reason = { reason: 'connect.unknown_application' };
  const before = (await originMetrics()).value('classroom_origin_connect_refusals_total', reason);
  for (const url of [originUrl('no-such-app/room'), edgeUrl('no-such-app/room')]) {
    await assert.rejects(npmConnect(url), /NetConnection.Connect.Rejected/);
  }
  await until(originMetrics, (s) => s.value('classroom_origin_connect_refusals_total', reason) === before + 2, 'two refusals');
});

test('a shared object change and a recording are counted', async () => {
  const before = await originMetrics();
  const nc = await npmConnect(originUrl('live/metrics-so'));
  try {
    const so = await npmSharedObject(nc, 'counted');
    so.setProperty('k', 1);
    await until(originMetrics, (s) => s.value('classroom_origin_shared_object_changes_total') === before.value('classroom_origin_shared_object_changes_total') + 1, 'one change');
  } finally {
    nc.close();
  }

  const source = join(tempDir('cg-metrics-'), 'source.flv');
  const made = await run('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i', 'testsrc=size=320x240:rate=30', '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=44100',
    '-t', '3', '-c:v', 'libx264', '-preset', 'ultrafast', '-g', '30', '-c:a', 'aac', '-f', 'flv', source]);
  assert.equal(made.code, 0, made.stderr);
  const publish = await librtmpPublish(originUrl('live'), 'metrics-rec', 'record', source);
  await until(originMetrics, (s) => s.value('classroom_origin_recordings_open') === 1, 'the recording open');
  await publish.done;
  const after = await until(originMetrics, (s) => s.value('classroom_origin_recordings_open') === 0, 'the recording finished');
  const file = statSync(join(origin().dataDir, 'recordings', 'live', 'metrics-rec.flv'));
  assert.equal(after.value('classroom_origin_recording_bytes_written_total') - before.value('classroom_origin_recording_bytes_written_total'), file.size, 'bytes written: the file');
  assert.equal(after.value('classroom_origin_recording_failures_total'), before.value('classroom_origin_recording_failures_total'));
});
