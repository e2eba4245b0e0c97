/**
 * The journal report on a real till's journal: a session of sales on the web
 * POS example (a repeat confirmed by the cashier, a timeout the background
 * check resolves, a supervisor override), the journal downloaded from the
 * page, the CLI's `journal report --html` run on it, and the page opened in
 * Chromium: chart and override list there, nothing wider than the window.
 * Saves journal-report.png for docs/journal-report.md (in docs/images/ with `npm run docs:images`).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Page } from 'playwright-core';
import type { JournalSummary } from '../../src/report/summary.js';
import { DOCS_IMAGES, type E2eTest } from './harness.js';
import { Till } from './till.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const SCREENSHOT = join(DOCS_IMAGES, 'journal-report.png');
/** A reason with markup in it: the report must show it as text. */
const HOSTILE_REASON = 'Receipt shows <b>declined</b> & "failed"';

function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile('npx', ['tsx', 'src/cli.ts', ...args], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : -1) : 0, stdout, stderr });
    });
  });
}

/** Widths that overflow the window: the document's, and any element's box past its right edge. */
async function overflow(page: Page): Promise<string[]> {
  return page.evaluate(() => {
    const width = document.documentElement.clientWidth;
    const wide: string[] = [];
    if (document.documentElement.scrollWidth > width) wide.push(`document ${document.documentElement.scrollWidth} > ${width}`);
    for (const element of document.querySelectorAll('body *')) {
      const box = element.getBoundingClientRect();
      if (box.right > width + 0.5) {
        wide.push(`${element.tagName.toLowerCase()}.${element.className} right ${Math.round(box.right)} > ${width}`);
      }
    }
    return wide;
  });
}

export const tests: E2eTest[] = [
  {
    name: 'journal report: a session on the till, its journal downloaded, the CLI --html page checked in Chromium',
    async run({ server, context, screenshot }) {
      const till = await Till.open(context, '?timeout=1500&recoverAfter=1s');

      // A sale, then the same sale again: a prompt the cashier confirms ("Charge again").
      await till.ringUp(1250, 'visa');
      await till.pay.click();
      await till.waitForNotice('approved');
      await till.pay.click();
      await till.testId('prompt-confirm').click();
      await till.waitForNotice('approved');

      // A lost answer: unknown, and a retry is blocked; the supervisor overrides it with a reason.
      await till.setMode('timeout');
      await till.ringUp(990, 'mastercard');
      await till.pay.click();
      await till.waitForNotice('unknown');
      server.processor.mode = 'approve';
      await till.pay.click();
      await till.testId('block-dialog').waitFor();
      await till.testId('block-override').click();
      await till.testId('override-reason').fill(HOSTILE_REASON);
      await till.testId('override-confirm').click();
      await till.testId('pin-input').fill('2468');
      await till.testId('pin-submit').click();
      await till.waitForNotice('approved');
      // The background check (1 s after the timeout, then 3 s) settles the unknown one from the processor's ledger.
      await till.page.waitForFunction(
        () => document.querySelectorAll('[data-testid="attempt-row"][data-status="unknown"]').length === 0,
        undefined,
        {
          timeout: 20_000,
        },
      );
      await screenshot(till.page, 'journal-session');

      // The back office downloads the journal from the page.
      const folder = mkdtempSync(join(tmpdir(), 'pdg-e2e-report-'));
      const [download] = await Promise.all([till.page.waitForEvent('download'), till.testId('download-journal').click()]);
      assert.equal(download.suggestedFilename(), 'till-T-01.journal');
      const journal = join(folder, download.suggestedFilename());
      await download.saveAs(journal);
      const lines = readFileSync(journal, 'utf8').trimEnd().split('\n');
      assert.ok(lines.length >= 6, `a journal of the session (${lines.length} lines)`);

      const tz = Intl.DateTimeFormat().resolvedOptions().timeZone;
      const json = await cli('journal', 'report', '--journal', journal, '--json', '--tz', tz);
      assert.equal(json.code, 0, json.stderr);
      const summary = JSON.parse(json.stdout) as JournalSummary;
      assert.equal(summary.decisions.byVerdict.prompt, 1);
      assert.equal(summary.decisions.byVerdict.block, 1);
      assert.deepEqual(
        summary.overrides.list.map((o) => [o.supervisor, o.codes]),
        [
          [null, ['DUPLICATE_CHARGE']],
          ['SUP-01', ['UNKNOWN_OUTCOME']],
        ],
      );
      assert.equal(summary.unknowns.length, 1);
      assert.equal(summary.unknowns[0]?.resolvedBy, 'recovery');
      assert.ok((summary.unknowns[0]?.resolvedAfterMs ?? -1) >= 900, 'resolved about recoverAfter after it became unknown');

      const html = join(folder, 'report.html');
      const written = await cli('journal', 'report', '--journal', journal, '--html', html, '--tz', tz, '--currency', 'USD');
      assert.equal(written.code, 0, written.stderr);

      const page = await context.newPage();
      const blocked: string[] = [];
      page.on('request', (request) => {
        if (!request.url().startsWith('file:')) blocked.push(request.url());
      });
      await page.goto(pathToFileURL(html).href);
      assert.ok((await page.locator('#chart svg rect.bar-prompt').count()) >= 1, 'the chart has bars');
      // One prompt and one block, in the one or two hours the session took.
      assert.ok((await page.locator('#chart svg rect.bar-prompt:not([height="0.0"])').count()) >= 1, 'an hour with a prompt');
      assert.ok((await page.locator('#chart svg rect.bar-block:not([height="0.0"])').count()) >= 1, 'an hour with a block');
      const overrides = page.locator('#overrides');
      assert.match((await overrides.textContent()) ?? '', /confirmed at the till/);
      assert.match((await overrides.textContent()) ?? '', /SUP-01/);
      // Shown as text, never as markup.
      assert.ok((await overrides.textContent())?.includes(HOSTILE_REASON), 'the reason is shown as typed');
      assert.equal(await overrides.locator('b').count(), 0);
      assert.match((await page.locator('#unknowns').textContent()) ?? '', /recovery/);
      assert.deepEqual(blocked, [], 'the page loads nothing');

      for (const width of [1200, 390]) {
        await page.setViewportSize({ width, height: 900 });
        assert.deepEqual(await overflow(page), [], `nothing wider than a ${width} px window`);
      }
      await page.setViewportSize({ width: 1100, height: 900 });
      await mkdir(DOCS_IMAGES, { recursive: true });
      await page.screenshot({ path: SCREENSHOT, fullPage: true });
      await screenshot(page, 'journal-report');
    },
  },
];
