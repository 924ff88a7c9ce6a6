/**
 * A cluster on loopback for the edge tests: one origin with its link listener and edges started
 * as users run them (`node gateway/main.ts`), each tracked by processes.ts and stopped by handle.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { listenedPort, repoRoot, startOrigin, stop, track, watchLogs, type OriginProcess } from './processes.ts';

export interface EdgeProcess {
  name: string;
  /** The edge's RTMP port. */
  port: number;
  /** rtmp://127.0.0.1:PORT */
  base: string;
  /** The edge's HTTP port (web client, WebSocket, HTTP/WS-FLV). */
  httpPort: number;
  /** The RTMPS port; null unless started with --rtmps-port. */
  rtmpsPort: number | null;
  child: ChildProcess;
  logs(): string;
  waitForLog(pattern: RegExp, timeoutMs?: number): Promise<string>;
  /** The edge's counters from its latest `stats` log line (needs statsIntervalMs). */
  lastStats(): Record<string, number>;
  stop(): Promise<void>;
}

/**
 * Starts `node gateway/main.ts` linked to `originLink` (HOST:PORT) and waits until it listens and,
 * unless `waitForLink` is false, until its link to the origin is up.
 */
export async function startEdge(name: string, originLink: string, secret: string, options: { args?: string[]; waitForLink?: boolean } = {}): Promise<EdgeProcess> {
  const child = track(spawn(process.execPath, ['gateway/main.ts', '--origin', originLink, '--secret', secret, '--name', name,
    '--bind', '127.0.0.1', '--rtmp-port', '0', '--http-port', '0', '--stats-interval-ms', '500', ...(options.args ?? [])], {
    cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'],
  }));
  const { logs, waitForLog } = watchLogs(child, `edge ${name}`);
  // RTMP and RTMPS listen before HTTP.
  await waitForLog(/HTTP listening/);
  const port = listenedPort(logs(), 'RTMP')!;
  const httpPort = listenedPort(logs(), 'HTTP')!;
  const rtmpsPort = listenedPort(logs(), 'RTMPS');
  if (options.waitForLink !== false) await waitForLog(/link up/);
  const lastStats = () => {
    const stats = logs().split('\n').filter((l) => / stats /.test(l)).at(-1) ?? '';
    return Object.fromEntries([...stats.matchAll(/(\w+)=(\d+)/g)].map((m) => [m[1]!, Number(m[2])]));
  };
  return { name, port, httpPort, rtmpsPort, base: `rtmp://127.0.0.1:${port}`, child, logs, waitForLog, lastStats, stop: () => stop(child) };
}

export interface Cluster {
  origin: OriginProcess;
  /** 127.0.0.1:LINKPORT */
  link: string;
  secret: string;
  edges: EdgeProcess[];
}

/** One origin (with `originArgs`) and one edge per name, all on free loopback ports. */
export async function startCluster(edgeNames: string[], options: { originArgs?: string[]; edgeArgs?: string[]; secret?: string } = {}): Promise<Cluster> {
  const secret = options.secret ?? 'test-link-secret';
  const origin = await startOrigin(['--link-port', '0', '--link-secret', secret, ...(options.originArgs ?? [])]);
  const link = `127.0.0.1:${origin.linkPort}`;
  const edges = await Promise.all(edgeNames.map((name) => startEdge(name, link, secret, { args: options.edgeArgs })));
  return { origin, link, secret, edges };
}

/** Clients of `protocol` ('whip', 'whep', 'rtmp', ...) on one edge, as the origin's /api/edges reports them (from the edge's Load reports). */
export async function reportedClients(cluster: Cluster, edgeName: string, protocol: string): Promise<number> {
  const { edges } = await (await fetch(`http://127.0.0.1:${cluster.origin.httpPort}/api/edges`)).json() as { edges: Array<{ name: string; load: { protocols?: Record<string, number> } | null }> };
  return edges.find((e) => e.name === edgeName)?.load?.protocols?.[protocol] ?? 0;
}
