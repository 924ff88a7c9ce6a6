/**
 * What the benches that drive headless Chromium share (bench/webrtc.ts, bench/web-client.ts): the
 * check that ffmpeg, Chromium, playwright-core and the namespace tools are there, said before
 * anything starts; and a run's life: the browser launched without playwright's own signal handlers,
 * Ctrl-C or SIGTERM stopping the browser, ffmpeg and the servers (by handle), the same on success
 * and on failure, and a failure said in one line.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { BrowserContext } from 'playwright-core';

const CHROMIUM = '/usr/bin/chromium';

/** Throws what is missing for a browser bench and how to get it. */
export function checkBrowserBenchPrerequisites(bench: string): void {
  const missing: string[] = [];
  if (spawnSync('ffmpeg', ['-version'], { stdio: 'ignore' }).error) missing.push('ffmpeg is not on PATH (bash scripts/setup.sh, or apt-get install ffmpeg)');
  if (!existsSync(CHROMIUM)) missing.push(`Chromium is not at ${CHROMIUM} (apt-get install chromium)`);
  try {
    createRequire(import.meta.url).resolve('playwright-core');
  } catch {
    missing.push('playwright-core is not installed (npm install)');
  }
  for (const tool of ['unshare', 'ip']) {
    if (spawnSync(tool, ['--version'], { stdio: 'ignore' }).error) missing.push(`${tool} is not on PATH (apt-get install util-linux iproute2)`);
  }
  if (missing.length > 0) throw new Error(`cannot run the ${bench}:\n  ${missing.join('\n  ')}`);
}

/**
 * Runs `body` with a way to launch headless Chromium (fake media devices); whatever happens, the
 * browser and every process the test support started are stopped. Resolves with whether it failed
 * (after `onFailure` had its say, e.g. a server's last log lines).
 */
export async function runBrowserBench(bench: string, body: (launchBrowser: () => Promise<BrowserContext>) => Promise<void>, onFailure?: () => void): Promise<boolean> {
  // Loaded only here: the prerequisites are checked first.
  const { launchChromium, MEDIA_ARGS } = await import('../../test/support/chromium.ts');
  const { stopAll } = await import('../../test/support/processes.ts');
  let browser: BrowserContext | null = null;
  let cleaning: Promise<void> | null = null;
  const cleanUp = (): Promise<void> => (cleaning ??= (async () => {
    await browser?.close().catch(() => undefined);
    await stopAll();
  })());
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      console.error(`\n${signal}: stopping the browser, ffmpeg and the servers...`);
      void cleanUp().finally(() => process.exit(130));
    });
  }
  try {
    await body(async () => (browser = await launchChromium(MEDIA_ARGS, { handleSignals: false })));
    return false;
  } catch (error) {
    console.error(`\n${bench} failed: ${(error as Error).message}`);
    onFailure?.();
    return true;
  } finally {
    await cleanUp();
  }
}
