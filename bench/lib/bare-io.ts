/**
 * The processes of bench:node-floor: Node doing the fan-out benchmark's I/O and nothing else (no
 * RTMP, none of our modules but, for `native`, the native batch writer's loader and the socket
 * handle the origin writes through), so that what Node itself costs for that I/O can be measured
 * apart from what the origin's code adds.
 *
 *   node bench/lib/bare-io.ts sink PORT                     accepts connections, discards what they send
 *   node bench/lib/bare-io.ts source PORT PER_SECOND BYTES   one connection writing BYTES, PER_SECOND times a second
 *   node bench/lib/bare-io.ts fanout PORT PLAYERS EVERY_MS BYTES [socket|native] [ROUNDS]
 *                                                           once PLAYERS connected: one shared buffer of BYTES to each, every EVERY_MS,
 *                                                           by socket.write each (default) or by one call of the native batch
 *                                                           writer (common/native/write-many.c, through the origin's own loader);
 *                                                           ROUNDS (default 1) times over all of them in a row
 *   node bench/lib/bare-io.ts players PORT PLAYERS          PLAYERS connections, reading and discarding
 *
 * Each runs until it is stopped.
 */
import { connect, createServer, type Socket } from 'node:net';
import { nativeWritesStatus, writeMany } from '../../common/native/write-many.ts';
import { socketHandle } from '../../common/socket-handle.ts';

const [role, portText, ...rest] = process.argv.slice(2);
const port = Number(portText);
const numbers = rest.map(Number);

/** What the origin does in a write pass with the native writer, and nothing else: one call for every socket's buffer. */
function nativeWriter(sockets: Socket[], payload: Buffer): () => void {
  const write = writeMany;
  if (!write) throw new Error(nativeWritesStatus);
  const fds = Int32Array.from(sockets, (socket) => {
    const handle = socketHandle(socket);
    if (!handle) throw new Error('a player socket has no descriptor to write to');
    return handle.fd;
  });
  const buffers = sockets.map(() => payload);
  const results = new Int32Array(sockets.length);
  return () => write(fds, buffers, results, sockets.length);
}

function discard(socket: Socket): void {
  socket.on('data', () => {});
  socket.on('error', () => {});
}

function listen(onSocket: (socket: Socket) => void): void {
  const server = createServer((socket) => {
    socket.setNoDelay(true);
    discard(socket);
    onSocket(socket);
  });
  server.listen(port, '127.0.0.1');
}

switch (role) {
  case 'sink':
    listen(() => {});
    break;
  case 'source': {
    const [perSecond, bytes] = numbers as [number, number];
    const payload = Buffer.alloc(bytes, 0x5a);
    const socket = connect(port, '127.0.0.1', () => setInterval(() => socket.write(payload), 1000 / perSecond));
    socket.on('error', () => process.exit(1));
    break;
  }
  case 'fanout': {
    const [players, everyMs, bytes] = numbers as [number, number, number];
    const rounds = numbers[4] ?? 1;
    const payload = Buffer.alloc(bytes, 0x5a);
    const sockets: Socket[] = [];
    listen((socket) => {
      // The bench's check that the port listens connects and leaves: only connections still open count.
      sockets.push(socket);
      socket.on('close', () => sockets.splice(sockets.indexOf(socket), 1));
      if (sockets.length < players) return;
      const writeAll = rest[3] === 'native' ? nativeWriter(sockets, payload) : () => { for (const s of sockets) s.write(payload); };
      setInterval(() => { for (let round = 0; round < rounds; round++) writeAll(); }, everyMs);
    });
    break;
  }
  case 'players': {
    const [players] = numbers as [number];
    for (let i = 0; i < players; i++) discard(connect(port, '127.0.0.1'));
    break;
  }
  default:
    console.error(`unknown role ${role}: sink, source, fanout or players`);
    process.exit(2);
}
