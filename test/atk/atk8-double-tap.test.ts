/**
 * atk8: double taps on every button, issued concurrently without awaiting,
 * on lanes over one shared store (src/shared/store.ts claim semantics).
 */
import { describe, expect, it } from 'vitest';
import { GuardError, type Decision, type Guard } from '../../src/index.js';
import type { ReconcileReport } from '../../src/reconcile/types.js';
import { flush, lanes } from '../helpers/lanes.js';

const codes = (d: Decision) => d.reasons.map((r) => r.code);
const sale = (token: string, amount = 1_000) => ({ amount, currency: 'CNY', card: { token } });

async function settled<T>(ps: Promise<T>[]) {
  const results = await Promise.allSettled(ps);
  for (const r of results) if (r.status === 'rejected') expect(r.reason, String(r.reason)).toBeInstanceOf(GuardError);
  return results;
}
const ok = <T>(rs: PromiseSettledResult<T>[]) =>
  rs.filter((r): r is PromiseFulfilledResult<T> => r.status === 'fulfilled').map((r) => r.value);

async function twoLanes(options = {}) {
  const l = lanes();
  const g1 = await l.open(l.time.terminal(), 'T1', options);
  const g2 = await l.open(l.time.terminal(), 'T2', options);
  return { ...l, g1, g2 };
}

async function approved(g: Guard, token: string, amount = 1_000) {
  const d = await g.begin(sale(token, amount));
  await g.settle(d.attempt!.id, { status: 'approved', authCode: '123456' });
  return d.attempt!.id;
}

describe('atk8: double taps on the shared store', () => {
  it('begin tapped twice on one lane and once on the other: one allow', async () => {
    const { g1, g2 } = await twoLanes();
    const rs = ok(await settled([g1.begin(sale('tok_a')), g1.begin(sale('tok_a')), g2.begin(sale('tok_a'))]));
    expect(rs.filter((d) => d.verdict === 'allow')).toHaveLength(1);
    for (const d of rs.filter((x) => x.verdict !== 'allow')) expect(codes(d)).toContain('IN_FLIGHT');
  });

  it('approve tapped twice on each lane: one settle event, approved everywhere', async () => {
    const { g1, g2, time } = await twoLanes();
    const d = await g1.begin(sale('tok_b'));
    await time.advance(500);
    await flush();
    const id = d.attempt!.id;
    const events: unknown[] = [];
    g1.on('settle', (e) => events.push(e));
    g2.on('settle', (e) => events.push(e));
    const rs = await settled([
      g1.settle(id, { status: 'approved' }),
      g1.settle(id, { status: 'approved' }),
      g2.settle(id, { status: 'approved' }),
      g2.settle(id, { status: 'approved' }),
    ]);
    expect(ok(rs).every((r) => r.status === 'approved')).toBe(true);
    await flush();
    const own = events.filter((e) => (e as { record: { id: string } }).record.id === id);
    // One on the lane that settled it first; the other lane may hear it (at most one each).
    expect(own.length).toBeGreaterThanOrEqual(1);
    expect(own.length).toBeLessThanOrEqual(2);
  });

  it('void tapped twice on each lane: voided, and a new begin is allowed', async () => {
    const { g1, g2, time } = await twoLanes();
    const id = await approved(g1, 'tok_c');
    await time.advance(500);
    await flush();
    const rs = await settled([
      g1.settle(id, { status: 'voided' }),
      g2.settle(id, { status: 'voided' }),
      g1.settle(id, { status: 'voided' }),
      g2.settle(id, { status: 'voided' }),
    ]);
    expect(ok(rs).every((r) => r.status === 'voided')).toBe(true);
    expect((await g1.begin(sale('tok_c'))).verdict).toBe('allow');
  });

  it('a refund of 600 of a 1000 sale begun on both lanes at once (each double-tapped): at most one allow', async () => {
    const { g1, g2, time } = await twoLanes();
    const id = await approved(g1, 'tok_d');
    await time.advance(500);
    await flush();
    const refund = { ...sale('tok_d', 600), kind: 'refund' as const, refundOf: id };
    const refund2 = { ...sale('tok_d2', 600), kind: 'refund' as const, refundOf: id };
    const rs = ok(await settled([g1.begin(refund), g1.begin(refund), g2.begin(refund2), g2.begin(refund2)]));
    expect(rs.filter((d) => d.verdict === 'allow')).toHaveLength(1);
  });

  it('an approved refund settled on both lanes at once counts once on its sale', async () => {
    const { g1, g2, time } = await twoLanes();
    const id = await approved(g1, 'tok_e');
    const r = await g1.begin({ ...sale('tok_e', 400), kind: 'refund', refundOf: id });
    await time.advance(500);
    await flush();
    await settled([
      g1.settle(r.attempt!.id, { status: 'approved' }),
      g2.settle(r.attempt!.id, { status: 'approved' }),
      g1.settle(r.attempt!.id, { status: 'approved' }),
    ]);
    await time.advance(1_500);
    await flush();
    expect((await g1.get(id))?.refunded).toBe(400);
    expect((await g2.get(id))?.refunded).toBe(400);
  });

  it("external refunds of 600 (settle 'refunded') on both lanes at once: one refused, never 1200 refunded", async () => {
    const { g1, g2, time } = await twoLanes();
    const id = await approved(g1, 'tok_f');
    await time.advance(500);
    await flush();
    const rs = await settled([g1.settle(id, { status: 'refunded', amount: 600 }), g2.settle(id, { status: 'refunded', amount: 600 })]);
    expect(rs.filter((r) => r.status === 'rejected')).toHaveLength(1);
    await time.advance(1_500);
    await flush();
    expect((await g1.get(id))?.refunded).toBe(600);
    expect((await g2.get(id))?.refunded).toBe(600);
  });

  it('override of one prompt tapped twice (and on the other lane): one allow, the others IN_FLIGHT', async () => {
    const { g1, g2, time } = await twoLanes();
    await approved(g1, 'tok_g');
    await time.advance(500);
    await flush();
    const p1 = await g1.begin(sale('tok_g'));
    const p2 = await g2.begin(sale('tok_g'));
    expect(p1.verdict).toBe('prompt');
    expect(p2.verdict).toBe('prompt');
    const req = { operator: 'ann', reason: 'customer buys two' };
    const rs = ok(await settled([g1.override(p1, req), g1.override(p1, req), g2.override(p2, req)]));
    expect(rs.filter((d) => d.verdict === 'allow')).toHaveLength(1);
  });

  it('resume tapped twice on each lane: one pending, the others refused with GuardStateError', async () => {
    const { g1, g2, time } = await twoLanes();
    const d = await g1.begin(sale('tok_h'));
    await g1.settle(d.attempt!.id, { status: 'unknown' });
    await time.advance(500);
    await flush();
    const rs = await settled([g1.resume(d.attempt!.id), g1.resume(d.attempt!.id), g2.resume(d.attempt!.id), g2.resume(d.attempt!.id)]);
    expect(ok(rs)).toHaveLength(1);
  });

  it('recoverNow tapped twice on each lane: recover is never called twice at once, and settles once', async () => {
    let running = 0;
    let most = 0;
    let calls = 0;
    const l = lanes();
    const recover = async () => {
      calls++;
      running++;
      most = Math.max(most, running);
      await new Promise((r) => setImmediate(r));
      running--;
      return { status: 'cancelled' as const };
    };
    const g1 = await l.open(l.time.terminal(), 'T1', { recover, recoverAfter: '1h' });
    const g2 = await l.open(l.time.terminal(), 'T2', { recover, recoverAfter: '1h' });
    const d = await g1.begin(sale('tok_i'));
    await g1.settle(d.attempt!.id, { status: 'unknown' });
    await l.time.advance(500);
    await flush();
    await settled([g1.recoverNow(d.attempt!.id), g1.recoverNow(d.attempt!.id), g2.recoverNow(d.attempt!.id), g2.recoverNow()]);
    expect(most).toBe(1);
    expect(calls).toBeGreaterThanOrEqual(1);
    expect((await g1.get(d.attempt!.id))?.status).toBe('cancelled');
  });

  it('applyReconciliation tapped twice: the finding is applied once (one reconcile journal entry, reported applied once)', async () => {
    const { g1, time, db } = await twoLanes();
    const d = await g1.begin(sale('tok_j'));
    const id = d.attempt!.id;
    await g1.settle(id, { status: 'unknown' });
    await time.advance(500);
    const report: ReconcileReport = {
      findings: [
        {
          code: 'UNKNOWN_NOT_CHARGED',
          attempts: [id],
          transactions: [],
          amount: 1_000,
          currency: 'CNY',
          action: 'settle-cancelled',
          match: 'exact',
        },
      ],
      totals: [],
    } as unknown as ReconcileReport;
    const rs = ok(await settled([g1.applyReconciliation(report), g1.applyReconciliation(report)]));
    await flush();
    const entries = db.journal('M1').filter((line) => line.entry.type === 'reconcile');
    expect([rs.flat().length, entries.length]).toEqual([1, 1]);
  });
});
