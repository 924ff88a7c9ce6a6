/**
 * WHEP viewers in Chromium for the WebRTC playback tests (whep-play, whep-transcode): a player page
 * (test/support/webrtc-page.ts) on an edge, what it decoded over two windows of time, and what the
 * edge and the origin report about WebRTC viewers (`/webrtc/stats`, the origin's Load report).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { BrowserContext, Page } from 'playwright-core';
import { reportedClients, type Cluster, type EdgeProcess } from '../support/cluster.ts';
import { openWhepPlayer, whepCounters, type WhepCounters } from '../support/webrtc-page.ts';

export interface WhepViewer {
  page: Page;
  /** The edge's HTTP base, http://127.0.0.1:PORT. */
  base: string;
  /** The session's Location, or '' when refused. */
  location: string;
  /** The refusal's message, or ''. */
  error: string;
}

/** Opens a page on `edge` that plays `stream` (`live/NAME`) with WHEP. */
export async function openWhepViewer(browser: BrowserContext, edge: EdgeProcess, stream: string): Promise<WhepViewer> {
  const base = `http://127.0.0.1:${edge.httpPort}`;
  return { base, ...await openWhepPlayer(browser, base, `${base}/whep/${stream}`) };
}

/** The page's counters after `seconds` and again `seconds` later: a viewer that plays has more of both in the second. */
export async function playingCounters(page: Page, seconds = 3): Promise<{ first: WhepCounters; second: WhepCounters }> {
  await sleep(seconds * 1000);
  const first = await whepCounters(page);
  await sleep(seconds * 1000);
  return { first, second: await whepCounters(page) };
}

/** WHEP viewers on `edge`, as the origin's /api/edges reports them (from the edge's Load reports). */
export function whepViewersAtOrigin(cluster: Cluster, edge: EdgeProcess): Promise<number> {
  return reportedClients(cluster, edge.name, 'whep');
}

/** The edge's WebRTC playback stats (`GET /webrtc/stats`). */
export async function webrtcStats(edge: EdgeProcess): Promise<Record<string, number>> {
  return await (await fetch(`http://127.0.0.1:${edge.httpPort}/webrtc/stats`)).json() as Record<string, number>;
}
