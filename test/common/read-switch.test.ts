/**
 * Merged reads (common/read-switch.ts with WriteBatcher.deferRead) over real loopback sockets: a
 * plain net.Socket has a read switch (this fails if a Node upgrade takes away the handle it uses),
 * a reader stopped after each read is read again once an interval, everything sent still arrives in
 * order, and what a resumed read pulls is flushed in the same turn, before the next interval; pulls
 * read what waits, report the end of the stream, and never read a destroyed socket's descriptor.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, connect, type AddressInfo, type Socket } from 'node:net';
import { PassThrough } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { readSwitch, type ReadSwitch } from '#common/read-switch.ts';
import { socketHandle } from '#common/socket-handle.ts';
import { WriteBatcher, type DeferredReader, type Flushable } from '#common/write-batcher.ts';

/** A loopback server and one connected client; `close` ends both. */
async function socketPair(): Promise<{ server: Socket; client: Socket; close: () => Promise<void> }> {
  const listener = createServer();
  listener.listen(0, '127.0.0.1');
  await once(listener, 'listening');
  const client = connect((listener.address() as AddressInfo).port, '127.0.0.1');
  const [server] = (await once(listener, 'connection')) as [Socket];
  return {
    server,
    client,
    close: async () => {
      client.destroy();
      server.destroy();
      await new Promise<void>((resolve) => listener.close(() => resolve()));
    },
  };
}

test('a plain TCP socket has a read switch; something else has none', async () => {
  const pair = await socketPair();
  try {
    assert.notEqual(readSwitch(pair.server), null, 'net.Socket lost the libuv handle merged reads rely on');
    assert.equal(readSwitch(new PassThrough()), null);
    assert.equal(readSwitch({}), null);
  } finally {
    await pair.close();
  }
});

/**
 * Reads like RtmpConnection with merged reads: the socket's reads stop once a turn's reads are
 * done, and each interval the batcher resumes it, which pulls what waits from the descriptor.
 */
class Reader implements DeferredReader, Flushable {
  readonly events: string[] = [];
  readonly received: Buffer[] = [];
  /** Resolves when a pull finds the stream ended. */
  readonly ended: Promise<void>;
  readonly #switch: ReadSwitch;
  readonly #batcher: WriteBatcher;
  #stopQueued = false;
  #end = () => {};

  constructor(socket: Socket, batcher: WriteBatcher) {
    this.#switch = readSwitch(socket)!;
    this.#batcher = batcher;
    this.ended = new Promise((resolve) => { this.#end = resolve; });
    socket.on('data', (data: Buffer) => {
      this.#take(data);
      if (this.#stopQueued) return;
      this.#stopQueued = true;
      setImmediate(() => {
        this.#switch.stop();
        this.#batcher.deferRead(this);
      });
    });
  }

  resumeReading(): boolean {
    this.events.push('resume');
    const reads = this.#switch.pull();
    if (reads === null) {
      this.#end();
      return true;
    }
    for (const data of reads) this.#take(data);
    this.#batcher.deferRead(this);
    return true;
  }

  flush(): void {
    this.events.push('flush');
  }

  #take(data: Buffer): void {
    this.events.push('data');
    this.received.push(data);
    this.#batcher.schedule(this);
  }
}

test('merged reads: one read an interval, every byte in order, flushed in the turn that read it', async () => {
  const pair = await socketPair();
  try {
    const batcher = new WriteBatcher(40);
    const reader = new Reader(pair.server, batcher);
    const writes = 40;
    const started = performance.now();
    for (let i = 0; i < writes; i++) {
      pair.client.write(Buffer.from([i]));
      await sleep(5);
    }
    pair.client.end();
    await reader.ended;
    const intervals = (performance.now() - started) / batcher.intervalMs;
    assert.deepEqual([...Buffer.concat(reader.received)], Array.from({ length: writes }, (_, i) => i), 'every byte, in order');

    const reads = reader.events.filter((event) => event === 'data').length;
    // Read as they come, 40 writes 5 ms apart are about 40 reads; merged, one per interval that
    // passed (about 6, more on a slow machine, whose writes take longer too), plus the first.
    assert.ok(reads <= Math.ceil(intervals) + 1, `${reads} reads for ${writes} writes over ${intervals.toFixed(1)} intervals: reads were not merged`);
    assert.ok(reader.events.includes('resume'), 'the batcher resumed the stopped reader');

    // After a resume, the data it read is flushed before the next resume.
    const sequence = reader.events.join(' ');
    assert.doesNotMatch(sequence, /resume data (data )*resume/, `a resumed read waited an interval for its flush: ${sequence}`);
  } finally {
    await pair.close();
  }
});

test('pull reads what waits in the kernel, nothing when nothing does, and null once the peer ended', async () => {
  const pair = await socketPair();
  try {
    const reads = readSwitch(pair.server)!;
    // The socket's own reads take the first bytes; stopped, the rest waits for pulls.
    pair.client.write('first');
    const [first] = (await once(pair.server, 'data')) as [Buffer];
    reads.stop();
    assert.equal(first.toString(), 'first');
    assert.deepEqual(reads.pull(), [], 'nothing was sent, yet a pull brought something');

    const big = Buffer.alloc(300 * 1024, 7);
    pair.client.write(big);
    pair.client.end();
    const pulled: Buffer[] = [];
    let result: Buffer[] | null;
    do {
      await sleep(10);
      result = reads.pull();
      if (result) pulled.push(...result);
    } while (result !== null);
    assert.ok(Buffer.concat(pulled).equals(big), 'pulled bytes differ from what was sent');
    assert.ok(pulled.every((data) => data.length <= 64 * 1024), 'a pulled buffer is larger than one read');
  } finally {
    await pair.close();
  }
});

test('a destroyed socket pulls nothing, and never from a newer connection that reuses its descriptor number', async () => {
  const first = await socketPair();
  const reads = readSwitch(first.server)!;
  const oldFd = socketHandle(first.server)!.fd;
  first.server.destroy();
  const second = await socketPair();
  try {
    const fds = [second.server, second.client].map((socket) => socketHandle(socket)!.fd);
    second.client.write('for the second connection');
    second.server.write('for the second client');
    await sleep(20);
    assert.deepEqual(reads.pull(), [], `the destroyed socket pulled (descriptor ${oldFd}; the new connection has ${fds.join(' and ')})`);
    const [data] = (await once(second.server, 'data')) as [Buffer];
    assert.equal(data.toString(), 'for the second connection');
  } finally {
    await first.close();
    await second.close();
  }
});
