/**
 * Direct writes (common/direct-write.ts) over real loopback sockets: a plain net.Socket has a
 * descriptor to write to (this fails if a Node upgrade takes away the handle it uses), everything
 * written arrives in order even when the kernel's buffer fills and writes fall back to the socket's
 * queue, the bytes are all counted, and a destroyed socket's descriptor number is never written
 * again, whoever gets it next.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, connect, type AddressInfo, type Server, type Socket } from 'node:net';
import { PassThrough } from 'node:stream';
import { directWriter } from '#common/direct-write.ts';
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

test('every byte arrives in order and is counted, also when the kernel buffer fills and writes queue in the socket', async () => {
  const listener = await listening();
  const { server, client } = await accept(listener);
  try {
    const writer = directWriter(server)!;
    const block = 64 * 1024;
    const expected: Buffer[] = [];
    const next = (): Buffer => {
      const data = Buffer.alloc(block, expected.length & 0xff);
      data.writeUInt32BE(expected.length, 0);
      expected.push(data);
      return data;
    };
    // 32 MiB while the client does not read: far past what loopback's buffers hold, so writes go
    // direct, then partly, then into the socket's queue, mixed with the socket's own writes.
    for (let i = 0; i < 512; i++) {
      if (i % 17 === 0) server.write(next());
      else writer.write(next());
    }
    assert.ok(server.writableLength > 0, 'the socket queued nothing: the test did not fill the kernel buffer');
    assert.ok(writer.bytesDirect > 0, 'nothing went to the descriptor directly');
    // Then the client reads while more is written a turn apart: the kernel has room again at times
    // while the socket's queue still holds bytes, which must go first.
    const received = receiveAll(client);
    for (let i = 0; i < 512; i++) {
      await new Promise((resolve) => setImmediate(resolve));
      writer.write(next());
    }
    server.end();
    const all = await received;
    assert.equal(all.length, expected.length * block);
    for (let i = 0; i < expected.length; i++) {
      assert.equal(all.readUInt32BE(i * block), i, `block ${i} arrived out of order`);
    }
    assert.ok(all.equals(Buffer.concat(expected)), 'bytes changed on the way');
    assert.equal(writer.bytesDirect + server.bytesWritten, all.length);
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
