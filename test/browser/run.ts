/**
 * Real-browser tests of `indexedDbStore` in Debian Chromium (issue 4).
 *
 *   npm run test:browser        # tsx test/browser/run.ts
 *
 * Bundles test/browser/page.ts with esbuild (from the sources: no build
 * needed), serves it from a Node http server on 127.0.0.1, and drives
 * /usr/bin/chromium (or $CHROMIUM) with playwright-core: no browser download.
 * The insecure-origin checks load the same page as http://pos-till.test:<port>,
 * a made-up host that Chromium's --host-resolver-rules maps to 127.0.0.1, where
 * the page is not a secure context and `crypto.subtle` does not exist.
 *
 * Prints one line per check and a closing `N passed, N failed`; exits 1 on any failure.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { launchChromium } from '../e2e/harness.js';
import type { DecisionSummary, HistoryRecord, OpenOptions } from './page.js';

const INSECURE_HOST = 'pos-till.test';
const CHECK_TIMEOUT_MS = 30_000;
const RACE_ROUNDS = 8;
const BEGINS_PER_PAGE = 5;
const SALE = { amount: 1250, currency: 'CNY', card: { pan: '6222 0202 0011 2233 446' } };

const PAGE_HTML = '<!doctype html><meta charset="utf-8"><title>pos-duplicate-guard browser test</title><script src="/page.js"></script>';

async function bundlePage(): Promise<string> {
  const result = await build({
    entryPoints: [fileURLToPath(new URL('./page.ts', import.meta.url))],
    bundle: true,
    format: 'iife',
    platform: 'browser',
    target: 'chrome100',
    write: false,
    logLevel: 'silent',
  });
  const [output] = result.outputFiles;
  if (!output) throw new Error('esbuild produced no output');
  return output.text;
}

async function serve(script: string): Promise<Server> {
  const server = createServer((request, response) => {
    const path = new URL(request.url ?? '/', 'http://localhost').pathname;
    if (path === '/') response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(PAGE_HTML);
    else if (path === '/page.js') response.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8' }).end(script);
    else response.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
}

// ── what the checks do ───────────────────────────────────────────────────

/** Page errors fail the check that caused them. */
const pageErrors: string[] = [];

async function openPage(context: BrowserContext, origin: string): Promise<Page> {
  const page = await context.newPage();
  page.on('pageerror', (error) => pageErrors.push(`${origin}: ${error.message}`));
  await page.goto(`${origin}/`);
  await page.waitForFunction(() => window.harness !== undefined);
  return page;
}

function openGuard(page: Page, db: string, options: OpenOptions = {}) {
  return page.evaluate(([name, o]) => window.harness.open(name, o), [db, options] as const);
}

/** Runs `body` with `count` pages (tabs) of one origin in a fresh context. */
async function withTabs<T>(browser: Browser, origin: string, count: number, body: (pages: Page[]) => Promise<T>): Promise<T> {
  const context = await browser.newContext();
  try {
    const pages: Page[] = [];
    for (let i = 0; i < count; i++) pages.push(await openPage(context, origin));
    return await body(pages);
  } finally {
    await context.close();
  }
}

const begin = (page: Page, sale: typeof SALE) => page.evaluate((s) => window.harness.begin(s), sale);
const settle = (page: Page, id: string, status: 'approved' | 'declined' | 'unknown' | 'cancelled') =>
  page.evaluate(([i, st]) => window.harness.settle(i, st), [id, status] as const);
const resume = (page: Page, id: string) => page.evaluate((i) => window.harness.resume(i), id);
const override = (page: Page, supervisor: boolean) => page.evaluate((s) => window.harness.override(s), supervisor);
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Issue 11 item 1: `resume` reserves through the same claim as `begin`. */
async function resumeAcrossTabs(browser: Browser, origin: string): Promise<string> {
  return withTabs(browser, origin, 3, async ([a, b, c]) => {
    const db = 'pdg-resume';
    await openGuard(a!, db, { authorize: true });
    const x = await begin(a!, SALE);
    await settle(a!, x.attemptId as string, 'unknown');
    // Tab B opens before the override and hears nothing of it (no BroadcastChannel): only the claim can tell it.
    await openGuard(b!, db, { noBroadcast: true });
    const blocked = await begin(a!, SALE);
    check(blocked.codes.includes('UNKNOWN_OUTCOME'), `retry should block UNKNOWN_OUTCOME, got ${describe(blocked)}`);
    const y = await override(a!, true);
    check(y.verdict === 'allow', `the supervisor override should allow, got ${describe(y)}`);
    const inB = await resume(b!, x.attemptId as string);
    check(inB === 'GuardStateError IN_FLIGHT', `resume in tab B while y is charged should be IN_FLIGHT, got ${inB}`);
    await openGuard(c!, db);
    const inC = await resume(c!, x.attemptId as string);
    check(inC.startsWith('GuardStateError'), `resume in a tab opened after should be refused, got ${inC}`);
    const stored = (await a!.evaluate(([n, i]) => window.harness.stored(n, i), [db, x.attemptId as string] as const)) as { status: string };
    check(stored.status === 'unknown', `x should stay unknown in the database, got ${stored.status}`);
    return `tab B (no BroadcastChannel): ${inB}; tab C: ${inC}`;
  });
}

/**
 * atk32: "clear site data" (CDP `Storage.clearDataForOrigin`, what DevTools and
 * the browser's settings do) under live tabs: every connection is closed, and
 * an open issued meanwhile fails with AbortError. Each tab opens again until it
 * can, and reports the wipe within seconds, without a call of its own; a tab
 * opened then is blocked from the sale another is charging.
 */
async function siteDataCleared(browser: Browser, origin: string): Promise<string> {
  return withTabs(browser, origin, 3, async ([a, b, c]) => {
    const db = 'pdg-cleared';
    await openGuard(a!, db, { noBroadcast: true });
    await openGuard(b!, db, { noBroadcast: true });
    const first = await begin(b!, SALE);
    check(first.verdict === 'allow', `the first begin should allow, got ${describe(first)}`);
    await (await a!.context().newCDPSession(a!)).send('Storage.clearDataForOrigin', { origin, storageTypes: 'indexeddb' });
    await pause(2000);
    const heard = await b!.evaluate(() => window.harness.storageErrors());
    check(heard.includes('WIPED'), `tab B should report WIPED without a call of its own, heard ${JSON.stringify(heard)}`);
    await openGuard(c!, db, { noBroadcast: true });
    const again = await begin(c!, SALE);
    check(again.verdict === 'block', `a tab opened after should be blocked, got ${describe(again)}`);
    return `tab B heard ${heard.join(', ')}; tab C: ${describe(again)}`;
  });
}

/** Issue 11 item 2: a posted record is a hint to re-read IndexedDB, never the truth. */
async function forgedBroadcast(browser: Browser, origin: string): Promise<string> {
  return withTabs(browser, origin, 2, async ([a, evil]) => {
    const db = 'pdg-forged';
    await openGuard(a!, db);
    const sold = await begin(a!, SALE);
    await settle(a!, sold.attemptId as string, 'approved');
    const record = (await a!.evaluate(([n, i]) => window.harness.stored(n, i), [db, sold.attemptId as string] as const)) as Record<
      string,
      unknown
    >;
    const charging = await begin(a!, { ...SALE, amount: 777 });
    const inFlight = (await a!.evaluate(([n, i]) => window.harness.stored(n, i), [db, charging.attemptId as string] as const)) as Record<
      string,
      unknown
    >;
    const later = Date.now() + 60_000;
    for (const message of [
      { from: 'evil', record: { ...record, status: 'voided', updatedAt: later } },
      { from: 'evil', unpersisted: { ...record, status: 'voided', updatedAt: later } },
      { from: 'evil', record: { ...inFlight, status: 'approved', approvedAt: later, updatedAt: later } },
      { from: 'evil', unpersisted: { ...inFlight, status: 'approved', approvedAt: later, updatedAt: later } },
      { from: 'evil', id: sold.attemptId },
    ]) {
      await evil!.evaluate(([n, m]) => window.harness.post(n, m), [db, message] as const);
    }
    await pause(300);
    const again = await begin(a!, SALE);
    check(
      again.verdict === 'prompt' && again.codes.includes('DUPLICATE_CHARGE'),
      `after a forged void the approval must still prompt, got ${describe(again)}`,
    );
    const declined = await settle(a!, charging.attemptId as string, 'declined');
    check(declined === 'declined', `the processor's real decline must be recordable, got ${declined}`);
    return `forged void ignored (${describe(again)}), real decline recorded`;
  });
}

/** Issue 11 item 3: the database deleted under live tabs is written back, whichever tab reopens it first. */
async function databaseDeleted(browser: Browser, origin: string): Promise<string> {
  return withTabs(browser, origin, 4, async ([a, b, other, c]) => {
    const db = 'pdg-wiped';
    await openGuard(a!, db);
    await openGuard(b!, db);
    const charging = await begin(b!, SALE);
    check(charging.verdict === 'allow', `tab B's begin should allow, got ${describe(charging)}`);
    await other!.evaluate((n) => window.harness.deleteDatabase(n), db);
    // Tab A reopens the database first; tab B, which is charging, must still write its attempt back.
    await begin(a!, { ...SALE, amount: 990 });
    let errors: string[] = [];
    for (let i = 0; i < 50 && !errors.includes('WIPED'); i++) {
      await pause(50);
      errors = await b!.evaluate(() => window.harness.storageErrors());
    }
    check(errors.includes('WIPED'), `tab B should report WIPED, got [${errors.join(', ')}]`);
    await pause(200);
    await openGuard(c!, db);
    const retry = await begin(c!, SALE);
    check(retry.verdict === 'block', `a new tab must not allow the sale tab B is charging, got ${describe(retry)}`);
    return `tab B reported [${errors.join(', ')}], new tab ${describe(retry)}`;
  });
}

/** Issue 11 item 4: an attempt held in memory only (write failed) is announced to the other tabs. */
async function memoryOnlyAttempt(browser: Browser, origin: string): Promise<string> {
  return withTabs(browser, origin, 2, async ([a, b]) => {
    const db = 'pdg-memory';
    await openGuard(b!, db);
    await openGuard(a!, db, { failWrites: true, onStorageError: 'allow' });
    const charging = await begin(a!, SALE);
    check(
      charging.verdict === 'allow' && charging.codes.includes('STORAGE_UNAVAILABLE'),
      `tab A should proceed on memory, got ${describe(charging)}`,
    );
    await pause(200);
    const inB = await begin(b!, SALE);
    check(inB.verdict === 'block' && inB.codes.includes('IN_FLIGHT'), `tab B should block IN_FLIGHT, got ${describe(inB)}`);
    return `tab A ${describe(charging)}, tab B ${describe(inB)}`;
  });
}

/** Issue 10 item 4: without BroadcastChannel, another tab's approval comes back from the claim. */
async function noBroadcastChannel(browser: Browser, origin: string): Promise<string> {
  return withTabs(browser, origin, 2, async ([a, b]) => {
    const db = 'pdg-nobc';
    await openGuard(a!, db, { noBroadcast: true });
    await openGuard(b!, db, { noBroadcast: true });
    const sold = await begin(a!, { ...SALE, orderId: 'T-9' } as typeof SALE);
    await settle(a!, sold.attemptId as string, 'approved');
    const again = await begin(b!, SALE);
    check(
      again.verdict === 'prompt' && again.codes.includes('DUPLICATE_CHARGE'),
      `tab B should prompt DUPLICATE_CHARGE, got ${describe(again)}`,
    );
    const order = await begin(b!, { ...SALE, orderId: 'T-9' } as typeof SALE);
    check(order.codes.includes('ORDER_ALREADY_PAID'), `tab B should see the order paid, got ${describe(order)}`);
    return `tab B: ${describe(again)}; same order: ${describe(order)}`;
  });
}

/**
 * Issue 12: a database the previous release wrote (schema 1) is upgraded in
 * place while that release's tab holds it open, and the history methods work
 * on it in real IndexedDB (compound index, cursors that stop early, deleting
 * through an index cursor).
 */
async function historyAfterUpgrade(browser: Browser, origin: string): Promise<string> {
  return withTabs(browser, origin, 2, async ([previous, current]) => {
    const db = 'pdg-upgrade';
    const now = Date.now();
    const old = now - 86_400_000;
    const records: HistoryRecord[] = [
      { id: 'open-old', status: 'unknown', kind: 'sale', updatedAt: old, orderId: 'ORD-1' },
      { id: 'paid-old', status: 'approved', kind: 'sale', updatedAt: old, orderId: 'ORD-1' },
      { id: 'refund-old', status: 'approved', kind: 'refund', updatedAt: old, refundOf: 'paid-old' },
      { id: 'declined-old', status: 'declined', kind: 'sale', updatedAt: old },
      { id: 'declined-new', status: 'declined', kind: 'sale', updatedAt: now },
    ];
    const before = await previous!.evaluate(([n, r]) => window.harness.writeAsPreviousRelease(n, r), [db, records] as const);
    check(before.version === 1, `the previous release's database should be version 1, got ${before.version}`);
    const facts = await current!.evaluate(([n, s, b]) => window.harness.history(n, s, b), [db, now - 600_000, old + 1] as const);
    const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
    check(
      facts.version === 2 && same(facts.indexes, ['state', 'updatedAt']),
      `upgraded to 2 with both indexes, got ${facts.version} [${facts.indexes.join(', ')}]`,
    );
    check(facts.instance === before.instance, `the instance id should survive the upgrade (no wipe), got ${String(facts.instance)}`);
    check(
      same(facts.hot, ['declined-new', 'open-old', 'refund-old']),
      `load({ since }) should hand back the hot records, got [${facts.hot.join(', ')}]`,
    );
    check(facts.got === 'approved', `get should read the old approval, got ${facts.got}`);
    check(same(facts.byOrder, ['open-old', 'paid-old']), `byOrder should read the order's live records, got [${facts.byOrder.join(', ')}]`);
    check(
      facts.pruned === 3 && same(facts.left, ['declined-new', 'open-old']),
      `prune should delete the 3 settled old records, got ${facts.pruned}, left [${facts.left.join(', ')}]`,
    );
    const newer = await current!.evaluate((n) => window.harness.afterNewerRelease(n), db);
    check(
      newer.got === 'unknown' && newer.all === 2,
      `on a database a newer release upgraded (version ${newer.version}) the store should still read, got ${newer.got}, ${newer.all} records`,
    );
    return `version ${before.version} → ${facts.version}, hot [${facts.hot.join(', ')}], byOrder [${facts.byOrder.join(', ')}], pruned ${facts.pruned}; still read at version ${newer.version}`;
  });
}

/** A page begins a charge, is reloaded mid-charge: the attempt is `unknown` and a retry is blocked. */
async function reloadMidCharge(browser: Browser, origin: string): Promise<string> {
  const context = await browser.newContext();
  try {
    const page = await openPage(context, origin);
    await openGuard(page, 'pdg-reload');
    const first = await page.evaluate((sale) => window.harness.begin(sale), SALE);
    check(first.verdict === 'allow' && first.attemptId !== undefined, `first begin should allow, got ${describe(first)}`);
    await page.reload();
    await page.waitForFunction(() => window.harness !== undefined);
    await openGuard(page, 'pdg-reload');
    const status = await page.evaluate((id) => window.harness.status(id), first.attemptId);
    check(status === 'unknown', `after reload attempt ${first.attemptId} should be unknown, got ${status}`);
    const retry = await page.evaluate((sale) => window.harness.begin(sale), SALE);
    check(
      retry.verdict === 'block' && retry.codes.includes('UNKNOWN_OUTCOME'),
      `retry should block UNKNOWN_OUTCOME, got ${describe(retry)}`,
    );
    return `attempt ${first.attemptId} → unknown, retry ${describe(retry)}`;
  } finally {
    await context.close();
  }
}

/** Two pages (tabs of one origin) begin the same sale at the same moment: exactly one reserves it. */
async function twoPagesRace(browser: Browser, origin: string): Promise<string> {
  const context = await browser.newContext();
  try {
    const pages = [await openPage(context, origin), await openPage(context, origin)];
    for (const page of pages) await openGuard(page, 'pdg-race');
    const wins = [0, 0];
    for (let round = 0; round < RACE_ROUNDS; round++) {
      const sale = { ...SALE, amount: 1000 + round };
      const at = Date.now() + 200;
      const results = await Promise.all(
        pages.map((page) => page.evaluate(([s, t, n]) => window.harness.raceAt(s, t, n), [sale, at, BEGINS_PER_PAGE] as const)),
      );
      const allowed = results.map((decisions) => decisions.filter((d) => d.verdict === 'allow').length);
      const total = allowed.reduce((a, b) => a + b, 0);
      check(total === 1, `round ${round + 1}: ${total} reservations of one sale across two pages (per page: ${allowed.join(', ')})`);
      const losers = results.flat().filter((d) => d.verdict !== 'allow');
      check(
        losers.every((d) => d.verdict === 'block' && d.codes.includes('IN_FLIGHT')),
        `round ${round + 1}: every other begin should block IN_FLIGHT`,
      );
      wins[allowed.indexOf(1)]!++;
      // Afterwards both pages know the winner.
      for (const page of pages) {
        const later = await page.evaluate((s) => window.harness.begin(s), sale);
        check(
          later.verdict === 'block' && later.codes.includes('IN_FLIGHT'),
          `round ${round + 1}: a later begin should block IN_FLIGHT, got ${describe(later)}`,
        );
      }
    }
    return `${RACE_ROUNDS} rounds × ${pages.length * BEGINS_PER_PAGE} begins, one reservation each (page A won ${wins[0]}, page B ${wins[1]})`;
  } finally {
    await context.close();
  }
}

async function insecureOrigin(browser: Browser, origin: string): Promise<string> {
  const context = await browser.newContext();
  try {
    const page = await openPage(context, origin);
    const facts = await openGuard(page, 'pdg-facts');
    check(!facts.secure, 'window.isSecureContext should be false');
    check(!facts.subtle, 'crypto.subtle should be undefined');
    check(facts.persistent === undefined, `persistent() should be undefined without navigator.storage, got ${facts.persistent}`);
    const decision = await page.evaluate((sale) => window.harness.begin(sale), SALE);
    check(decision.verdict === 'allow', `begin should allow (fingerprints via @noble/hashes), got ${describe(decision)}`);
    return `isSecureContext=false, crypto.subtle absent, persistent()=undefined, begin ${decision.verdict}`;
  } finally {
    await context.close();
  }
}

async function secureOrigin(browser: Browser, origin: string): Promise<string> {
  const context = await browser.newContext();
  try {
    const facts = await openGuard(await openPage(context, origin), 'pdg-facts');
    check(facts.secure && facts.subtle, 'localhost should be a secure context with crypto.subtle (else the insecure check proves nothing)');
    check(typeof facts.persistent === 'boolean', `persistent() should answer a boolean, got ${facts.persistent}`);
    return `isSecureContext=true, persistent()=${facts.persistent}`;
  } finally {
    await context.close();
  }
}

// ── runner ───────────────────────────────────────────────────────────────

function check(condition: boolean, message: string): asserts condition {
  if (!condition) throw new Error(message);
}

function describe(decision: DecisionSummary): string {
  return `${decision.verdict}${decision.codes.length ? ` [${decision.codes.join(', ')}]` : ''}`;
}

function withTimeout<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

async function main(): Promise<number> {
  const script = await bundlePage();
  const server = await serve(script);
  const { port } = server.address() as AddressInfo;
  const local = `http://127.0.0.1:${port}`;
  const insecure = `http://${INSECURE_HOST}:${port}`;
  let browser: Browser | undefined;
  let passed = 0;
  let failed = 0;
  try {
    browser = await launchChromium([`--host-resolver-rules=MAP ${INSECURE_HOST} 127.0.0.1`]);
    console.log(`Chromium ${browser.version()} · page at ${local} and ${insecure}`);
    const open = browser;
    const checks: [string, () => Promise<string>][] = [
      ['localhost is a secure context and persist() answers', () => secureOrigin(open, local)],
      ['localhost: a page reloaded mid-charge reports the attempt unknown and blocks the retry', () => reloadMidCharge(open, local)],
      ['localhost: two pages racing one sale reserve it exactly once', () => twoPagesRace(open, local)],
      [`insecure http://${INSECURE_HOST}: no crypto.subtle, the guard still works`, () => insecureOrigin(open, insecure)],
      [`insecure http://${INSECURE_HOST}: a page reloaded mid-charge reports the attempt unknown`, () => reloadMidCharge(open, insecure)],
      [`insecure http://${INSECURE_HOST}: two pages racing one sale reserve it exactly once`, () => twoPagesRace(open, insecure)],
      ['tabs: resume reserves through the claim, refused while another tab charges the sale', () => resumeAcrossTabs(open, local)],
      ['tabs: a forged broadcast is a hint to re-read IndexedDB, never adopted', () => forgedBroadcast(open, local)],
      ['tabs: a database deleted under live tabs is written back by each, whichever reopens it first', () => databaseDeleted(open, local)],
      ['tabs: an attempt held in memory only is announced, the other tab blocks', () => memoryOnlyAttempt(open, local)],
      [
        'tabs: site data cleared under live tabs: each reopens, reports WIPED at once, and a new tab is blocked',
        () => siteDataCleared(open, local),
      ],
      [
        `insecure http://${INSECURE_HOST}: without BroadcastChannel the claim hands back another tab's approval`,
        () => noBroadcastChannel(open, insecure),
      ],
      [
        "history: a previous release's database upgraded under its open tab; load({ since }), get, byOrder, prune",
        () => historyAfterUpgrade(open, local),
      ],
    ];
    for (const [name, run] of checks) {
      const started = Date.now();
      pageErrors.length = 0;
      try {
        const detail = await withTimeout(run(), CHECK_TIMEOUT_MS);
        check(pageErrors.length === 0, `page errors: ${pageErrors.join('; ')}`);
        passed++;
        console.log(`✓ ${name} (${Date.now() - started} ms): ${detail}`);
      } catch (error) {
        failed++;
        console.log(`✗ ${name} (${Date.now() - started} ms): ${error instanceof Error ? error.message : String(error)}`);
      }
    }
  } catch (error) {
    failed++;
    console.log(`✗ could not run the browser tests: ${error instanceof Error ? error.message : String(error)}`);
  } finally {
    await browser?.close().catch(() => undefined);
    server.close();
  }
  console.log(`${passed} passed, ${failed} failed`);
  return failed === 0 ? 0 : 1;
}

process.exitCode = await main();
