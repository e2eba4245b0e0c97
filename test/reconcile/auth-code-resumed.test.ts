/**
 * An auth code's reach for a resumed attempt: back to its first try, as
 * 5c8380c wants, but a day after each try and no more (31a3625): not the
 * whole span between a first try and a resume days later.
 */
import { expect, test } from 'vitest';
import { reconcile, type Finding } from '../../src/reconcile.js';
import { DAY, HOUR, MINUTE, SECOND } from '../helpers/guard.js';
import { chargeOf, till, transaction } from '../helpers/till.js';

const brief = (findings: Finding[]) => findings.map((f) => [f.code, f.attempts, f.transactions, f.match]);

test("an attempt resumed three days after its first try: another customer's charge with its code in between is not its", async () => {
  const t = await till();
  const monday = await t.sale(1250, 'unknown', { authCode: 'A1B2C3', last4: '4242' });
  // Resumed Thursday, unknown again (its second request timed out too).
  const thursday = { ...monday, pendingSince: monday.createdAt + 3 * DAY, updatedAt: monday.createdAt + 3 * DAY + 30 * SECOND };
  // Tuesday evening, another customer's charge, same 6 characters, sent without a card or terminal.
  const tuesday = transaction({ type: 'charge', amount: 3300, authCode: 'A1B2C3', at: monday.createdAt + DAY + 10 * HOUR });
  const report = reconcile([thursday], [tuesday], { now: thursday.pendingSince + 5 * MINUTE });
  expect(brief(report.findings)).toEqual([
    ['UNKNOWN_NOT_CHARGED', [monday.id], [], 'exact'],
    ['UNMATCHED_CHARGE', [], [tuesday.id], 'exact'],
  ]);
});

test('a resumed attempt still reaches its first try, and a day after its resume', async () => {
  const t = await till();
  const monday = await t.sale(1250, 'unknown', { authCode: 'A1B2C3', last4: '4242' });
  const thursday = { ...monday, pendingSince: monday.createdAt + 3 * DAY, updatedAt: monday.createdAt + 3 * DAY + 30 * SECOND };
  const { reference: _a, ...first } = chargeOf(monday, { authCode: 'A1B2C3', at: monday.createdAt + 5 * SECOND });
  expect(brief(reconcile([thursday], [first], { now: thursday.pendingSince + 5 * MINUTE }).findings)).toEqual([
    ['UNKNOWN_WAS_CHARGED', [monday.id], [first.id], 'exact'],
  ]);
  const { reference: _b, ...later } = chargeOf(monday, { authCode: 'A1B2C3', at: thursday.pendingSince + 10 * HOUR });
  expect(brief(reconcile([thursday], [later], { now: thursday.pendingSince + 11 * HOUR }).findings)).toEqual([
    ['UNKNOWN_WAS_CHARGED', [monday.id], [later.id], 'exact'],
  ]);
});
