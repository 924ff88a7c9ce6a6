/**
 * The web client's pure session pieces, in Node: the room model made from the classroom's shared
 * objects (order, tiles, hands, chat, recording, strokes), camera stream names the classroom accepts,
 * the join link (read from a token the origin's TokenService signs), and opening
 * local media with fallbacks and plain-words errors.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { JsonValue } from '../../protocol/browser/browser-protocol.ts';
import { cameraStreamName, cssColor, remoteStreams, roomSnapshot } from '../../web-client/src/session/room-model.ts';
import { parseJoinLink } from '../../web-client/src/session/join-link.ts';
import { describeMediaError, openLocalMedia, sampleLevel } from '../../web-client/src/session/local-media.ts';
import { TokenService } from '#common/auth/tokens.ts';

const member = (id: string, name: string, role: string, joinedAt: number, streams: string[] = [], hand = false): JsonValue =>
  ({ id, name, role, hand, streams, joinedAt });

test('the room snapshot orders teachers first, makes a tile per stream (a placeholder for none) and plays only others\' streams', () => {
  const roster: Record<string, JsonValue> = {
    c3: member('c3', 'Zoe', 'student', 30, ['zoe-cam'], true),
    c1: member('c1', 'Amy', 'student', 10),
    c2: member('c2', 'Ms Li', 'teacher', 20, ['li-cam', 'li-screen']),
    c4: member('c4', 'ffmpeg-pub', 'student', 40, ['lecture']),
    junk: 'not a member',
  };
  const snapshot = roomSnapshot({ roster }, 'c3');
  assert.deepEqual(snapshot.participants.map((p) => p.name), ['Ms Li', 'Amy', 'Zoe', 'ffmpeg-pub']);
  assert.deepEqual(snapshot.tiles.map((t) => [t.key, t.stream, t.self]), [
    ['li-cam', 'li-cam', false], ['li-screen', 'li-screen', false], ['member:c1', null, false], ['zoe-cam', 'zoe-cam', true], ['lecture', 'lecture', false],
  ]);
  assert.deepEqual(snapshot.raisedHands.map((p) => p.name), ['Zoe']);
  assert.deepEqual(remoteStreams(snapshot), ['li-cam', 'li-screen', 'lecture'], 'its own stream is not played back');
});

test('chat, recording and whiteboard come out in slot order with their fields', () => {
  const snapshot = roomSnapshot({
    chat: { m00000002: { id: 2, from: 'c2', name: 'Bo', role: 'student', text: 'second', at: 2000 }, m00000001: { id: 1, from: 'c1', name: 'Al', role: 'teacher', text: 'first', at: 1000 }, bad: 7 },
    room: { recording: { active: true, startedAt: '2026-12-02T10:00:00.000Z', by: 'Al' } },
    whiteboard: { s00000002: { id: 2, by: 'c1', tool: 'pen', color: 0x00ff00, width: 3, points: [1, 2, 3, 4] }, s00000001: { id: 1, by: 'c2', color: 0, width: 2, points: [5, 6, 7, 8] } },
  }, null);
  assert.deepEqual(snapshot.chat.map((m) => [m.text, m.name, m.at]), [['first', 'Al', 1000], ['second', 'Bo', 2000]]);
  assert.deepEqual(snapshot.recording, { active: true, startedAt: '2026-12-02T10:00:00.000Z', by: 'Al' });
  assert.deepEqual(snapshot.strokes.map((s) => [s.id, s.points]), [[1, [5, 6, 7, 8]], [2, [1, 2, 3, 4]]]);
  assert.equal(cssColor(snapshot.strokes[1]!.color), '#00ff00');
  assert.deepEqual(roomSnapshot({ room: { recording: { active: false } } }, null).recording, { active: false });
});

test('camera stream names are safe names that begin with the member\'s own name', () => {
  assert.equal(cameraStreamName('Ann'), 'Ann-cam');
  assert.equal(cameraStreamName('Ms Li'), 'Ms-Li-cam');
  assert.equal(cameraStreamName('José'), 'Jose-cam');
  assert.equal(cameraStreamName('Joséphine'), 'Josephine-cam');
  assert.match(cameraStreamName('李老师', () => 0.5), /^cam-[a-z0-9]+$/);
  for (const name of ['Ann', 'Ms Li', '李老师', '..weird//name..']) assert.match(cameraStreamName(name), /^[A-Za-z0-9_.-]{1,64}$/);
});

test('a join link gives the room, the token and the token\'s name and role', async () => {
  const tokens = new TokenService('x'.repeat(32));
  const token = await tokens.sign({ sub: 'u1', name: 'Ms Li', room: 'classroom/physics', role: 'teacher' }, 60);
  assert.deepEqual(parseJoinLink(`?token=${token}`), { room: 'physics', token, name: 'Ms Li', role: 'teacher', unreadableToken: false });
  assert.equal(parseJoinLink(`?room=chem&token=${token}`).room, 'chem', 'the link\'s room wins');
  assert.deepEqual(parseJoinLink('?room=demo'), { room: 'demo', token: null, name: '', role: null, unreadableToken: false });
  assert.equal(parseJoinLink('?token=garbage').unreadableToken, true);
});

/** A MediaStream stand-in for Node: tracks of kinds. */
function fakeStream(...kinds: string[]): MediaStream {
  const tracks = kinds.map((kind) => ({ kind, enabled: true, stop() {} }));
  return { getTracks: () => tracks, addTrack: (t: { kind: string; enabled: boolean; stop(): void }) => tracks.push(t) } as unknown as MediaStream;
}
const domError = (name: string) => Object.assign(new Error(name), { name });

test('local media falls back to what can be opened and says why the rest cannot', async () => {
  const all = await openLocalMedia({ camera: '', microphone: '' }, async () => fakeStream('video', 'audio'));
  assert.deepEqual([all.media!.getTracks().map((t) => t.kind), all.problems], [['video', 'audio'], []]);

  const refusedCamera = await openLocalMedia({ camera: '', microphone: '' }, async (c) => {
    if (c.video) throw domError('NotAllowedError');
    return fakeStream('audio');
  });
  assert.deepEqual(refusedCamera.media!.getTracks().map((t) => t.kind), ['audio']);
  assert.equal(refusedCamera.problems.length, 1);
  assert.match(refusedCamera.problems[0]!, /camera was refused.*join without it/);

  const nothing = await openLocalMedia({ camera: '', microphone: '' }, async () => { throw domError('NotFoundError'); });
  assert.equal(nothing.media, null);
  assert.deepEqual(nothing.problems, [describeMediaError('camera', domError('NotFoundError')), describeMediaError('microphone', domError('NotFoundError'))]);
  assert.match(nothing.problems[0]!, /No camera was found/);

  let asked: MediaStreamConstraints | null = null;
  const chosen = await openLocalMedia({ camera: 'cam-2', microphone: null }, async (c) => { asked = c; return fakeStream('video'); });
  assert.equal(chosen.problems.length, 0);
  assert.deepEqual((asked as MediaStreamConstraints | null)?.audio, false);
  assert.deepEqual(((asked as MediaStreamConstraints | null)?.video as MediaTrackConstraints).deviceId, { exact: 'cam-2' });
  assert.deepEqual(await openLocalMedia({ camera: null, microphone: null }, async () => { throw new Error('not called'); }), { media: null, problems: [], failures: [] });
});

test('the level meter reads silence as 0 and a loud tone near 1', () => {
  assert.equal(sampleLevel(new Float32Array(512)), 0);
  const tone = Float32Array.from({ length: 512 }, (_, i) => 0.5 * Math.sin(i / 5));
  assert.ok(sampleLevel(tone) > 0.9, String(sampleLevel(tone)));
  assert.equal(sampleLevel([]), 0);
});
