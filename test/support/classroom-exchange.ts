/**
 * The classroom exchange the edge tests check whichever way two clients came in (through two
 * edges, over RTMPT, ...): a chat call by one seen by the other in the room's `chat` shared object,
 * a change of the clients' own `notes` object seen the same way, and the origin calling the
 * student when the teacher asks who is there (checkPresence).
 */
import assert from 'node:assert/strict';
import type { Duplex } from 'node:stream';
import type { RtmpClient } from '#common/rtmp-client.ts';

export interface ClassroomMember {
  client: RtmpClient<Duplex>;
  name: string;
  role: 'teacher' | 'student';
}

/** `sender` chats and changes `notes`; `receiver` must see both; then the teacher of the two checks presence. */
export async function checkClassroomExchange(sender: ClassroomMember, receiver: ClassroomMember, text: string): Promise<void> {
  const chat = await receiver.client.sharedObject('chat').connect();
  const message = chat.waitFor((e) => e.kind === 'change' && (e.value as { text?: string }).text === text);
  const [sent] = await sender.client.call('sendChat', text);
  assert.equal((sent as { name: string }).name, sender.name);
  await message;
  const theirs = await receiver.client.sharedObject('notes').connect();
  const mine = await sender.client.sharedObject('notes').connect();
  const seen = theirs.waitFor((e) => e.kind === 'change' && e.key === 'topic');
  mine.set('topic', { text, by: sender.name });
  await seen;
  assert.deepEqual(theirs.data.topic, { text, by: sender.name });
  const [teacher, student] = sender.role === 'teacher' ? [sender, receiver] : [receiver, sender];
  student.client.onCall('areYouThere', (teacherName) => `here, ${String(teacherName)}`);
  const [answers] = await teacher.client.call('checkPresence', 3000);
  assert.deepEqual((answers as Array<{ name: string; answered: boolean; answer: string }>).map((a) => [a.name, a.answered, a.answer]),
    [[student.name, true, `here, ${teacher.name}`]]);
}
