/**
 * WriteBatcher: held media flushed once per interval, and the buffer one flush joins shared by every
 * connection flushed with the same parts (the players of one stream) in that pass.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { WriteBatcher } from '#common/write-batcher.ts';

class Target {
  readonly written: Buffer[] = [];
  pending: Buffer[] = [];
  readonly batcher: WriteBatcher;
  constructor(batcher: WriteBatcher) {
    this.batcher = batcher;
  }
  hold(part: Buffer): void {
    this.pending.push(part);
    if (this.pending.length === 1) this.batcher.schedule(this);
  }
  flush(): void {
    const parts = this.pending;
    this.pending = [];
    this.written.push(parts.length === 1 ? parts[0]! : this.batcher.join(parts));
  }
}

/** Past the batcher's interval: its timer, set earlier for a shorter time, has fired. */
async function interval(batcher: WriteBatcher): Promise<void> {
  await sleep(batcher.intervalMs * 3);
}

test('targets holding the same parts get one shared joined buffer; others their own', async () => {
  const batcher = new WriteBatcher(5);
  const [a, b] = [Buffer.from('video '), Buffer.from('audio')];
  const other = Buffer.from('other stream');
  const players = [new Target(batcher), new Target(batcher), new Target(batcher)];
  for (const p of players.slice(0, 2)) { p.hold(a); p.hold(b); }
  players[2]!.hold(a);
  players[2]!.hold(other);
  await interval(batcher);
  const [one, two, three] = players.map((p) => p.written);
  assert.equal(one!.length, 1);
  assert.equal(one![0]!.toString(), 'video audio');
  assert.equal(two![0], one![0], 'the second player reuses the first one\'s join');
  assert.equal(three![0]!.toString(), 'video other stream');
  assert.notEqual(three![0], one![0]);
});

test('outside a flush of all, join makes a copy of its own each time', () => {
  const batcher = new WriteBatcher(5);
  const parts = [Buffer.from('a'), Buffer.from('b')];
  const first = batcher.join(parts);
  const second = batcher.join(parts);
  assert.equal(first.toString(), 'ab');
  assert.notEqual(first, second);
});

test('a joined buffer is not reused in the next interval', async () => {
  const batcher = new WriteBatcher(5);
  const parts = [Buffer.from('x'), Buffer.from('y')];
  const player = new Target(batcher);
  for (const p of parts) player.hold(p);
  await interval(batcher);
  for (const p of parts) player.hold(p);
  await interval(batcher);
  assert.equal(player.written.length, 2);
  assert.notEqual(player.written[0], player.written[1]);
  assert.equal(player.written[1]!.toString(), 'xy');
});
