/**
 * A cluster on loopback for the edge tests: one origin with its link listener and edges started
 * as users run them (`node gateway/main.ts`), each tracked by processes.ts and stopped by handle.
 */
import type { ChildProcess } from 'node:child_process';
import { startOrigin, startServer, stop, type OriginProcess } from './processes.ts';
import { metricValue, waitForMetric } from './observe.ts';
import { adminToken, bearer } from './tokens.ts';
import type { ReadyReport } from '#common/ready-report.ts';

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
 * Starts `node gateway/main.ts` linked to `originLink` (HOST:PORT), waits for its ready report and,
 * unless `waitForLink` is false, until its /metrics shows the link to the origin up.
 */
export async function startEdge(name: string, originLink: string, secret: string, options: { args?: string[]; waitForLink?: boolean } = {}): Promise<EdgeProcess> {
  const { child, ready } = await startServer('gateway/main.ts', ['--origin', originLink, '--secret', secret, '--name', name,
    '--bind', '127.0.0.1', '--rtmp-port', '0', '--http-port', '0', ...(options.args ?? [])], `edge ${name}`);
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
  const { edges } = await (await fetch(`http://127.0.0.1:${cluster.origin.httpPort}/api/edges`, { headers: bearer(await adminToken(cluster.origin.dataDir)) })).json() as { edges: Array<{ name: string; load: { protocols?: Record<string, number> } | null }> };
  return edges.find((e) => e.name === edgeName)?.load?.protocols?.[protocol] ?? 0;
}

/** `npm start` (main.ts: an origin and its edge in one process) on free loopback ports, once its edge's link is up. */
export async function startLocalCluster(dataDir: string, args: string[] = []): Promise<{ child: ChildProcess; ready: ReadyReport; edgePort: number; edgeHttpPort: number; originHttpPort: number }> {
  const { child, ready } = await startServer('main.ts', ['--bind', '127.0.0.1', '--rtmp-port', '0', '--http-port', '0', '--link-port', '0',
    '--edge-port', '0', '--edge-http-port', '0', '--data-dir', dataDir, ...args], 'npm start');
  const edgeHttpPort = ready.edge!.http!.port;
  await waitForLinkUp(edgeHttpPort);
  return { child, ready, edgePort: ready.edge!.rtmp!.port, edgeHttpPort, originHttpPort: ready.origin!.http!.port };
}
