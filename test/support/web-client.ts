/**
 * The built browser classroom for tests that open it: `npm test` builds it first (web-client/build.ts);
 * a test file run alone builds it when web-client/dist is missing. And reading the page's own state
 * (`window.classroom`, `window.classroomPage`, see web-client/src/main.tsx) from playwright.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { repoRoot, run } from './processes.ts';

export async function ensureWebClientBuilt(): Promise<void> {
  if (existsSync(join(repoRoot, 'web-client', 'dist', 'index.html'))) return;
  const built = await run(process.execPath, [join(repoRoot, 'web-client', 'build.ts')], 60_000);
  if (built.code !== 0) throw new Error(`web-client build failed: ${built.stderr}`);
}

/** What the page's getStats says of one stream it plays. */
export interface PlaybackCounters { framesDecoded: number; totalAudioEnergy: number; audioLevel: number; connectionState: string }

/** Every stream the page plays, with its counters (window.classroomPage.counters()). */
export function pageCounters(page: Page): Promise<Record<string, PlaybackCounters>> {
  return page.evaluate(() => (globalThis as unknown as { classroomPage: { counters(): Promise<Record<string, PlaybackCounters>> } }).classroomPage.counters());
}

/** The session's state as the page shows it (#connection-state's data-state). */
export function connectionState(page: Page): Promise<string | null> {
  return page.locator('#connection-state').getAttribute('data-state', { timeout: 1000 }).catch(() => null);
}
