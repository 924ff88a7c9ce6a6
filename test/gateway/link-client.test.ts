/**
 * The edge's virtual RTMP client (gateway/session/link-client.ts) against a fake link: the frames
 * it sends (SessionOpen, commands with their transaction ids, SessionClose) and how it settles calls
 * from the origin's replies — in any order, `_error`, replies to unknown transactions ignored,
 * stream starts by onStatus, server calls answered once, and everything pending failed on close.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { AmfValue } from '#protocol/amf/types.ts';
import { LinkFrameKind, type LinkFrame } from '#protocol/link/link-frame.ts';
import { decodeCommand, encodeCommand, type RtmpCommand } from '#protocol/rtmp/command.ts';
import { Logger } from '#common/logger.ts';
import { RtmpCallError } from '#common/rtmp-transactions.ts';
import { LinkClient, LinkClientClosedError, requestConnectArgs, type ServerCall } from '../../gateway/session/link-client.ts';

/** A link that records what is sent; `up` false plays a link that is down. */
function fakeLink(up = true) {
  const frames: LinkFrame[] = [];
  return { frames, send: (frame: LinkFrame) => { if (up) frames.push(frame); return up; } };
}

/** The commands the client sent, decoded, with their stream ids. */
function commandsOf(frames: LinkFrame[]): Array<RtmpCommand & { streamId: number }> {
  return frames.filter((f) => f.kind === LinkFrameKind.Message).map((f) => ({ ...decodeCommand(f), streamId: f.streamId }));
}

function reply(name: string, transactionId: number, args: AmfValue[], streamId = 0) {
  return encodeCommand({ name, transactionId, commandObject: null, args }, streamId);
}

function openClient(link = fakeLink()) {
  const client = new LinkClient(link, { sessionId: 42, protocol: 'test', remoteAddress: '10.0.0.1', remotePort: 5555, log: new Logger('link-client test') });
  assert.equal(client.open(), true);
  return { client, link };
}

test('open sends SessionOpen with protocol and address; connect carries the tcUrl given and resolves with the status', async () => {
  const { client, link } = openClient();
  assert.deepEqual(link.frames[0], { kind: LinkFrameKind.SessionOpen, sessionId: 42, remoteAddress: '10.0.0.1', remotePort: 5555, protocol: 'test' });
  const connected = client.connect('classroom/r1', [{ name: 'Ann' }], { tcUrl: 'ws://edge.example:8080/ws' });
  const [connect] = commandsOf(link.frames);
  assert.equal(connect!.name, 'connect');
  assert.equal(connect!.transactionId, 1);
  assert.equal((connect!.commandObject as Record<string, AmfValue>).tcUrl, 'ws://edge.example:8080/ws');
  assert.equal((connect!.commandObject as Record<string, AmfValue>).app, 'classroom/r1');
  assert.deepEqual(connect!.args, [{ name: 'Ann' }]);
  client.deliver(reply('_result', 1, [{ code: 'NetConnection.Connect.Success' }]));
  assert.deepEqual(await connected, { code: 'NetConnection.Connect.Success' });
});

test('replies settle their own calls in any order; _error rejects; a reply to an unknown transaction is ignored', async () => {
  const { client, link } = openClient();
  const first = client.call('add', 1, 2);
  const second = client.call('echo', 'x');
  const third = client.call('fails');
  const [a, b, c] = commandsOf(link.frames);
  assert.deepEqual([a!.transactionId, b!.transactionId, c!.transactionId], [1, 2, 3]);
  assert.equal(client.pendingCalls, 3);
  client.deliver(reply('_result', 99, ['nobody asked'])); // no such transaction
  client.deliver(reply('_result', b!.transactionId, ['x']));
  client.deliver(reply('_error', c!.transactionId, [{ level: 'error', code: 'NetConnection.Call.Failed', description: 'no' }]));
  client.deliver(reply('_result', a!.transactionId, [3]));
  client.deliver(reply('_result', a!.transactionId, [4])); // a second answer settles nothing
  assert.deepEqual(await first, [3]);
  assert.deepEqual(await second, ['x']);
  await assert.rejects(third, (error: unknown) => error instanceof RtmpCallError && error.info.description === 'no');
  assert.equal(client.pendingCalls, 0);
});

test('createStream and play: the stream id from _result, play resolved by Play.Start on that stream, failed by an error status', async () => {
  const { client, link } = openClient();
  const created = client.createStream();
  client.deliver(reply('_result', commandsOf(link.frames)[0]!.transactionId, [7]));
  const streamId = await created;
  assert.equal(streamId, 7);
  const statuses: string[] = [];
  client.on('status', (id, info) => statuses.push(`${id}:${String(info.code)}`));
  const playing = client.play(streamId, 'cam', -1000);
  const play = commandsOf(link.frames).at(-1)!;
  assert.deepEqual([play.name, play.transactionId, play.streamId, ...play.args], ['play', 0, 7, 'cam', -1000]);
  client.deliver(reply('onStatus', 0, [{ level: 'status', code: 'NetStream.Play.Start' }], 3)); // another stream's
  client.deliver(reply('onStatus', 0, [{ level: 'status', code: 'NetStream.Play.Reset' }], 7));
  client.deliver(reply('onStatus', 0, [{ level: 'status', code: 'NetStream.Play.Start' }], 7));
  assert.equal((await playing).code, 'NetStream.Play.Start');
  assert.deepEqual(statuses, ['3:NetStream.Play.Start', '7:NetStream.Play.Reset', '7:NetStream.Play.Start']);

  const publishing = client.publish(8, 'mine', 'live');
  client.deliver(reply('onStatus', 0, [{ level: 'error', code: 'NetStream.Publish.BadName' }], 8));
  await assert.rejects(publishing, (error: unknown) => error instanceof RtmpCallError && error.info.code === 'NetStream.Publish.BadName');
});

test('server calls are events, answered once by answer/fail; unknown ones cannot be answered', () => {
  const { client, link } = openClient();
  const calls: ServerCall[] = [];
  client.on('call', (call) => calls.push(call));
  client.deliver(reply('areYouThere', 5, ['now']));
  client.deliver(reply('notice', 0, ['fyi']));
  assert.deepEqual(calls.map((c) => [c.method, c.transactionId, c.args]), [['areYouThere', 5, ['now']], ['notice', 0, ['fyi']]]);
  assert.equal(client.answer(5, true), true);
  assert.equal(client.answer(5, true), false, 'answered already');
  assert.equal(client.fail(0, 'no answer wanted'), false);
  assert.equal(client.fail(6, 'never asked'), false);
  const answers = commandsOf(link.frames);
  assert.deepEqual(answers.map((c) => [c.name, c.transactionId, c.args]), [['_result', 5, [true]]]);
});

test('close sends SessionClose once and rejects what is pending; lost (origin or link gone) sends nothing', async () => {
  const { client, link } = openClient();
  const call = client.call('slow');
  const play = client.play(1, 'cam');
  client.close('viewer left');
  await assert.rejects(call, LinkClientClosedError);
  await assert.rejects(play, LinkClientClosedError);
  client.close('again');
  assert.deepEqual(link.frames.filter((f) => f.kind === LinkFrameKind.SessionClose), [{ kind: LinkFrameKind.SessionClose, sessionId: 42, reason: 'viewer left' }]);
  await assert.rejects(client.call('after close'), LinkClientClosedError);
  assert.equal(client.open(), false, 'a closed client does not reopen');

  const other = openClient();
  const pending = other.client.call('slow');
  other.client.lost('link lost');
  await assert.rejects(pending, LinkClientClosedError);
  other.client.close('viewer left');
  assert.equal(other.link.frames.some((f) => f.kind === LinkFrameKind.SessionClose), false);
});

test('a link that is down: open is false and calls fail at once', async () => {
  const client = new LinkClient(fakeLink(false), { sessionId: 1, protocol: 'test', remoteAddress: '', remotePort: 0, log: new Logger('link-client test') });
  assert.equal(client.open(), false);
  await assert.rejects(client.call('anything'), LinkClientClosedError);
});

test('an HTTP client\'s connect arguments: its token, and with one the member it carries media for (?mediaOf=)', () => {
  const get = (url: string, authorization?: string) => requestConnectArgs({ url, headers: authorization ? { authorization } : {} });
  assert.deepEqual(get('/live/classroom/r/cam.flv'), []);
  assert.deepEqual(get('/live/classroom/r/cam.flv?token=T1'), [{ token: 'T1' }]);
  assert.deepEqual(get('/live/classroom/r/cam.flv?token=T1&mediaOf=Sam%20Lee'), [{ token: 'T1', mediaOf: 'Sam Lee' }]);
  assert.deepEqual(get('/live/classroom/r/cam.flv?mediaOf=Sam', 'Bearer T2'), [{ token: 'T2', mediaOf: 'Sam' }]);
  assert.deepEqual(get('/live/classroom/r/cam.flv?mediaOf=Sam'), [], 'without a token nobody claims to be a member\'s media');
});
