/**
 * atk7: recountSent (src/guard/settle.ts, eb4bf19/6a50214) and a refund made
 * on a lane cut off, on a sale voided on a connected lane BEFORE it.
 *
 * Lane 1 (connected) voids the sale (the processor reversed the whole
 * charge). Lane 2, cut off and not knowing, refunds 300 of it and writes the
 * sale row approved/refunded 300, later than lane 1's void. The catch-up's
 * upload keeps the later row: the void is gone from the database. recountSent
 * then runs for an approved refund made here, but only re-applies refunds on
 * the database's version (approved): it never asks whether the sale was voided
 * elsewhere meanwhile (it only handles a void made HERE: voidedHere). Result:
 * the sale is approved and refundable again on every lane although the
 * reversal returned everything, and the 300 is never listed as over (money to
 * recover). The mirror ordering (refund first, void later) holds.
 *
 * Fixed: before uploading a sale written while cut off, the catch-up reads
 * the stored row (it did already, for a recover lease); if either side is
 * voided, what is sent is voided, both sides' refunds listed over, and
 * later than the stored row (keptVoid in src/shared/store.ts).
 */
import { describe, expect, it } from 'vitest';
import { approvedOnTwoLanes, flush } from '../helpers/lanes.js';

const card = { token: 'tok_atk7_void_elsewhere' };

describe('atk7: a refund made cut off on a sale voided elsewhere', () => {
  it.each([['the void first', true]])('%s: the sale stays voided everywhere, the refund listed as over', async (_, voidFirst) => {
    const { time, db, g1, g2, store2, saleId } = await approvedOnTwoLanes(card);
    db.disconnect('T2');
    const voidOnLane1 = async () => {
      await g1.settle(saleId, { status: 'voided' });
      await time.advance(1_000);
    };
    const refundOnLane2 = async () => {
      const r = await g2.begin({ amount: 300, currency: 'CNY', card, kind: 'refund', refundOf: saleId });
      expect(r.verdict).toBe('allow');
      await g2.settle(r.attempt!.id, { status: 'approved' });
      await time.advance(1_000);
      return r.attempt!.id;
    };
    let refundId: string;
    if (voidFirst) {
      await voidOnLane1();
      refundId = await refundOnLane2();
    } else {
      refundId = await refundOnLane2();
      await voidOnLane1();
    }
    db.reconnect('T2');
    await store2.sync();
    await flush();
    await time.advance(5_000);
    await flush();
    const [row] = await db.remote('observer').get('M1', [saleId]);
    expect(row!.record).toMatchObject({ status: 'voided', refunds: [{ id: refundId, amount: 300, over: 300 }] });
    for (const g of [g1, g2]) {
      const again = await g.peek({ amount: 100, currency: 'CNY', card: { token: 'tok_atk7_more' }, kind: 'refund', refundOf: saleId });
      expect(again.verdict).not.toBe('allow');
    }
  });
});
