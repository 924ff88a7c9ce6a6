/**
 * SharedInterval: every check of a period runs on one timer, a check that deletes itself or another
 * during a beat is not run again, and the timer goes when the last check does.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { SharedInterval } from '#common/shared-interval.ts';

test('checks share one beat; deleted ones stop, even from inside a beat', async () => {
  const interval = new SharedInterval(10);
  const runs = { a: 0, b: 0, c: 0 };
  let thirdBeat: () => void;
  const threeBeats = new Promise<void>((resolve) => { thirdBeat = resolve; });
  const a = () => { if (++runs.a === 3) thirdBeat(); };
  const c = () => { runs.c++; };
  const b = () => {
    runs.b++;
    interval.delete(b);
    interval.delete(c); // c comes after b in this beat: skipped from now on
  };
  interval.add(a);
  interval.add(b);
  interval.add(c);
  await threeBeats;
  assert.equal(runs.b, 1, 'b ran once and deleted itself');
  assert.equal(runs.c, 0, 'c was deleted before its turn in the first beat');
  interval.delete(a);
  const after = runs.a;
  await sleep(35);
  assert.equal(runs.a, after, 'no beat after the last check is gone');
});

test('the shared timer does not keep the process alive', () => {
  const interval = new SharedInterval(60_000);
  interval.add(() => {});
  // node --test would wait a minute here if the timer were ref'd; the test ends at once instead.
});
