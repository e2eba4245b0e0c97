/**
 * The shared store measures the database's clock against the wall clock as
 * the guard's stamps read it (GuardTime.wallNow), not the wall clock itself.
 * Against the wall clock, a jump between half a second and a second moved
 * the store's skew (re-measured past 500 ms) but not the guard's stamps
 * (GuardTime starts an epoch past 1 s): everything the lane wrote next
 * reached the database, and every other lane, off by the jump.
 */
import { describe, expect, it } from 'vitest';
import { LANES_START as START, lanes } from '../helpers/lanes.js';

describe("a lane's clock set by a little, or by more", () => {
  it.for([600, 900, -700, 1_500, -3_000])('by %i ms: what it stamps next lands at the true time on the database', async (jump) => {
    const { time, db, open } = lanes();
    const t1 = time.terminal();
    const g1 = await open(t1, 'T1');
    await time.advance(1_000);
    t1.jump(jump);
    await time.advance(1_000);
    const d = await g1.begin({ amount: 1_000, currency: 'CNY', card: { token: 'tok_band' } });
    const [row] = await db.remote('observer').get('M1', [d.attempt!.id]);
    expect(row!.record.createdAt + row!.skew - START).toBe(2_000);
  });
});
