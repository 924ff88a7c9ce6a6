/**
 * SIGTERM on the origin as users run it (`node origin/main.ts`) during a recording and a live play:
 * the player and the publisher are told NetConnection.Connect.AppShutdown (ffmpeg, publishing too,
 * reports it as the server's error and stops), the recording is closed
 * with its final metadata (duration = its last tag), a persistent shared object set just before is
 * on disk, and the process exits 0 (a shutdown that overran its deadline would exit 1). A second
 * SIGTERM during the shutdown exits at once (128 + 15) and leaves a readable FLV that the next start
 * repairs.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AmfObject } from '#protocol/amf/types.ts';
import { FlvReader, FlvTagType, type FlvTag } from '#protocol/flv/flv.ts';
import { decodeOnMetaData } from '#protocol/flv/flv-index.ts';
import { RtmpClient } from '#common/rtmp-client.ts';
import { eventually, publishTestStream, run, startOrigin, stopAll } from '../support/processes.ts';
import { ffmpegFlv, startFlvPublish, type FlvPublish } from '../support/flv-publisher.ts';

after(stopAll);

/** A live player that records every NetConnection status it gets and counts media. */
async function startPlayer(appUrl: string, name: string): Promise<{ client: RtmpClient; connectionStatuses: AmfObject[]; media: () => number }> {
  const { client } = await RtmpClient.connect(appUrl);
  const connectionStatuses: AmfObject[] = [];
  client.on('status', (streamId, info) => { if (streamId === 0) connectionStatuses.push(info); });
  let media = 0;
  client.on('media', () => { media++; });
  const streamId = await client.createStream();
  client.streamCommand(streamId, 'play', name);
  await client.waitForStatus(streamId, 'NetStream.Play.Start');
  return { client, connectionStatuses, media: () => media };
}

/** A recording publish fed by ffmpeg in real time, and the connection statuses its client gets. */
async function startRecording(appUrl: string, name: string): Promise<{ publish: FlvPublish; connectionStatuses: AmfObject[] }> {
  const publish = await startFlvPublish(appUrl, name, 'record');
  const connectionStatuses: AmfObject[] = [];
  publish.client.on('status', (streamId, info) => { if (streamId === 0) connectionStatuses.push(info); });
  void publish.pump(ffmpegFlv(60, { realtime: true })).catch(() => undefined);
  await publish.client.waitForStatus(publish.streamId, 'NetStream.Record.Start');
  return { publish, connectionStatuses };
}

function mediaTags(file: string): FlvTag[] {
  return new FlvReader().push(readFileSync(file)).filter((tag) => tag.type !== FlvTagType.Script);
}

test('SIGTERM during a recording and a live play: AppShutdown, final metadata, shared object saved, exit 0', async () => {
  const origin = await startOrigin();
  const appUrl = `rtmp://127.0.0.1:${origin.port}/live`;
  const { publish, connectionStatuses: publisherStatuses } = await startRecording(appUrl, 'lesson');
  const player = await startPlayer(appUrl, 'lesson');
  // ffmpeg, a peer nobody here wrote, publishes too: it must read the notice as the server's error.
  const ffmpeg = publishTestStream(`${appUrl}/camera`);
  let ffmpegSaid = '';
  ffmpeg.stderr!.on('data', (data) => { ffmpegSaid += data; });
  const ffmpegExited = once(ffmpeg, 'exit');
  const cameraViewer = await startPlayer(appUrl, 'camera');
  const { client: writer } = await RtmpClient.connect(`${appUrl}/board`);
  const board = await writer.sharedObject('board', true).connect();
  await eventually(() => player.media() > 0 && cameraViewer.media() > 0 && publish.sent.lastTimestamp >= 3000, 15_000, '3 s published and played');
  board.set('lastStroke', 'set just before SIGTERM');

  const sentAt = Date.now();
  const exited = once(origin.child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
  origin.child.kill('SIGTERM');
  const [code, signal] = await exited;
  console.log(`origin exited ${code ?? signal} ${Date.now() - sentAt} ms after SIGTERM`);
  assert.equal(code, 0, 'a clean shutdown within the deadline');
  await ffmpegExited;
  assert.match(ffmpegSaid, /Server error: The server is shutting down/);

  for (const [who, statuses] of [['player', player.connectionStatuses], ['publisher', publisherStatuses]] as const) {
    const notice = statuses.find((info) => info.code === 'NetConnection.Connect.AppShutdown');
    assert.ok(notice, `the ${who} was told: ${JSON.stringify(statuses)}`);
    assert.equal(notice.level, 'error', 'the level FMS and Red5 use');
  }

  const file = join(origin.dataDir, 'recordings', 'live', 'lesson.flv');
  assert.ok(!existsSync(`${file}.recording`), 'the recording is finished (no unfinished marker)');
  const tags = mediaTags(file);
  const last = Math.max(...tags.map((tag) => tag.timestamp));
  const metadata = decodeOnMetaData(new FlvReader().push(readFileSync(file))[0]!.data)!;
  console.log(`recording: ${tags.length} tags, last at ${last} ms, metadata duration ${String(metadata.duration)} s`);
  assert.ok(last >= 3000, 'the recording holds what was published');
  assert.ok(Math.abs(Number(metadata.duration) - last / 1000) < 0.001, `metadata duration ${String(metadata.duration)} s vs last tag ${last} ms`);
  const probe = await run('ffprobe', ['-v', 'error', '-show_entries', 'format=duration', '-of', 'csv=p=0', file]);
  assert.ok(Math.abs(Number(probe.stdout.trim()) - last / 1000) <= 0.1, `ffprobe duration ${probe.stdout.trim()}`);

  const stored = JSON.parse(readFileSync(join(origin.dataDir, 'shared-objects/live/board/board.json'), 'utf8')) as { slots: Record<string, string> };
  assert.ok(stored.slots.lastStroke, 'the last change of the persistent shared object is on disk');
  for (const client of [player.client, cameraViewer.client, writer, publish.client]) client.close();
});

test('a second SIGTERM during the shutdown exits at once; the recording stays readable and is repaired at the next start', async () => {
  const origin = await startOrigin();
  const appUrl = `rtmp://127.0.0.1:${origin.port}/live`;
  const { publish } = await startRecording(appUrl, 'cut');
  // This player never leaves by itself: the shutdown waits for it, and the second signal comes meanwhile.
  const player = await startPlayer(appUrl, 'cut');
  await eventually(() => player.media() > 0 && publish.sent.lastTimestamp >= 3000, 15_000, '3 s published and played');
  const exited = once(origin.child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
  const told = player.client.waitForStatus(0, 'NetConnection.Connect.AppShutdown', 10_000);
  origin.child.kill('SIGTERM');
  await told;
  const secondAt = Date.now();
  origin.child.kill('SIGTERM');
  const [code] = await exited;
  console.log(`origin exited ${code} ${Date.now() - secondAt} ms after the second SIGTERM`);
  assert.equal(code, 128 + 15, 'exited on the second signal, not by finishing the shutdown (0) or its deadline (1)');

  const file = join(origin.dataDir, 'recordings', 'live', 'cut.flv');
  const tags = mediaTags(file);
  assert.ok(tags.length > 60, `the file is readable FLV with ${tags.length} media tags`);
  const frames = await run('ffprobe', ['-v', 'error', '-count_frames', '-select_streams', 'v', '-show_entries', 'stream=nb_read_frames', '-of', 'csv=p=0', file]);
  assert.equal(frames.code, 0, frames.stderr);
  assert.ok(Number(frames.stdout.trim()) > 60, `ffprobe decodes ${frames.stdout.trim()} frames (3 s were published)`);

  // Whatever the second signal cut, the next start leaves a finished file whose metadata matches its last tag.
  const restarted = await startOrigin([], { dataDir: origin.dataDir });
  assert.ok(!existsSync(`${file}.recording`));
  const last = Math.max(...mediaTags(file).map((tag) => tag.timestamp));
  const metadata = decodeOnMetaData(new FlvReader().push(readFileSync(file))[0]!.data)!;
  assert.ok(Math.abs(Number(metadata.duration) - last / 1000) < 0.001, `metadata duration ${String(metadata.duration)} s vs last tag ${last} ms`);
  for (const client of [player.client, publish.client]) client.close();
  await restarted.stop();
});
