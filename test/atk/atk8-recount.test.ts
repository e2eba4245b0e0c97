/**
 * atk8: the refund recount after a catch-up (recountSent in
 * src/guard/settle.ts, StoreChange `sent` from src/shared/store.ts
 * #sendOutbox) when the cut-off lane's row of the sale is the LATER one.
 *
 * Mechanism: Remote.upload keeps the row with the later database time. The
 * cut-off lane's sale row (refunds [its own]) is later and replaces the row
 * holding the connected lane's refund; recountSent then finds its own refund
 * listed and adds nothing: the other refund's share is lost. And a refund
 * VOIDED while cut off is never recounted at all (recountSent handles only
 * approved refunds): the older sale row that dropped it loses at upload.
 */
import { describe, expect, it } from 'vitest';
import { approvedOnTwoLanes, codes, flush } from '../helpers/lanes.js';

const card = { token: 'tok_atk8_recount' };

describe('atk8: refunds on both sides of a cut-off, the cut-off one last', () => {
  it('a refund made on the connected lane first, then one on the cut-off lane: both count after the catch-up', async () => {
    const { time, db, g1, g2, store2, saleId } = await approvedOnTwoLanes(card);
    db.disconnect('T2');
    await time.advance(1_000);
    const r1 = await g1.begin({ amount: 300, currency: 'CNY', card, kind: 'refund', refundOf: saleId });
    expect(r1.verdict).toBe('allow');
    await g1.settle(r1.attempt!.id, { status: 'approved' });
    await time.advance(1_000);
    const r2 = await g2.begin({ amount: 600, currency: 'CNY', card, kind: 'refund', refundOf: saleId });
    expect(r2.verdict).toBe('allow');
    await g2.settle(r2.attempt!.id, { status: 'approved' });
    await time.advance(1_000);
    db.reconnect('T2');
    await store2.sync();
    await flush();
    await time.advance(5_000);
    await flush();
    const [row] = await db.remote('observer').get('M1', [saleId]);
    expect(row!.record.refunded).toBe(900);
    const t1 = await g1.peek({ amount: 250, currency: 'CNY', card: { token: 'tok_atk8_o1' }, kind: 'refund', refundOf: saleId });
    const t2 = await g2.peek({ amount: 250, currency: 'CNY', card: { token: 'tok_atk8_o2' }, kind: 'refund', refundOf: saleId });
    expect([codes(t1), codes(t2)]).toEqual([['REFUND_EXCEEDS_CHARGE'], ['REFUND_EXCEEDS_CHARGE']]);
  });

  it("the recount racing the connected lane's approval of a refund it began while the other was cut off: both count", async () => {
    const { time, db, g1, g2, store2, saleId } = await approvedOnTwoLanes(card);
    db.disconnect('T2');
    const r0 = await g1.begin({ amount: 100, currency: 'CNY', card: { token: 'tok_atk8_r0' }, kind: 'refund', refundOf: saleId });
    expect(r0.verdict).toBe('allow');
    await time.advance(500);
    const r2 = await g2.begin({ amount: 400, currency: 'CNY', card, kind: 'refund', refundOf: saleId });
    expect(r2.verdict).toBe('allow');
    await g2.settle(r2.attempt!.id, { status: 'approved' });
    await time.advance(1_000);
    db.reconnect('T2');
    // The catch-up (and its recount) and lane 1's approval of its open refund, at once.
    await Promise.all([store2.sync(), g1.settle(r0.attempt!.id, { status: 'approved' })]);
    await flush();
    await time.advance(5_000);
    await flush();
    const [row] = await db.remote('observer').get('M1', [saleId]);
    expect(row!.record.refunded).toBe(500);
    expect((await g1.get(saleId))?.refunded).toBe(500);
    expect((await g2.get(saleId))?.refunded).toBe(500);
  });

  it('a refund voided on the cut-off lane while the sale was refunded on the other: the sum is what was kept', async () => {
    const { time, db, g1, g2, store2, saleId } = await approvedOnTwoLanes(card);
    const r2 = await g2.begin({ amount: 400, currency: 'CNY', card, kind: 'refund', refundOf: saleId });
    await g2.settle(r2.attempt!.id, { status: 'approved' });
    await time.advance(500);
    await flush();
    db.disconnect('T2');
    await g2.settle(r2.attempt!.id, { status: 'voided' });
    await time.advance(1_000);
    const r1 = await g1.begin({ amount: 300, currency: 'CNY', card: { token: 'tok_atk8_r1' }, kind: 'refund', refundOf: saleId });
    expect(r1.verdict).toBe('allow');
    await g1.settle(r1.attempt!.id, { status: 'approved' });
    await time.advance(1_000);
    db.reconnect('T2');
    await store2.sync();
    await flush();
    await time.advance(5_000);
    await flush();
    const [row] = await db.remote('observer').get('M1', [saleId]);
    expect(row!.record.refunded).toBe(300);
    expect((await g2.get(saleId))?.refunded).toBe(300);
    // 300 of 1 000 refunded: a refund of 650 fits.
    const more = await g1.peek({ amount: 650, currency: 'CNY', card: { token: 'tok_atk8_o3' }, kind: 'refund', refundOf: saleId });
    expect(codes(more)).toEqual([]);
  });
});
