import { fileURLToPath } from 'node:url';
/**
 * A deliberately small test runner for the real-browser tests: one Chromium,
 * one example server (in this process, so tests read the simulated
 * processor's ledger directly), a fresh browser context per test (so a fresh
 * IndexedDB), a screenshot on failure, and a closing `N passed, N failed`.
 */
import { mkdir } from 'node:fs/promises';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { startServer, type WebPosServer } from '../../examples/web-pos/server.js';

export const SCREENSHOTS = new URL('../../test-results/e2e/', import.meta.url);

/**
 * Where the screenshots the docs show are written: docs/images/ with
 * `npm run docs:images` (UPDATE_DOCS_IMAGES=1), else test-results/e2e/ with
 * the others. A run draws them a little differently each time (the seconds
 * on the till's clock, font hinting), so an ordinary run, CI's included,
 * must not leave the checkout changed.
 */
export const DOCS_IMAGES = fileURLToPath(
  process.env.UPDATE_DOCS_IMAGES === '1' ? new URL('../../docs/images/', import.meta.url) : SCREENSHOTS,
);

export interface E2eContext {
  server: WebPosServer;
  /** A fresh context: its own IndexedDB, localStorage and BroadcastChannels. */
  context: BrowserContext;
  /** Saves `test-results/e2e/<name>.png`. */
  screenshot(page: Page, name: string): Promise<void>;
}

export interface E2eTest {
  name: string;
  run(t: E2eContext): Promise<void>;
}

const TEST_TIMEOUT_MS = 60_000;

/** Debian's Chromium, headless, with nothing phoning home; `extraArgs` after those. */
export function launchChromium(extraArgs: readonly string[] = []): Promise<Browser> {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? process.env.CHROMIUM ?? '/usr/bin/chromium',
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      ...extraArgs,
    ],
  });
}

/** Runs the tests in order; resolves the number that failed. */
export async function runTests(tests: readonly E2eTest[]): Promise<number> {
  await mkdir(SCREENSHOTS, { recursive: true });
  const server = await startServer({ port: 0 });
  let browser: Browser;
  try {
    browser = await launchChromium();
  } catch (error) {
    await server.close();
    console.log(`  ✗ could not start Chromium: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`);
    console.log(`\n0 passed, ${tests.length} failed`);
    return tests.length;
  }
  let passed = 0;
  let failed = 0;
  try {
    for (const test of tests) {
      server.processor.reset();
      const context = await browser.newContext({ baseURL: server.url, viewport: { width: 1200, height: 1000 }, deviceScaleFactor: 1 });
      const started = performance.now();
      const screenshot = async (page: Page, name: string) => {
        await page.screenshot({ path: new URL(`${name}.png`, SCREENSHOTS).pathname });
      };
      try {
        await withTimeout(test.run({ server, context, screenshot }), TEST_TIMEOUT_MS, test.name);
        passed++;
        console.log(`  ✓ ${test.name} (${Math.round(performance.now() - started)} ms)`);
      } catch (error) {
        failed++;
        console.log(`  ✗ ${test.name} (${Math.round(performance.now() - started)} ms)`);
        console.log(indent(error instanceof Error ? (error.stack ?? error.message) : String(error)));
        await Promise.all(context.pages().map((page, i) => screenshot(page, `FAILED-${slug(test.name)}-${i + 1}`).catch(() => undefined)));
      } finally {
        await context.close();
      }
    }
  } finally {
    await browser.close();
    await server.close();
  }
  console.log(`\n${passed} passed, ${failed} failed`);
  return failed;
}

function withTimeout<T>(work: Promise<T>, ms: number, name: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`"${name}" took longer than ${ms} ms`)), ms);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

function indent(text: string): string {
  return text
    .split('\n')
    .map((line) => `      ${line}`)
    .join('\n');
}

export function slug(name: string): string {
  return name
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-|-$/g, '');
}
