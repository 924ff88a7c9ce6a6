/**
 * How tests learn what happened inside a server: its `/metrics` (read through the independent
 * parser of prometheus.ts) and the origin's admin API (with the admin token of its data folder),
 * polled until what the test waits for shows. Never its log text.
 */
import type { OriginProcess } from './processes.ts';
import { eventually } from './processes.ts';
import { scrapeMetrics } from './prometheus.ts';
import { adminToken, bearer } from './tokens.ts';

/** A metric's value (the sum over samples whose labels include `labels`; 0 when none) on the server whose HTTP port is `port`. */
export async function metricValue(port: number, name: string, labels: Record<string, string> = {}): Promise<number> {
  return (await scrapeMetrics(port)).value(name, labels);
}

/** Polls a metric until `accept(value)`; resolves with that value. */
export async function waitForMetric(port: number, name: string, accept: (value: number) => boolean,
  options: { labels?: Record<string, string>; timeoutMs?: number } = {}): Promise<number> {
  let value = NaN;
  await eventually(async () => accept(value = await metricValue(port, name, options.labels)), options.timeoutMs ?? 10_000,
    () => `${name}${options.labels ? JSON.stringify(options.labels) : ''} (last ${value})`);
  return value;
}

/** Waits until a counter has grown by at least `by` over `from` (a value read before the action). */
export function waitForIncrease(port: number, name: string, from: number, options: { labels?: Record<string, string>; timeoutMs?: number; by?: number } = {}): Promise<number> {
  return waitForMetric(port, name, (value) => value >= from + (options.by ?? 1), options);
}

/** The parts of the admin API's views (origin/http/admin-api.ts) the tests read. */
export interface ApiStream { key: string; scope: string; name: string; published: boolean; video: { codec: string } | null; audio: { codec: string } | null; viewers: { total: number; direct: number; edges: Record<string, number> } }
export interface ApiRoom { path: string; app: string; room: string; clients: number; streams: string[]; recording: boolean }
export interface ApiClient { id: string; app: string; room: string; protocol: string; via: string | null; address: string; port: number; playing: string[]; publishing: string[] }

/** GET on the origin's admin API with its admin token. */
export async function originApi<T>(origin: Pick<OriginProcess, 'httpPort' | 'dataDir'>, path: string): Promise<T> {
  const response = await fetch(`http://127.0.0.1:${origin.httpPort}${path}`, { headers: bearer(await adminToken(origin.dataDir)) });
  if (response.status !== 200) throw new Error(`GET ${path}: ${response.status} ${await response.text()}`);
  return await response.json() as T;
}

export async function apiStreams(origin: Pick<OriginProcess, 'httpPort' | 'dataDir'>): Promise<ApiStream[]> {
  return (await originApi<{ streams: ApiStream[] }>(origin, '/api/streams')).streams;
}

export async function apiRooms(origin: Pick<OriginProcess, 'httpPort' | 'dataDir'>): Promise<ApiRoom[]> {
  return (await originApi<{ rooms: ApiRoom[] }>(origin, '/api/rooms')).rooms;
}

export async function apiClients(origin: Pick<OriginProcess, 'httpPort' | 'dataDir'>): Promise<ApiClient[]> {
  return (await originApi<{ clients: ApiClient[] }>(origin, '/api/clients')).clients;
}

/** Waits until the origin reports `key` (`app/room/name`, `app/name`) in a state `reached` accepts; `what` names that state in the timeout's message. */
async function waitForStream(origin: Pick<OriginProcess, 'httpPort' | 'dataDir'>, key: string, reached: (stream: ApiStream) => boolean, what: string, timeoutMs: number): Promise<ApiStream> {
  let found: ApiStream | undefined;
  await eventually(async () => (found = (await apiStreams(origin)).find((s) => s.key === key && reached(s))) !== undefined, timeoutMs, `${key} ${what}`);
  return found!;
}

/** Waits until the origin reports `key` (`app/room/name`, `app/name`) as published. */
export function waitForPublished(origin: Pick<OriginProcess, 'httpPort' | 'dataDir'>, key: string, timeoutMs = 10_000): Promise<ApiStream> {
  return waitForStream(origin, key, (s) => s.published, 'published', timeoutMs);
}

/**
 * Waits until the origin has `key`'s video (its sequence header). ffmpeg playing a stream whose
 * video has not begun yet takes the audio and the data messages a play begins with (|RtmpSampleAccess,
 * onStatus) for every stream there is, and finds no video: a test that plays a publisher slow to its
 * first keyframe (a transcoder starting, an encoder that cannot answer keyframe requests) waits for it.
 */
export function waitForVideo(origin: Pick<OriginProcess, 'httpPort' | 'dataDir'>, key: string, timeoutMs = 20_000): Promise<ApiStream> {
  return waitForStream(origin, key, (s) => s.video !== null, 'with its video at the origin', timeoutMs);
}

/** Waits until the origin has no room `path` (`app/room`) any more: its last client left. */
export async function waitForRoomGone(origin: Pick<OriginProcess, 'httpPort' | 'dataDir'>, path: string, timeoutMs = 10_000): Promise<void> {
  await eventually(async () => !(await apiRooms(origin)).some((room) => room.path === path), timeoutMs, `room ${path} gone`);
}
