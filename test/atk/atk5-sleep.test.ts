/**
 * atk5: a lane that slept (its monotonic clock stopped; its wall clock and
 * the database's ran on) judges another lane's pending it saw before.
 *
 * SPEC §9: "another live terminal's pending stays IN_FLIGHT until
 * pendingTimeout by the database's clock"; a till's clock can neither free
 * another till's sale early nor hold it forever.
 *
 * Mechanism: the guard ages every attempt on guard time (monotonic clock +
 * offset, src/guard-time.ts), and the shared store hands another lane's
 * row back with the times it already holds for it (HeldTimes pairs a
 * database time with the guard time it handed out; GuardTime.fromWall keeps
 * the known stamp). So a pending seen before the sleep keeps its pre-sleep
 * guard time, and the sleep (the monotonic pause) is never counted in its
 * age: the dead lane's sale, 10 minutes old on the database's clock (and
 * UNKNOWN_OUTCOME on every other lane), stays IN_FLIGHT here, never
 * overridable, for pendingTimeout more after waking (measured: flips ~110 s
 * after wake). The longer sleep changes nothing: the hold is always a full
 * pendingTimeout after waking.
 *
 * Not changed: the safe side SPEC §3 chooses for a paused monotonic clock
 * (an unknown outcome kept longer, never shorter), against §9's database
 * clock for another terminal's pending. A sale is never freed early, and
 * is held at most pendingTimeout past waking: that bound is what this
 * test pins (docs/postgres-store.md, Clocks).
 */
import { describe, expect, it } from 'vitest';
import { flush, lanes, sleepy } from '../helpers/lanes.js';

const codes = (d: { reasons: readonly { code: string }[] }) => d.reasons.map((r) => r.code);
const MIN = 60_000;

describe('atk5: sleep and wake', () => {
  it("another lane's dead pending, seen before a 10-minute sleep, is UNKNOWN_OUTCOME at the latest pendingTimeout after waking, never held longer", async () => {
    const { time, open } = lanes();
    const g1 = await open(time.terminal(), 'T1');
    const tablet = sleepy(time, time.terminal());
    const g2 = await open(tablet.terminal, 'T2');
    const sale = { amount: 1_000, currency: 'CNY', card: { token: 'tok_atk5_sleep' } };
    const d = await g1.begin(sale);
    expect(d.verdict).toBe('allow');
    await time.advance(10_000);
    expect(codes(await g2.begin(sale))).toEqual(['IN_FLIGHT']);
    await g1.close(); // lane 1 dies mid-charge
    tablet.sleep();
    await time.advance(10 * MIN);
    tablet.wake();
    await time.advance(2 * MIN); // pendingTimeout after waking
    await flush();
    const after = await g2.begin(sale);
    expect(codes(after)).toContain('UNKNOWN_OUTCOME');
    expect(codes(after)).not.toContain('IN_FLIGHT');
  });
});
