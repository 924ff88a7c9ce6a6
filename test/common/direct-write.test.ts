/**
 * Direct writes (common/direct-write.ts) over real loopback sockets: a plain net.Socket has a
 * descriptor to write to (this fails if a Node upgrade takes away the handle it uses), everything
 * written arrives in order even when the kernel's buffer fills and writes fall back to the socket's
 * queue, the bytes are all counted, and a destroyed socket's descriptor number is never written
 * again, whoever gets it next. The same for writes held in a pass and made at its end by the native
 * batch writer (common/native/write-many.c), which scripts/setup.sh builds: the tests need it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, connect, type AddressInfo, type Server, type Socket } from 'node:net';
import { PassThrough } from 'node:stream';
import { closeSync, openSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { DirectWritePass, directWriter, type DirectWriter } from '#common/direct-write.ts';
import { nativeWritesStatus, writeMany } from '#common/native/write-many.ts';
import { tempDir } from '../support/processes.ts';
import { socketHandle } from '#common/socket-handle.ts';

async function listening(): Promise<Server> {
  const listener = createServer();
  listener.listen(0, '127.0.0.1');
  await once(listener, 'listening');
  return listener;
}

/** One accepted connection of `listener` and the client end of it. */
async function accept(listener: Server): Promise<{ server: Socket; client: Socket }> {
  const client = connect((listener.address() as AddressInfo).port, '127.0.0.1');
  const [server] = (await once(listener, 'connection')) as [Socket];
  return { server, client };
}

async function closeAll(listener: Server, ...sockets: Socket[]): Promise<void> {
  for (const socket of sockets) socket.destroy();
  await new Promise<void>((resolve) => listener.close(() => resolve()));
}

/** Everything `socket` receives until it ends. */
async function receiveAll(socket: Socket): Promise<Buffer> {
  const parts: Buffer[] = [];
  socket.on('data', (data: Buffer) => parts.push(data));
  await once(socket, 'end');
  return Buffer.concat(parts);
}

test('a plain TCP socket has a direct writer; something else has none', async () => {
  const listener = await listening();
  const { server, client } = await accept(listener);
  try {
    assert.notEqual(directWriter(server), null, 'net.Socket lost the libuv handle direct writes rely on');
    assert.equal(directWriter(new PassThrough()), null);
    assert.equal(directWriter({}), null);
  } finally {
    await closeAll(listener, server, client);
  }
});

/** Numbered 64 KiB blocks, and a check that they all arrived once, in order. */
function numberedBlocks(): { next(): Buffer; check(all: Buffer): void } {
  const block = 64 * 1024;
  const expected: Buffer[] = [];
  return {
    next() {
      const data = Buffer.alloc(block, expected.length & 0xff);
      data.writeUInt32BE(expected.length, 0);
      expected.push(data);
      return data;
    },
    check(all) {
      assert.equal(all.length, expected.length * block);
      for (let i = 0; i < expected.length; i++) {
        assert.equal(all.readUInt32BE(i * block), i, `block ${i} arrived out of order`);
      }
      assert.ok(all.equals(Buffer.concat(expected)), 'bytes changed on the way');
    },
  };
}

/**
 * The client reads while `write` runs `times` more, a turn apart: the kernel has room again at times
 * while the socket's queue still holds bytes, which must go first. Then every block must have
 * arrived in order, and every byte be counted.
 */
async function readWhileWriting(server: Socket, client: Socket, writer: DirectWriter, blocks: ReturnType<typeof numberedBlocks>, times: number, write: () => void): Promise<void> {
  const received = receiveAll(client);
  for (let i = 0; i < times; i++) {
    await new Promise((resolve) => setImmediate(resolve));
    write();
  }
  server.end();
  const all = await received;
  blocks.check(all);
  assert.equal(writer.bytesDirect + server.bytesWritten, all.length);
}

test('the native batch writer is built and loads', () => {
  assert.notEqual(writeMany, null, `${nativeWritesStatus}: run scripts/setup.sh`);
});

test('every byte arrives in order and is counted, also when the kernel buffer fills and writes queue in the socket', async () => {
  const listener = await listening();
  const { server, client } = await accept(listener);
  try {
    const writer = directWriter(server)!;
    const blocks = numberedBlocks();
    // 32 MiB while the client does not read: far past what loopback's buffers hold, so writes go
    // direct, then partly, then into the socket's queue, mixed with the socket's own writes.
    for (let i = 0; i < 512; i++) {
      if (i % 17 === 0) server.write(blocks.next());
      else writer.write(blocks.next());
    }
    assert.ok(server.writableLength > 0, 'the socket queued nothing: the test did not fill the kernel buffer');
    assert.ok(writer.bytesDirect > 0, 'nothing went to the descriptor directly');
    await readWhileWriting(server, client, writer, blocks, 512, () => writer.write(blocks.next()));
  } finally {
    await closeAll(listener, server, client);
  }
});

test('after the socket is destroyed, its old descriptor number is not written, even when a new connection has it', async () => {
  const listener = await listening();
  const first = await accept(listener);
  const writer = directWriter(first.server)!;
  const oldFd = socketHandle(first.server)!.fd;
  first.server.destroy();
  first.server.on('error', () => {});
  const second = await accept(listener);
  try {
    assert.ok([second.server, second.client].some((socket) => socketHandle(socket)!.fd === oldFd), `descriptor ${oldFd} was not reused: the test proves nothing`);
    const toClient = receiveAll(second.client);
    const toServer = receiveAll(second.server);
    writer.write(Buffer.from('for the first connection only'));
    second.server.end(Buffer.from('to the client'));
    second.client.end(Buffer.from('to the server'));
    assert.equal((await toClient).toString(), 'to the client');
    assert.equal((await toServer).toString(), 'to the server');
    assert.equal(writer.bytesDirect, 0);
  } finally {
    await closeAll(listener, first.client, second.server, second.client);
  }
});

test('in a pass, writes are held to its end and made in one native call: in order, counted, the rest queued when the kernel buffer fills', async () => {
  const listener = await listening();
  const { server, client } = await accept(listener);
  try {
    const pass = new DirectWritePass(writeMany);
    const writer = directWriter(server, pass)!;
    const blocks = numberedBlocks();
    // 2 blocks a pass (joined into one write) while the client does not read: direct, then partly,
    // then queued; a pass's writes reach the kernel only when it ends.
    for (let i = 0; i < 256; i++) {
      // With the socket's queue empty the writes are held; once it holds bytes they join it at once.
      const before = { direct: writer.bytesDirect, socket: server.bytesWritten + server.writableLength, queued: server.writableLength };
      pass.run(() => {
        writer.write(blocks.next());
        writer.write(blocks.next());
        assert.equal(writer.bytesDirect, before.direct, 'a write reached the descriptor before the pass ended');
        if (before.queued === 0) assert.equal(server.bytesWritten + server.writableLength, before.socket, 'a held write went through the socket');
      });
    }
    assert.ok(server.writableLength > 0, 'the socket queued nothing: the test did not fill the kernel buffer');
    assert.ok(writer.bytesDirect > 0, 'nothing went to the descriptor directly');
    await readWhileWriting(server, client, writer, blocks, 256, () => pass.run(() => writer.write(blocks.next())));
  } finally {
    await closeAll(listener, server, client);
  }
});

test('one pass writes each socket its own bytes, and none to the descriptor of a socket destroyed during it', async () => {
  const listener = await listening();
  const connections = [await accept(listener), await accept(listener), await accept(listener)];
  const dir = tempDir();
  let file: number | null = null;
  try {
    const pass = new DirectWritePass(writeMany);
    const writers = connections.map(({ server }) => directWriter(server, pass)!);
    const received = connections.map(({ client }) => receiveAll(client));
    const doomed = connections[1]!.server;
    const doomedFd = socketHandle(doomed)!.fd;
    doomed.on('error', () => {});
    pass.run(() => {
      writers.forEach((writer, i) => writer.write(Buffer.from(`to connection ${i}`)));
      // Destroyed with its write held, and its descriptor number taken at once by a file.
      doomed.destroy();
      file = openSync(join(dir, 'reuses-the-descriptor'), 'w');
      assert.equal(file, doomedFd, `the file got descriptor ${file}, not ${doomedFd}: the test proves nothing`);
      writers[0]!.write(Buffer.from(', twice'));
    });
    closeSync(file!);
    file = null;
    assert.equal(readFileSync(join(dir, 'reuses-the-descriptor'), 'utf8'), '');
    connections[0]!.server.end();
    connections[2]!.server.end();
    assert.equal((await received[0]!).toString(), 'to connection 0, twice');
    assert.equal((await received[2]!).toString(), 'to connection 2');
    assert.equal((await received[1]!).toString(), '');
    assert.deepEqual(writers.map((writer) => writer.bytesDirect), ['to connection 0, twice'.length, 0, 'to connection 2'.length]);
  } finally {
    if (file !== null) closeSync(file);
    rmSync(dir, { recursive: true, force: true });
    await closeAll(listener, ...connections.flatMap(({ server, client }) => [server, client]));
  }
});
