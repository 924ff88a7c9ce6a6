/**
 * Checks of the built browser classroom as people meet it, for the end-to-end tests: axe-core's
 * accessibility rules run in the page (the violations that matter: serious and critical), and
 * screenshots of the page for README (docs/screenshots/), taken only when the run asks for them
 * (SAVE_SCREENSHOTS=1), so an ordinary test run leaves the committed ones alone.
 */
import { mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { repoRoot } from './processes.ts';

/** One rule axe-core found broken, with where (CSS selectors of the first few elements). */
export interface AccessibilityViolation { id: string; impact: string; help: string; targets: string[] }

/**
 * Runs axe-core (node_modules/axe-core, injected into the page) on the whole page and returns the
 * violations of `impacts` (serious and critical by default): the page as assistive technology meets it.
 */
export async function accessibilityViolations(page: Page, impacts: readonly string[] = ['serious', 'critical']): Promise<AccessibilityViolation[]> {
  await page.addScriptTag({ path: createRequire(import.meta.url).resolve('axe-core/axe.min.js') });
  const violations = await page.evaluate(async () => {
    const axe = (globalThis as unknown as { axe: { run(context: unknown, options: unknown): Promise<{ violations: Array<{ id: string; impact: string | null; help: string; nodes: Array<{ target: unknown[] }> }> }> } }).axe;
    const results = await axe.run((globalThis as unknown as { document: unknown }).document, { resultTypes: ['violations'] });
    return results.violations.map((v) => ({ id: v.id, impact: v.impact ?? '', help: v.help, targets: v.nodes.slice(0, 5).map((n) => n.target.join(' ')) }));
  });
  return violations.filter((v) => impacts.includes(v.impact));
}

/** Where README's screenshots live. */
export const SCREENSHOTS_DIR = join(repoRoot, 'docs', 'screenshots');

/** Saves the page as docs/screenshots/NAME.png when the run was asked to (SAVE_SCREENSHOTS=1); else nothing. */
export async function saveScreenshot(page: Page, name: string): Promise<void> {
  if (process.env.SAVE_SCREENSHOTS !== '1') return;
  mkdirSync(SCREENSHOTS_DIR, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOTS_DIR, `${name}.png`), fullPage: true });
}
