/**
 * Publishes FLV made by ffmpeg through the project's RTMP client with any publish type.
 * ffmpeg and librtmp always publish as `live`, so `record`/`append` tests encode with ffmpeg
 * (to a pipe or a file) and send its tags as RTMP messages, unchanged, with this helper.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import type { Readable } from 'node:stream';
import { RtmpClient, type RtmpClientOptions } from '#common/rtmp-client.ts';
import type { AmfObject } from '#protocol/amf/types.ts';
import { FlvReader, FlvTagType, type FlvTag } from '#protocol/flv/flv.ts';
import { parseVideoTag } from '#protocol/flv/codecs.ts';
import { ChunkStreamId, MessageType } from '#protocol/rtmp/message.ts';
import { track } from './processes.ts';

export interface FlvPublish {
  client: RtmpClient;
  streamId: number;
  /** Every status the publisher got, in order. */
  statuses: AmfObject[];
  /** Tags sent so far (video frames, keyframes: what the recording must contain). */
  sent: { videoFrames: number; audioFrames: number; keyframes: number; lastTimestamp: number };
  /** Sends the tags of an FLV byte stream until it ends. */
  pump(input: Readable): Promise<void>;
  /** Unpublishes (closeStream) and closes the connection after the server answered. */
  stop(): Promise<void>;
}

/** Connects to `appUrl`, publishes `name` with `type`, and waits for Publish.Start (or throws with the status). */
export async function startFlvPublish(appUrl: string, name: string, type: 'live' | 'record' | 'append', connect: RtmpClientOptions = {}): Promise<FlvPublish> {
  const { client } = await RtmpClient.connect(appUrl, connect);
  const streamId = await client.createStream();
  const statuses: AmfObject[] = [];
  client.on('status', (id, info) => { if (id === streamId) statuses.push(info); });
  client.setChunkSize(60_000);
  client.streamCommand(streamId, 'publish', name, type);
  await client.waitForStatus(streamId, /^NetStream\.(Publish\.|Record\.NoAccess)/);
  const sent = { videoFrames: 0, audioFrames: 0, keyframes: 0, lastTimestamp: 0 };
  const send = (tag: FlvTag): void => {
    const kind = tag.type === FlvTagType.Video ? MessageType.Video : tag.type === FlvTagType.Audio ? MessageType.Audio : MessageType.DataAmf0;
    const chunkStream = tag.type === FlvTagType.Video ? ChunkStreamId.Video : tag.type === FlvTagType.Audio ? ChunkStreamId.Audio : ChunkStreamId.Data;
    client.send({ type: kind, streamId, timestamp: tag.timestamp, payload: tag.data }, chunkStream);
    if (tag.type === FlvTagType.Script) return;
    sent.lastTimestamp = tag.timestamp;
    if (tag.type === FlvTagType.Video) {
      const info = parseVideoTag(tag.data);
      if (info && !info.isSequenceHeader && !info.isEndOfSequence) {
        sent.videoFrames++;
        if (info.isKeyframe) sent.keyframes++;
      }
    } else if (tag.data.length > 1 && !(tag.data[0]! >> 4 === 10 && tag.data[1] === 0)) {
      sent.audioFrames++;
    }
  };
  return {
    client, streamId, statuses, sent,
    async pump(input) {
      const reader = new FlvReader();
      for await (const chunk of input) {
        for (const tag of reader.push(chunk as Buffer)) send(tag);
        // Let the socket drain so a fast file does not pile up in memory.
        if (client.socket.writableLength > 4 * 1024 * 1024) await once(client.socket, 'drain');
      }
    },
    async stop() {
      client.streamCommand(streamId, 'closeStream');
      await client.waitForStatus(streamId, 'NetStream.Unpublish.Success').catch(() => undefined);
      client.close();
    },
  };
}

/**
 * ffmpeg's test pattern (H.264 320x240 30 fps, GOP 30, AAC 44.1 kHz) as FLV on its stdout,
 * `seconds` long; `realtime` paces it like a camera (-re).
 */
export function ffmpegFlv(seconds: number, options: { realtime?: boolean; size?: string; gop?: number; videoArgs?: string[] } = {}): Readable {
  const args = ['-hide_banner', '-loglevel', 'error', ...(options.realtime ? ['-re'] : []),
    '-f', 'lavfi', '-i', `testsrc=size=${options.size ?? '320x240'}:rate=30`, '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=44100',
    '-t', String(seconds), '-c:v', 'libx264', '-preset', 'ultrafast', '-tune', 'zerolatency', '-g', String(options.gop ?? 30),
    ...(options.videoArgs ?? []), '-c:a', 'aac', '-f', 'flv', 'pipe:1'];
  const child = track(spawn('ffmpeg', args, { stdio: ['ignore', 'pipe', 'inherit'] }));
  return child.stdout!;
}
