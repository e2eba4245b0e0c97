/**
 * atk6: the shared-store history prune (src/guard/prune.ts pruneHistory,
 * b710abf) deletes other lanes' approvals inside their window.
 *
 * 1. Jump forward. The cutoff is now `ctx.time.wallNow() - retention + 1`;
 *    after a forward step past the epoch tolerance wallNow() is the raw,
 *    jumped wall clock. SharedStore.prune (src/shared/store.ts) adds
 *    `this.#skew`, which does not carry the jump (prune calls no
 *    `#freshSkew()`, and even after a read that should re-measure it the
 *    row still goes: the skew stays ~0 against the clock the store
 *    measures on), so the cutoff lands 30 d ahead. The database deletes
 *    every settled row of the merchant older than `db now + 30 d - 24 h`:
 *    every approval of every lane. A fresh lane then allows the same sale /
 *    pays the paid order again. Money-moving.
 * 2. Mixed retention. Each lane prunes the whole merchant's shared history
 *    by ITS OWN retention: a lane with retention '1h' deletes a 2 h old
 *    approval of a lane whose window is 12 h; a fresh lane with that window
 *    allows the duplicate. Money-moving (pre-existing, not guarded by the
 *    new cutoff either). The delete came from the lane's memory expiry
 *    (store.delete of each settled record past its own retention), not
 *    only from the history prune.
 *
 * Fixed: on a store several terminals share, a settled record past this
 * lane's retention leaves its memory only; the history prune deletes on the
 * database nothing younger, by the database's clock, than the longest
 * retention or window any terminal of the merchant asked for (kept in the
 * database's metadata, raised by each terminal at attach).
 */
import { describe, expect, it } from 'vitest';
import { flush, lanes } from '../helpers/lanes.js';

const codes = (d: { reasons: readonly { code: string }[] }) => d.reasons.map((r) => r.code);
const DAY = 86_400_000;

describe('atk6: a lane whose clock jumps forward, and the shared history prune', () => {
  it("keeps the other lanes' approvals after a jump forward of a month", async () => {
    const { time, db, open } = lanes();
    const g1 = await open(time.terminal(), 'T1');
    const t2 = time.terminal();
    const g2 = await open(t2, 'T2');
    const sale = { amount: 1_000, currency: 'CNY', card: { token: 'tok_atk6_prune' }, orderId: 'order-77' };
    const d = await g1.begin(sale);
    await g1.settle(d.attempt!.id, { status: 'approved', authCode: '123456' });
    await time.advance(2 * 60_000);
    t2.jump(30 * DAY);
    await g2.peek({ amount: 6, currency: 'CNY', card: { token: 'tok_atk6_other' } });
    await time.advance(1_000);
    await flush();
    const [row] = await db.remote('observer').get('M1', [d.attempt!.id]);
    expect(row?.record.status).toBe('approved');
    const g3 = await open(time.terminal(), 'T3');
    const same = await g3.peek(sale);
    expect(codes(same)).toEqual(expect.arrayContaining(['DUPLICATE_CHARGE', 'ORDER_ALREADY_PAID']));
  });

  it("a lane with retention '1h' keeps another lane's 2 h old approval inside that lane's window", async () => {
    const { time, db, open } = lanes();
    const g1 = await open(time.terminal(), 'T1', { window: '12h', retention: '24h' });
    const g2 = await open(time.terminal(), 'T2', { retention: '1h' });
    const sale = { amount: 1_000, currency: 'CNY', card: { token: 'tok_atk6_ret' }, orderId: 'order-88' };
    const d = await g1.begin(sale);
    await g1.settle(d.attempt!.id, { status: 'approved', authCode: '123456' });
    await time.advance(2 * 3_600_000);
    await g2.peek({ amount: 6, currency: 'CNY', card: { token: 'tok_atk6_other' } });
    await time.advance(1_000);
    await flush();
    const [row] = await db.remote('observer').get('M1', [d.attempt!.id]);
    expect(row?.record.status).toBe('approved');
    const g3 = await open(time.terminal(), 'T3', { window: '12h', retention: '24h' });
    expect(codes(await g3.peek(sale))).toEqual(expect.arrayContaining(['DUPLICATE_CHARGE', 'ORDER_ALREADY_PAID']));
  });
});
