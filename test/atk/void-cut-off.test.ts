/**
 * A sale voided on one lane and refunded in part on the other while one of
 * them (lane 2) is cut off. The void reversed the whole charge at the
 * processor; the refund paid 300 back on top. Once lane 2 is back, every
 * lane must hold the sale voided (never refundable again: another refund of
 * it would pay out money the reversal already returned) with the refund
 * listed as over (money to recover). The catch-up's upload keeps one of the
 * two sale rows, the later: the void lost to a later refund, or the refund's
 * share hidden under a later void.
 *
 * First the void made on the cut-off lane (left open by the refund recount,
 * eb4bf19); then, from atk7, the void made on the connected lane while the
 * cut-off lane refunded (its later row replaced the void). Fixed by keptVoid
 * (src/shared/store.ts): a sale sent while the stored row is voided, or sent
 * voided over a refunded one, goes voided, both sides' refunds listed over,
 * later than the stored row.
 */
import { describe, expect, it } from 'vitest';
import { approvedOnTwoLanes, flush } from '../helpers/lanes.js';

const card = { token: 'tok_void_cut_off' };

describe('a sale voided on one lane and refunded on the other while lane 2 is cut off', () => {
  it.each([
    ['voided on the cut-off lane, the void first', 'T2', true],
    ['voided on the cut-off lane, the refund first', 'T2', false],
    ['voided on the connected lane, the void first', 'T1', true],
  ] as const)(
    '%s: the sale is voided everywhere after the catch-up, the refund listed as money to recover',
    async (_, voidedOn, voidFirst) => {
      const { time, db, g1, g2, store2, saleId } = await approvedOnTwoLanes(card);
      const [voiding, refunding] = voidedOn === 'T2' ? [g2, g1] : [g1, g2];
      db.disconnect('T2');
      const voidIt = async () => {
        await voiding.settle(saleId, { status: 'voided' });
        await time.advance(1_000);
      };
      const refundIt = async () => {
        const r = await refunding.begin({ amount: 300, currency: 'CNY', card, kind: 'refund', refundOf: saleId });
        expect(r.verdict).toBe('allow');
        await refunding.settle(r.attempt!.id, { status: 'approved' });
        await time.advance(1_000);
        return r.attempt!.id;
      };
      let refundId: string;
      if (voidFirst) {
        await voidIt();
        refundId = await refundIt();
      } else {
        refundId = await refundIt();
        await voidIt();
      }
      db.reconnect('T2');
      await store2.sync();
      await flush();
      await time.advance(5_000);
      await flush();
      const [row] = await db.remote('observer').get('M1', [saleId]);
      expect(row!.record).toMatchObject({ status: 'voided', refunds: [{ id: refundId, amount: 300, over: 300 }] });
      for (const g of [g1, g2]) {
        const again = await g.peek({ amount: 100, currency: 'CNY', card: { token: 'tok_void_more' }, kind: 'refund', refundOf: saleId });
        expect(again.verdict).not.toBe('allow');
      }
    },
  );
});
