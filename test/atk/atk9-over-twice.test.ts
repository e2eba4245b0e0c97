/**
 * atk9: an over-refund reported when it was approved on a cut-off lane, and
 * reported again by the catch-up's recount (recountSent / recounted in
 * src/guard/settle.ts) with a larger over once the kept row (the other
 * lane's later one) left it out and its room went to the other refund.
 *
 * Mechanism: the settle on the cut-off lane journals `over-refund by r2`
 * (200: its own view of the sale). The upload keeps the other lane's later
 * row, which does not list r2; recounted applies r2 again on that row and
 * overRefund reports `over-refund by r2` once more, for 500. The journal
 * then holds 700 of money to recover where the sale lists 500: whoever
 * collects from the journal asks the customer for 200 too much. (The
 * opposite order reports 200 and 300, which adds up.)
 */
import { describe, expect, it } from 'vitest';
import { type AttemptRecord, type Guard } from '../../src/index.js';
import { sharedStore } from '../../src/shared/store.js';
import { memoryStore } from '../../src/index.js';
import { flush, lanes, refundOf } from '../helpers/lanes.js';

const card = { token: 'tok_atk9_over_twice' };
const supervised = { operator: 'ann', reason: 'customer was charged a fee too', supervisor: 'sup' };
async function twoLanes() {
  const { time, db, open } = lanes();
  const authorize = (req: { supervisor?: string }) => req.supervisor === 'sup';
  const g1 = await open(time.terminal(), 'T1', { authorize });
  const store2 = sharedStore(db.remote('T2'), { local: memoryStore() });
  const g2 = await open(time.terminal(), 'T2', { authorize, store: store2 });
  const s = await g1.begin({ amount: 1_000, currency: 'CNY', card });
  await g1.settle(s.attempt!.id, { status: 'approved', authCode: '123456' });
  await time.advance(1_000);
  await flush();
  return { time, db, g1, g2, store2, saleId: s.attempt!.id };
}

async function overridden(g: Guard, saleId: string, amount: number, token: string) {
  const p = await g.begin(refundOf(saleId, amount, token));
  const d = p.verdict === 'allow' ? p : await g.override(p, supervised);
  await g.settle(d.attempt!.id, { status: 'approved' });
  return d.attempt!.id;
}

const overOf = (record: AttemptRecord) => (record.refunds ?? []).reduce((sum, r) => sum + ((r as { over?: number }).over ?? 0), 0);

describe('atk9: an over-refund reported on both sides of the catch-up', () => {
  for (const order of ['the cut-off lane first', 'the connected lane first'] as const) {
    it(`an over-refund of 1 200 on the cut-off lane, 300 on the other (${order}): the journal's overs add up to what the sale lists`, async () => {
      const { time, db, g1, g2, store2, saleId } = await twoLanes();
      db.disconnect('T2');
      const ids: string[] = [];
      if (order === 'the cut-off lane first') {
        ids.push(await overridden(g2, saleId, 1_200, 'tok_atk9_ot_r2'));
        await time.advance(1_000);
        ids.push(await overridden(g1, saleId, 300, 'tok_atk9_ot_r1'));
      } else {
        ids.push(await overridden(g1, saleId, 300, 'tok_atk9_ot_r1'));
        await time.advance(1_000);
        ids.push(await overridden(g2, saleId, 1_200, 'tok_atk9_ot_r2'));
      }
      await time.advance(1_000);
      db.reconnect('T2');
      await store2.sync();
      for (let i = 0; i < 3; i++) {
        await flush();
        await time.advance(5_000);
      }
      await flush();
      const [row] = await db.remote('observer').get('M1', [saleId]);
      expect([row!.record.refunded, overOf(row!.record)]).toEqual([1_000, 500]);
      const journaled = db
        .journal('M1')
        .filter(({ entry }) => entry.attemptId === saleId && entry.detail?.startsWith('over-refund by'))
        .map(({ entry }) => ({ by: entry.detail!.slice('over-refund by '.length), amount: entry.amount }));
      expect(journaled.reduce((sum, e) => sum + (e.amount ?? 0), 0)).toBe(500);
      for (const g of [g1, g2]) expect(overOf((await g.get(saleId))!)).toBe(500);
    });
  }

  it('an overridden refund on the voided sale, another reversed meanwhile on the other lane: only the new one listed over', async () => {
    const { time, db, g1, g2, store2, saleId } = await twoLanes();
    await g1.settle(saleId, { status: 'voided' });
    await time.advance(1_000);
    await flush();
    const r = await overridden(g1, saleId, 200, 'tok_atk9_ot_r');
    await time.advance(1_000);
    await flush();
    expect((await g2.get(saleId))?.refunds?.map((x) => x.id)).toEqual([r]);
    db.disconnect('T2');
    await g1.settle(r, { status: 'voided' });
    await time.advance(1_000);
    const r3 = await overridden(g2, saleId, 300, 'tok_atk9_ot_r3');
    await time.advance(1_000);
    db.reconnect('T2');
    await store2.sync();
    await flush();
    await time.advance(5_000);
    await flush();
    const [row] = await db.remote('observer').get('M1', [saleId]);
    expect(row!.record.status).toBe('voided');
    expect(row!.record.refunds).toEqual([{ id: r3, amount: 300, over: 300 }]);
    for (const g of [g1, g2]) expect((await g.get(saleId))?.refunds).toEqual([{ id: r3, amount: 300, over: 300 }]);
  });
});
