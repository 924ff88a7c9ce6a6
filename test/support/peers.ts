/**
 * The independent remoting and shared object peers, wrapped for the tests: Debian's
 * python3-librtmp (test/peers/librtmp_peer.py, run with /usr/bin/python3 as a child process
 * that processes.ts tracks and stops) and the npm `rtmp-client` package (in process; it has no
 * types, so the little the tests use is typed here).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { openSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { repoRoot, run, track } from './processes.ts';

const PEER = join(repoRoot, 'test/peers/librtmp_peer.py');

/** Runs the Python peer to completion and returns its JSON output. */
export async function librtmp(mode: string, url: string, app: string, args: object, timeoutMs = 20_000): Promise<Record<string, any>> {
  const result = await run('/usr/bin/python3', [PEER, mode, url, app, JSON.stringify(args)], timeoutMs);
  if (result.code !== 0) throw new Error(`librtmp peer ${mode} failed (${result.code}): ${result.stderr}${result.stdout}`);
  return JSON.parse(result.stdout.trim().split('\n').at(-1)!);
}

/** Starts the Python peer in a mode that keeps running (answer); resolves once it is connected. */
export async function librtmpBackground(mode: string, url: string, app: string, args: object): Promise<ChildProcess> {
  const child = track(spawn('/usr/bin/python3', [PEER, mode, url, app, JSON.stringify(args)], { stdio: ['ignore', 'pipe', 'pipe'] }));
  let out = '';
  child.stdout!.on('data', (d) => { out += d; });
  let err = '';
  child.stderr!.on('data', (d) => { err += d; });
  await Promise.race([
    new Promise<void>((resolve) => child.stdout!.on('data', () => { if (out.includes('"ready"')) resolve(); })),
    once(child, 'exit').then(() => { throw new Error(`librtmp peer exited: ${err}`); }),
  ]);
  return child;
}

export interface LibrtmpPublish {
  /** Resolves with the peer's report once the whole file is sent: tags sent, pings it answered. */
  done: Promise<{ tags: number; pings: number; seconds: number }>;
}

/**
 * Publishes an FLV file through python3-librtmp in real time (paced by the file's timestamps) as
 * `name` with publish type `type`; resolves once the server answered the publish.
 */
export async function librtmpPublish(appUrl: string, name: string, type: 'live' | 'record', flvFile: string): Promise<LibrtmpPublish> {
  const child = track(spawn('/usr/bin/python3', [PEER, 'publish', `${appUrl}/${name}`, new URL(appUrl).pathname.slice(1), JSON.stringify({ name, type })], {
    stdio: [openSync(flvFile, 'r'), 'pipe', 'pipe'],
  }));
  let out = '';
  let err = '';
  child.stdout!.on('data', (d) => { out += d; });
  child.stderr!.on('data', (d) => { err += d; });
  const exited = once(child, 'exit').then(([code]) => {
    if (code !== 0) throw new Error(`librtmp publish of ${name} failed (${code}): ${err}${out}`);
    return JSON.parse(out.trim().split('\n').at(-1)!);
  });
  await Promise.race([
    new Promise<void>((resolve) => child.stdout!.on('data', () => { if (out.includes('"ready"')) resolve(); })),
    exited,
  ]);
  return { done: exited };
}

// ---- npm rtmp-client ------------------------------------------------------------------------

interface Info { code: string; level?: string; description?: string; application?: string }
interface NpmNetConnection {
  onStatus(info: Info): void;
  connect(uri: string, ...args: unknown[]): boolean;
  call(method: string, responder: { onResult(value: unknown): void; onStatus(info: Info): void } | null, ...args: unknown[]): Promise<unknown>;
  close(): void;
  [method: string]: unknown;
}
interface NpmSharedObject {
  version: number;
  onSync(list: Array<{ code: string; name?: string; newValue?: unknown }>): void;
  onStatus(info: Info): void;
  getProperty(key: string): unknown;
  setProperty(key: string, value: unknown): boolean;
  close(): void;
}
const npm = createRequire(import.meta.url)('rtmp-client') as {
  NetConnection: new () => NpmNetConnection;
  SharedObject: new (name: string, connection: NpmNetConnection) => NpmSharedObject;
};

/** Connects an rtmp-client NetConnection; resolves on Connect.Success, rejects with the status otherwise. */
export function npmConnect(uri: string, ...args: unknown[]): Promise<NpmNetConnection> {
  const nc = new npm.NetConnection();
  return new Promise((resolve, reject) => {
    nc.onStatus = (info) => {
      if (info.code === 'NetConnection.Connect.Success') resolve(nc);
      else reject(Object.assign(new Error(info.code), { info }));
    };
    nc.connect(uri, ...args);
  });
}

/** NetConnection.call through rtmp-client: resolves with the result or rejects with the status object. */
export function npmCall(nc: NpmNetConnection, method: string, ...args: unknown[]): Promise<unknown> {
  return new Promise((resolve, reject) => {
    void nc.call(method, { onResult: resolve, onStatus: (info) => reject(Object.assign(new Error(info.code), { info })) }, ...args);
  });
}

/** A remote shared object through rtmp-client, resolved once the server confirmed the use. */
export function npmSharedObject(nc: NpmNetConnection, name: string): Promise<NpmSharedObject> {
  const so = new npm.SharedObject(name, nc);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no use success for ${name}`)), 5000);
    so.onStatus = (info) => {
      if (info.code === 'SharedObject.Proxy.Connect') { clearTimeout(timer); resolve(so); }
    };
  });
}
