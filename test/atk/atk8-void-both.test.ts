/**
 * atk8: a sale voided on both lanes while one is cut off, then caught up
 * (keptVoid in src/shared/store.ts, voidedOver in src/refunds.ts), with
 * refunds against it on either lane.
 *
 * Mechanisms: keptVoid returns the cut-off lane's record untouched when both
 * sides are voided, so its later row replaces the one listing a refund paid
 * out on the voided sale (money to recover); and revokeRefund does nothing on
 * a voided sale, so a reversed over-refund stays listed as money to recover.
 */
import { describe, expect, it } from 'vitest';
import type { Guard } from '../../src/index.js';
import { approvedOnTwoLanes, codes, flush, refundOf } from '../helpers/lanes.js';

const card = { token: 'tok_atk8_void_both' };
async function released(g: Guard, saleId: string) {
  expect((await g.get(saleId))?.status).toBe('voided');
  expect(codes(await g.peek({ amount: 1_000, currency: 'CNY', card }))).toEqual([]);
  expect(codes(await g.peek(refundOf(saleId, 100, 'tok_atk8_vb_x')))).toEqual(['REFUND_ORIGINAL_NOT_FOUND']);
}

describe('atk8: voided on both lanes across a cut-off', () => {
  it('voided on both (the cut-off lane first): voided everywhere, the sale free to charge again, refunds of it not found', async () => {
    const { time, db, g1, g2, store2, saleId } = await approvedOnTwoLanes(card);
    db.disconnect('T2');
    await g2.settle(saleId, { status: 'voided' });
    await time.advance(1_000);
    await g1.settle(saleId, { status: 'voided' });
    await time.advance(1_000);
    db.reconnect('T2');
    await store2.sync();
    await time.advance(2_000);
    await flush();
    const [row] = await db.remote('observer').get('M1', [saleId]);
    expect(row!.record.status).toBe('voided');
    expect(row!.record.refunded).toBe(0);
    await released(g1, saleId);
    await released(g2, saleId);
  });

  it('voided on both, the connected lane having refunded and reversed that refund first: refunded 0, nothing over', async () => {
    const { time, db, g1, g2, store2, saleId } = await approvedOnTwoLanes(card);
    db.disconnect('T2');
    await g2.settle(saleId, { status: 'voided' });
    await time.advance(1_000);
    const r = await g1.begin(refundOf(saleId, 300));
    await g1.settle(r.attempt!.id, { status: 'approved' });
    await g1.settle(r.attempt!.id, { status: 'voided' });
    await g1.settle(saleId, { status: 'voided' });
    await time.advance(1_000);
    db.reconnect('T2');
    await store2.sync();
    await time.advance(2_000);
    await flush();
    const [row] = await db.remote('observer').get('M1', [saleId]);
    expect(row!.record.status).toBe('voided');
    expect((row!.record.refunds ?? []).filter((x) => (x as { over?: number }).over)).toEqual([]);
    await released(g1, saleId);
    await released(g2, saleId);
  });

  it('a refund made on the voided sale on the connected lane (overridden) stays listed as money to recover when the cut-off lane voids it later', async () => {
    const { time, db, g1, g2, store2, saleId } = await approvedOnTwoLanes(card, undefined);
    db.disconnect('T2');
    await g1.settle(saleId, { status: 'voided' });
    await time.advance(1_000);
    const p = await g1.begin(refundOf(saleId, 300));
    expect(codes(p)).toEqual(['REFUND_ORIGINAL_NOT_FOUND']);
    const r = await g1.override(p, { operator: 'ann', reason: 'customer insists' });
    await g1.settle(r.attempt!.id, { status: 'approved' });
    await time.advance(1_000);
    // The cut-off lane voids it too, later.
    await g2.settle(saleId, { status: 'voided' });
    await time.advance(1_000);
    db.reconnect('T2');
    await store2.sync();
    await time.advance(2_000);
    await flush();
    const [row] = await db.remote('observer').get('M1', [saleId]);
    expect(row!.record.status).toBe('voided');
    expect(row!.record.refunds?.map((x) => x.id)).toEqual([r.attempt!.id]);
    await released(g2, saleId);
  });

  it('a refund approved on the cut-off lane, the sale voided on the other: voided, the refund listed over', async () => {
    const { time, db, g1, g2, store2, saleId } = await approvedOnTwoLanes(card);
    db.disconnect('T2');
    await g1.settle(saleId, { status: 'voided' });
    await time.advance(1_000);
    const r = await g2.begin(refundOf(saleId, 300));
    expect(r.verdict).toBe('allow');
    await g2.settle(r.attempt!.id, { status: 'approved' });
    await time.advance(1_000);
    db.reconnect('T2');
    await store2.sync();
    await time.advance(2_000);
    await flush();
    const [row] = await db.remote('observer').get('M1', [saleId]);
    expect(row!.record.status).toBe('voided');
    expect(row!.record.refunds).toEqual([{ id: r.attempt!.id, amount: 300, over: 300 }]);
    await released(g1, saleId);
    await released(g2, saleId);
  });

  it('that over-refund reversed afterwards (refund voided): no longer listed as money to recover', async () => {
    const { time, db, g1, g2, store2, saleId } = await approvedOnTwoLanes(card);
    db.disconnect('T2');
    await g1.settle(saleId, { status: 'voided' });
    await time.advance(1_000);
    const r = await g2.begin(refundOf(saleId, 300));
    await g2.settle(r.attempt!.id, { status: 'approved' });
    await time.advance(1_000);
    db.reconnect('T2');
    await store2.sync();
    await time.advance(2_000);
    await flush();
    await g2.settle(r.attempt!.id, { status: 'voided' });
    await time.advance(2_000);
    await flush();
    const [row] = await db.remote('observer').get('M1', [saleId]);
    expect(row!.record.status).toBe('voided');
    expect((row!.record.refunds ?? []).filter((x) => (x as { over?: number }).over)).toEqual([]);
  });
});
