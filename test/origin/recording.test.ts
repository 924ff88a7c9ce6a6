/**
 * Recording with real peers: an ffmpeg-encoded stream published with `record` becomes an FLV
 * that ffprobe reads with the right duration, frame count and keyframe index; rtmpdump and
 * ffmpeg play it back over RTMP; a seek lands within one GOP; `append` continues timestamps;
 * hostile names are refused with Record.NoAccess and nothing is written outside the folder.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { RtmpClient } from '#common/rtmp-client.ts';
import { FlvReader, FlvTagType } from '#protocol/flv/flv.ts';
import { decodeOnMetaData } from '#protocol/flv/flv-index.ts';
import { parseVideoTag } from '#protocol/flv/codecs.ts';
import { MessageType } from '#protocol/rtmp/message.ts';
import { decodeData } from '#protocol/rtmp/command.ts';
import { decodeFrames, run, startOrigin, stopAll, tempDir, type OriginProcess } from '../support/processes.ts';
import { ffmpegFlv, startFlvPublish } from '../support/flv-publisher.ts';
import { metricValue, waitForIncrease } from '../support/observe.ts';

let origin: OriginProcess;
let base: string;
let recordings: string;

before(async () => {
  origin = await startOrigin();
  base = `rtmp://127.0.0.1:${origin.port}`;
  recordings = join(origin.dataDir, 'recordings');
});
after(stopAll);

async function probe(file: string): Promise<{ duration: number; video: number; audio: number; stderr: string }> {
  const result = await run('ffprobe', ['-v', 'error', '-count_frames', '-show_entries', 'format=duration:stream=codec_type,nb_read_frames', '-of', 'json', file]);
  const json = JSON.parse(result.stdout) as { format: { duration: string }; streams: Array<{ codec_type: string; nb_read_frames: string }> };
  const count = (type: string) => Number(json.streams.find((s) => s.codec_type === type)?.nb_read_frames ?? 0);
  return { duration: Number(json.format.duration), video: count('video'), audio: count('audio'), stderr: result.stderr };
}

function fileMetadata(file: string): Record<string, unknown> {
  const tags = new FlvReader().push(readFileSync(file));
  return decodeOnMetaData(tags[0]!.data)!;
}

/** Plays `name` with the project's client from `startMs` and returns the first video timestamp after the start. */
async function firstVideoAfterPlay(name: string, startMs: number): Promise<{ timestamp: number; statuses: string[] }> {
  const { client } = await RtmpClient.connect(`${base}/live`);
  try {
    const streamId = await client.createStream();
    const statuses: string[] = [];
    client.on('status', (_id, info) => statuses.push(String(info.code)));
    const first = new Promise<number>((resolve) => {
      client.on('media', (message) => {
        if (message.type !== MessageType.Video) return;
        const info = parseVideoTag(message.payload);
        if (info && !info.isSequenceHeader) resolve(message.timestamp);
      });
    });
    client.streamCommand(streamId, 'play', name, startMs);
    return { timestamp: await first, statuses };
  } finally {
    client.close();
  }
}

describe('record, then play back', () => {
  let file: string;
  let sent: { videoFrames: number; audioFrames: number; keyframes: number; lastTimestamp: number };

  test('a 20 s publish with `record` gives an FLV with the right duration, frame count and keyframe index', async () => {
    const publish = await startFlvPublish(`${base}/live`, 'lesson', 'record');
    // Encoded as fast as ffmpeg can (not -re), so the test does not wait 20 s: the server sees the same tags.
    await publish.pump(ffmpegFlv(20));
    sent = publish.sent;
    await stopAndWaitForRecording(publish);
    assert.ok(publish.statuses.some((s) => s.code === 'NetStream.Record.Start'), JSON.stringify(publish.statuses));
    assert.ok(publish.statuses.some((s) => s.code === 'NetStream.Record.Stop'));
    file = join(recordings, 'live', 'lesson.flv');
    assert.ok(!existsSync(file + '.recording'), 'the unfinished marker is gone');
    const info = await probe(file);
    assert.ok(Math.abs(info.duration - 20) <= 0.1, `ffprobe duration ${info.duration}`);
    assert.equal(info.video, sent.videoFrames);
    assert.equal(info.audio, sent.audioFrames);
    assert.equal(info.stderr, '', 'ffprobe reads the file without complaint');
    const meta = fileMetadata(file);
    const keyframes = meta.keyframes as { times: number[]; filepositions: number[] };
    assert.equal(keyframes.times.length, sent.keyframes);
    assert.equal(meta.width, 320);
    assert.equal(meta.height, 240);
    assert.equal(meta.videocodecid, 7);
    assert.equal(meta.audiocodecid, 10);
    assert.equal(meta.filesize, readFileSync(file).length);
    // Every indexed position is a video keyframe tag with that time.
    const bytes = readFileSync(file);
    keyframes.filepositions.forEach((position, i) => {
      assert.equal(bytes[position], FlvTagType.Video);
      const timestamp = bytes.readUIntBE(position + 4, 3);
      assert.equal(timestamp, Math.round(keyframes.times[i]! * 1000));
      assert.equal(bytes[position + 11]! >> 4, 1, 'keyframe');
    });
  });

  test('a second `record` of the same name gets a new file; nothing is overwritten', async () => {
    const before = readFileSync(join(recordings, 'live', 'lesson.flv'));
    const publish = await startFlvPublish(`${base}/live`, 'lesson', 'record');
    await publish.pump(ffmpegFlv(1));
    await stopAndWaitForRecording(publish);
    assert.ok(readFileSync(join(recordings, 'live', 'lesson.flv')).equals(before));
    assert.ok((await probe(join(recordings, 'live', 'lesson-1.flv'))).video >= 29);
  });

  test('rtmpdump downloads the recording over RTMP, complete', async () => {
    const out = join(tempDir(), 'dump.flv');
    const result = await run('rtmpdump', ['-r', `${base}/live/lesson`, '-o', out], 40_000);
    assert.equal(result.code, 0, result.stderr.slice(-500));
    const info = await probe(out);
    assert.equal(info.video, sent.videoFrames);
  });

  test('ffmpeg plays the recording over RTMP and decodes it', async () => {
    const result = await decodeFrames(`${base}/live/lesson`, 2);
    assert.ok(result.video >= 55, `video frames ${result.video}: ${result.stderr}`);
    assert.ok(result.audio >= 55, `audio frames ${result.audio}`);
  });

  test('play from 10 s starts on the keyframe before 10 s, within one GOP', async () => {
    const { timestamp, statuses } = await firstVideoAfterPlay('lesson', 10_000);
    assert.ok(timestamp <= 10_000 && timestamp > 10_000 - 1000 - 1, `first video at ${timestamp} ms`);
    assert.ok(statuses.includes('NetStream.Play.Start'));
  });

  test('seek to 10 s sends Seek.Notify and restarts within one GOP; getStreamLength gives the duration', async () => {
    const { client } = await RtmpClient.connect(`${base}/live`);
    try {
      const [length] = await client.call('getStreamLength', 'lesson');
      assert.ok(Math.abs(Number(length) - 20) <= 0.1, `length ${String(length)}`);
      const streamId = await client.createStream();
      const media: Array<{ type: number; timestamp: number; keyframe: boolean }> = [];
      const data: string[] = [];
      client.on('media', (message) => {
        if (message.type === MessageType.DataAmf0) data.push(String(decodeData(message)[0]));
        const info = message.type === MessageType.Video ? parseVideoTag(message.payload) : null;
        if (info && !info.isSequenceHeader) media.push({ type: message.type, timestamp: message.timestamp, keyframe: info.isKeyframe });
      });
      client.streamCommand(streamId, 'play', 'lesson', 0);
      await client.waitForStatus(streamId, 'NetStream.Play.Start');
      while (media.length === 0) await new Promise((r) => setTimeout(r, 50));
      assert.ok(data.indexOf('onMetaData') >= 0, 'onMetaData is sent');
      client.streamCommand(streamId, 'seek', 10_000);
      await client.waitForStatus(streamId, 'NetStream.Seek.Notify');
      const mark = media.length;
      while (media.length === mark) await new Promise((r) => setTimeout(r, 50));
      const first = media.slice(mark).find((m) => m.timestamp >= 9_000);
      assert.ok(first, 'media after the seek');
      assert.ok(first.keyframe && first.timestamp <= 10_000 && first.timestamp >= 9_000, `after seek: ${JSON.stringify(first)}`);
      client.streamCommand(streamId, 'pause', true, 10_000);
      await client.waitForStatus(streamId, 'NetStream.Pause.Notify');
      client.streamCommand(streamId, 'pause', false, 10_000);
      await client.waitForStatus(streamId, 'NetStream.Unpause.Notify');
    } finally {
      client.close();
    }
  });

  test('a short recording plays to the end: Play.Complete (onPlayStatus) and Play.Stop', async () => {
    const { client } = await RtmpClient.connect(`${base}/live`);
    try {
      const streamId = await client.createStream();
      const complete = new Promise<void>((resolve) => client.on('media', (m) => {
        if (m.type === MessageType.DataAmf0 && decodeData(m)[0] === 'onPlayStatus') resolve();
      }));
      const stopped = client.waitForStatus(streamId, 'NetStream.Play.Stop', 10_000);
      client.streamCommand(streamId, 'play', 'lesson-1', 0);
      await complete;
      await stopped;
    } finally {
      client.close();
    }
  });
});

describe('MP3', () => {
  test('`play mp3:tone` streams an MP3 file that ffmpeg decodes', async () => {
    mkdirSync(join(recordings, 'live'), { recursive: true });
    copyFileSync(join(import.meta.dirname, '../fixtures/mp3/tone.mp3'), join(recordings, 'live', 'tone.mp3'));
    const result = await run('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-i', `${base}/live/mp3:tone`, '-map', '0:a', '-f', 'framecrc', '-'], 20_000);
    const frames = result.stdout.split('\n').filter((l) => l.startsWith('0,')).length;
    assert.ok(frames >= 38, `decoded ${frames} MP3 frames: ${result.stderr}`);
  });
});

describe('append and names', () => {
  test('`append` continues the timestamps of the existing file', async () => {
    const first = await startFlvPublish(`${base}/live`, 'diary', 'append');
    await first.pump(ffmpegFlv(2));
    await stopAndWaitForRecording(first);
    const second = await startFlvPublish(`${base}/live`, 'diary', 'append');
    await second.pump(ffmpegFlv(2));
    await stopAndWaitForRecording(second);
    const file = join(recordings, 'live', 'diary.flv');
    const tags = new FlvReader().push(readFileSync(file)).filter((t) => t.type !== FlvTagType.Script);
    for (let i = 1; i < tags.length; i++) {
      if (tags[i]!.type === tags[i - 1]!.type) assert.ok(tags[i]!.timestamp >= tags[i - 1]!.timestamp, `timestamps go backwards at tag ${i}`);
    }
    const last = Math.max(...tags.map((t) => t.timestamp));
    assert.ok(last >= 3900, `last timestamp ${last}: the second part follows the first`);
    const info = await probe(file);
    assert.ok(Math.abs(info.duration - 4) <= 0.15, `duration ${info.duration}`);
    assert.ok(info.video >= 118, `frames ${info.video}`);
  });

  test('hostile names are refused with Record.NoAccess and nothing appears outside the folder', async () => {
    const outside = tempDir('cg-outside-');
    const hostile = ['../escape', '../../etc/x', `${outside}/abs`, 'a/b', 'a\\b', '..', '.hidden', 'nul\u0001', 'c:evil'];
    const { client } = await RtmpClient.connect(`${base}/live`);
    try {
      for (const name of hostile) {
        const streamId = await client.createStream();
        client.streamCommand(streamId, 'publish', name, 'record');
        const info = await client.waitForStatus(streamId, /^NetStream\.(Record|Publish)\./);
        assert.equal(info.code, 'NetStream.Record.NoAccess', `for ${JSON.stringify(name)}`);
        assert.equal(info.level, 'error');
        client.call('deleteStream', streamId).catch(() => undefined);
      }
    } finally {
      client.close();
    }
    assert.deepEqual(readdirSync(outside), []);
    assert.ok(!existsSync(join(origin.dataDir, 'escape.flv')) && !existsSync(join(origin.dataDir, 'recordings', 'escape.flv')));
    // The origin is still there for everyone.
    const { client: again } = await RtmpClient.connect(`${base}/live`);
    again.close();
  });
});

/** Stops a recording publish and waits until the origin has finished its file (final metadata written). */
async function stopAndWaitForRecording(publish: { stop(): Promise<unknown> }): Promise<void> {
  const before = await metricValue(origin.httpPort, 'classroom_origin_recordings_finished_total');
  await publish.stop();
  await waitForIncrease(origin.httpPort, 'classroom_origin_recordings_finished_total', before);
}
