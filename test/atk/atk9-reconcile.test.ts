/**
 * atk9: applyReconciliation (src/guard/reconcile.ts, settleChanging in
 * src/guard/settle.ts) applied on two lanes at once, and racing a person's
 * settle of the same attempt on the other lane: each finding settles once,
 * is reported (returned, journaled `reconcile`, one settle event) once over
 * all lanes, and a refund it approves counts once on its sale.
 */
import { describe, expect, it } from 'vitest';
import { GuardError, type AttemptRecord, type Guard } from '../../src/index.js';
import type { ReconcileReport } from '../../src/reconcile/types.js';
import { flush, lanes } from '../helpers/lanes.js';

const card = { token: 'tok_atk9_reconcile' };

async function twoLanes() {
  const l = lanes();
  const authorize = (req: { supervisor?: string }) => req.supervisor === 'sup';
  const g1 = await l.open(l.time.terminal(), 'T1', { authorize });
  const g2 = await l.open(l.time.terminal(), 'T2', { authorize });
  const events: { lane: number; record: AttemptRecord }[] = [];
  [g1, g2].forEach((g, lane) => g.on('settle', (e) => void events.push({ lane, record: (e as { record: AttemptRecord }).record })));
  return { ...l, g1, g2, events };
}

async function sale(g: Guard, amount = 1_000) {
  const d = await g.begin({ amount, currency: 'CNY', card });
  await g.settle(d.attempt!.id, { status: 'approved', authCode: '123456' });
  return d.attempt!.id;
}

const report = (ids: string[], code = 'UNKNOWN_WAS_CHARGED', amount = 400): ReconcileReport =>
  ({
    findings: ids.map((id, i) => ({
      code,
      attempts: [id],
      transactions: code === 'UNKNOWN_NOT_CHARGED' ? [] : [`tx_atk9_${i}`],
      amount,
      currency: 'CNY',
      action: 'settle',
      match: 'exact',
    })),
    totals: [],
  }) as unknown as ReconcileReport;

async function both<T>(ps: Promise<T>[]) {
  const results = await Promise.allSettled(ps);
  for (const r of results) if (r.status === 'rejected') expect(r.reason, String(r.reason)).toBeInstanceOf(GuardError);
  return results;
}

async function unknownRefund(g: Guard, saleId: string, amount: number, token: string) {
  const d = await g.begin({ amount, currency: 'CNY', card: { token }, kind: 'refund', refundOf: saleId });
  expect(d.verdict).toBe('allow');
  await g.settle(d.attempt!.id, { status: 'unknown' });
  return d.attempt!.id;
}

describe('atk9: applyReconciliation on two lanes at once', () => {
  it('an unknown sale proven charged, applied on both lanes at once: applied and journaled once', async () => {
    const { g1, g2, time, db, events } = await twoLanes();
    const d = await g1.begin({ amount: 1_000, currency: 'CNY', card });
    const id = d.attempt!.id;
    await g1.settle(id, { status: 'unknown' });
    await time.advance(500);
    await flush();
    expect((await g2.get(id))?.status).toBe('unknown');
    events.length = 0;
    const rs = await both([g1.applyReconciliation(report([id])), g2.applyReconciliation(report([id]))]);
    await flush();
    const applied = rs.flatMap((r) => (r.status === 'fulfilled' ? r.value : []));
    const entries = db.journal('M1').filter((line) => line.entry.type === 'reconcile');
    const settles = events.filter((e) => e.record.id === id);
    expect([applied.length, entries.length, settles.length]).toEqual([1, 1, 1]);
    for (const g of [g1, g2]) expect((await g.get(id))?.status).toBe('approved');
  });

  it('an unknown refund proven paid, applied on both lanes at once: counted once on its sale', async () => {
    const { g1, g2, time, db } = await twoLanes();
    const saleId = await sale(g1);
    const r = await unknownRefund(g1, saleId, 400, 'tok_atk9_rc_r');
    await time.advance(500);
    await flush();
    await both([g1.applyReconciliation(report([r])), g2.applyReconciliation(report([r]))]);
    await flush();
    await time.advance(2_000);
    await flush();
    const [row] = await db.remote('observer').get('M1', [saleId]);
    expect([row!.record.refunded, row!.record.refunds?.length]).toEqual([400, 1]);
    for (const g of [g1, g2]) expect((await g.get(saleId))?.refunded).toBe(400);
    expect(db.journal('M1').filter((line) => line.entry.type === 'reconcile')).toHaveLength(1);
  });

  it('two unknown refunds (700 and 600 of 1 000) proven paid, each lane applying the report: 1 000 refunded, 300 over, reported once', async () => {
    const { g1, g2, time, db } = await twoLanes();
    const saleId = await sale(g1);
    const a = await unknownRefund(g1, saleId, 700, 'tok_atk9_rc_a');
    // The second is past what remains once the first is counted as paid: a supervisor let it through.
    const p = await g2.begin({ amount: 600, currency: 'CNY', card: { token: 'tok_atk9_rc_b' }, kind: 'refund', refundOf: saleId });
    const o = p.verdict === 'allow' ? p : await g2.override(p, { operator: 'ann', reason: 'customer insists', supervisor: 'sup' });
    expect(o.attempt).toBeDefined();
    const b = o.attempt!.id;
    await g2.settle(b, { status: 'unknown' });
    await time.advance(500);
    await flush();
    await both([g1.applyReconciliation(report([a, b])), g2.applyReconciliation(report([b, a]))]);
    await flush();
    await time.advance(2_000);
    await flush();
    const [row] = await db.remote('observer').get('M1', [saleId]);
    const over = (row!.record.refunds ?? []).reduce((s, x) => s + ((x as { over?: number }).over ?? 0), 0);
    expect([row!.record.refunded, over, row!.record.refunds?.length]).toEqual([1_000, 300, 2]);
    const overs = db.journal('M1').filter((line) => line.entry.attemptId === saleId && line.entry.detail?.startsWith('over-refund by'));
    expect(overs).toHaveLength(1);
    expect(db.journal('M1').filter((line) => line.entry.type === 'reconcile')).toHaveLength(2);
  });

  for (const person of ['cancelled', 'approved'] as const) {
    it(`applied on one lane while a person settles it '${person}' on the other: one outcome, reported only if it is the report's`, async () => {
      const { g1, g2, time, db } = await twoLanes();
      const d = await g1.begin({ amount: 1_000, currency: 'CNY', card });
      const id = d.attempt!.id;
      await g1.settle(id, { status: 'unknown' });
      await time.advance(500);
      await flush();
      const [applied, settled] = await both<unknown[] | AttemptRecord>([
        g1.applyReconciliation(report([id], 'UNKNOWN_NOT_CHARGED')),
        g2.settle(id, { status: person }),
      ]);
      await flush();
      const [row] = await db.remote('observer').get('M1', [id]);
      const entries = db.journal('M1').filter((line) => line.entry.type === 'reconcile');
      const wasApplied = applied!.status === 'fulfilled' && (applied!.value as unknown[]).length === 1;
      expect(row!.record.status).toBe(wasApplied ? 'cancelled' : person);
      expect(entries).toHaveLength(wasApplied ? 1 : 0);
      if (settled!.status === 'rejected') expect(wasApplied).toBe(true);
      for (const g of [g1, g2]) expect((await g.get(id))?.status).toBe(row!.record.status);
    });
  }
});
