/**
 * Live publish and play through the origin with real peers: ffmpeg publishes, ffmpeg and
 * rtmpdump play and decode; the project's client checks status codes and the instant-start cache.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { RtmpClient } from '#common/rtmp-client.ts';
import { ChunkStreamId, type RtmpMessage } from '#protocol/rtmp/message.ts';
import { decodeFrames, eventually, publishTestStream, run, startOrigin, stopAll, tempDir, type OriginProcess } from '../support/processes.ts';
import { aacAudio, avcVideo, isKeyframe, isVideoHeader } from '../support/synthetic-media.ts';
import { metricValue, waitForMetric, waitForPublished } from '../support/observe.ts';

let origin: OriginProcess;
let base: string;

before(async () => {
  origin = await startOrigin();
  base = `rtmp://127.0.0.1:${origin.port}`;
});
after(stopAll);

async function publisherClient(name: string): Promise<{ client: RtmpClient; streamId: number }> {
  const { client } = await RtmpClient.connect(`${base}/live`);
  const streamId = await client.createStream();
  client.streamCommand(streamId, 'publish', name, 'live');
  await client.waitForStatus(streamId, 'NetStream.Publish.Start');
  return { client, streamId };
}

describe('ffmpeg publishes, ffmpeg and rtmpdump play', () => {
  test('two H.264/AAC streams at once decode with video and audio in ffmpeg', async () => {
    publishTestStream(`${base}/live/one`);
    publishTestStream(`${base}/live/two`);
    await waitForPublished(origin, 'live/one');
    await waitForPublished(origin, 'live/two');
    const [one, two] = await Promise.all([decodeFrames(`${base}/live/one`, 3), decodeFrames(`${base}/live/two`, 3)]);
    for (const result of [one, two]) {
      assert.ok(result.video >= 60, `expected >= 60 video frames in 3 s, got ${result.video}: ${result.stderr}`);
      assert.ok(result.audio >= 60, `expected >= 60 audio frames in 3 s, got ${result.audio}: ${result.stderr}`);
    }
  });

  test('rtmpdump records the live stream to an FLV that ffprobe decodes', async () => {
    const dir = tempDir();
    const file = join(dir, 'dump.flv');
    // rtmpdump never exits on a live stream: bound it, the kill is expected.
    await run('rtmpdump', ['-q', '-v', '-r', `${base}/live/one`, '-o', file], 4000);
    const probe = await run('ffprobe', ['-v', 'error', '-count_frames', '-show_entries', 'stream=codec_type,codec_name,nb_read_frames', '-of', 'json', file]);
    const streams = JSON.parse(probe.stdout).streams as Array<{ codec_type: string; codec_name: string; nb_read_frames: string }>;
    const video = streams.find((s) => s.codec_type === 'video');
    const audio = streams.find((s) => s.codec_type === 'audio');
    assert.equal(video?.codec_name, 'h264');
    assert.equal(audio?.codec_name, 'aac');
    assert.ok(Number(video.nb_read_frames) >= 30, `video frames: ${video.nb_read_frames}`);
    assert.ok(Number(audio.nb_read_frames) >= 30, `audio frames: ${audio.nb_read_frames}`);
    assert.ok(readFileSync(file).subarray(0, 3).equals(Buffer.from('FLV')));
  });

  test('a second publisher of the same name gets Publish.BadName; the first carries on', async () => {
    const { client } = await RtmpClient.connect(`${base}/live`);
    const streamId = await client.createStream();
    client.streamCommand(streamId, 'publish', 'one', 'live');
    const info = await client.waitForStatus(streamId, /^NetStream\.Publish\./);
    assert.equal(info.code, 'NetStream.Publish.BadName');
    assert.equal(info.level, 'error');
    // The connection stays usable after the refusal.
    assert.equal(typeof (await client.createStream()), 'number');
    client.close();
    // ffmpeg as the second publisher is refused too and exits with an error.
    const second = await run('ffmpeg', ['-hide_banner', '-loglevel', 'info', '-re', '-f', 'lavfi', '-i', 'testsrc', '-t', '3', '-c:v', 'libx264', '-f', 'flv', `${base}/live/one`], 15_000);
    assert.notEqual(second.code, 0);
    assert.match(second.stderr, /already being published/);
    const still = await decodeFrames(`${base}/live/one`, 1);
    assert.ok(still.video >= 20, `first stream still plays: ${still.video} frames`);
  });

  test('a late joiner starts on a keyframe (ffprobe sees a key packet first)', async () => {
    publishTestStream(`${base}/live/late`, { gop: 90 });
    await waitForPublished(origin, 'live/late');
    await new Promise((r) => setTimeout(r, 1500)); // join in the middle of a 3 s GOP
    const probe = await run('ffprobe', ['-v', 'error', '-rw_timeout', '10000000', '-select_streams', 'v', '-read_intervals', '%+#3',
      '-show_entries', 'packet=flags,pts_time', '-of', 'csv=p=0', `${base}/live/late`], 20_000);
    const first = probe.stdout.trim().split('\n')[0] ?? '';
    assert.match(first, /K/, `first video packet: ${first} (${probe.stderr})`);
  });
});

describe('instant start and fan-out (synthetic publisher)', () => {
  test('a joiner gets metadata, headers and the whole current GOP before any new frame', async () => {
    const { client: pub, streamId } = await publisherClient('gop');
    pub.send(avcVideo('header', 0, streamId), ChunkStreamId.Video);
    pub.send(aacAudio('header', 0, streamId), ChunkStreamId.Audio);
    pub.send(avcVideo('key', 0, streamId, 500, 1), ChunkStreamId.Video);
    pub.send(avcVideo('inter', 33, streamId), ChunkStreamId.Video);
    pub.send(avcVideo('key', 1000, streamId, 500, 2), ChunkStreamId.Video);
    for (let i = 1; i <= 5; i++) pub.send(avcVideo('inter', 1000 + i * 33, streamId, 64, 10 + i), ChunkStreamId.Video);
    pub.send(aacAudio('frame', 1100, streamId), ChunkStreamId.Audio);
    await waitForPublished(origin, 'live/gop');
    await new Promise((r) => setTimeout(r, 200));

    const { client: player } = await RtmpClient.connect(`${base}/live`);
    const received: RtmpMessage[] = [];
    player.on('media', (m) => received.push(m));
    const playId = await player.createStream();
    player.streamCommand(playId, 'play', 'gop', -1000);
    await player.waitForStatus(playId, 'NetStream.Play.Start');
    await eventually(() => received.filter((m) => m.type === 9).length >= 7, 5000, 'cached frames');
    const video = received.filter((m) => m.type === 9);
    assert.ok(isVideoHeader(video[0]!), 'sequence header first');
    assert.equal(video[0]!.timestamp, 1000, 'header restamped to the keyframe time');
    assert.ok(isKeyframe(video[1]!));
    assert.equal(video[1]!.payload[5], 2, 'the latest keyframe, not the first');
    assert.deepEqual(video.slice(2, 7).map((m) => m.timestamp), [1033, 1066, 1099, 1132, 1165]);
    assert.ok(received.some((m) => m.type === 8 && m.payload[1] === 0), 'AAC header sent');
    const afterJoin = received.length;
    pub.send(avcVideo('inter', 1200, streamId, 64, 99), ChunkStreamId.Video);
    await eventually(() => received.length > afterJoin, 5000, 'live frame');
    assert.equal(received.at(-1)!.timestamp, 1200);
    player.close();
    pub.close();
  });

  test('a player that stops reading is bounded and does not slow another player', async () => {
    const { client: pub, streamId } = await publisherClient('slow');
    pub.send(avcVideo('header', 0, streamId), ChunkStreamId.Video);
    const fast = (await RtmpClient.connect(`${base}/live`)).client;
    const slow = (await RtmpClient.connect(`${base}/live`)).client;
    let fastFrames = 0;
    fast.on('media', (m) => { if (m.type === 9 && !isVideoHeader(m)) fastFrames++; });
    for (const c of [fast, slow]) {
      const id = await c.createStream();
      c.streamCommand(id, 'play', 'slow', -1000);
      await c.waitForStatus(id, 'NetStream.Play.Start');
    }
    slow.socket.pause(); // the slow player's kernel buffers fill, then the origin's backlog
    const frames = 400;
    // 20 MB at about 10 MB/s: far more than the slow player's kernel buffers hold, easy for the fast one.
    for (let i = 0; i < frames; i++) {
      pub.send(avcVideo(i % 50 === 0 ? 'key' : 'inter', i * 33, streamId, 50_000), ChunkStreamId.Video);
      if (i % 4 === 3) await new Promise((r) => setTimeout(r, 20));
    }
    await eventually(() => fastFrames === frames, 20_000, `fast player to get all ${frames} frames (has ${fastFrames})`);
    // The slow player's backlog hit its limit: frames were dropped for it rather than queued without end.
    await waitForMetric(origin.httpPort, 'classroom_origin_media_drop_episodes_total', (episodes) => episodes >= 1, { labels: { consumer: 'player' } });
    assert.ok(await metricValue(origin.httpPort, 'classroom_origin_media_frames_dropped_total', { consumer: 'player' }) > 0, 'frames dropped for the slow player');
    slow.close();
    fast.close();
    pub.close();
  });
});

describe('connect', () => {
  test('an unknown application is rejected with a reason', async () => {
    await assert.rejects(RtmpClient.connect(`${base}/nosuchapp`), (error: Error & { info?: Record<string, unknown> }) => {
      assert.equal(error.info?.code, 'NetConnection.Connect.Rejected');
      assert.match(String(error.info?.application), /Unknown application 'nosuchapp'/);
      return true;
    });
  });

  test('objectEncoding 3 is honoured: AMF3 command messages come back', async () => {
    const client = await RtmpClient.open('127.0.0.1', origin.port);
    const types: number[] = [];
    client.on('message', (m) => { if (m.type === 17 || m.type === 20) types.push(m.type); });
    const info = await client.connectApp('live', `${base}/live`, { objectEncoding: 3 });
    assert.equal(info.objectEncoding, 3);
    assert.deepEqual([...new Set(types)], [17], 'every command reply is an AMF3 command message');
    assert.equal(info.code, 'NetConnection.Connect.Success');
    assert.equal(typeof (await client.createStream()), 'number');
    client.close();
  });

  test('an unknown method returns _error and the connection stays up', async () => {
    const { client } = await RtmpClient.connect(`${base}/live`);
    await assert.rejects(client.call('noSuchMethod', 1), /NetConnection.Call.Failed/);
    assert.equal(typeof (await client.createStream()), 'number');
    client.close();
  });
});
