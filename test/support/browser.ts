/**
 * Debian's headless Chromium driven by playwright-core (no browser
 * download): found at run time (CHROMIUM_BIN, else `chromium` on PATH),
 * started with a fresh profile directory and no background traffic.
 * Missing: throws under CI=true; otherwise a loud notice and a skip.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BrowserContext, chromium, type Page } from 'playwright-core';

export function findChromium(): string | undefined {
  const fromEnv = process.env.CHROMIUM_BIN;
  if (fromEnv !== undefined && fromEnv !== '') return fromEnv;
  for (const name of ['chromium', 'chromium-browser']) {
    const which = spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' });
    const path = which.stdout.trim();
    if (which.status === 0 && path !== '') return path;
  }
  return undefined;
}

let noticePrinted = false;

/** True when Chromium can run. Missing: throws under CI=true, else prints a loud notice once. */
export function chromiumAvailable(): boolean {
  if (findChromium() !== undefined) return true;
  if (process.env.CI === 'true') {
    throw new Error(
      'CI=true but chromium is not installed (apt-get install -y chromium): the console tests cannot be skipped in CI',
    );
  }
  if (!noticePrinted) {
    noticePrinted = true;
    const bar = '!'.repeat(78);
    process.stderr.write(
      `\n${bar}\n!! chromium NOT FOUND: every console (browser) test is SKIPPED.\n!! Install it (apt-get install chromium) or set CHROMIUM_BIN.\n${bar}\n\n`,
    );
  }
  return false;
}

export interface Browser {
  context: BrowserContext;
  close(): Promise<void>;
}

/** A fresh headless Chromium profile; each page is a tab of its own (its own sessionStorage). */
export async function launchChromium(): Promise<Browser> {
  const profile = mkdtempSync(join(tmpdir(), 'jack-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: findChromium() as string,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
    viewport: { width: 1280, height: 800 },
    timeout: 20_000,
  });
  context.setDefaultTimeout(5_000);
  return {
    context,
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

const axeSource = readFileSync(
  createRequire(import.meta.url).resolve('axe-core/axe.min.js'),
  'utf8',
);

/**
 * axe-core's serious and critical violations on the page, as `rule: target`
 * lines. Evaluated through the DevTools protocol, so the page's CSP (no
 * inline scripts) stays as it is.
 */
export async function seriousA11yViolations(page: Page): Promise<string[]> {
  await page.evaluate(axeSource);
  const violations = await page.evaluate(async () => {
    const page = globalThis as unknown as {
      axe: { run: (context: unknown) => Promise<unknown> };
      document: unknown;
    };
    const result = (await page.axe.run(page.document)) as {
      violations: Array<{ id: string; impact: string; nodes: Array<{ target: unknown }> }>;
    };
    return result.violations.map((v) => ({
      id: v.id,
      impact: v.impact,
      targets: v.nodes.map((n) => JSON.stringify(n.target)),
    }));
  });
  return violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.id}: ${v.targets.join(', ')}`);
}
