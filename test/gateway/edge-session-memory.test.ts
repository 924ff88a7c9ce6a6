/**
 * What an edge session keeps for a client's whole life (its connect, createStreams and plays, replayed
 * to the origin after a link loss) must not hold the socket's read buffers: Node reads into 64 KiB
 * buffers and a decoded message is a slice of one, so a kept slice of a few hundred bytes held 64 KiB
 * per player (issue 14: memory per player). Real TCP on 127.0.0.1, a real RTMP client; the link is a
 * recorder of the frames the session sends, so the replayed messages can be looked at.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { RtmpClient } from '#common/rtmp-client.ts';
import { RtmpConnection } from '#common/rtmp-connection.ts';
import { Logger } from '#common/logger.ts';
import { encodeCommand } from '#protocol/rtmp/command.ts';
import { ChunkStreamId } from '#protocol/rtmp/message.ts';
import { LinkFrameKind, type LinkFrame } from '#protocol/link/link-frame.ts';
import { EdgeSession } from '../../gateway/session/edge-session.ts';
import { eventually } from '../support/processes.ts';

type MessageFrame = Extract<LinkFrame, { kind: typeof LinkFrameKind.Message }>;

test('a kept session replays its connect, createStream and play from buffers of their own, not slices of the socket\'s reads', async () => {
  const frames: LinkFrame[] = [];
  let linkUp = true;
  const link = { send: (frame: LinkFrame) => { if (linkUp) frames.push(frame); return linkUp; } };
  let session: EdgeSession | null = null;
  const server = createServer((socket: Socket) => {
    const connection = new RtmpConnection(socket, {}, new Logger('test'));
    session = new EdgeSession(connection, socket, link, 'rtmp', { connectHoldMs: 10_000, maxHeldMessages: 10 });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const client = await RtmpClient.open('127.0.0.1', (server.address() as AddressInfo).port);
  try {
    const sent = [
      encodeCommand({ name: 'connect', transactionId: 1, commandObject: { app: 'live', tcUrl: 'rtmp://127.0.0.1/live' }, args: [] }, 0),
      encodeCommand({ name: 'createStream', transactionId: 2, commandObject: null, args: [] }, 0),
      encodeCommand({ name: 'play', transactionId: 0, commandObject: null, args: ['bench'] }, 1),
    ];
    for (const message of sent) client.send(message, ChunkStreamId.Command);
    const forwarded = () => frames.filter((frame): frame is MessageFrame => frame.kind === LinkFrameKind.Message);
    await eventually(() => forwarded().length === sent.length, 10_000, 'the three commands forwarded to the link');
    // The origin answers connect and createStream, so nothing is in flight and the player is kept through a link loss.
    for (const transactionId of [1, 2]) session!.deliver(encodeCommand({ name: '_result', transactionId, commandObject: null, args: [1] }, 0));

    linkUp = false;
    session!.linkLost();
    frames.length = 0;
    linkUp = true;
    session!.linkUp();

    const replayed = forwarded();
    assert.deepEqual(replayed.map((frame) => frame.payload), sent.map((message) => message.payload), 'the same commands, in order');
    for (const frame of replayed) {
      assert.equal(frame.payload.buffer.byteLength, frame.payload.length, 'a replayed payload owns exactly its bytes, not a read buffer');
    }
  } finally {
    client.close();
    server.close();
  }
});
