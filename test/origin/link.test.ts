/**
 * The origin's side of the edge link, against the real origin process, with a scripted edge
 * (test/support/link-peer.ts) speaking the link protocol: authentication both ways, sessions
 * over the link (connect, remoting), one upstream copy of a live stream per edge, a lagging
 * edge that loses media but no control and holds up nobody else, malformed frames, and the
 * edge registry over HTTP.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { RtmpClient } from '#common/rtmp-client.ts';
import { LinkFrameKind } from '#protocol/link/link-frame.ts';
import { encodeCommand } from '#protocol/rtmp/command.ts';
import { MessageType, type RtmpMessage } from '#protocol/rtmp/message.ts';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { eventually, publishTestStream, run, startOrigin, stopAll, tempDir, type OriginProcess } from '../support/processes.ts';
import { LinkPeer } from '../support/link-peer.ts';
import { adminToken, bearer } from '../support/tokens.ts';
import { avcVideo } from '../support/synthetic-media.ts';
import { apiClients, waitForMetric, waitForPublished } from '../support/observe.ts';

const SECRET = 'test-link-secret';
let origin: OriginProcess;
let linkPort: number;
let base: string;
const peers: LinkPeer[] = [];

before(async () => {
  origin = await startOrigin(['--link-port', '0', '--link-secret', SECRET]);
  linkPort = origin.linkPort!;
  base = `rtmp://127.0.0.1:${origin.port}`;
});
after(async () => {
  await Promise.all(peers.map((peer) => peer.close()));
  await stopAll();
});

/** A linked, authenticated scripted edge, closed after the file. */
async function edge(name: string, options: { answerPings?: boolean } = {}): Promise<LinkPeer> {
  const { peer, result, originProofValid } = await LinkPeer.connect(linkPort, { name, secret: SECRET, ...options });
  peers.push(peer);
  assert.equal(result.kind, LinkFrameKind.AuthOk, `edge ${name} not accepted`);
  assert.ok(originProofValid);
  return peer;
}

/** A GET on the origin's HTTP API, with the admin token unless `withAdminToken` is false. */
async function getJson(path: string, withAdminToken = true): Promise<{ status: number; body: any }> {
  const res = await fetch(`http://127.0.0.1:${origin.httpPort}${path}`, { headers: withAdminToken ? bearer(await adminToken(origin.dataDir)) : {} });
  return { status: res.status, body: await res.json() };
}

/** A client of the origin itself (no edge) playing live/NAME, collecting what it receives. */
async function directPlayer(name: string): Promise<{ client: RtmpClient; streamId: number; media: RtmpMessage[] }> {
  const { client } = await RtmpClient.connect(`${base}/live`);
  const media: RtmpMessage[] = [];
  client.on('media', (m) => media.push(m));
  const streamId = await client.createStream();
  client.streamCommand(streamId, 'play', name, -1000);
  await client.waitForStatus(streamId, 'NetStream.Play.Start');
  return { client, streamId, media };
}

/** Media identity for comparing what the link carried with what a direct player got. */
const mediaKey = (m: { type: number; timestamp: number; payload: Buffer }) => `${m.type}/${m.timestamp}/${m.payload.length}/${m.payload.readUInt32BE(m.payload.length - 4)}`;
/** Audio and video, without sequence headers (a joiner gets those restamped to its start). */
const isPlainMedia = (m: { type: number; payload: Buffer }) => (m.type === MessageType.Audio || m.type === MessageType.Video) && m.payload.length > 4 && m.payload[1] !== 0;

describe('authentication', () => {
  test('a wrong secret gets AuthFailed and a WARN naming the edge; no session is possible', async () => {
    const { peer, result } = await LinkPeer.connect(linkPort, { name: 'intruder', secret: 'not-the-secret' });
    peers.push(peer);
    assert.equal(result.kind, LinkFrameKind.AuthFailed);
    assert.match(result.kind === LinkFrameKind.AuthFailed ? result.reason : '', /wrong secret/);
    await once(peer, 'close');
    await waitForMetric(origin.httpPort, 'classroom_origin_edge_refusals_total', (refused) => refused >= 1, { labels: { reason: 'wrong_secret' } });

    // A session straight after Hello, without Auth: the link is closed, nothing is answered.
    const sneaky = await LinkPeer.open(linkPort, { name: 'sneaky', secret: '' });
    peers.push(sneaky);
    sneaky.send({ kind: LinkFrameKind.Hello, version: 1, edgeName: 'sneaky', edgeNonce: Buffer.alloc(32, 1) });
    await sneaky.next(LinkFrameKind.Challenge);
    sneaky.send({ kind: LinkFrameKind.SessionOpen, sessionId: 1, remoteAddress: '203.0.113.9', remotePort: 1, protocol: 'rtmp' });
    await once(sneaky, 'close');
    assert.deepEqual(sneaky.frames.map((f) => f.kind), [LinkFrameKind.Challenge]);
    await waitForMetric(origin.httpPort, 'classroom_origin_edge_link_closes_total', (closed) => closed >= 1, { labels: { reason: 'link.unauthenticated' } });
  });

  test('another protocol version is refused with the reason', async () => {
    const peer = await LinkPeer.open(linkPort, { name: 'future', secret: SECRET });
    peers.push(peer);
    peer.send({ kind: LinkFrameKind.Hello, version: 99, edgeName: 'future', edgeNonce: Buffer.alloc(32, 2) });
    const refused = await peer.next(LinkFrameKind.AuthFailed);
    assert.match(refused.reason, /unsupported link protocol version 99/);
    await waitForMetric(origin.httpPort, 'classroom_origin_edge_refusals_total', (refused) => refused >= 1, { labels: { reason: 'unsupported_version' } });
  });

  test('the right secret gets AuthOk whose proof shows the origin knows the secret too', async () => {
    const peer = await edge('edge-auth');
    await peer.close();
  });
});

describe('sessions over the link', () => {
  test('connect, a remoting call, the real address of the client; SessionClose ends it', async () => {
    const peer = await edge('edge-sessions');
    const connect = await peer.openSession(1, 'classroom/linkroom', [{ name: 'Lena', role: 'student' }], '198.51.100.7', 41234);
    assert.equal(connect.name, '_result');
    assert.equal((connect.args[0] as { code: string }).code, 'NetConnection.Connect.Success');
    const client = (await apiClients(origin)).find((c) => c.via === 'edge-sessions');
    assert.deepEqual([client?.address, client?.port, client?.app, client?.room], ['198.51.100.7', 41234, 'classroom', 'linkroom'], 'the origin knows the client by its own address');

    const echo = await peer.call(1, 'echo', { text: 'over the link', n: 7 });
    assert.equal(echo.name, '_result');
    assert.deepEqual(echo.args[0], { text: 'over the link', n: 7 });
    const who = await peer.call(1, 'whoami');
    assert.equal((who.args[0] as { name: string }).name, 'Lena');
    const unknown = await peer.call(1, 'noSuchMethod');
    assert.equal(unknown.name, '_error');

    const { body } = await getJson('/api/edges');
    const entry = body.edges.find((e: { name: string }) => e.name === 'edge-sessions');
    assert.equal(entry.sessions, 1);

    peer.send({ kind: LinkFrameKind.SessionClose, sessionId: 1, reason: 'client left' });
    await eventually(async () => (await getJson('/api/edges')).body.edges.find((e: { name: string }) => e.name === 'edge-sessions')?.sessions === 0, 5000, 'session closed');
    await peer.close();
  });
});

describe('live relay', () => {
  test('two clients of one edge play a stream: one Subscribe, one copy of each packet, two PlayAttach; detach and Unsubscribe after', async () => {
    const publisher = publishTestStream(`${base}/live/relay`, { seconds: 5 });
    await waitForPublished(origin, 'live/relay');
    // A direct player from the start: the reference for what the stream carried.
    const { client: direct, streamId: directStream, media: directMedia } = await directPlayer('relay');

    const peer = await edge('edge-relay');
    await peer.openSession(1, 'live');
    await peer.openSession(2, 'live');
    const stream1 = await peer.play(1, 'relay');
    const stream2 = await peer.play(2, 'relay');
    const attach1 = await peer.next(LinkFrameKind.PlayAttach, (f) => f.sessionId === 1);
    const attach2 = await peer.next(LinkFrameKind.PlayAttach, (f) => f.sessionId === 2);
    assert.equal(attach1.streamId, stream1);
    assert.equal(attach2.streamId, stream2);
    assert.equal(attach1.subscriptionId, attach2.subscriptionId);
    const subscribes = peer.ofKind(LinkFrameKind.Subscribe);
    assert.equal(subscribes.length, 1);
    assert.deepEqual({ ...subscribes[0] }, { kind: LinkFrameKind.Subscribe, subscriptionId: attach1.subscriptionId, streamKey: 'live/relay' });
    // The sessions' own statuses still come as Message frames.
    assert.ok(peer.statuses(1).includes('NetStream.Play.Start'));

    const unpublished = direct.waitForStatus(directStream, 'NetStream.Play.UnpublishNotify', 15_000);
    if (publisher.exitCode === null) await once(publisher, 'exit');
    await peer.next(LinkFrameKind.StreamState, (f) => !f.published);
    await unpublished;

    const linkMedia = peer.ofKind(LinkFrameKind.StreamMessage).filter(isPlainMedia).map(mediaKey);
    const reference = directMedia.filter(isPlainMedia).map(mediaKey);
    assert.ok(linkMedia.length > 30, `link carried ${linkMedia.length} packets`);
    assert.equal(new Set(linkMedia).size, linkMedia.length, 'no packet twice on the link');
    // The link joined later than the direct player: it carries exactly the rest of the stream, once.
    const start = reference.indexOf(linkMedia[0]!);
    assert.ok(start >= 0, 'the link\'s first packet is one the direct player got');
    assert.deepEqual(linkMedia, reference.slice(start));
    assert.equal(peer.ofKind(LinkFrameKind.Message).filter((f) => f.type === MessageType.Audio || f.type === MessageType.Video).length, 0, 'no per-client media');

    // One client stops (closeStream), the other leaves: two PlayDetach, then one Unsubscribe.
    peer.send({ kind: LinkFrameKind.Message, sessionId: 1, ...encodeCommand({ name: 'closeStream', transactionId: 0, commandObject: null, args: [] }, stream1) });
    await peer.next(LinkFrameKind.PlayDetach, (f) => f.sessionId === 1 && f.streamId === stream1);
    assert.equal(peer.ofKind(LinkFrameKind.Unsubscribe).length, 0, 'still one play attached');
    peer.send({ kind: LinkFrameKind.SessionClose, sessionId: 2, reason: 'client left' });
    await peer.next(LinkFrameKind.PlayDetach, (f) => f.sessionId === 2);
    const unsubscribe = await peer.next(LinkFrameKind.Unsubscribe);
    assert.equal(unsubscribe.subscriptionId, attach1.subscriptionId);
    direct.close();
    await peer.close();
  });

  test('an edge that stops reading loses media, not control, and holds up neither a direct player nor another edge', async () => {
    const slow = await edge('edge-slow');
    await slow.openSession(1, 'live');
    await slow.play(1, 'flood');
    await slow.next(LinkFrameKind.PlayAttach);
    slow.stopReading();
    const fast = await edge('edge-fast');
    await fast.openSession(1, 'classroom/floodroom', [{ name: 'Fast', role: 'student' }]);

    const { client: viewer, media: received } = await directPlayer('flood');

    const { client: pub } = await RtmpClient.connect(`${base}/live`);
    pub.setChunkSize(65_536);
    const pubStream = await pub.createStream();
    pub.streamCommand(pubStream, 'publish', 'flood', 'live');
    await pub.waitForStatus(pubStream, 'NetStream.Publish.Start');
    // 60 MB of keyframes, far beyond what the socket buffers and the link's media limit hold.
    const frames = 300;
    for (let i = 0; i < frames; i++) {
      pub.send(avcVideo('key', i * 33, pubStream, 200_000, i), 6);
      if (pub.socket.writableLength > 1_000_000) await once(pub.socket, 'drain');
      if (i === frames / 2) {
        // Mid-flood, a call through the other edge is answered.
        const echo = await fast.call(1, 'echo', 'through the other edge');
        assert.deepEqual(echo.args[0], 'through the other edge');
      }
    }
    const floodEnd = frames * 33;
    // Small keyframes after the flood until `arrived`: a player that dropped catches up on the next keyframe.
    let timestamp = floodEnd;
    const keyframesUntil = (arrived: () => boolean, what: string) => eventually(() => {
      timestamp += 33;
      pub.send(avcVideo('key', timestamp, pubStream, 1000, 0xef), 6);
      return arrived();
    }, 20_000, what);
    await keyframesUntil(() => received.some((m) => m.timestamp > floodEnd), 'the direct player gets media after the flood');
    await waitForMetric(origin.httpPort, 'classroom_origin_media_drop_episodes_total', (episodes) => episodes >= 1, { labels: { consumer: 'link' } });

    // Control frames for the lagging edge were queued, not dropped: a call made now is answered once it reads again.
    const reply = slow.call(1, 'createStream');
    slow.resume();
    assert.equal((await reply).name, '_result');
    // Once it has caught up, media flows to it again from the next keyframe.
    const resumedAt = timestamp;
    await keyframesUntil(() => slow.ofKind(LinkFrameKind.StreamMessage).some((f) => f.timestamp > resumedAt), 'media reaches the edge again');
    const carried = slow.ofKind(LinkFrameKind.StreamMessage).filter((f) => f.type === MessageType.Video && f.timestamp < floodEnd).length;
    assert.ok(carried < frames, `the lagging link dropped media (carried ${carried} of ${frames})`);
    assert.ok(!slow.closed);
    pub.close();
    viewer.close();
  });

  test('a stream no play of the edge wants media from is not carried; a play that wants it again gets the startup cache first, from a keyframe', async () => {
    const publisher = publishTestStream(`${base}/live/quiet`, { seconds: 30 });
    const { client: direct, media: directMedia } = await directPlayer('quiet');
    const peer = await edge('edge-quiet');
    const isVideo = (f: { type: number; payload: Buffer }) => f.type === MessageType.Video && f.payload[1] === 1;
    const isKeyframe = (f: { payload: Buffer }) => f.payload[0]! >> 4 === 1;
    /** Sends receiveAudio/receiveVideo of a session's NetStream, as a Flash client does. */
    const receive = (sessionId: number, streamId: number, kind: 'Audio' | 'Video', flag: boolean) =>
      peer.send({ kind: LinkFrameKind.Message, sessionId, ...encodeCommand({ name: `receive${kind}`, transactionId: 0, commandObject: null, args: [flag] }, streamId) });
    /** Resolves once the direct player got `count` more video frames: time for the link to have carried them. */
    const directVideo = (count: number) => {
      const from = directMedia.filter(isVideo).length;
      return eventually(() => directMedia.filter(isVideo).length >= from + count, 15_000, `the direct player gets ${count} more video frames`);
    };
    const framesAfter = (frame: object) => peer.frames.slice(peer.frames.indexOf(frame as never) + 1);

    await peer.openSession(1, 'live');
    const stream1 = await peer.play(1, 'quiet');
    await peer.next(LinkFrameKind.StreamMessage, (f) => isVideo(f) && isKeyframe(f));

    // The only play turns audio and video off (a WebRTC viewer fed by forwarding does): nothing more is carried.
    receive(1, stream1, 'Audio', false);
    receive(1, stream1, 'Video', false);
    const off = await peer.next(LinkFrameKind.PlayState, (f) => f.sessionId === 1 && !f.audio && !f.video);
    await directVideo(45);
    assert.equal(framesAfter(off).filter((f) => f.kind === LinkFrameKind.StreamMessage).length, 0, 'no media on the link for a stream no play wants');
    assert.equal(peer.ofKind(LinkFrameKind.Unsubscribe).length, 0, 'still subscribed: the play is still counted');

    // A second client of the edge plays: the startup cache comes again, before its PlayAttach, from a keyframe.
    await peer.openSession(2, 'live');
    await peer.play(2, 'quiet');
    const attach = await peer.next(LinkFrameKind.PlayAttach, (f) => f.sessionId === 2);
    const resumed = framesAfter(off).filter((f) => f.kind === LinkFrameKind.StreamMessage);
    assert.ok(resumed.length > 0 && peer.frames.indexOf(resumed[0]!) < peer.frames.indexOf(attach), 'the stream\'s startup reaches the edge before its new player');
    const firstVideo = resumed.find(isVideo);
    assert.ok(firstVideo && isKeyframe(firstVideo), 'the edge\'s copy starts afresh at a keyframe');
    const resumedVideo = () => framesAfter(off).filter((f) => f.kind === LinkFrameKind.StreamMessage && isVideo(f)).length;
    await eventually(() => resumedVideo() >= 30, 15_000, 'live video flows again');

    // Pausing counts as not wanting media: with both plays paused the link goes quiet again.
    for (const [sessionId, streamId] of [[1, stream1], [2, attach.streamId]] as const) {
      peer.send({ kind: LinkFrameKind.Message, sessionId, ...encodeCommand({ name: 'pause', transactionId: 0, commandObject: null, args: [true, 0] }, streamId) });
    }
    const paused = await peer.next(LinkFrameKind.PlayState, (f) => f.sessionId === 2 && f.paused);
    await directVideo(45);
    assert.equal(framesAfter(paused).filter((f) => f.kind === LinkFrameKind.StreamMessage).length, 0, 'no media while every play is paused');
    // The first play unpauses (still without audio and video: quiet) and turns video on: after that PlayState, a keyframe first.
    peer.send({ kind: LinkFrameKind.Message, sessionId: 1, ...encodeCommand({ name: 'pause', transactionId: 0, commandObject: null, args: [false, 0] }, stream1) });
    receive(1, stream1, 'Video', true);
    const on = await peer.next(LinkFrameKind.PlayState, (f) => f.sessionId === 1 && f.video && !f.paused && peer.frames.indexOf(f) > peer.frames.indexOf(paused));
    await eventually(() => framesAfter(on).some((f) => f.kind === LinkFrameKind.StreamMessage && isVideo(f)), 15_000, 'video flows for the play that wants it');
    const firstAfterOn = framesAfter(paused).find((f) => f.kind === LinkFrameKind.StreamMessage && isVideo(f));
    assert.ok(firstAfterOn && isKeyframe(firstAfterOn as { payload: Buffer }), 'resumed at a keyframe');
    publisher.kill('SIGINT');
    direct.close();
    await peer.close();
  });
});

describe('link failures and the registry', () => {
  test('a malformed frame closes only that link; a client\'s malformed command only its session', async () => {
    const bad = await edge('edge-bad');
    const good = await edge('edge-good');
    await good.openSession(1, 'classroom/malformed', [{ name: 'Good', role: 'student' }]);
    await good.openSession(2, 'live');
    good.send({ kind: LinkFrameKind.Message, sessionId: 2, type: MessageType.CommandAmf0, timestamp: 0, streamId: 0, payload: Buffer.from([0x05]) });
    const closed = await good.next(LinkFrameKind.SessionClose, (f) => f.sessionId === 2);
    assert.match(closed.reason, /^command\./);
    bad.socket.write(Buffer.from([0, 0, 0, 1, 0x63])); // frame kind 99
    await once(bad, 'close');
    await waitForMetric(origin.httpPort, 'classroom_origin_edge_link_closes_total', (closed) => closed >= 1, { labels: { reason: 'link.unknown_frame' } });
    assert.deepEqual((await good.call(1, 'echo', 'still here')).args[0], 'still here');
    await good.close();
  });

  test('an edge client publishes; link loss unpublishes it and a direct player is told', async () => {
    const peer = await edge('edge-publisher');
    await peer.openSession(1, 'live');
    const streamId = (await peer.call(1, 'createStream')).args[0] as number;
    peer.send({ kind: LinkFrameKind.Message, sessionId: 1, ...encodeCommand({ name: 'publish', transactionId: 0, commandObject: null, args: ['viaedge', 'live'] }, streamId) });
    await eventually(() => peer.statuses(1).includes('NetStream.Publish.Start'), 5000, 'Publish.Start over the link');
    for (let i = 0; i < 5; i++) peer.send({ kind: LinkFrameKind.Message, sessionId: 1, ...avcVideo('key', i * 33, streamId, 500, i) });
    const { client: viewer, streamId: viewerStream, media } = await directPlayer('viaedge');
    await eventually(() => media.length > 0, 5000, 'the direct player gets the edge client\'s media');
    const entry = (await getJson('/api/edges')).body.edges.find((e: { name: string }) => e.name === 'edge-publisher');
    assert.deepEqual(entry.streams.published, ['live/viaedge']);

    const unpublished = viewer.waitForStatus(viewerStream, 'NetStream.Play.UnpublishNotify', 10_000);
    await peer.close();
    await unpublished;
    await eventually(async () => !(await getJson('/api/edges')).body.edges.some((e: { name: string }) => e.name === 'edge-publisher'), 5000, 'edge-publisher gone');
    assert.ok(!(await apiClients(origin)).some((c) => c.via === 'edge-publisher'), 'its session ended with it');
    viewer.close();
  });

  test('/api/edges lists linked edges; /api/edges/pick answers the least loaded; a duplicate name is refused', async () => {
    // Only this test's edges are linked.
    await Promise.all(peers.map((peer) => peer.close()));
    const one = await edge('edge-one');
    const two = await edge('edge-two');
    one.send({ kind: LinkFrameKind.Load, report: JSON.stringify({ clients: 5, publicUrl: 'rtmp://one.example:1935' }) });
    two.send({ kind: LinkFrameKind.Load, report: JSON.stringify({ clients: 2, publicUrl: 'rtmp://two.example:1935' }) });
    await eventually(async () => (await getJson('/api/edges')).body.edges.filter((e: { load: unknown }) => e.load).length >= 2, 5000, 'load reports');
    const { body } = await getJson('/api/edges');
    const byName = Object.fromEntries(body.edges.map((e: { name: string }) => [e.name, e]));
    assert.equal(byName['edge-one'].clients, 5);
    assert.equal(byName['edge-one'].healthy, true);
    assert.match(byName['edge-two'].address, /^127\.0\.0\.1:\d+$/);
    assert.equal(byName['edge-two'].publicUrl, 'rtmp://two.example:1935');
    assert.equal((await getJson('/api/edges', false)).status, 401, 'the listing is the operator\'s');
    const pick = await getJson('/api/edges/pick', false);
    assert.equal(pick.status, 200, 'the pick is open to clients');
    assert.deepEqual([pick.body.name, pick.body.publicUrl], ['edge-two', 'rtmp://two.example:1935']);

    const { peer: twin, result } = await LinkPeer.connect(linkPort, { name: 'edge-one', secret: SECRET });
    peers.push(twin);
    assert.equal(result.kind, LinkFrameKind.AuthFailed);
    assert.match(result.kind === LinkFrameKind.AuthFailed ? result.reason : '', /already linked/);

    await Promise.all([one.close(), two.close()]);
    await eventually(async () => (await getJson('/api/edges/pick')).status === 503, 5000, 'no edge left');
    assert.match((await getJson('/api/edges/pick')).body.error, /no healthy edge/);
  });

  test('over TLS, with the secret from a file: the edge is accepted; plain TCP gets nothing', async () => {
    const dir = tempDir();
    const [cert, key, secretFile] = ['cert.pem', 'key.pem', 'secret'].map((f) => join(dir, f)) as [string, string, string];
    const made = await run('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost',
      '-days', '1', '-keyout', key, '-out', cert]);
    assert.equal(made.code, 0, made.stderr);
    writeFileSync(secretFile, 'secret-from-a-file\n');
    const secure = await startOrigin(['--link-port', '0', '--link-secret-file', secretFile, '--link-tls-cert', cert, '--link-tls-key', key]);
    assert.deepEqual(secure.ready.origin?.link, { address: '127.0.0.1', port: secure.linkPort, tls: true });
    const { peer, result, originProofValid } = await LinkPeer.connect(secure.linkPort!, { name: 'edge-tls', secret: 'secret-from-a-file', tlsCa: readFileSync(cert) });
    assert.equal(result.kind, LinkFrameKind.AuthOk);
    assert.ok(originProofValid);
    assert.equal((await peer.openSession(1, 'live')).name, '_result');
    await peer.close();

    const plain = await LinkPeer.open(secure.linkPort!, { name: 'edge-plain', secret: 'secret-from-a-file' });
    plain.send({ kind: LinkFrameKind.Hello, version: 1, edgeName: 'edge-plain', edgeNonce: Buffer.alloc(32, 3) });
    await once(plain, 'close');
    assert.equal(plain.frames.length, 0);
    await secure.stop();
  });

  test('without a secret the origin starts no link listener and says why', async () => {
    const plain = await startOrigin();
    assert.equal(plain.linkPort, null);
    assert.equal(plain.ready.origin?.link, undefined, 'no link listener in the ready report');
    await plain.stop();
  });
});
