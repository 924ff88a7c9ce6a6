/**
 * The web client's WebRTC helpers in Node: WHIP and WHEP signalling against an HTTP server that
 * answers like the edge (POST application/sdp with a Bearer token, 201 and a Location, DELETE to
 * end; a refusal's status and reason become an HttpSignallingError), the offer sent only once ICE
 * gathering completed (or its timeout passed), H.264 put first among the video codecs, and mute
 * switching the publication's tracks. A fake peer connection stands in for the browser's.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage } from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { gatheredOffer, HttpSignaller, HttpSignallingError, play, preferH264, publish } from '../../web-client/src/session/webrtc.ts';

interface Seen { method: string; url: string; type: string; auth: string; body: string }
const seen: Seen[] = [];
const server = createServer(async (req: IncomingMessage, res) => {
  let body = '';
  for await (const chunk of req) body += chunk;
  seen.push({ method: req.method!, url: req.url!, type: req.headers['content-type'] ?? '', auth: req.headers.authorization ?? '', body });
  if (req.method === 'DELETE') return res.writeHead(200).end();
  if (req.url!.includes('/forbidden')) return res.writeHead(403, { 'content-type': 'text/plain' }).end('auth.wrong_room: the token is for another room\n');
  res.writeHead(201, { 'content-type': 'application/sdp', location: `/${req.url!.split('/')[1]}/session/${seen.length}` }).end(`v=0 answer to ${body}`);
});
server.listen(0, '127.0.0.1');
await once(server, 'listening');
const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
after(() => server.close());

class FakePeerConnection extends EventTarget {
  iceGatheringState: RTCIceGatheringState = 'new';
  connectionState: RTCPeerConnectionState = 'new';
  localDescription: { type: string; sdp: string } | null = null;
  remoteDescription: { type: string; sdp: string } | null = null;
  readonly transceivers: Array<{ kind: string; direction: string; codecs: Array<{ mimeType: string }> | null; setCodecPreferences(c: Array<{ mimeType: string }>): void }> = [];
  gathers = true;
  closed = false;
  addTransceiver(trackOrKind: string | { kind: string }, init: { direction: string }) {
    const transceiver = { kind: typeof trackOrKind === 'string' ? trackOrKind : trackOrKind.kind, direction: init.direction, codecs: null as Array<{ mimeType: string }> | null,
      setCodecPreferences(codecs: Array<{ mimeType: string }>) { this.codecs = codecs; } };
    this.transceivers.push(transceiver);
    return transceiver;
  }
  async createOffer() { return { type: 'offer', sdp: `offer(${this.transceivers.map((t) => `${t.kind}:${t.direction}`).join(',')})` }; }
  async setLocalDescription(description: { type: string; sdp: string }) {
    this.localDescription = { ...description };
    if (!this.gathers) return;
    setTimeout(() => {
      this.localDescription!.sdp += '+candidates';
      this.iceGatheringState = 'complete';
      this.dispatchEvent(new Event('icegatheringstatechange'));
    }, 5);
  }
  async setRemoteDescription(description: { type: string; sdp: string }) { this.remoteDescription = description; }
  getReceivers() { return this.transceivers.map((t) => ({ track: { kind: t.kind } })); }
  close() { this.closed = true; }
}

const fake = (pc = new FakePeerConnection()) => ({ pc, createPeerConnection: () => pc as unknown as RTCPeerConnection });

test('WHIP publishes with the gathered offer and the Bearer token; stop DELETEs the session and closes the connection', async () => {
  const tracks = [{ kind: 'video', enabled: true }, { kind: 'audio', enabled: true }];
  const media = { getTracks: () => tracks } as unknown as MediaStream;
  const { pc, createPeerConnection } = fake();
  const publication = await publish(new HttpSignaller(base, 'classroom/physics', 'T0KEN'), 'sam-cam', media, { createPeerConnection });
  const post = seen.find((s) => s.url === '/whip/classroom/physics/sam-cam')!;
  assert.deepEqual([post.method, post.type, post.auth, post.body], ['POST', 'application/sdp', 'Bearer T0KEN', 'offer(video:sendonly,audio:sendonly)+candidates']);
  assert.equal(pc.remoteDescription?.sdp, 'v=0 answer to offer(video:sendonly,audio:sendonly)+candidates');
  publication.setMuted('video', true);
  assert.deepEqual(tracks.map((t) => t.enabled), [false, true]);
  assert.equal(publication.isMuted('video'), true);
  publication.stop();
  await new Promise((resolve) => setTimeout(resolve, 50));
  assert.ok(seen.some((s) => s.method === 'DELETE' && s.url.startsWith('/whip/session/') && s.auth === 'Bearer T0KEN'), JSON.stringify(seen));
  assert.equal(pc.closed, true);
});

test('WHEP plays receive-only; a refusal is an HttpSignallingError with the status and the edge\'s reason, and the connection is closed', async () => {
  const { pc, createPeerConnection } = fake();
  const playback = await play(new HttpSignaller(base, 'classroom/physics'), 'li-cam', { createPeerConnection, createMediaStream: (tracks) => ({ tracks }) as unknown as MediaStream });
  assert.deepEqual(pc.transceivers.map((t) => `${t.kind}:${t.direction}`), ['video:recvonly', 'audio:recvonly']);
  assert.equal(seen.at(-1)!.auth, '', 'no token, no Authorization');
  assert.deepEqual((playback.media as unknown as { tracks: Array<{ kind: string }> }).tracks.map((t) => t.kind), ['video', 'audio']);

  const refused = fake();
  await assert.rejects(play(new HttpSignaller(base, 'classroom/forbidden', 'T'), 'x', refused),
    (error) => error instanceof HttpSignallingError && error.status === 403 && error.code === 'forbidden' && /another room/.test(error.message));
  assert.equal(refused.pc.closed, true);
});

test('an offer goes without waiting past the gathering timeout; H.264 goes first when the browser has it', async () => {
  const pc = new FakePeerConnection();
  pc.gathers = false;
  assert.equal(await gatheredOffer(pc as unknown as RTCPeerConnection, 30), 'offer()');

  const transceiver = pc.addTransceiver('video', { direction: 'sendonly' });
  preferH264(transceiver as unknown as RTCRtpTransceiver, { codecs: [{ mimeType: 'video/VP8' }, { mimeType: 'video/rtx' }, { mimeType: 'video/H264' }], headerExtensions: [] } as unknown as RTCRtpCapabilities);
  assert.deepEqual(transceiver.codecs!.map((c) => c.mimeType), ['video/H264', 'video/VP8', 'video/rtx']);
});
