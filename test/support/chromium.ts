/**
 * Headless Chromium for browser tests: Debian's /usr/bin/chromium driven by playwright-core
 * (never a browser playwright downloads), with the flags that keep it off the network, and a
 * fresh profile folder per launch (removed with the test's temp dirs).
 */
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { after, before } from 'node:test';
import { startCluster, type Cluster } from './cluster.ts';
import { stopAll, tempDir } from './processes.ts';

const BASE_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync'];

export const MEDIA_ARGS = [
  '--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream', '--allow-loopback-in-peer-connection',
  '--autoplay-policy=no-user-gesture-required',
  // Pages fulfilled by playwright have no address space of their own: let them reach the edge on loopback.
  '--disable-features=LocalNetworkAccessChecks',
];

/** `handleSignals: false` leaves Ctrl-C to the caller (a bench that stops its servers first); playwright's own handler exits at once. */
export async function launchChromium(extraArgs: readonly string[] = MEDIA_ARGS, options: { handleSignals?: boolean } = {}): Promise<BrowserContext> {
  const signals = options.handleSignals ?? true;
  // playwright passes the profile folder as --user-data-dir.
  const context = await chromium.launchPersistentContext(tempDir('cg-chromium-'), {
    executablePath: '/usr/bin/chromium', args: [...BASE_ARGS, ...extraArgs], handleSIGINT: signals, handleSIGTERM: signals, handleSIGHUP: signals,
  });
  // A page whose renderer dies shows up in a test only as "Target page, context or browser has been closed":
  // say which page it was and when, for whoever reads the failed run.
  const reportCrash = (page: Page) => page.on('crash', () => process.stderr.write(`chromium: the renderer of ${page.url()} crashed at ${new Date().toISOString()}\n`));
  context.pages().forEach(reportCrash);
  context.on('page', reportCrash);
  return context;
}

export interface BrowserCluster {
  readonly cluster: Cluster;
  readonly browser: BrowserContext;
}

/** One cluster (startCluster) and one Chromium per test file: started before the first test, stopped after the last. */
export function browserClusterPerFile(edgeNames: string[], options: Parameters<typeof startCluster>[1] = {}): BrowserCluster {
  const fixture = {} as { cluster: Cluster; browser: BrowserContext };
  before(async () => {
    fixture.cluster = await startCluster(edgeNames, options);
    fixture.browser = await launchChromium(MEDIA_ARGS);
  });
  after(async () => {
    await fixture.browser?.close();
    await stopAll();
  });
  return fixture;
}
