/**
 * Found by atk3: after a sleep, the pin of a time from outside that fits no
 * epoch (GuardTime #fromOutside, 9f58e26) moves another attempt's times on
 * the shared database by the length of the sleep.
 *
 * A sleeping tablet's monotonic clock stops while its wall clock, and the
 * database's, run on: the store's skew stays, GuardTime's gap grows by the
 * night. Every record another lane stamped during the night is read into the
 * span before the sleep (by today's gap) and that guard time pinned to it —
 * a guard time that may already stand for a time of this lane's (its own
 * sale S before another lane's) or for a pin of an earlier night (a record
 * stamped one night's length after). One of the two then goes back to the
 * database with the other's time: moved hours later, or hours earlier.
 * Unit tests of the mechanism: test/guard-time-pin-collision.test.ts.
 *
 * Expected (the HeldTimes property): createdAt and approvedAt never move on
 * the database's clock; an approval inside the window stays a DUPLICATE_CHARGE.
 * Fixed in GuardTime: such a time is pinned half a millisecond off.
 */
import { describe, expect, it } from 'vitest';
import { LANES_START as START, lanes, sleepy } from '../helpers/lanes.js';

const HOUR = 3_600_000;
const MINUTE = 60_000;
const sale = (token: string, amount = 1_000) => ({ amount, currency: 'CNY', card: { token } });

async function createdAtOf(db: ReturnType<typeof lanes>['db'], id: string): Promise<number> {
  const [row] = await db.remote('observer').get('M1', [id]);
  return row!.record.createdAt + row!.skew - START;
}

describe('a lane that slept settles attempts of the night', () => {
  it('its own sale from before the sleep keeps its createdAt', async () => {
    const { time, db, open } = lanes();
    const t1 = sleepy(time, time.terminal());
    const g1 = await open(t1.terminal, 'T1');
    const g2 = await open(time.terminal(), 'T2');
    const own = await g1.begin(sale('tok_own'));
    await time.advance(1_000);
    t1.sleep();
    await time.advance(8 * HOUR - 1_000);
    const night = await g2.begin(sale('tok_night')); // 8 h after T1's sale: the length of T1's sleep
    await time.advance(1_000);
    t1.wake();
    await time.advance(10);
    await g1.settle(night.attempt!.id, { status: 'approved', authCode: '123456' });
    await time.advance(10);
    await g1.settle(own.attempt!.id, { status: 'approved', authCode: '123456' });
    expect(await createdAtOf(db, night.attempt!.id)).toBe(8 * HOUR);
    expect(await createdAtOf(db, own.attempt!.id)).toBe(0); // actual: 8 h
  });

  it("the second night's sale keeps its createdAt", async () => {
    const { time, db, open } = lanes();
    const t1 = sleepy(time, time.terminal());
    const g1 = await open(t1.terminal, 'T1');
    const g2 = await open(time.terminal(), 'T2');
    await g1.begin(sale('tok_own'));
    t1.sleep(); // first night: 16 h
    await time.advance(10 * HOUR);
    const first = await g2.begin(sale('tok_first'));
    await time.advance(6 * HOUR);
    t1.wake();
    await g1.settle(first.attempt!.id, { status: 'approved', authCode: '123456' });
    await time.advance(8 * HOUR); // a day's work
    t1.sleep(); // second night: 16 h
    await time.advance(2 * HOUR);
    const second = await g2.begin(sale('tok_second')); // one night's length after the first
    await time.advance(14 * HOUR);
    t1.wake();
    await g1.settle(second.attempt!.id, { status: 'approved', authCode: '123456' });
    expect(await createdAtOf(db, first.attempt!.id)).toBe(10 * HOUR);
    expect(await createdAtOf(db, second.attempt!.id)).toBe(26 * HOUR); // actual: 10 h, 16 h earlier
  });

  it("another lane's approval three minutes old is still a DUPLICATE_CHARGE after the lane refunds part of it", async () => {
    const { time, open } = lanes();
    const t1 = sleepy(time, time.terminal());
    const g1 = await open(t1.terminal, 'T1');
    const g2 = await open(time.terminal(), 'T2');
    await g1.begin(sale('tok_own', 5));
    t1.sleep(); // the night: 16 h
    await time.advance(16 * HOUR - 2 * MINUTE);
    const first = await g2.begin(sale('tok_first', 7));
    await time.advance(2 * MINUTE);
    t1.wake();
    await g1.settle(first.attempt!.id, { status: 'declined' }); // read during the night's gap: pinned
    await time.advance(MINUTE);
    t1.sleep(); // a nap: its gap maps onto the night's pins
    await time.advance(HOUR - 3 * MINUTE - 500);
    const second = await g2.begin(sale('tok_second'));
    await time.advance(500);
    await g2.settle(second.attempt!.id, { status: 'approved', authCode: '123456' }); // one nap's length after `first`
    await time.advance(3 * MINUTE);
    t1.wake();
    // Lane 1 refunds part of it: the sale is written back with its approvedAt moved an hour earlier.
    await g1.settle(second.attempt!.id, { status: 'refunded', amount: 100 });
    const g3 = await open(time.terminal(), 'T3');
    const again = await g3.begin(sale('tok_second'));
    expect(again.verdict).not.toBe('allow'); // actual: allow, a second charge of a sale approved 3 min ago
    expect(again.reasons.map((r) => r.code)).toContain('DUPLICATE_CHARGE');
  });
});
