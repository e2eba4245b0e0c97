/**
 * The field failures from SPEC §1, played on the web POS example in real
 * Chromium against the example's simulated processor. "Charges" are counted
 * at the processor, the only place where money moves.
 */
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import type { LedgerEntry } from '../../examples/web-pos/processor.js';
import type { E2eTest } from './harness.js';
import { Till } from './till.js';

/** Long enough for a duplicate request to have reached the processor, had one been sent. */
const SETTLE_MS = 600;
/** A short processor wait keeps the timeout tests quick; the `slow` mode (3 s) is not used with it. */
const QUICK_TIMEOUT = '?timeout=1500';

async function until(condition: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

function approved(ledger: LedgerEntry[]): LedgerEntry[] {
  return ledger.filter((entry) => entry.status === 'approved');
}

export const tests: E2eTest[] = [
  {
    name: 'double-click on Pay charges the card exactly once',
    async run({ server, context, screenshot }) {
      const till = await Till.open(context);
      await till.ringUp(1250, 'visa');
      await screenshot(till.page, 'till-ready');
      await till.pay.dblclick();
      await till.waitForNotice('approved');
      await sleep(SETTLE_MS);
      assert.equal(server.processor.ledger().length, 1, 'one request reached the processor');
      await till.waitForAttempts(['approved']);
      await screenshot(till.page, 'approved');
    },
  },
  {
    name: 'two taps in one event-loop turn: the second is IN_FLIGHT, Pay shows "Already processing"',
    async run({ server, context, screenshot }) {
      const till = await Till.open(context);
      await till.setMode('slow');
      await till.ringUp(2599, 'unionpay');
      // Both clicks run before any await in the page can resolve: only the
      // guard's synchronous reservation can stop the second.
      await till.tapPay(2);
      await till.waitForNotice('in-flight');
      assert.equal(await till.pay.getAttribute('data-state'), 'in-flight');
      assert.equal(await till.pay.isDisabled(), true, 'Pay is disabled while the sale is in flight');
      assert.match((await till.pay.textContent()) ?? '', /Already processing/);
      assert.match((await till.notice.textContent()) ?? '', /already being processed/, "the guard's own IN_FLIGHT message is shown");
      await screenshot(till.page, 'in-flight');
      await till.waitForAttempts(['approved'], 10_000);
      await till.page.waitForSelector('[data-testid="pay"][data-state="ready"]');
      await sleep(SETTLE_MS);
      assert.equal(server.processor.ledger().length, 1);
    },
  },
  {
    name: 'timeout: a retry is blocked; "retry with the same key" is deduplicated by the processor',
    async run({ server, context, screenshot }) {
      const till = await Till.open(context, QUICK_TIMEOUT);
      await till.setMode('timeout');
      await till.ringUp(990, 'visa');
      await till.pay.click();
      await till.waitForNotice('unknown');
      await till.waitForAttempts(['unknown']);
      const [lost] = await till.attempts();
      assert.ok(lost);
      const ledger = server.processor.ledger();
      assert.equal(ledger.length, 1, 'the lost answer was for a real charge');
      assert.equal(ledger[0]?.idempotencyKey, lost.key, 'the processor got the attempt idempotency key');
      await screenshot(till.page, 'timeout-unknown');

      // The cashier presses Pay again: blocked, nothing sent.
      await till.pay.click();
      const dialog = till.testId('block-dialog');
      await dialog.waitFor();
      assert.equal(await dialog.locator('[data-code="UNKNOWN_OUTCOME"]').count(), 1);
      assert.match((await dialog.textContent()) ?? '', /unknown outcome and may have gone through/);
      await screenshot(till.page, 'unknown-outcome-block');
      assert.equal(server.processor.ledger().length, 1, 'the blocked retry sent nothing');

      // The network is back; the cashier retries with the same key.
      server.processor.mode = 'approve';
      await till.testId('block-retry').click();
      await till.waitForNotice('approved');
      await till.waitForAttempts(['approved']);
      const [entry, ...others] = server.processor.ledger();
      assert.equal(others.length, 0, 'still one charge at the processor');
      assert.equal(entry?.idempotencyKey, lost.key, 'the retry used the same key');
      assert.equal(entry?.requests, 2, 'the processor saw the retry and deduplicated it');
      const [settled] = await till.attempts();
      assert.equal(settled?.id, lost.id, 'the same attempt was resumed, no new one begun');
      await till.page.waitForSelector('[data-testid="ledger-row"][data-requests="2"]');
      await screenshot(till.page, 'retried-same-key');
    },
  },
  {
    name: 'reload in the middle of a slow charge: the attempt is unknown after reload and the sale is blocked',
    async run({ server, context, screenshot }) {
      const till = await Till.open(context);
      await till.setMode('slow');
      await till.ringUp(4200, 'mastercard');
      await till.pay.click();
      await till.waitForNotice('processing');
      await until(() => server.processor.ledger().length === 1, 'the charge to reach the processor');
      await till.reload(); // the page goes away while the processor is still working

      await till.waitForNotice('interrupted');
      await till.waitForAttempts(['unknown']);
      assert.equal(await till.testId('reconcile-banner').isVisible(), true);
      assert.equal(await till.testId('reconcile').count(), 1, 'the unknown attempt offers "Reconcile"');
      await screenshot(till.page, 'reload-unknown');

      await till.ringUp(4200, 'mastercard');
      await till.pay.click();
      const dialog = till.testId('block-dialog');
      await dialog.waitFor();
      assert.equal(await dialog.locator('[data-code="UNKNOWN_OUTCOME"]').count(), 1);
      assert.equal(server.processor.ledger().length, 1, 'the new Pay sent nothing');

      // "Check with the processor": it did charge the card while the page was gone.
      await till.testId('block-check').click();
      await till.waitForNotice('reconciled');
      await till.waitForAttempts(['approved']);
      assert.match((await till.notice.textContent()) ?? '', /approved it/);

      // Now the same sale is a repeat of an approved one: a prompt, not a second charge.
      await till.pay.click();
      await till.testId('prompt-dialog').waitFor();
      await till.testId('prompt-cancel').click();
      await till.waitForNotice('not-confirmed');
      assert.equal(server.processor.ledger().length, 1);
    },
  },
  {
    name: 'two tabs press Pay on the same sale at once: one charge',
    async run({ server, context, screenshot }) {
      const [first, second] = await Promise.all([Till.open(context), Till.open(context)]);
      server.processor.mode = 'slow';
      await first.ringUp(1500, 'visa');
      await second.ringUp(1500, 'visa');
      await Promise.all([first.tapPay(), second.tapPay()]);
      await Promise.all(
        [first, second].map((till) =>
          till.page.waitForSelector('[data-testid="notice"][data-state]:not([data-state="processing"])', { timeout: 10_000 }),
        ),
      );
      const states = [await first.noticeState(), await second.noticeState()].sort();
      // The tab whose claim lost sees the other tab's pending attempt.
      assert.ok(states.includes('in-flight'), `one tab is told "Already processing", got ${states.join(', ')}`);
      await screenshot(states[0] === 'in-flight' ? first.page : second.page, 'two-tabs-in-flight');
      await Promise.all([first, second].map((till) => till.waitForAttempts(['approved'], 10_000)));
      await sleep(SETTLE_MS);
      assert.equal(server.processor.ledger().length, 1, 'one request reached the processor');
      assert.equal(approved(server.processor.ledger()).length, 1);
    },
  },
  {
    name: 'declined (insufficient funds): the retry is allowed and charges',
    async run({ server, context, screenshot }) {
      const till = await Till.open(context);
      await till.setMode('decline');
      await till.ringUp(3000, 'unionpay');
      await till.pay.click();
      await till.waitForNotice('declined');
      assert.match((await till.notice.textContent()) ?? '', /Insufficient funds/);
      await screenshot(till.page, 'declined');

      await till.setMode('approve');
      await till.pay.click();
      await till.waitForNotice('approved');
      assert.equal(await till.page.locator('dialog[open]').count(), 0, 'no prompt or block for a retry after a decline');
      await till.waitForAttempts(['approved', 'declined']);
      const ledger = server.processor.ledger();
      assert.deepEqual(
        ledger.map((entry) => entry.status),
        ['declined', 'approved'],
      );
      assert.notEqual(ledger[0]?.idempotencyKey, ledger[1]?.idempotencyKey, 'the retry is a new attempt with a new key');
    },
  },
  {
    name: 'repeat purchase: a prompt shows the earlier sale; cancel charges nothing, "Charge again" charges',
    async run({ server, context, screenshot }) {
      const till = await Till.open(context);
      await till.ringUp(850, 'mastercard');
      await till.pay.click();
      await till.waitForNotice('approved');

      await till.pay.click();
      const dialog = till.testId('prompt-dialog');
      await dialog.waitFor();
      assert.equal(await dialog.locator('[data-code="DUPLICATE_CHARGE"]').count(), 1);
      assert.equal(await dialog.getByTestId('earlier-card').textContent(), '•••• 4444');
      assert.match((await dialog.textContent()) ?? '', /\$8\.50/);
      assert.match((await dialog.getByTestId('earlier-time').textContent()) ?? '', /\d{1,2}:\d{2}:\d{2}/);
      await screenshot(till.page, 'duplicate-prompt');
      await till.testId('prompt-cancel').click();
      await till.waitForNotice('not-confirmed');
      assert.equal(server.processor.ledger().length, 1);

      await till.pay.click();
      await till.testId('prompt-confirm').click();
      await till.waitForNotice('approved');
      await till.waitForAttempts(['approved', 'approved']);
      const ledger = approved(server.processor.ledger());
      assert.equal(ledger.length, 2, 'the confirmed repeat is a second charge');
      assert.notEqual(ledger[0]?.idempotencyKey, ledger[1]?.idempotencyKey);
    },
  },
  {
    name: 'supervisor override of UNKNOWN_OUTCOME needs the PIN; a wrong PIN changes nothing',
    async run({ server, context, screenshot }) {
      const till = await Till.open(context, QUICK_TIMEOUT);
      await till.setMode('timeout');
      await till.ringUp(700, 'wallet');
      await till.pay.click();
      await till.waitForNotice('unknown');
      server.processor.mode = 'approve';

      const overrideWith = async (pins: string[]) => {
        await till.pay.click();
        await till.testId('block-override').click();
        await till.testId('pin-dialog').waitFor();
        for (const pin of pins) {
          await till.testId('pin-input').fill(pin);
          await till.testId('pin-submit').click();
        }
      };
      await overrideWith(['0000', '1111', '9999']);
      await till.waitForNotice('override-refused');
      assert.equal(server.processor.ledger().length, 1, 'a refused override charges nothing');

      await overrideWith(['0000']);
      assert.match((await till.testId('pin-error').textContent()) ?? '', /Wrong PIN/);
      await screenshot(till.page, 'supervisor-pin');
      await till.testId('pin-input').fill('2468');
      await till.testId('pin-submit').click();
      await till.waitForNotice('approved');
      await till.waitForAttempts(['approved', 'unknown']);
      assert.equal(server.processor.ledger().length, 2, 'the authorised override is a new charge');
    },
  },
  {
    name: '中文: the guard recreated with locale zh-CN speaks Chinese in its prompt',
    async run({ server, context, screenshot }) {
      const till = await Till.open(context);
      await till.testId('lang-zh').click();
      await till.page.waitForSelector('html[lang="zh-CN"]');
      await till.ringUp(1250, 'unionpay');
      await till.pay.click();
      await till.waitForNotice('approved');
      assert.match((await till.notice.textContent()) ?? '', /已批准/);

      await till.pay.click();
      const dialog = till.testId('prompt-dialog');
      await dialog.waitFor();
      const text = (await dialog.locator('[data-code="DUPLICATE_CHARGE"]').textContent()) ?? '';
      assert.match(text, /尾号 3446 的卡/);
      assert.match(text, /已成功扣款/);
      await screenshot(till.page, 'zh-duplicate-prompt');
      await till.testId('prompt-cancel').click();
      assert.equal(server.processor.ledger().length, 1);

      // The choice survives a reload, and so does the history.
      await till.reload();
      await till.page.waitForSelector('html[lang="zh-CN"]');
      await till.waitForAttempts(['approved']);
    },
  },
];
