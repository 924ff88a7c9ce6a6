/**
 * The web client's protocol client (web-client/src/session/classroom-client.ts) in Node, over Node's
 * WebSocket, against a real origin and edge: two members join one room, see each other in the
 * roster, chat both ways (the chat shared object changes on both), call the classroom and get its
 * refusals as typed errors (a name already in the room, a method that does not exist), and the
 * server's areYouThere call is answered by a method the page registered.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startCluster, type Cluster } from '../support/cluster.ts';
import { stopAll } from '../support/processes.ts';
import { ClassroomClient, ClassroomError } from '../../web-client/src/session/classroom-client.ts';
import { chatOf, participantsOf } from '../../web-client/src/session/room-model.ts';

let cluster: Cluster;
const clients: ClassroomClient[] = [];

before(async () => { cluster = await startCluster(['edge-webclient']); });
after(async () => {
  for (const client of clients) client.close();
  await stopAll();
});

async function member(room: string, name: string, role: string): Promise<ClassroomClient> {
  const client = await ClassroomClient.open(`ws://127.0.0.1:${cluster.edges[0]!.httpPort}/ws`);
  clients.push(client);
  const info = await client.join(room, name, role);
  assert.equal(info.code, 'NetConnection.Connect.Success');
  return client;
}

test('two members join, see each other, chat both ways and get the classroom\'s refusals as typed errors', async () => {
  const teacher = await member('webclient', 'Ms Li', 'teacher');
  const student = await member('webclient', 'Sam', 'student');
  const me = await student.call<{ id: string; name: string; role: string }>('whoami');
  assert.deepEqual([me.name, me.role], ['Sam', 'student']);

  await Promise.all([teacher.useSharedObject('roster'), teacher.useSharedObject('chat', true), student.useSharedObject('chat', true)]);
  assert.deepEqual(participantsOf(teacher.sharedObjects.get('roster')!.data, null).map((p) => [p.name, p.role]), [['Ms Li', 'teacher'], ['Sam', 'student']]);

  const seenByTeacher = teacher.waitFor('so.change', (m) => m.name === 'chat' && Object.values(m.changed).some((v) => (v as { text?: string }).text === 'hello from Sam'));
  await student.chat('hello from Sam');
  await seenByTeacher;
  const seenByStudent = student.waitFor('so.change', (m) => m.name === 'chat' && Object.values(m.changed).some((v) => (v as { text?: string }).text === 'welcome, Sam'));
  await teacher.chat('welcome, Sam');
  await seenByStudent;
  assert.deepEqual(chatOf(student.sharedObjects.get('chat')!.data).map((m) => `${m.name}: ${m.text}`), ['Sam: hello from Sam', 'Ms Li: welcome, Sam']);

  await assert.rejects(student.call('noSuchMethod'), (error) => error instanceof ClassroomError && error.code === 'call_failed');
  const duplicate = await ClassroomClient.open(`ws://127.0.0.1:${cluster.edges[0]!.httpPort}/ws`);
  clients.push(duplicate);
  await assert.rejects(duplicate.join('webclient', 'sam', 'student'), (error) => error instanceof ClassroomError && error.code === 'join_failed' && /already in use/.test(error.message));

  student.methods.set('areYouThere', (teacherName) => `Sam here for ${String(teacherName)}`);
  const answers = await teacher.call<Array<{ name: string; answered: boolean; answer?: string }>>('checkPresence', 5000);
  assert.deepEqual(answers.filter((a) => a.name === 'Sam').map((a) => [a.answered, a.answer]), [[true, 'Sam here for Ms Li']]);
});
