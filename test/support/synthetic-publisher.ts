/**
 * A synthetic live publisher and light players over the project's RtmpClient, for edge tests and
 * the edge benchmark: each video frame carries its sequence number and send time (the process's
 * high-resolution clock), so a player in the same process measures publish-to-play latency and
 * checks that no frame went missing. Far cheaper than an encoder, so 50 players fit in one process.
 */
import type { Duplex } from 'node:stream';
import { RtmpClient, type RtmpClientOptions } from '#common/rtmp-client.ts';
import { ChunkStreamId, MessageType, type RtmpMessage } from '#protocol/rtmp/message.ts';
import { avcVideo } from './synthetic-media.ts';

const MAGIC = 0x5eed;
/** Offsets inside the AVC payload (after the 5-byte tag header). */
const MAGIC_AT = 5;
const SEQ_AT = 7;
const TIME_AT = 11;

/** Milliseconds on a clock shared by everything in this process (sub-millisecond resolution). */
export function clockMs(): number {
  return performance.timeOrigin + performance.now();
}

/** The sequence number and send time of a synthetic video frame, null for anything else. */
export function frameStamp(message: RtmpMessage): { seq: number; sentAt: number } | null {
  const p = message.payload;
  if (message.type !== MessageType.Video || p.length < TIME_AT + 8 || p[1] !== 1 || p.readUInt16BE(MAGIC_AT) !== MAGIC) return null;
  return { seq: p.readUInt32BE(SEQ_AT), sentAt: p.readDoubleBE(TIME_AT) };
}

export interface SyntheticPublisher {
  client: RtmpClient;
  streamId: number;
  /** Frames sent so far (the last sequence number is sent - 1). */
  readonly sent: number;
  /** Stops sending, unpublishes and closes. */
  stop(): Promise<void>;
}

export interface SyntheticOptions {
  fps?: number;
  frameBytes?: number;
  /** A keyframe every this many frames. */
  gop?: number;
  /** connect's options (a classroom wants a name: `{ connectArgs: [{ name, role }] }`). */
  connect?: RtmpClientOptions;
}

/** Connects to `appUrl`, publishes `name` live and sends frames at `fps` until stopped. */
export async function startSyntheticPublisher(appUrl: string, name: string, options: SyntheticOptions = {}): Promise<SyntheticPublisher> {
  const { fps = 30, frameBytes = 4000, gop = 30 } = options;
  const { client } = await RtmpClient.connect(appUrl, options.connect);
  const streamId = await client.createStream();
  client.setChunkSize(65_536);
  client.streamCommand(streamId, 'publish', name, 'live');
  await client.waitForStatus(streamId, 'NetStream.Publish.Start');
  client.send(avcVideo('header', 0, streamId, 16), ChunkStreamId.Video);
  const started = clockMs();
  let sent = 0;
  const timer = setInterval(() => {
    const now = clockMs();
    const message = avcVideo(sent % gop === 0 ? 'key' : 'inter', Math.round(now - started), streamId, frameBytes, sent);
    message.payload.writeUInt16BE(MAGIC, MAGIC_AT);
    message.payload.writeUInt32BE(sent, SEQ_AT);
    message.payload.writeDoubleBE(now, TIME_AT);
    client.send(message, ChunkStreamId.Video);
    sent++;
  }, 1000 / fps);
  // A publisher the server disconnected (an edge that lost its origin) stops sending.
  client.once('close', () => clearInterval(timer));
  return {
    client, streamId,
    get sent() { return sent; },
    async stop() {
      clearInterval(timer);
      if (client.closed) return;
      client.streamCommand(streamId, 'closeStream');
      await client.waitForStatus(streamId, 'NetStream.Unpublish.Success', 2000).catch(() => undefined);
      client.close();
    },
  };
}

/** What a player of synthetic frames saw. */
export interface SyntheticFrames {
  streamId: number;
  /** Sequence numbers of the synthetic frames received, in order. */
  seqs: number[];
  /** Publish-to-play latency of each synthetic frame, ms. */
  latencies: number[];
}

export interface LightPlayer extends SyntheticFrames {
  client: RtmpClient;
  /** Bytes read from the socket so far. */
  bytes(): number;
}

/** Plays `name` from `appUrl` and records every synthetic frame's sequence number and latency. */
export async function startLightPlayer(appUrl: string, name: string): Promise<LightPlayer> {
  const { client } = await RtmpClient.connect(appUrl);
  return { client, ...(await playSyntheticFrames(client, name)), bytes: () => client.socket.bytesRead };
}

/** Plays `name` on a connected client (over any transport), recording the synthetic frames as they come. */
export async function playSyntheticFrames(client: RtmpClient<Duplex>, name: string): Promise<SyntheticFrames> {
  const streamId = await client.createStream();
  const frames: SyntheticFrames = { streamId, seqs: [], latencies: [] };
  client.on('media', (message) => {
    const stamp = frameStamp(message);
    if (!stamp) return;
    frames.seqs.push(stamp.seq);
    frames.latencies.push(clockMs() - stamp.sentAt);
  });
  client.streamCommand(streamId, 'play', name, -2000);
  await client.waitForStatus(streamId, 'NetStream.Play.Start');
  return frames;
}

/** p-th percentile (0..100) of `values`. */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}
