/**
 * Browser playback from the edge (HTTP-FLV and WS-FLV) with real peers: ffmpeg publishes through
 * edge A; ffmpeg and ffprobe read HTTP-FLV from edge B, a `ws` client reads WS-FLV; a stream in
 * Flash-era codecs (Sorenson Spark + Nellymoser) is served as H.264/AAC by one shared transcoder.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { WebSocket } from 'ws';
import { FlvReader, FlvTagType, type FlvTag } from '#protocol/flv/flv.ts';
import { parseVideoTag, VideoCodec } from '#protocol/flv/codecs.ts';
import { decodeFrames, eventually, publishTestStream, run, stop, stopAll } from '../support/processes.ts';
import { startCluster, type Cluster } from '../support/cluster.ts';
import { waitForIncrease, waitForMetric, waitForPublished } from '../support/observe.ts';

let cluster: Cluster;
before(async () => { cluster = await startCluster(['edge-a', 'edge-b']); });
after(stopAll);
const edgeA = () => cluster.edges[0]!;
const edgeB = () => cluster.edges[1]!;
const flvUrl = (path: string) => `http://127.0.0.1:${edgeB().httpPort}/live/${path}.flv`;

/** Tags of `seconds` of HTTP-FLV (or fewer if the response ends). */
async function readHttpFlv(url: string, seconds: number): Promise<{ status: number; headers: Headers; tags: FlvTag[] }> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), seconds * 1000);
  const reader = new FlvReader();
  const tags: FlvTag[] = [];
  const response = await fetch(url, { signal: controller.signal });
  try {
    for await (const chunk of response.body ?? []) tags.push(...reader.push(Buffer.from(chunk)));
  } catch (error) {
    if ((error as Error).name !== 'AbortError') throw error;
  }
  clearTimeout(timer);
  return { status: response.status, headers: response.headers, tags };
}

function firstMediaIsKeyframe(tags: FlvTag[]): void {
  const video = tags.filter((t) => t.type === FlvTagType.Video).map((t) => parseVideoTag(t.data)!);
  const firstFrame = video.find((v) => !v.isSequenceHeader);
  assert.ok(firstFrame?.isKeyframe, 'the first video frame is a keyframe');
}

test('HTTP-FLV from edge B of a stream published through edge A: ffmpeg decodes video and audio; WS-FLV parses', async () => {
  const publisher = publishTestStream(`${edgeA().base}/live/cam`);
  try {
    await waitForPublished(cluster.origin, 'live/cam');
    const decoded = await decodeFrames(flvUrl('live/cam'), 2);
    console.log(`HTTP-FLV decoded: ${decoded.video} video frames, ${decoded.audio} audio frames`);
    assert.ok(decoded.video >= 40, `ffmpeg decoded ${decoded.video} video frames: ${decoded.stderr}`);
    assert.ok(decoded.audio >= 40, `ffmpeg decoded ${decoded.audio} audio frames`);

    const http = await readHttpFlv(flvUrl('live/cam'), 2);
    assert.equal(http.status, 200);
    assert.equal(http.headers.get('access-control-allow-origin'), '*');
    firstMediaIsKeyframe(http.tags);

    const ws = new WebSocket(`ws://127.0.0.1:${edgeB().httpPort}/live/live/cam.flv`);
    const reader = new FlvReader();
    const tags: FlvTag[] = [];
    ws.on('message', (data: Buffer) => tags.push(...reader.push(data)));
    await once(ws, 'open');
    await eventually(() => tags.filter((t) => t.type === FlvTagType.Video).length >= 30 && tags.some((t) => t.type === FlvTagType.Audio), 10_000, 'WS-FLV tags');
    ws.close();
    firstMediaIsKeyframe(tags);
    assert.equal(parseVideoTag(tags.find((t) => t.type === FlvTagType.Video)!.data)!.codecId, VideoCodec.AVC);
    console.log(`WS-FLV: ${tags.length} tags`);
    await waitForMetric(edgeB().httpPort, 'classroom_edge_flv_viewers', (viewers) => viewers === 0, { timeoutMs: 5000 });
  } finally {
    await stop(publisher);
  }
});

test('bad playback names get 400/404', async () => {
  const base = `http://127.0.0.1:${edgeB().httpPort}`;
  assert.equal((await fetch(`${base}/live/onlyapp.flv`)).status, 400);
  assert.equal((await fetch(`${base}/live/live/%2e%2e.flv`)).status, 400);
  assert.equal((await fetch(`${base}/live/live/x.mp4`)).status, 404);
});

test('a Flash-codec stream is transcoded to H.264/AAC once for three viewers, and stops when they leave', async () => {
  const startedBefore = await edgeB().metric('classroom_edge_transcoders_started_total', { kind: 'flv' });
  const publisher = publishTestStream(`${edgeA().base}/live/flash`, { flashCodecs: true });
  try {
    await waitForPublished(cluster.origin, 'live/flash');
    const probe = run('ffprobe', ['-v', 'error', '-rw_timeout', '15000000', '-show_entries', 'stream=codec_name', '-of', 'csv=p=0', flvUrl('live/flash')], 30_000);
    const viewers = await Promise.all([readHttpFlv(flvUrl('live/flash'), 6), readHttpFlv(flvUrl('live/flash'), 6), decodeFrames(flvUrl('live/flash'), 3)]);
    const probed = await probe;
    console.log(`ffprobe: ${probed.stdout.trim().replace(/\n/g, ',')}; decoded ${viewers[2].video} video, ${viewers[2].audio} audio frames`);
    assert.deepEqual(probed.stdout.trim().split('\n').sort(), ['aac', 'h264']);
    for (const viewer of viewers.slice(0, 2)) {
      const v = viewer as { tags: FlvTag[] };
      assert.ok(v.tags.filter((t) => t.type === FlvTagType.Video).length > 30);
      assert.equal(parseVideoTag(v.tags.find((t) => t.type === FlvTagType.Video)!.data)!.codecId, VideoCodec.AVC);
      firstMediaIsKeyframe(v.tags);
    }
    assert.ok(viewers[2].video >= 30 && viewers[2].audio >= 30, `decoded ${viewers[2].video}/${viewers[2].audio}`);
    assert.equal(await edgeB().metric('classroom_edge_transcoders_started_total', { kind: 'flv' }) - startedBefore, 1, 'one transcoder for all viewers');
    // The viewers left: the transcoder stops with them.
    await waitForMetric(edgeB().httpPort, 'classroom_edge_transcoders', (running) => running === 0, { labels: { kind: 'flv' } });
    await waitForMetric(edgeB().httpPort, 'classroom_edge_flv_viewers', (viewers) => viewers === 0, { timeoutMs: 5000 });
  } finally {
    await stop(publisher);
  }
});

test('a transcoder that dies is logged and reported to its WS-FLV viewer; the edge carries on', async () => {
  const publisher = publishTestStream(`${edgeA().base}/live/flash2`, { flashCodecs: true });
  try {
    const startedBefore = await edgeB().metric('classroom_edge_transcoders_started_total', { kind: 'flv' });
    const failedBefore = await edgeB().metric('classroom_edge_transcoders_failed_total', { kind: 'flv' });
    await waitForPublished(cluster.origin, 'live/flash2');
    const ws = new WebSocket(`ws://127.0.0.1:${edgeB().httpPort}/live/live/flash2.flv`);
    const reader = new FlvReader();
    let tags = 0;
    ws.on('message', (data: Buffer) => { tags += reader.push(data).length; });
    const closed = once(ws, 'close') as Promise<[number, Buffer]>;
    await waitForIncrease(edgeB().httpPort, 'classroom_edge_transcoders_started_total', startedBefore, { labels: { kind: 'flv' } });
    await eventually(() => tags > 10, 15_000, 'transcoded tags');
    // The edge's only ffmpeg child is this stream's transcoder.
    const transcoders = (await run('pgrep', ['-P', String(edgeB().child.pid), '-x', 'ffmpeg'])).stdout.trim().split('\n').filter(Boolean);
    assert.equal(transcoders.length, 1, `one ffmpeg under edge B: ${transcoders.join(',')}`);
    process.kill(Number(transcoders[0]), 'SIGKILL');
    const [code, reason] = await closed;
    console.log(`viewer closed: ${code} ${reason}`);
    assert.equal(code, 4000);
    assert.match(reason.toString(), /transcoding stopped: the transcoder killed by SIGKILL/);
    await waitForIncrease(edgeB().httpPort, 'classroom_edge_transcoders_failed_total', failedBefore, { labels: { kind: 'flv' } });
    assert.equal((await fetch(`http://127.0.0.1:${edgeB().httpPort}/playback/stats`)).status, 200);
  } finally {
    await stop(publisher);
  }
});
