/**
 * atk2, held up: a lane whose clock was set forward (NTP) rewrites another
 * lane's sale it never read before the jump (cut off meanwhile: the catch-up
 * reads it after the jump; a partial refund updates the sale). The approval
 * stays where it was on the database's clock, so another lane's
 * DUPLICATE_CHARGE window for the sale is not cut short. (The same with a
 * pending reservation, announced to no one, settled by the other lane right
 * after a jump, does move: read-fresh-skew.test.ts, open.)
 */
import { describe, expect, it } from 'vitest';
import { lanes } from '../helpers/lanes.js';

const MIN = 60_000;
const VISA = '4111 1111 1111 1111';

describe("a lane set forward rewrites another lane's sale it had not read", () => {
  it("the sale's approval stays where it was on the database clock", async () => {
    const { time, db, open } = lanes();
    const t1 = time.terminal();
    const t2 = time.terminal();
    t2.jump(-10 * MIN); // lane 2 runs 10 minutes slow
    const g1 = await open(t1, 'T1');
    const g2 = await open(t2, 'T2');
    const sale = { amount: 10_000, currency: 'CNY', card: { pan: VISA } };
    db.disconnect('T2'); // lane 2 hears nothing of the sale
    const d = await g1.begin(sale);
    await time.advance(1_000);
    await g1.settle(d.attempt!.id, { status: 'approved', authCode: '111111' });
    const [before] = await db.remote('observer').get('M1', [d.attempt!.id]);
    await time.advance(MIN);
    t2.jump(10 * MIN); // NTP sets lane 2 right
    await g2.peek({ amount: 1, currency: 'CNY', card: { token: 'tok_other' } }); // the guard stamps a time (cut off)
    db.reconnect('T2');
    await time.advance(MIN); // back on the database: the catch-up reads the sale
    const r = await g2.begin({ amount: 1_000, currency: 'CNY', card: { pan: VISA }, kind: 'refund', refundOf: d.attempt!.id });
    await time.advance(1_000);
    await g2.settle(r.attempt!.id, { status: 'approved' });
    const [after] = await db.remote('observer').get('M1', [d.attempt!.id]);
    expect(after!.record.refunded).toBe(1_000);
    expect(after!.record.approvedAt! + after!.skew).toBe(before!.record.approvedAt! + before!.skew);
  });
});
