/**
 * The web client's ClassroomSession in Node, over Node's own WebSocket against a scripted edge (a
 * `ws` server speaking the browser protocol's messages, typed from protocol/browser): it joins and
 * builds the room from the shared objects, plays streams that appear in the roster and stops those
 * that go, publishes, and after the connection drops rejoins with the same name and token and
 * republishes; a refused token ends in `failed`, on the first join and on a rejoin; a refused start
 * or stop of the recording is kept with its reason for the page; muting is told to the classroom
 * (setMediaState), again after a rejoin; the active speaker follows getStats' audio. WebRTC runs on
 * a fake peer connection (no WebRTC in Node): what is checked is the signalling the edge receives.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter, once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket as ServerSocket } from 'ws';
import type { ClientMessage, JsonValue, ServerMessage } from '../../protocol/browser/browser-protocol.ts';
import { ClassroomSession, type SessionOptions } from '../../web-client/src/session/classroom-session.ts';
import type { Playback } from '../../web-client/src/session/webrtc.ts';
import type { FlvPlayback } from '../../web-client/src/session/flv-playback.ts';

/** An edge that answers like the real one, from a roster it keeps. */
class ScriptedEdge extends EventEmitter<{ message: [ClientMessage] }> {
  readonly wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  readonly joins: Array<Extract<ClientMessage, { type: 'join' }>> = [];
  readonly received: ClientMessage[] = [];
  readonly roster: Record<string, JsonValue & { streams: string[] }> = {};
  /** The next joins are refused with this. */
  refuse: { code: 'forbidden' | 'join_failed'; message: string } | null = null;
  /** WebRTC publishes are refused (as the classroom refuses a stream name that is not the member's). */
  refusePublish = false;
  /** startRecording and stopRecording are refused (as the classroom refuses them to anyone but a teacher). */
  refuseRecording = false;
  #members = 0;
  #sessions = 0;

  constructor() {
    super();
    this.wss.on('connection', (socket) => this.#accept(socket));
  }

  async url(): Promise<string> {
    if (!this.wss.address()) await once(this.wss, 'listening');
    return `ws://127.0.0.1:${(this.wss.address() as AddressInfo).port}/ws`;
  }

  /** Resolves with the first message received (or to come) that `match` accepts. */
  received$(match: (m: ClientMessage) => boolean): Promise<ClientMessage> {
    const seen = this.received.find(match);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve) => {
      const on = (m: ClientMessage) => { if (match(m)) { this.off('message', on); resolve(m); } };
      this.on('message', on);
    });
  }

  /** Adds, changes or (null) removes a roster member and tells every socket. */
  setMember(id: string, value: (JsonValue & { streams: string[] }) | null): void {
    if (value) this.roster[id] = value;
    else delete this.roster[id];
    this.#broadcast({ type: 'so.change', name: 'roster', version: 2, changed: value ? { [id]: value } : {}, deleted: value ? [] : [id], cleared: false });
  }

  /** Drops every connection, as a restarting edge does. */
  dropAll(): void {
    for (const socket of this.wss.clients) socket.terminate();
    // Members of dropped connections leave the roster, as the origin does when it notices.
    for (const id of Object.keys(this.roster)) if (id.startsWith('own')) delete this.roster[id];
  }

  close(): Promise<void> {
    for (const socket of this.wss.clients) socket.terminate();
    return new Promise((resolve) => this.wss.close(() => resolve()));
  }

  #broadcast(message: ServerMessage): void {
    for (const socket of this.wss.clients) socket.send(JSON.stringify(message));
  }

  #accept(socket: ServerSocket): void {
    const send = (message: ServerMessage) => socket.send(JSON.stringify(message));
    let selfId = '';
    send({ type: 'hello', version: 1, maxMessageBytes: 65536, maxSignallingBytes: 135168, messagesPerSecond: 50 });
    socket.on('message', (data) => {
      const m = JSON.parse(String(data)) as ClientMessage;
      this.received.push(m);
      this.emit('message', m);
      switch (m.type) {
        case 'join':
          this.joins.push(m);
          if (this.refuse) return send({ type: 'error', code: this.refuse.code, message: this.refuse.message });
          selfId = `own${++this.#members}`;
          this.setMember(selfId, { id: selfId, name: m.name, role: m.role ?? 'student', hand: false, streams: [], joinedAt: Date.now() });
          return send({ type: 'joined', info: { code: 'NetConnection.Connect.Success' } });
        case 'call': {
          const recording = m.method === 'startRecording' ? 'start' : m.method === 'stopRecording' ? 'stop' : null;
          if (recording && this.refuseRecording) return send({ type: 'error', id: m.id, code: 'call_failed', message: `Only a teacher may ${recording} recording.` });
          if (recording) return send({ type: 'result', id: m.id, value: { active: recording === 'start' } });
          return send({ type: 'result', id: m.id, value: m.method === 'whoami' ? this.roster[selfId]! : null });
        }
        case 'so.use':
          return send({ type: 'so.sync', name: m.name, version: 1, data: m.name === 'roster' ? this.roster : {} });
        case 'webrtc.publish':
        case 'webrtc.play': {
          if (m.type === 'webrtc.publish' && this.refusePublish) return send({ type: 'error', id: m.id, code: 'webrtc_refused', status: 403, message: 'Publish.BadName: choose another name' });
          const session = ++this.#sessions;
          if (m.type === 'webrtc.publish') this.setMember(selfId, { ...this.roster[selfId]!, streams: [m.stream] });
          return send({ type: 'webrtc.answer', id: m.id, session, sdp: `v=0 answer ${session}` });
        }
        case 'webrtc.stop':
          return send({ type: 'webrtc.closed', id: 0, session: m.session, reason: 'ended by the browser (webrtc.stop)' });
        default:
          return undefined;
      }
    });
  }
}

/** A peer connection stand-in: records what the session does with it; gathering completes at once. */
class FakePeerConnection extends EventTarget {
  static made: FakePeerConnection[] = [];
  iceGatheringState: RTCIceGatheringState = 'new';
  connectionState: RTCPeerConnectionState = 'new';
  localDescription: { type: string; sdp: string } | null = null;
  remoteDescription: { type: string; sdp: string } | null = null;
  readonly kinds: string[] = [];
  closed = false;
  constructor() { super(); FakePeerConnection.made.push(this); }
  addTransceiver(trackOrKind: string | { kind: string }) {
    this.kinds.push(typeof trackOrKind === 'string' ? trackOrKind : trackOrKind.kind);
    return { setCodecPreferences() {} };
  }
  async createOffer() { return { type: 'offer', sdp: `v=0 offer ${this.kinds.join(',')}` }; }
  async setLocalDescription(description: { type: string; sdp: string }) {
    this.localDescription = description;
    setTimeout(() => { this.iceGatheringState = 'complete'; this.dispatchEvent(new Event('icegatheringstatechange')); }, 1);
  }
  async setRemoteDescription(description: { type: string; sdp: string }) { this.remoteDescription = description; }
  getReceivers() { return this.kinds.map((kind) => ({ track: { kind } })); }
  /** What getStats reports (a test may script it). */
  stats: () => Map<string, Record<string, unknown>> = () => new Map();
  async getStats() { return this.stats(); }
  close() { this.closed = true; }
}

const cameraTracks = [{ kind: 'video', enabled: true }, { kind: 'audio', enabled: true }];
const camera = { getTracks: () => cameraTracks } as unknown as MediaStream;

const edges: ScriptedEdge[] = [];
const sessions: ClassroomSession[] = [];
after(() => {
  for (const session of sessions) session.leave(); // no reconnect attempts outlive the tests
  return Promise.all(edges.map((e) => e.close()));
});

async function sessionOnNewEdge(options: Partial<SessionOptions> = {}): Promise<{ edge: ScriptedEdge; session: ClassroomSession }> {
  const edge = new ScriptedEdge();
  edges.push(edge);
  const session = new ClassroomSession({
    url: await edge.url(), room: 'physics', name: 'Ann', token: 'T0KEN', backoff: { minMs: 20, maxMs: 100 }, replayDelayMs: 50,
    webrtc: { createPeerConnection: () => new FakePeerConnection() as unknown as RTCPeerConnection, createMediaStream: (tracks) => ({ getTracks: () => tracks }) as unknown as MediaStream },
    ...options,
  });
  sessions.push(session);
  return { edge, session };
}

/** Resolves once `predicate` holds after one of the session's changes (or now). */
function until(session: ClassroomSession, predicate: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  if (predicate()) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { session.removeEventListener('change', check); reject(new Error(`timed out waiting for ${what} (state ${session.state})`)); }, timeoutMs);
    function check(): void {
      if (!predicate()) return;
      clearTimeout(timer);
      session.removeEventListener('change', check);
      resolve();
    }
    session.addEventListener('change', check);
  });
}

const offers = (edge: ScriptedEdge, type: 'webrtc.publish' | 'webrtc.play') =>
  edge.received.filter((m): m is Extract<ClientMessage, { type: typeof type }> => m.type === type).map((m) => m.stream);

test('joins, shows the room, plays a stream that appears in the roster and stops it when it goes', async () => {
  const { edge, session } = await sessionOnNewEdge();
  await session.start();
  assert.equal(session.state, 'joined');
  assert.deepEqual(edge.joins, [{ type: 'join', room: 'physics', name: 'Ann', token: 'T0KEN' }]);
  assert.deepEqual(session.snapshot.participants.map((p) => [p.name, p.self]), [['Ann', true]]);
  assert.deepEqual(edge.received.filter((m) => m.type === 'so.use').map((m) => m.type === 'so.use' && m.name).sort(), ['chat', 'room', 'roster', 'whiteboard']);

  edge.setMember('bob', { id: 'bob', name: 'Bob', role: 'teacher', hand: true, streams: ['bob-cam'], joinedAt: 1 });
  await until(session, () => session.playbacks.has('bob-cam'), 'bob-cam to play');
  assert.deepEqual(offers(edge, 'webrtc.play'), ['bob-cam']);
  const playback = session.playbacks.get('bob-cam')!;
  assert.equal((playback.pc as unknown as FakePeerConnection).remoteDescription?.sdp, 'v=0 answer 1');
  assert.deepEqual(session.snapshot.raisedHands.map((p) => p.name), ['Bob']);
  assert.equal(session.snapshot.participants[0]!.name, 'Bob', 'the teacher comes first');

  edge.setMember('bob', null);
  await until(session, () => !session.playbacks.has('bob-cam'), 'bob-cam to stop');
  assert.equal((playback.pc as unknown as FakePeerConnection).closed, true);
  await edge.received$((m) => m.type === 'webrtc.stop');
  session.leave();
  assert.equal(session.state, 'left');
});

test('after a dropped connection it rejoins with the same name and token and republishes', async () => {
  const { edge, session } = await sessionOnNewEdge();
  await session.start();
  await session.publish('Ann-cam', camera);
  assert.deepEqual(offers(edge, 'webrtc.publish'), ['Ann-cam']);
  assert.ok(session.publication, 'publishing');
  session.setMuted('audio', true);
  assert.equal(session.isMuted('audio'), true);
  assert.equal(session.isMuted('video'), false);

  const states: string[] = [];
  session.addEventListener('change', () => { if (states.at(-1) !== session.state) states.push(session.state); });
  edge.dropAll();
  await until(session, () => session.state === 'reconnecting', 'the drop noticed');
  assert.equal(session.publication, null, 'the publication ended with the connection');
  await until(session, () => session.state === 'joined' && session.publication !== null, 'rejoined and republished');
  assert.deepEqual(states.filter((s) => s !== 'joined').slice(0, 1), ['reconnecting']);
  assert.deepEqual(edge.joins.map((j) => [j.name, j.token, j.room]), [['Ann', 'T0KEN', 'physics'], ['Ann', 'T0KEN', 'physics']]);
  assert.deepEqual(offers(edge, 'webrtc.publish'), ['Ann-cam', 'Ann-cam']);
  assert.equal(session.isMuted('audio'), true, 'mute survives the reconnect');
  session.leave();
});

test('a refused join fails the start; a token refused on a rejoin ends in failed, other refusals are retried', async () => {
  const { edge, session } = await sessionOnNewEdge();
  edge.refuse = { code: 'forbidden', message: 'join refused: the token has expired' };
  await assert.rejects(session.start(), (error: Error & { code?: string }) => error.code === 'forbidden' && /expired/.test(error.message));
  assert.equal(session.state, 'failed');

  const second = await sessionOnNewEdge();
  await second.session.start();
  second.edge.refuse = { code: 'join_failed', message: "join refused: The name 'Ann' is already in use" };
  second.edge.dropAll();
  await until(second.session, () => second.edge.joins.length >= 3, 'two refused rejoins');
  assert.equal(second.session.state, 'reconnecting', 'a name still held by the old connection is tried again');
  second.edge.refuse = { code: 'forbidden', message: 'join refused: expired' };
  await until(second.session, () => second.session.state === 'failed', 'failed on a refused token');
  assert.match(second.session.lastError ?? '', /expired/);
});

test('a refused publish leaves the member in the room with the reason, and is tried again after a reconnect', async () => {
  const { edge, session } = await sessionOnNewEdge();
  await session.start();
  edge.refusePublish = true;
  await assert.rejects(session.publish('teacher', camera), (error: Error & { code?: string; status?: number }) => error.code === 'webrtc_refused' && error.status === 403);
  assert.equal(session.state, 'joined');
  assert.equal(session.publication, null);
  assert.match(session.lastError ?? '', /Publish\.BadName/);
  assert.equal(await session.call('echo'), null, 'the room still answers');

  edge.refusePublish = false;
  edge.dropAll();
  await until(session, () => session.state === 'reconnecting', 'the drop noticed');
  await until(session, () => session.state === 'joined' && session.publication !== null, 'rejoined and published');
  assert.deepEqual(offers(edge, 'webrtc.publish'), ['teacher', 'teacher']);
  session.leave();
});

test('a playback whose connection fails is played again while the room lists the stream', async () => {
  const { edge, session } = await sessionOnNewEdge();
  await session.start();
  edge.setMember('bob', { id: 'bob', name: 'Bob', role: 'student', hand: false, streams: ['bob-cam'], joinedAt: 1 });
  await until(session, () => session.playbacks.has('bob-cam'), 'bob-cam to play');
  const first = session.playbacks.get('bob-cam')!.pc as unknown as FakePeerConnection;
  first.connectionState = 'failed';
  first.dispatchEvent(new Event('connectionstatechange'));
  await until(session, () => session.playbacks.has('bob-cam') && session.playbacks.get('bob-cam')!.pc !== (first as unknown as RTCPeerConnection), 'a new playback');
  assert.equal(first.closed, true, 'the failed connection was closed');
  assert.deepEqual(offers(edge, 'webrtc.play'), ['bob-cam', 'bob-cam']);
  session.leave();
});

/** The WebRTC peer connection of the stream the session plays (it must be played over WebRTC). */
function peerOf(session: ClassroomSession, stream: string): FakePeerConnection {
  const playback = session.playbacks.get(stream);
  assert.equal(playback?.transport, 'webrtc', `${stream} played over WebRTC`);
  return (playback as Playback).pc as unknown as FakePeerConnection;
}

test('a stream whose WebRTC plays fail to connect twice in a row (failed, then not connected in time) is played over WS-FLV', async () => {
  const { edge, session } = await sessionOnNewEdge({
    webrtc: { createPeerConnection: () => new FakePeerConnection() as unknown as RTCPeerConnection, createMediaStream: (tracks) => ({ getTracks: () => tracks }) as unknown as MediaStream, connectTimeoutMs: 300 },
  });
  await session.start();
  edge.setMember('bob', { id: 'bob', name: 'Bob', role: 'student', hand: false, streams: ['bob-cam'], joinedAt: 1 });
  edge.setMember('eve', { id: 'eve', name: 'Eve', role: 'student', hand: false, streams: ['eve-cam'], joinedAt: 2 });
  await until(session, () => session.playbacks.has('bob-cam') && session.playbacks.has('eve-cam'), 'both streams to play');
  // Eve's connects; Bob's first fails (ICE), the second never connects (the timeout).
  const eve = peerOf(session, 'eve-cam');
  eve.connectionState = 'connected';
  eve.dispatchEvent(new Event('connectionstatechange'));
  const first = peerOf(session, 'bob-cam');
  first.connectionState = 'failed';
  first.dispatchEvent(new Event('connectionstatechange'));
  await until(session, () => session.playbacks.get('bob-cam')?.transport === 'webrtc' && peerOf(session, 'bob-cam') !== first, 'a second WebRTC play of bob-cam');
  const second = peerOf(session, 'bob-cam');
  await until(session, () => session.playbacks.get('bob-cam')?.transport === 'ws-flv', 'bob-cam over WS-FLV', 10_000);
  assert.equal(second.closed, true, 'the connection that never came up was closed');
  assert.deepEqual(offers(edge, 'webrtc.play').filter((s) => s === 'bob-cam'), ['bob-cam', 'bob-cam'], 'no third WebRTC play');
  const flv = session.playbacks.get('bob-cam') as FlvPlayback;
  assert.equal(flv.url, `${(await edge.url()).replace(/\/ws$/, '')}/live/classroom/physics/bob-cam.flv?token=T0KEN&mediaOf=Ann`);
  assert.equal(session.playbacks.get('eve-cam')?.transport, 'webrtc', 'Eve\'s stream stays on WebRTC');
  assert.equal(session.canPublish, true);
  session.leave();
});

test('without WebRTC the member joins, plays every stream over WS-FLV with the token (again after a player error) and cannot publish', async () => {
  const { edge, session } = await sessionOnNewEdge({ webrtc: undefined, webRtcAvailable: false });
  await session.start();
  assert.equal(session.state, 'joined');
  assert.equal(session.canPublish, false);
  await assert.rejects(session.publish('Ann-cam', camera), (error: Error & { code?: string }) => error.code === 'webrtc_unavailable');
  assert.equal(session.localMedia, null, 'nothing kept to publish');

  edge.setMember('bob', { id: 'bob', name: 'Bob', role: 'teacher', hand: false, streams: ['bob-cam'], joinedAt: 1 });
  await until(session, () => session.playbacks.has('bob-cam'), 'bob-cam to play');
  const first = session.playbacks.get('bob-cam') as FlvPlayback;
  assert.equal(first.transport, 'ws-flv');
  assert.equal(new URL(first.url).pathname, '/live/classroom/physics/bob-cam.flv');
  assert.deepEqual([new URL(first.url).searchParams.get('token'), new URL(first.url).searchParams.get('mediaOf')], ['T0KEN', 'Ann'], 'the token, and the member the play is the media of');
  assert.equal((await first.counters()).transport, 'ws-flv');

  first.fail('NetworkError: the socket closed');
  await until(session, () => session.playbacks.has('bob-cam') && session.playbacks.get('bob-cam') !== first, 'bob-cam played again');
  assert.equal(session.playbacks.get('bob-cam')!.transport, 'ws-flv');
  edge.setMember('bob', null);
  await until(session, () => !session.playbacks.has('bob-cam'), 'bob-cam to stop');
  assert.deepEqual([offers(edge, 'webrtc.play'), offers(edge, 'webrtc.publish')], [[], []], 'nothing signalled for WebRTC');
  session.leave();
});

test('a refused start or stop of the recording is kept with the classroom\'s reason for the page, until one succeeds', async () => {
  const { edge, session } = await sessionOnNewEdge();
  await session.start();
  assert.equal(session.recordingRefusal, null);
  edge.refuseRecording = true;
  await assert.rejects(session.startRecording(), (error: Error & { code?: string }) => error.code === 'call_failed' && /Only a teacher may start recording/.test(error.message));
  assert.deepEqual(session.recordingRefusal, { starting: true, reason: 'Only a teacher may start recording.' });
  await assert.rejects(session.stopRecording(), /Only a teacher may stop recording/);
  assert.deepEqual(session.recordingRefusal, { starting: false, reason: 'Only a teacher may stop recording.' });
  assert.equal(session.state, 'joined', 'a refusal leaves the member in the room');

  edge.refuseRecording = false;
  assert.deepEqual(await session.startRecording(), { active: true });
  assert.equal(session.recordingRefusal, null, 'a success clears the refusal');
  assert.deepEqual(edge.received.filter((m) => m.type === 'call' && /Recording$/.test(m.method)).map((m) => m.type === 'call' && m.method),
    ['startRecording', 'stopRecording', 'startRecording']);
  session.leave();
});

test('muting is told to the classroom (setMediaState), again after a rejoin; the stream whose audio is loud is the active speaker', async () => {
  const { edge, session } = await sessionOnNewEdge({ speakerPollMs: 20 });
  /** The argument of the next setMediaState call the edge receives. */
  const nextMediaState = () => new Promise<JsonValue | undefined>((resolve) => {
    const on = (m: ClientMessage) => { if (m.type === 'call' && m.method === 'setMediaState') { edge.off('message', on); resolve(m.args?.[0]); } };
    edge.on('message', on);
  });
  const joined = nextMediaState();
  await session.start();
  assert.deepEqual(await joined, { audio: true, video: true }, 'publishing nothing: neither heard nor seen');
  const told = nextMediaState();
  const tracks = [{ kind: 'video', enabled: true }, { kind: 'audio', enabled: true }];
  await session.publish('Ann-cam', { getTracks: () => tracks } as unknown as MediaStream);
  assert.deepEqual(await told, { audio: false, video: false });
  const muted = nextMediaState();
  session.setMuted('audio', true);
  assert.deepEqual(await muted, { audio: true, video: false });

  // Bob's stream carries audio at an RMS level of 0.1 (getStats' energy grows by level² × seconds): he is the speaker.
  edge.setMember('bob', { id: 'bob', name: 'Bob', role: 'teacher', hand: false, streams: ['bob-cam'], joinedAt: 1 });
  await until(session, () => session.playbacks.has('bob-cam'), 'bob-cam to play');
  assert.equal(session.activeSpeaker, null);
  let seconds = 0;
  (session.playbacks.get('bob-cam')!.pc as unknown as FakePeerConnection).stats = () => {
    seconds += 0.02;
    return new Map([['audio', { type: 'inbound-rtp', kind: 'audio', totalAudioEnergy: 0.01 * seconds, totalSamplesDuration: seconds }]]);
  };
  await until(session, () => session.activeSpeaker === 'bob-cam', 'Bob to be the speaker');
  assert.ok(session.audioLevel('bob-cam') > 0.05);

  const retold = nextMediaState();
  edge.dropAll();
  assert.deepEqual(await retold, { audio: true, video: false }, 'the rejoined member is still muted');
  session.leave();
});
