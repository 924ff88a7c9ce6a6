/**
 * A player that joins a live stream late gets every message on its NetStream (onStatus
 * NetStream.Data.Start, |RtmpSampleAccess, onMetaData, the sequence headers) stamped at the time
 * of its first media, not at 0: ffmpeg turns data messages into a data stream, and a data stream
 * that starts at 0 makes the whole stream "start" at 0 for tools that read its first seconds.
 * Checked with ffprobe on the origin, on an edge's RTMP port and on the edge's HTTP-FLV URL, and
 * message by message with the project's client: a late joiner's whole start sequence carries its
 * first media's time; a player waiting for a publisher gets 0, then media that never runs back.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { AmfObject } from '#protocol/amf/types.ts';
import { decodeCommand, decodeData, encodeData } from '#protocol/rtmp/command.ts';
import { ChunkStreamId, MessageType, type RtmpMessage } from '#protocol/rtmp/message.ts';
import { RtmpClient } from '#common/rtmp-client.ts';
import { eventually, publishTestStream, run, stop, stopAll } from '../support/processes.ts';
import { aacAudio, avcVideo, isKeyframe, isVideoHeader } from '../support/synthetic-media.ts';
import { startCluster, type Cluster } from '../support/cluster.ts';
import { waitForPublished } from '../support/observe.ts';

let cluster: Cluster;
before(async () => { cluster = await startCluster(['edge']); });
after(stopAll);

interface ProbedStart {
  format: number;
  streams: Array<{ type: string; start: number }>;
  firstVideo: number;
}

/** What ffprobe reports as the start of the live stream at `url`, and the time of its first video packet. */
async function probeStart(url: string): Promise<ProbedStart> {
  const probe = await run('ffprobe', ['-v', 'error', '-rw_timeout', '10000000', '-read_intervals', '%+#30',
    '-show_entries', 'format=start_time:stream=index,codec_type,start_time:packet=stream_index,pts_time', '-of', 'json', url], 30_000);
  const parsed = JSON.parse(probe.stdout || '{}') as {
    format?: { start_time?: string };
    streams?: Array<{ index: number; codec_type: string; start_time?: string }>;
    packets?: Array<{ stream_index: number; pts_time?: string }>;
  };
  const streams = parsed.streams ?? [];
  const videoIndex = streams.find((s) => s.codec_type === 'video')?.index;
  const firstVideo = parsed.packets?.find((p) => p.stream_index === videoIndex)?.pts_time;
  assert.ok(parsed.format?.start_time !== undefined && firstVideo !== undefined, `ffprobe of ${url} read no start time or video packet: ${probe.stderr}${probe.stdout}`);
  return {
    format: Number(parsed.format.start_time),
    streams: streams.map((s) => ({ type: s.codec_type, start: Number(s.start_time) })),
    firstVideo: Number(firstVideo),
  };
}

/** One line per probe in the test's output: the start times measured. */
function report(what: string, probed: ProbedStart): void {
  console.log(`${what}: first video ${probed.firstVideo}, format start ${probed.format}, streams ${probed.streams.map((s) => `${s.type} ${s.start}`).join(', ')}`);
}

/** Every start ffprobe reports is within one GOP (1 s) of the first video packet. */
function assertStartsWithTheMedia(what: string, probed: ProbedStart, options: { rebasedToZero?: boolean } = {}): void {
  const starts = [['format', probed.format] as const, ...probed.streams.map((s) => [s.type, s.start] as const)];
  for (const [name, start] of starts) {
    assert.ok(Math.abs(start - probed.firstVideo) <= 1, `${what}: ${name} starts at ${start}, the first video packet at ${probed.firstVideo}`);
    // HTTP-FLV is rebased so that the viewer's first media is at 0; RTMP keeps the publisher's clock.
    if (!options.rebasedToZero) assert.notEqual(start, 0, `${what}: ${name} starts at 0`);
  }
}

test('a late joiner of an H.264/AAC stream: ffprobe sees every stream (data included) start with the media, on the origin, an edge and HTTP-FLV', async () => {
  const publisher = publishTestStream(`rtmp://127.0.0.1:${cluster.origin.port}/live/late`, { gop: 30 });
  try {
    await waitForPublished(cluster.origin, 'live/late');
    await new Promise((resolve) => setTimeout(resolve, 5000));
    const edge = cluster.edges[0]!;
    // Probed one after the other (each joins in the middle of a GOP), then checked, so a failure shows all three.
    const origin = await probeStart(`rtmp://127.0.0.1:${cluster.origin.port}/live/late`);
    const throughEdge = await probeStart(`${edge.base}/live/late`);
    const httpFlv = await probeStart(`http://127.0.0.1:${edge.httpPort}/live/live/late.flv`);
    for (const [what, probed] of [['origin RTMP', origin], ['edge RTMP', throughEdge], ['edge HTTP-FLV', httpFlv]] as const) report(what, probed);
    assertStartsWithTheMedia('origin RTMP', origin);
    assertStartsWithTheMedia('edge RTMP', throughEdge);
    assert.ok(throughEdge.firstVideo >= 4, `the edge's player joined late (first video at ${throughEdge.firstVideo} s)`);
    assertStartsWithTheMedia('edge HTTP-FLV', httpFlv, { rebasedToZero: true });
  } finally {
    await stop(publisher);
  }
});

interface Stamped { what: string; timestamp: number; media: boolean }

/** A player of `name` on `appUrl` that records, in arrival order, every message on its NetStream. */
async function recordingPlayer(appUrl: string, name: string): Promise<{ client: RtmpClient; seen: Stamped[] }> {
  const { client } = await RtmpClient.connect(appUrl);
  const streamId = await client.createStream();
  const seen: Stamped[] = [];
  client.on('message', (message: RtmpMessage) => {
    if (message.streamId !== streamId) return;
    const media = message.type === MessageType.Audio || message.type === MessageType.Video;
    seen.push({ what: label(message), timestamp: message.timestamp, media });
  });
  client.streamCommand(streamId, 'play', name, -1000);
  await client.waitForStatus(streamId, 'NetStream.Play.Start');
  return { client, seen };
}

/** What a message is, for the assertions: media kind, or the command/data handler and status code. */
function label(message: RtmpMessage): string {
  if (message.type === MessageType.Audio) return message.payload[1] === 0 ? 'audio header' : 'audio';
  if (message.type === MessageType.Video) return isVideoHeader(message) ? 'video header' : isKeyframe(message) ? 'keyframe' : 'video';
  if (message.type === MessageType.CommandAmf0) {
    const command = decodeCommand(message);
    return `${command.name} ${(command.args[0] as AmfObject | undefined)?.code ?? ''}`.trim();
  }
  if (message.type === MessageType.DataAmf0) {
    const [handler, info] = decodeData(message);
    return `${String(handler)} ${(info as AmfObject | undefined)?.code ?? ''}`.trim();
  }
  return `type ${message.type}`;
}

/** Messages before the first media, and from it on. */
function splitAtFirstMedia(seen: Stamped[]): { before: Stamped[]; from: Stamped[] } {
  const first = seen.findIndex((m) => m.media);
  assert.ok(first >= 0, `no media among ${JSON.stringify(seen)}`);
  return { before: seen.slice(0, first), from: seen.slice(first) };
}

test('message by message: a late joiner gets its whole start sequence at its first media time, a waiting player gets 0 and then media onwards (origin and edge)', async () => {
  const originApp = `rtmp://127.0.0.1:${cluster.origin.port}/live`;
  const edgeApp = `${cluster.edges[0]!.base}/live`;
  const waiting = { origin: await recordingPlayer(originApp, 'exact'), edge: await recordingPlayer(edgeApp, 'exact') };

  // A publisher whose clock starts at 3 s, with a second GOP from 4 s.
  const { client: publisher } = await RtmpClient.connect(originApp);
  const streamId = await publisher.createStream();
  publisher.streamCommand(streamId, 'publish', 'exact', 'live');
  await publisher.waitForStatus(streamId, 'NetStream.Publish.Start');
  publisher.send(encodeData(['@setDataFrame', 'onMetaData', { width: 320 }], streamId, 3000), ChunkStreamId.Data);
  publisher.send(avcVideo('header', 3000, streamId), ChunkStreamId.Video);
  publisher.send(aacAudio('header', 3000, streamId), ChunkStreamId.Audio);
  publisher.send(avcVideo('key', 3000, streamId), ChunkStreamId.Video);
  publisher.send(aacAudio('frame', 3010, streamId), ChunkStreamId.Audio);
  publisher.send(avcVideo('inter', 3033, streamId), ChunkStreamId.Video);
  publisher.send(avcVideo('key', 4000, streamId), ChunkStreamId.Video);
  publisher.send(aacAudio('frame', 4010, streamId), ChunkStreamId.Audio);
  publisher.send(avcVideo('inter', 4033, streamId), ChunkStreamId.Video);
  const sawSecondGop = (seen: Stamped[]) => seen.some((m) => m.what === 'video' && m.timestamp === 4033);
  await eventually(() => sawSecondGop(waiting.origin.seen) && sawSecondGop(waiting.edge.seen), 5000, 'the waiting players got the second GOP');

  const late = { origin: await recordingPlayer(originApp, 'exact'), edge: await recordingPlayer(edgeApp, 'exact') };
  await eventually(() => sawSecondGop(late.origin.seen) && sawSecondGop(late.edge.seen), 5000, 'the late joiners got the cached GOP');
  publisher.send(avcVideo('inter', 4066, streamId), ChunkStreamId.Video);
  await eventually(() => [waiting, late].every((p) => p.origin.seen.concat(p.edge.seen).filter((m) => m.timestamp === 4066).length === 2), 5000, 'a live frame');

  for (const [where, player] of [['origin', waiting.origin], ['edge', waiting.edge]] as const) {
    const { before, from } = splitAtFirstMedia(player.seen);
    assert.deepEqual(before.map((m) => m.what), ['onStatus NetStream.Play.Reset', 'onStatus NetStream.Play.Start', '|RtmpSampleAccess', 'onStatus NetStream.Data.Start',
      'onStatus NetStream.Play.PublishNotify', 'onMetaData'], `${where}: waiting player's messages before the media`);
    assert.deepEqual(before.map((m) => m.timestamp), [0, 0, 0, 0, 0, 3000], `${where}: stamped 0 while nothing was published; the metadata at the publisher's time`);
    assert.equal(from[0]!.timestamp, 3000);
    assert.ok(from.every((m) => m.timestamp >= 3000), `${where}: nothing after the first media runs back: ${JSON.stringify(from)}`);
  }
  for (const [where, player] of [['origin', late.origin], ['edge', late.edge]] as const) {
    const { before, from } = splitAtFirstMedia(player.seen);
    assert.deepEqual(before.map((m) => m.what), ['onStatus NetStream.Play.Reset', 'onStatus NetStream.Play.Start', '|RtmpSampleAccess', 'onStatus NetStream.Data.Start', 'onMetaData'],
      `${where}: late joiner's messages before the media`);
    assert.ok(player.seen.every((m) => m.timestamp >= 4000), `${where}: nothing stamped before the first media (4000): ${JSON.stringify(player.seen)}`);
    assert.deepEqual(before.map((m) => m.timestamp), [4000, 4000, 4000, 4000, 4000], `${where}: the start sequence at the keyframe's time`);
    assert.deepEqual(from.slice(0, 3).map((m) => [m.what, m.timestamp]), [['video header', 4000], ['audio header', 4000], ['keyframe', 4000]]);
  }
  for (const client of [waiting.origin.client, waiting.edge.client, late.origin.client, late.edge.client, publisher]) client.close();
});
