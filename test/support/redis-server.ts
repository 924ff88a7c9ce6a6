/**
 * A private Redis for a test: Debian's `redis-server` on a free loopback port, without persistence,
 * tracked by processes.ts (killed by PID at the end of the file whatever happened). `restart()`
 * stops it and starts a new, empty one on the same port, as a Redis restarted without a disk would be.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { connect } from 'node:net';
import { freePort } from './free-port.ts';
import { stop, track } from './processes.ts';

export interface RedisServer {
  port: number;
  /** redis://127.0.0.1:PORT */
  url: string;
  /** The running server's process (null while stopped). */
  readonly child: ChildProcess | null;
  stop(): Promise<void>;
  /** Starts it again on the same port (empty) after stop(). */
  start(): Promise<void>;
}

/** Resolves once the server answers PING on `port` with PONG; rejects if `child` exits first. */
async function answersPing(port: number, child: ChildProcess, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`redis-server exited (${child.exitCode ?? child.signalCode})`);
    const pong = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1', () => socket.write('PING\r\n'));
      socket.setEncoding('utf8');
      socket.once('data', (reply: string) => { socket.destroy(); resolve(reply.startsWith('+PONG')); });
      socket.once('error', () => resolve(false));
    });
    if (pong) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`redis-server on ${port} did not answer within ${timeoutMs} ms`);
}

function spawnRedis(port: number): ChildProcess {
  return track(spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--daemonize', 'no'],
    { stdio: 'ignore' }));
}

export async function startRedis(): Promise<RedisServer> {
  const port = await freePort();
  let child: ChildProcess | null = null;
  const server: RedisServer = {
    port,
    url: `redis://127.0.0.1:${port}`,
    get child() { return child; },
    async start() {
      if (child) return;
      const started = spawnRedis(port);
      child = started;
      await answersPing(port, started);
    },
    async stop() {
      if (!child) return;
      const running = child;
      child = null;
      await stop(running);
    },
  };
  await server.start();
  return server;
}
