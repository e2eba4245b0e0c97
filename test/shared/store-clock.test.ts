/**
 * The shared store measures the database's clock against the wall clock as
 * the guard's stamps read it (GuardTime.wallNow), not the wall clock itself.
 * Against the wall clock, a jump between half a second and a second moved
 * the store's skew (re-measured past 500 ms) but not the guard's stamps
 * (GuardTime starts an epoch past 1 s): everything the lane wrote next
 * reached the database, and every other lane, off by the jump.
 *
 * And the guard reads another terminal's times, which the store hands over on
 * that clock as it reads now, by the clock as it is now (timesOnOwnerClock).
 * Read by the epoch they "fit", after a step back they fitted the hour before
 * it too: another till's approval 2 s old, not yet heard of by notice, read an
 * hour old, and the second charge was a CLOCK_ANOMALY, not a DUPLICATE_CHARGE.
 */
import { describe, expect, it } from 'vitest';
import type { Remote } from '../../src/shared/remote.js';
import { LANES_START as START, lanes } from '../helpers/lanes.js';

const HOUR = 3_600_000;

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

describe('a lane an hour fast, set right by NTP', () => {
  it.for([
    ['heard of by notice before the step', true],
    ['not heard of (notices are hints: none need come)', false],
  ] as const)("another lane's approval 2 s old, %s, is a DUPLICATE_CHARGE", async ([, heard]) => {
    // Lane 2 hears no notice when `heard` is false: the claim meets the approval in the database.
    const deaf = (inner: Remote, id: string): Remote =>
      id !== 'T2' || heard
        ? inner
        : new Proxy(inner, {
            get: (target, name, receiver) => (name === 'noticed' ? async () => [] : (Reflect.get(target, name, receiver) as unknown)),
          });
    const { time, open } = lanes({ remote: deaf });
    const t1 = time.terminal();
    const t2 = time.terminal();
    t2.jump(HOUR);
    const g1 = await open(t1, 'T1');
    const g2 = await open(t2, 'T2');
    await time.advance(5_000);
    const sale = { amount: 1_000, currency: 'CNY', card: { token: 'tok_step_back' } };
    const d = await g1.begin(sale);
    await g1.settle(d.attempt!.id, { status: 'approved', authCode: '123456' });
    await time.advance(500);
    await g2.peek({ ...sale, amount: 3 }); // lane 2 takes a stamp after the approval, before the step
    await time.advance(500);
    t2.jump(-HOUR);
    await time.advance(1_000);
    expect((await g2.begin(sale)).reasons.map((r) => r.code)).toContain('DUPLICATE_CHARGE');
  });
});
