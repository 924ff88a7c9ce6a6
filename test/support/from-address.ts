/**
 * Clients that connect from a chosen loopback address (127.0.0.2, 127.0.0.3, ...): loopback answers
 * for all of 127.0.0.0/8, so a test (or a benchmark) can play an attacker from one address while its
 * normal clients come from 127.0.0.1, and per-address limits tell them apart. Raw TCP sockets,
 * HTTP requests (status and text body) and WebSocket upgrades (the socket, or the refusal's status);
 * and the flags that lift the per-address limits for a test or benchmark that loads a server from one address.
 */
import { once } from 'node:events';
import { request } from 'node:http';
import { connect, type Socket } from 'node:net';
import WebSocket from 'ws';

/**
 * Flags for a server that a test or benchmark loads from 127.0.0.1 alone (hundreds of players, where a
 * school's would come from as many machines): the per-address limits would refuse them.
 */
export const ONE_ADDRESS_LOAD_ARGS = ['--max-connections-per-address', '1000000', '--max-handshakes-per-address', '1000000',
  '--connections-per-second-per-address', '1000000', '--connection-burst-per-address', '1000000'];

/** A TCP connection from `localAddress` to 127.0.0.1:`port`, once connected; errors are the caller's to see as a close. */
export async function socketFrom(localAddress: string, port: number): Promise<Socket> {
  const socket = connect({ host: '127.0.0.1', port, localAddress });
  socket.on('error', () => {});
  await once(socket, 'connect');
  return socket;
}

/** Resolves once `socket` has been closed by the server (its bytes, if any, read and dropped). */
export async function closedByServer(socket: Socket): Promise<void> {
  if (socket.destroyed || socket.readableEnded) return;
  socket.resume();
  await once(socket, 'close');
}

/** An HTTP request from `localAddress` on its own connection: its status and text body. */
export function httpFrom(localAddress: string, url: string, method = 'GET', body?: Buffer): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, localAddress, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** A WebSocket from `localAddress`: the open socket, or the HTTP status its upgrade was refused with. */
export function webSocketFrom(localAddress: string, url: string): Promise<WebSocket | number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { localAddress });
    ws.on('open', () => resolve(ws));
    ws.on('unexpected-response', (_req, res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    ws.on('error', reject);
  });
}
