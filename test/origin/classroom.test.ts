/**
 * The classroom application through the origin: roster with roles, hands and published
 * streams; chat and whiteboard replayed to a late joiner (an independent python3-librtmp client)
 * and kept across an origin restart; server-only objects refused to clients; teacher-only
 * actions; recording control visible to everyone; whiteboard undo (one's own strokes only) and clear
 * (teachers only); mute state in the roster.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RtmpCallError, RtmpClient } from '#common/rtmp-client.ts';
import { startOrigin } from '../support/processes.ts';
import { originPerFile } from '../support/origin-fixture.ts';
import { librtmp } from '../support/peers.ts';
import { apiRooms, waitForRoomGone } from '../support/observe.ts';

const fixture = originPerFile();

async function join(room: string, name: string, role = 'student', objectEncoding: 0 | 3 = 0): Promise<RtmpClient> {
  return (await RtmpClient.connect(`${fixture.base}/classroom/${room}`, { connectArgs: [{ name, role }], objectEncoding })).client;
}

test('roster: who is in the room, role, raised hand, published streams; leaving removes the entry', async () => {
  const teacher = await join('roster', 'Tess', 'teacher');
  const student = await join('roster', 'Sid', 'student', 3);
  const roster = await teacher.sharedObject('roster').connect();
  const names = () => Object.values(roster.data).map((m) => (m as { name: string }).name).sort();
  assert.deepEqual(names(), ['Sid', 'Tess']);
  const [sidId] = Object.entries(roster.data).find(([, m]) => (m as { name: string }).name === 'Sid')!;
  const hand = roster.waitFor((e) => e.kind === 'change' && e.key === sidId && (e.value as { hand: boolean }).hand);
  assert.deepEqual(await student.call('raiseHand'), [true]);
  await hand;
  await assert.rejects(student.call('lowerHand', (await teacher.call('whoami') as [{ id: string }])[0].id), /Only a teacher/);
  const lowered = roster.waitFor((e) => e.kind === 'change' && e.key === sidId && !(e.value as { hand: boolean }).hand);
  await teacher.call('lowerHand', sidId);
  await lowered;
  const streamId = await student.createStream();
  const published = roster.waitFor((e) => e.kind === 'change' && e.key === sidId && (e.value as { streams: string[] }).streams.includes('cam'));
  student.streamCommand(streamId, 'publish', 'cam', 'live');
  await student.waitForStatus(streamId, 'NetStream.Publish.Start');
  await published;
  const [list] = await teacher.call('getRoster');
  assert.deepEqual((list as Array<{ name: string; role: string; streams: string[] }>).map((m) => [m.name, m.role, m.streams]).sort(),
    [['Sid', 'student', ['cam']], ['Tess', 'teacher', []]]);
  const left = roster.waitFor((e) => e.kind === 'remove' && e.key === sidId);
  student.close();
  await left;
  assert.deepEqual(names(), ['Tess']);
  teacher.close();
});

test('a media connection ({ mediaOf }) carries a member\'s streams without a roster entry of its own', async () => {
  const member = await join('media', 'Mia');
  const roster = await member.sharedObject('roster').connect();
  const [miaId] = Object.keys(roster.data);
  await assert.rejects(RtmpClient.connect(`${fixture.base}/classroom/media`, { connectArgs: [{ mediaOf: 'Nobody' }] }), /No member 'Nobody'/);
  const { client: media } = await RtmpClient.connect(`${fixture.base}/classroom/media`, { connectArgs: [{ mediaOf: 'Mia' }] });
  const streamId = await media.createStream();
  const listed = roster.waitFor((e) => e.kind === 'change' && e.key === miaId && (e.value as { streams: string[] }).streams.includes('miacam'));
  media.streamCommand(streamId, 'publish', 'miacam', 'live');
  await media.waitForStatus(streamId, 'NetStream.Publish.Start');
  await listed;
  const [list] = await member.call('getRoster');
  assert.deepEqual((list as Array<{ name: string; streams: string[] }>).map((m) => [m.name, m.streams]), [['Mia', ['miacam']]]);
  await assert.rejects(media.call('sendChat', 'hi'), /Not in a room/);
  const unlisted = roster.waitFor((e) => e.kind === 'change' && e.key === miaId && (e.value as { streams: string[] }).streams.length === 0);
  media.close();
  await unlisted;
  member.close();
});

test('a late joiner (python3-librtmp) gets the whiteboard and chat history; both survive a restart', async () => {
  const first = await startOrigin();
  const url = `rtmp://127.0.0.1:${first.port}/classroom/lesson`;
  const { client: teacher } = await RtmpClient.connect(url, { connectArgs: [{ name: 'Tara', role: 'teacher' }] });
  const { client: student } = await RtmpClient.connect(url, { connectArgs: ['Stu'], objectEncoding: 3 });
  await teacher.call('sendChat', 'Welcome');
  await student.call('sendChat', 'Hello!');
  await teacher.call('drawStroke', { color: 0xff0000, width: 3, points: [0, 0, 10, 10] });
  await teacher.call('clearWhiteboard');
  await student.call('drawStroke', { points: [5, 5, 6, 6, 7, 7] });
  await assert.rejects(student.call('clearWhiteboard'), (e: RtmpCallError) => /Only a teacher may clear/.test(String(e.info.description)));
  const late = async (port: number) => ({
    chat: await librtmp('so', `rtmp://127.0.0.1:${port}/classroom/lesson`, 'classroom/lesson', { connect: { name: 'Late' }, name: 'chat' }),
    board: await librtmp('so', `rtmp://127.0.0.1:${port}/classroom/lesson`, 'classroom/lesson', { connect: { name: 'Late' }, name: 'whiteboard' }),
  });
  const check = (seen: Awaited<ReturnType<typeof late>>) => {
    const chat = Object.keys(seen.chat.data).sort().map((k) => [seen.chat.data[k].name, seen.chat.data[k].text]);
    assert.deepEqual(chat, [['Tara', 'Welcome'], ['Stu', 'Hello!']]);
    const strokes = Object.values(seen.board.data) as Array<{ points: number[] }>;
    assert.equal(strokes.length, 1, 'the clear removed the first stroke');
    assert.equal(seen.board.version, 3, 'stroke, clear, stroke');
  };
  check(await late(first.port));
  teacher.close();
  student.close();
  await waitForRoomGone(first, 'classroom/lesson');
  await first.stop();
  const second = await startOrigin([], { dataDir: first.dataDir });
  check(await late(second.port));
  // The chat counter resumes after the saved history.
  const { client: back } = await RtmpClient.connect(`rtmp://127.0.0.1:${second.port}/classroom/lesson`, { connectArgs: ['Back'] });
  const [message] = await back.call('sendChat', 'I am back');
  assert.equal((message as { id: number }).id, 3);
  const [history] = await back.call('getChatHistory');
  assert.deepEqual((history as Array<{ text: string }>).map((m) => m.text), ['Welcome', 'Hello!', 'I am back']);
  back.close();
  await second.stop();
});

test('the classroom objects are the server\'s: a client write gets SharedObject.NoWriteAccess', async () => {
  const student = await join('locked', 'Lou');
  const chat = await student.sharedObject('chat').connect();
  const status = new Promise<string>((resolve) => chat.once('status', (code) => resolve(code)));
  chat.set('m99999999', { text: 'forged' });
  assert.equal(await status, 'SharedObject.NoWriteAccess');
  assert.deepEqual(await student.call('getChatHistory'), [[]]);
  student.close();
});

test('recording control: only the teacher starts and stops it; everyone sees the state', async () => {
  const teacher = await join('rec', 'Tom', 'teacher');
  const student = await join('rec', 'Sue');
  const room = await student.sharedObject('room').connect();
  assert.deepEqual(room.data.recording, { active: false });
  await assert.rejects(student.call('startRecording'), /Only a teacher may start recording/);
  const started = room.waitFor((e) => e.kind === 'change' && (e.value as { active: boolean }).active);
  const [state] = await teacher.call('startRecording');
  assert.equal((state as { active: boolean; by: string }).by, 'Tom');
  await started;
  assert.equal((room.data.recording as { active: boolean }).active, true);
  assert.equal((await apiRooms(fixture.origin)).find((r) => r.path === 'classroom/rec')?.recording, true, 'the origin records the room');
  const stopped = room.waitFor((e) => e.kind === 'change' && !(e.value as { active: boolean }).active);
  await teacher.call('stopRecording');
  await stopped;
  assert.deepEqual(await student.call('getRecordingState'), [{ active: false }]);
  teacher.close();
  student.close();
});

test('whiteboard tools: each member undoes only their own last stroke, a student\'s clear is refused, a teacher\'s empties the board for everyone', async () => {
  const teacher = await join('board', 'Tina', 'teacher');
  const student = await join('board', 'Stan', 'student', 3);
  await teacher.call('drawStroke', { tool: 'pen', color: 0x0000ff, width: 3, points: [0, 0, 10, 10] });
  await student.call('drawStroke', { tool: 'pen', color: 0xff0000, width: 6, points: [1, 1, 2, 2] });
  await student.call('drawStroke', { tool: 'eraser', color: 0xffffff, width: 16, points: [3, 3, 4, 4] });
  await teacher.call('drawStroke', { tool: 'pen', color: 0x00ff00, width: 2, points: [5, 5, 6, 6] });
  const board = async () => ((await teacher.call('getWhiteboard'))[0] as Array<{ id: number; byName: string; tool: string; color: number }>);
  assert.deepEqual((await board()).map((s) => [s.byName, s.tool]), [['Tina', 'pen'], ['Stan', 'pen'], ['Stan', 'eraser'], ['Tina', 'pen']]);
  // The student's undo takes their eraser stroke, not the teacher's later one; then their pen stroke; then nothing is theirs.
  assert.deepEqual(await student.call('undoStroke'), [3]);
  assert.deepEqual(await student.call('undoStroke'), [2]);
  assert.deepEqual(await student.call('undoStroke'), [null]);
  assert.deepEqual((await board()).map((s) => [s.byName, s.color]), [['Tina', 0x0000ff], ['Tina', 0x00ff00]]);
  // What a Flash client joining now sees (python3-librtmp): the board as it is.
  const late = await librtmp('so', `${fixture.base}/classroom/board`, 'classroom/board', { connect: { name: 'Late' }, name: 'whiteboard' });
  assert.deepEqual(Object.values(late.data as Record<string, { color: number }>).map((s) => s.color).sort((a, b) => a - b), [0x0000ff, 0x00ff00]);
  await assert.rejects(student.call('clearWhiteboard'), (e: RtmpCallError) => /Only a teacher may clear/.test(String(e.info.description)));
  assert.equal((await board()).length, 2, 'the refused clear left the board as it was');
  const whiteboard = await student.sharedObject('whiteboard').connect();
  const cleared = whiteboard.waitFor((e) => e.kind === 'clear');
  await teacher.call('clearWhiteboard');
  await cleared;
  assert.deepEqual(whiteboard.data, {});
  assert.deepEqual(await teacher.call('undoStroke'), [null], 'nothing of the teacher\'s is left to undo');
  teacher.close();
  student.close();
});

test('mute state: a member says their microphone or camera is muted and every roster shows it; unknown until said', async () => {
  const teacher = await join('mute', 'Tia', 'teacher');
  const student = await join('mute', 'Sol');
  const roster = await teacher.sharedObject('roster').connect();
  const [solId] = Object.entries(roster.data).find(([, m]) => (m as { name: string }).name === 'Sol')!;
  const sol = () => roster.data[solId] as { audioMuted: boolean | null; videoMuted: boolean | null };
  assert.deepEqual([sol().audioMuted, sol().videoMuted], [null, null], 'not said yet (a Flash client that never calls setMediaState)');
  const muted = roster.waitFor((e) => e.kind === 'change' && e.key === solId && (e.value as { audioMuted: boolean }).audioMuted === true);
  await student.call('setMediaState', { audio: true, video: false });
  await muted;
  assert.deepEqual([sol().audioMuted, sol().videoMuted], [true, false]);
  const cameraOff = roster.waitFor((e) => e.kind === 'change' && e.key === solId && (e.value as { videoMuted: boolean }).videoMuted === true);
  await student.call('setMediaState', { video: true });
  await cameraOff;
  assert.deepEqual([sol().audioMuted, sol().videoMuted], [true, true], 'what is not given stays as it was');
  await assert.rejects(student.call('setMediaState', { audio: 'yes' }), /setMediaState needs/);
  teacher.close();
  student.close();
});
