/**
 * How far an auth code reaches (SPEC §11): a match by auth code settles an
 * `unknown` attempt approved, so it must be this attempt's charge, not a
 * repeat of its 6 characters on another day, card or terminal.
 */
import { describe, expect, test } from 'vitest';
import { reconcile, type Finding } from '../../src/reconcile.js';
import { DAY, HOUR, MINUTE, SECOND } from '../helpers/guard.js';
import { chargeOf, till, transaction } from '../helpers/till.js';

const brief = (findings: Finding[]) => findings.map((f) => [f.code, f.attempts, f.transactions, f.match]);

describe('an auth code matches a charge near the attempt, on its card and terminal', () => {
  test("a charge with the attempt's auth code four days later is someone else's: not charged, not settled approved", async () => {
    const t = await till();
    const monday = await t.sale(1250, 'unknown', { authCode: 'A1B2C3', last4: '4242' });
    // Friday, another customer's charge: 6-character auth codes repeat across days and cards.
    const friday = transaction({ type: 'charge', amount: 3300, authCode: 'A1B2C3', at: monday.pendingSince + 4 * DAY });
    expect(brief(reconcile(await t.attempts(), [friday]).findings)).toEqual([
      ['UNKNOWN_NOT_CHARGED', [monday.id], [], 'exact'],
      ['UNMATCHED_CHARGE', [], [friday.id], 'exact'],
    ]);
    // Nor a charge from before the till asked for it (beyond the clocks' tolerance).
    const before = { ...friday, at: monday.pendingSince - HOUR };
    expect(brief(reconcile(await t.attempts(), [before], { now: monday.pendingSince + 5 * MINUTE }).findings)).toEqual([
      ['UNKNOWN_NOT_CHARGED', [monday.id], [], 'exact'],
      ['UNMATCHED_CHARGE', [], [before.id], 'exact'],
    ]);
  });

  test("an approved attempt's auth code never takes, days later, the charge of an unknown attempt (which would then settle cancelled)", async () => {
    const t = await till();
    const monday = await t.sale(800, 'approved', { authCode: '123456', last4: '1111' });
    t.clock.advance(4 * DAY);
    const friday = await t.sale(1250, 'unknown', { last4: '4242' });
    // Friday's charge, sent without the till's reference, happens to carry Monday's auth code.
    const { reference: _r, last4: _l, ...charge } = chargeOf(friday, { authCode: '123456' });
    // A week's attempts against a week's file (the guard's own history may have let Monday's go by Friday).
    const report = reconcile([monday, friday], [charge], { now: friday.pendingSince + 5 * MINUTE });
    expect(brief(report.findings)).toEqual([
      ['UNKNOWN_WAS_CHARGED', [friday.id], [charge.id], 'probable'],
      ['APPROVED_NOT_CHARGED', [monday.id], [], 'exact'],
    ]);
  });

  test('an auth code on another card, or another terminal, is not a match', async () => {
    const t = await till({ terminalId: 'T-01' });
    const a = await t.sale(1250, 'unknown', { authCode: 'A1B2C3', last4: '4242' });
    const { reference: _o, ...otherCard } = chargeOf(a, { authCode: 'A1B2C3', last4: '0005' });
    const now = { now: a.pendingSince + 5 * MINUTE };
    expect(brief(reconcile(await t.attempts(), [otherCard], now).findings)).toEqual([
      ['UNKNOWN_NOT_CHARGED', [a.id], [], 'exact'],
      ['UNMATCHED_CHARGE', [], [otherCard.id], 'exact'],
    ]);
    const { reference: _t, ...otherTerminal } = chargeOf(a, { authCode: 'A1B2C3', amount: 990, terminalId: 'T-07' });
    expect(brief(reconcile(await t.attempts(), [otherTerminal], now).findings)).toEqual([
      ['UNKNOWN_NOT_CHARGED', [a.id], [], 'exact'],
      ['UNMATCHED_CHARGE', [], [otherTerminal.id], 'exact'],
    ]);
  });

  test('within a day, on its card and terminal, an auth code still matches exactly (a batch captured at closing), amounts may differ', async () => {
    const t = await till({ terminalId: 'T-01' });
    const a = await t.sale(1250, 'unknown', { authCode: 'A1B2C3', last4: '4242' });
    const { reference: _, ...evening } = chargeOf(a, {
      authCode: 'A1B2C3',
      terminalId: 'T-01',
      amount: 1300,
      at: a.pendingSince + 10 * HOUR,
    });
    expect(brief(reconcile(await t.attempts(), [evening]).findings)).toEqual([
      ['UNKNOWN_WAS_CHARGED', [a.id], [evening.id], 'exact'],
      ['AMOUNT_MISMATCH', [a.id], [evening.id], 'exact'],
    ]);
    // Of two with its code, the nearest in time; a charge a few seconds before pendingSince (clocks differ) is still in reach.
    const { reference: _n, ...near } = chargeOf(a, { authCode: 'A1B2C3', at: a.pendingSince - 20 * SECOND });
    expect(brief(reconcile(await t.attempts(), [evening, near]).findings)[0]).toEqual(['UNKNOWN_WAS_CHARGED', [a.id], [near.id], 'exact']);
  });
});

test("a charge naming an attempt by reference is that attempt's, even when an older attempt's auth code is on it", async () => {
  const t = await till();
  // x: approved at 10:00 with auth code 123456; its own charge is not in this file.
  const x = await t.sale(800, 'approved', { authCode: '123456', gapMs: 5 * MINUTE });
  // y: unknown at 10:05; its charge names it by reference and, by chance, carries the same 6 characters.
  const y = await t.sale(1250, 'unknown');
  const { last4: _, ...charge } = chargeOf(y, { authCode: '123456' });
  const report = reconcile(await t.attempts(), [charge], { now: y.pendingSince + 5 * MINUTE });
  // Not: x takes it by auth code (served first, being older), and y, its charge gone, is UNKNOWN_NOT_CHARGED
  // (exact): settled cancelled while the customer was charged.
  expect(brief(report.findings)).toEqual([
    ['UNKNOWN_WAS_CHARGED', [y.id], [charge.id], 'exact'],
    ['APPROVED_NOT_CHARGED', [x.id], [], 'exact'],
  ]);
});

test('a resumed attempt reaches back to its first try: the charge the timed-out request made, before the last pendingSince', async () => {
  const t = await till();
  const a = await t.sale(1250, 'unknown', { last4: '4242', gapMs: 10 * MINUTE });
  // Ten minutes later the cashier resumes it; the processor answers the same authorisation, made at the first try.
  await t.guard.resume(a.id);
  await t.guard.settle(a.id, { status: 'approved', authCode: 'A1B2C3' });
  const resumed = (await t.guard.get(a.id))!;
  expect(resumed.pendingSince).toBeGreaterThan(a.pendingSince + 5 * MINUTE);
  const { reference: _, ...charge } = chargeOf(a, { authCode: 'A1B2C3', at: a.pendingSince + 5 * SECOND });
  expect(reconcile(await t.attempts(), [charge], { now: resumed.pendingSince + 5 * MINUTE }).findings).toEqual([]);
});
