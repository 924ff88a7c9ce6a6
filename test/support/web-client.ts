/**
 * The built browser classroom for tests that open it: `npm test` builds it first (web-client/build.ts);
 * a test file run alone builds it when web-client/dist is missing. Joining from a link, and reading
 * the page's own state (`window.classroom`, `window.classroomPage`, see web-client/src/main.tsx) from playwright.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { eventually, repoRoot, run } from './processes.ts';

export async function ensureWebClientBuilt(): Promise<void> {
  if (existsSync(join(repoRoot, 'web-client', 'dist', 'index.html'))) return;
  const built = await run(process.execPath, [join(repoRoot, 'web-client', 'build.ts')], 60_000);
  if (built.code !== 0) throw new Error(`web-client build failed: ${built.stderr}`);
}

/**
 * What the page says of one stream it plays: its transport, and getStats (WebRTC) or its <video>
 * (WS-FLV: no audio energy, the audio bytes decoded instead).
 */
export interface PlaybackCounters {
  transport: 'webrtc' | 'ws-flv';
  framesDecoded: number;
  totalAudioEnergy: number;
  audioLevel: number;
  connectionState: string;
  audioBytesDecoded?: number;
}

/** Every stream the page plays, with its counters (window.classroomPage.counters()). */
export function pageCounters(page: Page): Promise<Record<string, PlaybackCounters>> {
  return page.evaluate(() => (globalThis as unknown as { classroomPage: { counters(): Promise<Record<string, PlaybackCounters>> } }).classroomPage.counters());
}

/**
 * Waits until `page` plays `stream` over `transport` and its counters move between two readings: 20
 * more frames decoded and more audio (energy received over WebRTC, bytes decoded over WS-FLV).
 * Returns the last reading.
 */
export async function assertPagePlays(page: Page, who: string, stream: string, transport: 'webrtc' | 'ws-flv'): Promise<PlaybackCounters> {
  const readings: Array<PlaybackCounters | undefined> = [];
  const read = async () => { readings.push((await pageCounters(page))[stream]); return readings.at(-1); };
  const failed = (error: Error) => { throw new Error(`${error.message}: ${JSON.stringify(readings.slice(-2))}`); };
  const audio = (c: PlaybackCounters) => (transport === 'ws-flv' ? c.audioBytesDecoded ?? 0 : c.totalAudioEnergy);
  await eventually(async () => { const c = await read(); return c?.transport === transport && c.framesDecoded > 0 && audio(c) > 0; }, 30_000, `${who} to decode ${stream} over ${transport}`)
    .catch(failed);
  const first = readings.at(-1)!;
  await eventually(async () => { const c = await read(); return c !== undefined && c.framesDecoded >= first.framesDecoded + 20 && audio(c) > audio(first); },
    20_000, `${who}'s frames and audio of ${stream} to keep increasing`).catch(failed);
  return readings.at(-1)!;
}

/** The session's state as the page shows it (#connection-state's data-state). */
export function connectionState(page: Page): Promise<string | null> {
  return page.locator('#connection-state').getAttribute('data-state', { timeout: 1000 }).catch(() => null);
}

/**
 * Opens a join link (`http://EDGE/?room=R&token=T`) in a new page, waits until the lobby's camera
 * preview plays (so the page publishes on joining), presses Join and waits until the page is in the room.
 */
export async function joinFromLinkPage(browser: BrowserContext, url: string, who: string): Promise<Page> {
  const page = await browser.newPage();
  page.on('pageerror', (error) => console.log(`page error (${who}): ${error.message}`));
  await page.goto(url);
  await eventually(() => page.locator('.preview video').evaluate((video: { readyState: number; videoWidth: number }) => video.readyState >= 2 && video.videoWidth > 0,
    undefined, { timeout: 1000 }).catch(() => false), 20_000, `${who}'s camera preview to play`);
  await page.getByRole('button', { name: 'Join' }).click();
  await eventually(async () => (await connectionState(page)) === 'joined', 20_000, `${who} to join`);
  return page;
}
