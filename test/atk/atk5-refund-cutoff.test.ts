/**
 * atk5: a sale refunded partly on a lane cut off from the database and
 * partly on a connected lane. Both refunds are approved (900 of 1 000: no
 * over-refund yet). Once the cut-off lane is back, the sale's refunded sum
 * must count both (SPEC §9: everything written while cut off reaches the
 * database, nothing lost; §3 REFUND_EXCEEDS_CHARGE on the refunded sum).
 *
 * Mechanism: an approved refund moves its original's `refunded` sum by a
 * write of the SALE's row (src/guard/settle.ts, applyRefund). The cut-off
 * lane wrote the sale with refunded 600 to `local` and the outbox; the
 * connected lane wrote it with refunded 300 to the database, later. The
 * catch-up's `upload` (src/shared/store.ts #sendOutbox, Remote.upload)
 * replaces a row only when its database time is later: the sale's
 * 600-version is older and dropped, so the database (and every lane that
 * reads it, the cut-off lane included once it adopts the newer row) holds
 * refunded 300. Nothing recounts the sale from its approved refunds until
 * some lane happens to restart (start-up's repairRefund). Meanwhile a refund
 * of 250 (or of 700) is allowed on either lane: 1 150 (1 600) refunded of a
 * 1 000 sale. Money-moving.
 *
 * Fixed: once the catch-up is done (the others' latest versions read), the
 * store tells the guard each record it sent (StoreChange `sent`), and the
 * guard counts an approved refund among them on its sale again, in one
 * claim on the sale's refund key: applyRefund lists it once, whatever
 * version won.
 */
import { describe, expect, it } from 'vitest';
import { approvedOnTwoLanes, flush } from '../helpers/lanes.js';

const codes = (d: { reasons: readonly { code: string }[] }) => d.reasons.map((r) => r.code);
const card = { token: 'tok_atk5_refund_cut' };

describe('atk5: refunds of one sale on both sides of a cut-off', () => {
  it('after the catch-up, both refunds count: a refund past the rest is REFUND_EXCEEDS_CHARGE on either lane', async () => {
    const { time, db, g1, g2, store2, saleId } = await approvedOnTwoLanes(card);
    db.disconnect('T2');
    const r2 = await g2.begin({ amount: 600, currency: 'CNY', card, kind: 'refund', refundOf: saleId });
    expect(r2.verdict).toBe('allow');
    await g2.settle(r2.attempt!.id, { status: 'approved' });
    await time.advance(1_000);
    const r1 = await g1.begin({ amount: 300, currency: 'CNY', card, kind: 'refund', refundOf: saleId });
    expect(r1.verdict).toBe('allow');
    await g1.settle(r1.attempt!.id, { status: 'approved' });
    await time.advance(1_000);
    db.reconnect('T2');
    await store2.sync();
    await flush();
    await time.advance(5_000);
    await flush();
    const [row] = await db.remote('observer').get('M1', [saleId]);
    const t2 = await g2.peek({ amount: 250, currency: 'CNY', card: { token: 'tok_atk5_other2' }, kind: 'refund', refundOf: saleId });
    const t1 = await g1.begin({ amount: 250, currency: 'CNY', card: { token: 'tok_atk5_other1' }, kind: 'refund', refundOf: saleId });
    expect([codes(t1), codes(t2)]).toEqual([['REFUND_EXCEEDS_CHARGE'], ['REFUND_EXCEEDS_CHARGE']]); // actual: [[], []]: allowed
    expect(row!.record.refunded).toBe(900); // actual: 300
  });
});
