/**
 * atk5: one lane's wall clock set back by days (an RTC whose battery died
 * boots at 2000-01-01; a cashier picks the wrong year) deletes the whole
 * merchant's settled history from the shared database.
 *
 * Mechanism: the periodic history prune (src/guard/prune.ts pruneHistory,
 * once a minute from every decision) asks the store to delete what is
 * settled and older than `ctx.time.wallCutoff(now - retention)`. After a
 * step back, wallCutoff is, correctly for a store holding this lane's own
 * stamps, the lower of the pre-step cutoff and the new epoch's start read
 * on the new clock: `J - step` (J the moment of the step). The shared store
 * (src/shared/store.ts prune) then adds its CURRENT skew, measured after
 * the step (#freshSkew runs before every claim): `J - step + step = J` on
 * the database's clock. `Remote.prune` deletes every row of the merchant
 * that is not open and whose database time is before J: every approval,
 * refund and paid order of every lane up to the moment of the step, the
 * ones inside `window` and those retention must keep included.
 *
 * Then: a fresh lane (or any lane after a restart) allows the same sale
 * again (DUPLICATE_CHARGE lost), lets an order already paid be paid again
 * (ORDER_ALREADY_PAID lost), and a refund's original is "not found".
 * Money-moving.
 *
 * Fixed: with a store whose times are on the clock as it reads now
 * (`timesOnOwnerClock`), the cutoff is the wall clock now less retention,
 * which the store reads with the skew measured now: the database's clock
 * less retention, whatever this lane's clock did.
 */
import { describe, expect, it } from 'vitest';
import { flush, lanes } from '../helpers/lanes.js';

const codes = (d: { reasons: readonly { code: string }[] }) => d.reasons.map((r) => r.code);
const DAY = 86_400_000;

describe('atk5: a lane whose clock is set back by days, and the shared history', () => {
  it("keeps the other lanes' approvals: a fresh lane still sees the paid order and the duplicate", async () => {
    const { time, db, open } = lanes();
    const g1 = await open(time.terminal(), 'T1');
    const t2 = time.terminal();
    const g2 = await open(t2, 'T2');
    const sale = { amount: 1_000, currency: 'CNY', card: { token: 'tok_atk5_prune' }, orderId: 'order-77' };
    const d = await g1.begin(sale);
    await g1.settle(d.attempt!.id, { status: 'approved', authCode: '123456' });
    await time.advance(2 * 60_000);
    t2.jump(-30 * DAY); // lane 2's clock falls back a month
    await g2.begin({ amount: 5, currency: 'CNY', card: { token: 'tok_atk5_other' } });
    await time.advance(61_000);
    await g2.peek({ amount: 6, currency: 'CNY', card: { token: 'tok_atk5_other' } }); // a minute on: its history prune
    await time.advance(1_000);
    await flush();
    const g3 = await open(time.terminal(), 'T3');
    const again = await g3.peek({ ...sale, card: { token: 'tok_atk5_prune_2' } });
    const same = await g3.peek(sale);
    expect([codes(again), codes(same)]).toEqual([
      ['ORDER_SAME_AMOUNT'],
      expect.arrayContaining(['DUPLICATE_CHARGE', 'ORDER_ALREADY_PAID']),
    ]); // actual: [[], []]
    const [row] = await db.remote('observer').get('M1', [d.attempt!.id]);
    expect(row?.record.status).toBe('approved'); // actual: deleted from the database
  });
});

describe('the history prune on a shared store, clocks as they should be', () => {
  it('deletes what is settled and older than retention on the database, and keeps what is younger', async () => {
    const { time, db, open } = lanes();
    const g1 = await open(time.terminal(), 'T1', { retention: '1h' });
    const old = await g1.begin({ amount: 1_000, currency: 'CNY', card: { token: 'tok_prune_old' } });
    await g1.settle(old.attempt!.id, { status: 'approved', authCode: '111111' });
    await time.advance(40 * 60_000);
    const young = await g1.begin({ amount: 2_000, currency: 'CNY', card: { token: 'tok_prune_young' } });
    await g1.settle(young.attempt!.id, { status: 'approved', authCode: '222222' });
    await time.advance(21 * 60_000); // the first one is 61 min old, the second 21
    await g1.peek({ amount: 3, currency: 'CNY', card: { token: 'tok_prune_tick' } }); // a decision: the minute's prune
    await flush();
    const rows = await db.remote('observer').get('M1', [old.attempt!.id, young.attempt!.id]);
    expect(rows.map((row) => row.record.id)).toEqual([young.attempt!.id]);
  });
});
