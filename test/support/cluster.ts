/**
 * A cluster on loopback for the edge tests: one origin with its link listener and edges started
 * as users run them (`node gateway/main.ts`), each tracked by processes.ts and stopped by handle;
 * or (startRedisCluster) several origins and edges in cluster mode around a private redis-server,
 * to which startClusterEdge adds an edge (given its own path to Redis, which a test may cut).
 */
import type { ChildProcess } from 'node:child_process';
import { startOrigin, startServer, stop, PRODUCTION_NODE_FLAGS, type OriginProcess } from './processes.ts';
import { metricValue, originApi, waitForMetric } from './observe.ts';
import type { ReadyReport } from '#common/ready-report.ts';
import { startRedis, type RedisServer } from './redis-server.ts';

export interface EdgeProcess {
  name: string;
  /** The edge's RTMP port. */
  port: number;
  /** rtmp://127.0.0.1:PORT */
  base: string;
  /** The edge's HTTP port (web client, WebSocket, HTTP/WS-FLV, /metrics). */
  httpPort: number;
  /** The RTMPS port; null unless started with --rtmps-port. */
  rtmpsPort: number | null;
  child: ChildProcess;
  /** One of the edge's metrics now (its /metrics; see observe.ts). */
  metric(name: string, labels?: Record<string, string>): Promise<number>;
  stop(): Promise<void>;
}

/**
 * Starts `node gateway/main.ts` linked to `originLink` (HOST:PORT; null in cluster mode, `--cluster`
 * in `args`), waits for its ready report and, unless `waitForLink` is false, until its /metrics shows
 * the link to the origin up. `originHttp`: the origin's HTTP API (http://HOST:PORT) the edge forwards
 * the pages' recordings requests to. `nodeFlags`: how node runs it (startServer).
 */
export async function startEdge(name: string, originLink: string | null, secret: string, options: { args?: string[]; waitForLink?: boolean; originHttp?: string; nodeFlags?: readonly string[] } = {}): Promise<EdgeProcess> {
  const { child, ready } = await startServer('gateway/main.ts', [...(originLink === null ? [] : ['--origin', originLink]), '--secret', secret, '--name', name,
    '--bind', '127.0.0.1', '--rtmp-port', '0', '--http-port', '0', ...(options.originHttp ? ['--origin-http', options.originHttp] : []), ...(options.args ?? [])], `edge ${name}`, { nodeFlags: options.nodeFlags });
  const edge = ready.edge ?? {};
  const port = edge.rtmp!.port;
  const httpPort = edge.http!.port;
  if (options.waitForLink !== false) await waitForLinkUp(httpPort);
  return {
    name, port, httpPort, rtmpsPort: edge.rtmps?.port ?? null, base: `rtmp://127.0.0.1:${port}`, child,
    metric: (metricName, labels) => metricValue(httpPort, metricName, labels), stop: () => stop(child),
  };
}

/** Waits until the edge whose HTTP port is `httpPort` has its link to the origin up. */
export async function waitForLinkUp(httpPort: number, timeoutMs = 10_000): Promise<void> {
  await waitForMetric(httpPort, 'classroom_edge_link_up', (up) => up === 1, { timeoutMs });
}

export interface Cluster {
  origin: OriginProcess;
  /** 127.0.0.1:LINKPORT */
  link: string;
  secret: string;
  edges: EdgeProcess[];
}

/** The origin's HTTP API as an edge's `--origin-http`. */
export function originHttpOf(origin: OriginProcess): string {
  return `http://127.0.0.1:${origin.httpPort}`;
}

/**
 * One origin (with `originArgs`) and one edge per name, all on free loopback ports. `extraNodeFlags`
 * gives a process (by name: 'origin' or the edge's) node flags on top of PRODUCTION_NODE_FLAGS (a benchmark's inspector).
 */
export async function startCluster(edgeNames: string[], options: { originArgs?: string[]; edgeArgs?: string[]; secret?: string; extraNodeFlags?: (processName: string) => string[] } = {}): Promise<Cluster> {
  const secret = options.secret ?? 'test-link-secret';
  const nodeFlags = (processName: string) => [...PRODUCTION_NODE_FLAGS, ...(options.extraNodeFlags?.(processName) ?? [])];
  const origin = await startOrigin(['--link-port', '0', '--link-secret', secret, ...(options.originArgs ?? [])], { nodeFlags: nodeFlags('origin') });
  const link = `127.0.0.1:${origin.linkPort}`;
  const edges = await Promise.all(edgeNames.map((name) => startEdge(name, link, secret, { args: options.edgeArgs, originHttp: originHttpOf(origin), nodeFlags: nodeFlags(name) })));
  return { origin, link, secret, edges };
}

/** Clients of `protocol` ('whip', 'whep', 'rtmp', ...) on one edge, as the origin's /api/edges reports them (from the edge's Load reports). */
export async function reportedClients(cluster: Cluster, edgeName: string, protocol: string): Promise<number> {
  const { edges } = await originApi<{ edges: Array<{ name: string; load: { protocols?: Record<string, number> } | null }> }>(cluster.origin, '/api/edges');
  return edges.find((e) => e.name === edgeName)?.load?.protocols?.[protocol] ?? 0;
}

/**
 * `npm start` (main.ts: an origin and its edge in one process) on free loopback ports, once its edge's link is up.
 * `script`: another checkout's main.ts (a benchmark's baseline), this one's by default; `nodeFlags`: how node runs it (startServer).
 */
export async function startLocalCluster(dataDir: string, args: string[] = [], options: { script?: string; nodeFlags?: readonly string[] } = {}): Promise<{ child: ChildProcess; ready: ReadyReport; edgePort: number; edgeHttpPort: number; originHttpPort: number }> {
  const { child, ready } = await startServer(options.script ?? 'main.ts', ['--bind', '127.0.0.1', '--rtmp-port', '0', '--http-port', '0', '--link-port', '0',
    '--edge-port', '0', '--edge-http-port', '0', '--data-dir', dataDir, ...args], 'npm start', { nodeFlags: options.nodeFlags });
  const edgeHttpPort = ready.edge!.http!.port;
  await waitForLinkUp(edgeHttpPort);
  return { child, ready, edgePort: ready.edge!.rtmp!.port, edgeHttpPort, originHttpPort: ready.origin!.http!.port };
}

export interface RedisCluster {
  redis: RedisServer;
  /** The origins by name (their --cluster-origin-id). */
  origins: Map<string, OriginProcess>;
  edges: EdgeProcess[];
  secret: string;
}

/**
 * A redis-server, origins in cluster mode (`--cluster`, named after `originNames`) and edges in
 * cluster mode following the same directory, once every edge has a link up to every origin.
 */
export async function startRedisCluster(originNames: string[], edgeNames: string[], options: { originArgs?: string[]; edgeArgs?: string[]; secret?: string } = {}): Promise<RedisCluster> {
  const secret = options.secret ?? 'test-link-secret';
  const redis = await startRedis();
  const origins = new Map(await Promise.all(originNames.map(async (name) => [name, await startOrigin(['--link-port', '0', '--link-secret', secret,
    '--cluster', redis.url, '--cluster-origin-id', name, ...(options.originArgs ?? [])])] as const)));
  const cluster: RedisCluster = { redis, origins, edges: [], secret };
  cluster.edges = await Promise.all(edgeNames.map((name) => startClusterEdge(cluster, name, redis.url, options.edgeArgs)));
  return cluster;
}

/**
 * One more edge in cluster mode following the directory at `redisUrl` (the cluster's Redis, or a
 * path to it a test can cut), once it has a link up to every origin of `cluster`.
 */
export async function startClusterEdge(cluster: RedisCluster, name: string, redisUrl: string, edgeArgs: string[] = []): Promise<EdgeProcess> {
  const originHttp = originHttpOf([...cluster.origins.values()][0]!);
  const edge = await startEdge(name, null, cluster.secret, { args: ['--cluster', redisUrl, ...edgeArgs], originHttp, waitForLink: false });
  await waitForMetric(edge.httpPort, 'classroom_edge_links', (up) => up === cluster.origins.size, { labels: { state: 'up' }, timeoutMs: 15_000 });
  return edge;
}
