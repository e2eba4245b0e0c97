/**
 * Refunds and reversals that name their charge by the till's reference
 * (SPEC §11): when two charges share it (a sale charged twice), they are
 * spread over them, after those naming a charge by id. Only money beyond
 * what the charges took is REFUNDED_TWICE, and an attempt both of whose
 * charges were undone reads as reversed.
 */
import { describe, expect, test } from 'vitest';
import { reconcile, type Finding } from '../../src/reconcile.js';
import { HOUR, SECOND } from '../helpers/guard.js';
import { chargeOf, till, transaction } from '../helpers/till.js';

const brief = (findings: Finding[]) => findings.map((f) => [f.code, f.attempts, f.transactions, f.match]);

describe('refunds naming a reference two charges share', () => {
  test('a sale charged twice, each charge refunded once by the reference: CHARGED_TWICE only, never REFUNDED_TWICE', async () => {
    const t = await till();
    const a = await t.sale(2000, 'approved');
    const [first, second] = [chargeOf(a), chargeOf(a, { at: a.pendingSince + 9 * SECOND })];
    // The remedy (refund the extra charge), then the customer's return (refund the sale): both name the till's reference.
    const remedy = transaction({ type: 'refund', amount: 2000, original: a.idempotencyKey, at: a.pendingSince + HOUR });
    const returned = transaction({ type: 'refund', amount: 2000, original: a.idempotencyKey, at: a.pendingSince + 2 * HOUR });
    const report = reconcile(await t.attempts(), [first, second, remedy, returned]);
    expect(report.findings.map((f) => f.code)).toEqual(['CHARGED_TWICE']);
    // A third refund of it is money returned twice: the excess, on one of the charges.
    const third = transaction({ type: 'refund', amount: 500, original: a.idempotencyKey, at: a.pendingSince + 3 * HOUR });
    const over = reconcile(await t.attempts(), [first, second, remedy, returned, third]).findings.filter(
      (f) => f.code === 'REFUNDED_TWICE',
    );
    expect(over).toMatchObject([{ attempts: [a.id], amount: 500, action: 'recover-excess' }]);
  });

  test('one charge refunded by its id, the other by the reference: each once, no alarm', async () => {
    const t = await till();
    const a = await t.sale(2000, 'approved');
    const [first, second] = [chargeOf(a), chargeOf(a, { at: a.pendingSince + 9 * SECOND })];
    const byReference = transaction({ type: 'refund', amount: 2000, original: a.idempotencyKey, at: a.pendingSince + HOUR });
    const byId = transaction({ type: 'refund', amount: 2000, original: first.id, at: a.pendingSince + 2 * HOUR });
    // The refund by reference comes first in the file; the one naming first by id is certain, so it goes to second.
    expect(reconcile(await t.attempts(), [first, second, byReference, byId]).findings.map((f) => f.code)).toEqual(['CHARGED_TWICE']);
  });

  test('one charge reversed, the other refunded, both by the reference: each returned once', async () => {
    const t = await till();
    const a = await t.sale(2000, 'unknown');
    const [first, second] = [chargeOf(a), chargeOf(a, { at: a.pendingSince + 9 * SECOND })];
    const reversal = transaction({ type: 'reversal', amount: 2000, original: a.idempotencyKey, at: a.pendingSince + 20 * SECOND });
    const refund = transaction({ type: 'refund', amount: 2000, original: a.idempotencyKey, at: a.pendingSince + HOUR });
    const report = reconcile(await t.attempts(), [first, second, reversal, refund]);
    expect(brief(report.findings)).toEqual([['UNKNOWN_WAS_CHARGED', [a.id], [second.id], 'exact']]);
  });

  test('partial refunds go to the charge they fit; a refund of the matching amount first', async () => {
    const t = await till();
    const a = await t.sale(2000, 'approved');
    // The second charge took another amount (a retry keyed again); refunds of each, by the reference, in either order.
    const [first, second] = [chargeOf(a), chargeOf(a, { amount: 500, at: a.pendingSince + 9 * SECOND })];
    const small = transaction({ type: 'refund', amount: 500, original: a.idempotencyKey, at: a.pendingSince + HOUR });
    const whole = transaction({ type: 'refund', amount: 2000, original: a.idempotencyKey, at: a.pendingSince + 2 * HOUR });
    for (const file of [
      [first, second, small, whole],
      [first, second, whole, small],
    ]) {
      expect(reconcile(await t.attempts(), file).findings.map((f) => f.code)).toEqual(['CHARGED_TWICE', 'AMOUNT_MISMATCH']);
    }
    // Of the charges it fits, the tightest: 3.00 of the 5.00 charge leaves the 20.00 one whole for the 20.00 refund.
    const three = transaction({ type: 'refund', amount: 300, original: a.idempotencyKey, at: a.pendingSince + HOUR });
    const codes = reconcile(await t.attempts(), [first, second, three, whole]).findings.map((f) => f.code);
    expect(codes).toEqual(['CHARGED_TWICE', 'AMOUNT_MISMATCH']);
  });
});

describe('reversals naming a reference two charges share', () => {
  test('both charges reversed, one by the reference (listed first), one by its id: UNKNOWN_WAS_REVERSED, never settled approved', async () => {
    const t = await till();
    const a = await t.sale(2000, 'unknown');
    const [first, second] = [chargeOf(a), chargeOf(a, { at: a.pendingSince + 9 * SECOND })];
    const byReference = transaction({ type: 'reversal', amount: 2000, original: a.idempotencyKey, at: a.pendingSince + 20 * SECOND });
    const byId = transaction({ type: 'reversal', amount: 2000, original: first.id, at: a.pendingSince + 30 * SECOND });
    // The reversal naming first by id is certain: the one naming the reference undoes second, not first again.
    for (const file of [
      [first, second, byReference, byId],
      [byId, second, byReference, first],
    ]) {
      expect(reconcile(await t.attempts(), file).findings).toMatchObject([
        { code: 'UNKNOWN_WAS_REVERSED', attempts: [a.id], action: 'settle-voided' },
      ]);
    }
  });
});
