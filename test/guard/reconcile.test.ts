/**
 * `guard.applyReconciliation(report)` (SPEC §11): settles the `UNKNOWN_*`
 * findings through the ordinary settle path, journals each as coming from
 * reconciliation, never touches an attempt that is not `unknown`, and is
 * idempotent.
 */
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { GuardInputError, memoryStore, type AttemptStatus } from '../../src/index.js';
import { reconcile, type ProcessorTransaction, type ReconcileReport } from '../../src/reconcile.js';
import { MINUTE, SECOND } from '../helpers/guard.js';
import { chargeOf, till, transaction, type Ending } from '../helpers/till.js';

async function scene() {
  const store = memoryStore();
  const t = await till({ store });
  const charged = await t.sale(1000, 'unknown');
  const notCharged = await t.sale(2000, 'unknown');
  const reversed = await t.sale(3000, 'unknown');
  const probable = await t.sale(4000, 'unknown', { last4: '4242' });
  const approved = await t.sale(5000, 'approved');
  const declined = await t.sale(6000, 'declined');
  const charge = chargeOf(charged);
  const reversedCharge = chargeOf(reversed);
  const { reference: _, ...probableCharge } = chargeOf(probable, { at: probable.pendingSince + 30 * SECOND });
  const transactions: ProcessorTransaction[] = [
    charge,
    reversedCharge,
    transaction({ type: 'reversal', id: 'rv_1', original: reversedCharge.id }),
    probableCharge,
    chargeOf(declined),
  ];
  t.clock.advance(5 * MINUTE);
  const report = reconcile(await t.attempts(), transactions, { now: t.clock.now() });
  return { t, store, report, charged, notCharged, reversed, probable, approved, declined, charge, probableCharge };
}

describe('applyReconciliation', () => {
  test('settles unknown attempts as the processor says, exact and probable-charged; returns what it applied', async () => {
    const s = await scene();
    expect(s.report.findings.map((f) => f.code)).toEqual([
      'UNKNOWN_WAS_CHARGED',
      'UNKNOWN_WAS_CHARGED',
      'UNKNOWN_NOT_CHARGED',
      'UNKNOWN_WAS_REVERSED',
      'APPROVED_NOT_CHARGED',
      'UNMATCHED_CHARGE',
    ]);
    const applied = await s.t.guard.applyReconciliation(s.report);
    expect(applied).toEqual([
      { attemptId: s.charged.id, code: 'UNKNOWN_WAS_CHARGED', from: 'unknown', to: 'approved' },
      { attemptId: s.probable.id, code: 'UNKNOWN_WAS_CHARGED', from: 'unknown', to: 'approved' },
      { attemptId: s.notCharged.id, code: 'UNKNOWN_NOT_CHARGED', from: 'unknown', to: 'cancelled' },
      { attemptId: s.reversed.id, code: 'UNKNOWN_WAS_REVERSED', from: 'unknown', to: 'voided' },
    ]);
    const status = async (id: string) => (await s.t.guard.get(id))?.status;
    expect(await status(s.charged.id)).toBe('approved');
    expect((await s.t.guard.get(s.charged.id))?.processorRef).toBe(s.charge.id);
    expect(await status(s.probable.id)).toBe('approved');
    expect(await status(s.notCharged.id)).toBe('cancelled');
    expect(await status(s.reversed.id)).toBe('voided');
    // Findings for a person are left to a person.
    expect(await status(s.approved.id)).toBe('approved');
    expect(await status(s.declined.id)).toBe('declined');
  });

  test('each settle is journaled as coming from reconciliation, naming the finding and the transactions', async () => {
    const s = await scene();
    await s.t.guard.applyReconciliation(s.report);
    await s.t.guard.close();
    const entries = s.store.journal().filter((e) => e.type === 'reconcile');
    expect(entries).toEqual([
      expect.objectContaining({
        type: 'reconcile',
        attemptId: s.charged.id,
        from: 'unknown',
        to: 'approved',
        detail: `UNKNOWN_WAS_CHARGED (exact): ${s.charge.id}`,
      }),
      expect.objectContaining({
        attemptId: s.probable.id,
        to: 'approved',
        detail: `UNKNOWN_WAS_CHARGED (probable): ${s.probableCharge.id}`,
      }),
      expect.objectContaining({
        attemptId: s.notCharged.id,
        to: 'cancelled',
        detail: 'UNKNOWN_NOT_CHARGED (exact): no charge at the processor',
      }),
      expect.objectContaining({
        attemptId: s.reversed.id,
        to: 'voided',
        detail: expect.stringMatching(/^UNKNOWN_WAS_REVERSED \(exact\): ch_\d+, rv_1$/),
      }),
    ]);
    // The ordinary settle entries are there too: the lifecycle reads the same whoever settled.
    expect(s.store.journal().filter((e) => e.type === 'settle' && e.from === 'unknown')).toHaveLength(4);
  });

  test('applying a report twice equals applying it once', async () => {
    const s = await scene();
    await s.t.guard.applyReconciliation(s.report);
    const after = await s.t.attempts();
    expect(await s.t.guard.applyReconciliation(s.report)).toEqual([]);
    expect(await s.t.attempts()).toEqual(after);
  });

  test('an attempt settled or resumed since the report was made is left as it is', async () => {
    const s = await scene();
    await s.t.guard.settle(s.charged.id, { status: 'declined' });
    await s.t.guard.resume(s.notCharged.id);
    const applied = await s.t.guard.applyReconciliation(s.report);
    expect(applied.map((a) => a.attemptId)).toEqual([s.probable.id, s.reversed.id]);
    expect((await s.t.guard.get(s.charged.id))?.status).toBe('declined');
    expect((await s.t.guard.get(s.notCharged.id))?.status).toBe('pending');
  });

  test('a probable UNKNOWN_NOT_CHARGED or UNKNOWN_WAS_REVERSED is not applied (only the safe direction is)', async () => {
    const t = await till();
    const a = await t.sale(1000, 'unknown');
    const b = await t.sale(2000, 'unknown');
    const finding = { transactions: [], amount: 1000, currency: 'CNY', match: 'probable' as const };
    const report: ReconcileReport = {
      findings: [
        { ...finding, code: 'UNKNOWN_NOT_CHARGED', attempts: [a.id], action: 'settle-cancelled' },
        { ...finding, code: 'UNKNOWN_WAS_REVERSED', attempts: [b.id], action: 'settle-voided' },
      ],
      totals: [],
    };
    expect(await t.guard.applyReconciliation(report)).toEqual([]);
    expect((await t.attempts()).map((r) => r.status)).toEqual(['unknown', 'unknown']);
  });

  test('a pending attempt past pendingTimeout reads unknown, and is settled', async () => {
    const t = await till({ pendingTimeout: '2m' });
    const a = await t.sale(1000, 'pending');
    t.clock.advance(10 * MINUTE);
    const report = reconcile(await t.attempts(), [chargeOf(a)]);
    expect(await t.guard.applyReconciliation(report)).toEqual([
      { attemptId: a.id, code: 'UNKNOWN_WAS_CHARGED', from: 'unknown', to: 'approved' },
    ]);
  });

  test('something that is not a report: GuardInputError INVALID_REPORT', async () => {
    const t = await till();
    await expect(t.guard.applyReconciliation(undefined as never)).rejects.toThrow(
      expect.objectContaining({ name: 'GuardInputError', code: 'INVALID_REPORT' }),
    );
    await expect(t.guard.applyReconciliation({ findings: [{ code: 'UNKNOWN_WAS_CHARGED', match: 'exact' }] } as never)).rejects.toThrow(
      GuardInputError,
    );
  });

  test('a hand-made finding is checked before anything settles: prototype keys settle nothing, bad fields are INVALID_REPORT', async () => {
    const t = await till();
    const a = await t.sale(1000, 'unknown');
    const b = await t.sale(2000, 'unknown');
    const good = { code: 'UNKNOWN_NOT_CHARGED', match: 'exact', attempts: [a.id], transactions: [] };
    // Codes found on Object.prototype are not settles: skipped like any other code that is not UNKNOWN_*.
    for (const code of ['__proto__', 'toString', 'constructor', 'hasOwnProperty']) {
      const report = { findings: [{ ...good, code, attempts: [b.id] }], totals: [] };
      expect(await t.guard.applyReconciliation(report as never)).toEqual([]);
    }
    for (const damaged of [
      { code: 'UNKNOWN_WAS_CHARGED', attempts: [b.id], transactions: 'ch_1' }, // would settle with processorRef 'c'
      { code: 'UNKNOWN_WAS_CHARGED', attempts: [b.id], transactions: [{ id: 'ch_1' }] },
      { code: 'UNKNOWN_NOT_CHARGED', attempts: b.id, transactions: [] },
      { code: 'UNKNOWN_NOT_CHARGED', attempts: [b.id, a.id], transactions: [] },
    ]) {
      // The good finding comes first: a damaged report must not be half applied.
      const report = { findings: [good, { match: 'exact', ...damaged }], totals: [] };
      await expect(t.guard.applyReconciliation(report as never)).rejects.toThrow(
        expect.objectContaining({
          name: 'GuardInputError',
          code: 'INVALID_REPORT',
          field: 'report.findings[1].' + (Array.isArray(damaged.attempts) && damaged.attempts.length === 1 ? 'transactions' : 'attempts'),
        }),
      );
    }
    expect((await t.attempts()).map((r) => [r.status, r.processorRef])).toEqual([
      ['unknown', undefined],
      ['unknown', undefined],
    ]);
    await t.guard.close();
  });

  test('a card number as a transaction id is masked in the journal, as in the record (never persisted)', async () => {
    const store = memoryStore();
    const t = await till({ store });
    const a = await t.sale(1000, 'unknown');
    t.clock.advance(5 * MINUTE);
    // A column shifted by one, or a till that sent the card number as its reference: the "id" is a PAN.
    const report = reconcile(await t.attempts(), [chargeOf(a, { id: '4111 1111 1111 1111' })], { now: t.clock.now() });
    expect(await t.guard.applyReconciliation(report)).toHaveLength(1);
    await t.guard.close();
    const persisted = JSON.stringify([store.journal(), await store.load()]);
    expect(persisted).not.toMatch(/4111[ -]?1111[ -]?1111[ -]?1111/);
    expect(store.journal().find((e) => e.type === 'reconcile')?.detail).toBe('UNKNOWN_WAS_CHARGED (exact): [card number removed]');
  });

  test('property: any report applied twice equals once, and only unknown attempts ever change', async () => {
    const endings: Ending[] = ['approved', 'declined', 'unknown', 'pending', 'cancelled', 'voided'];
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ ending: fc.constantFrom(...endings), charged: fc.nat(3), amount: fc.integer({ min: 1, max: 5 }) }), {
          maxLength: 12,
        }),
        async (plan) => {
          const t = await till();
          const transactions: ProcessorTransaction[] = [];
          for (const step of plan) {
            const a = await t.sale(step.amount * 100, step.ending);
            // 0: no charge, 1: by reference, 2: probable, 3: charged and reversed
            if (step.charged === 1) transactions.push(chargeOf(a));
            if (step.charged === 2) transactions.push({ ...chargeOf(a), reference: `other-${a.id}` });
            if (step.charged === 3) {
              const charge = chargeOf(a);
              transactions.push(charge, transaction({ type: 'reversal', original: charge.id }));
            }
          }
          t.clock.advance(10 * MINUTE);
          const before = new Map((await t.attempts()).map((r) => [r.id, r.status]));
          const report = reconcile(await t.attempts(), transactions, { now: t.clock.now() });
          await t.guard.applyReconciliation(report);
          const once = await t.attempts();
          expect(await t.guard.applyReconciliation(report)).toEqual([]);
          expect(await t.attempts()).toEqual(once);
          for (const record of once) {
            const was = before.get(record.id) as AttemptStatus;
            if (was !== 'unknown') expect(record.status).toBe(was);
          }
          await t.guard.close();
        },
      ),
      { numRuns: 40 },
    );
  });
});
