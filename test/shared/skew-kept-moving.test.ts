/**
 * Found by atk4: a clock that steps during every reading of the database's
 * clock makes the shared store take itself for cut off, with the database
 * reachable: the claim is judged on this lane's memory alone, and a second
 * charge of a sale another lane approved a second ago is allowed.
 *
 * `#measureSkew` (6411ddf) drops every reading whose wall-clock trip is not
 * its monotonic trip, and when none is left after SKEW_TRIES (6) throws
 * RemoteUnreachable. `#freshSkew`, which a claim runs first, takes that for
 * a lost database: the store is cut off, and the claim judges with
 * `{ cutOff: true }` on what this lane heard. It did not hear the approval
 * (notices are hints: none need come), and `onSharedUnavailable` is `allow`
 * by default, meant for a till that really lost its database; here it
 * answered every call. The retry 2 s later reads it right (IN_FLIGHT and
 * DUPLICATE_CHARGE), but the sale was already let through.
 *
 * A clock stepped during six round trips in a row is unlikely (a time daemon
 * fighting another, a VM's clock sync stepping every few hundred
 * milliseconds); it is the only way this lane ever decides on its own memory
 * with the database up. Expected: a clock that keeps moving holds the sale
 * (or the claim goes to the database with the skew it had), never a verdict
 * of `allow` on a duplicate. Fixed: no cut-off; the skew of the reading that
 * met the smallest step is taken (off by half of it at most; the skew it had
 * may be a whole step off), and measured again at the next call.
 */
import { describe, expect, it } from 'vitest';
import type { Remote } from '../../src/shared/remote.js';
import type { TerminalTime } from '../../src/scenarios/virtual-time.js';
import { lanes } from '../helpers/lanes.js';

const HOUR = 3_600_000;

describe('a clock stepped during every reading of the database clock', () => {
  it("another lane's approval a second old, not heard of, is not allowed again", async () => {
    const lane2: { terminal?: TerminalTime } = {};
    let steps = 0;
    let sign = 1;
    // Lane 2 hears no notice; its clock steps 2 s one way, then back, during each of the next `steps` readings.
    const remote = (inner: Remote, id: string): Remote =>
      id !== 'T2'
        ? inner
        : new Proxy(inner, {
            get(target, name, receiver) {
              if (name === 'noticed') return async () => [];
              if (name !== 'clock') return Reflect.get(target, name, receiver) as unknown;
              return async () => {
                const at = await target.clock();
                if (steps > 0) {
                  steps--;
                  lane2.terminal?.jump(sign * 2_000);
                  sign = -sign;
                }
                return at;
              };
            },
          });
    const { time, open } = lanes({ remote });
    const t2 = time.terminal();
    lane2.terminal = t2;
    const g1 = await open(time.terminal(), 'T1');
    const g2 = await open(t2, 'T2');
    await time.advance(5_000);
    const sale = { amount: 1_000, currency: 'CNY', card: { token: 'tok_kept_moving' } };
    const d = await g1.begin(sale);
    await g1.settle(d.attempt!.id, { status: 'approved', authCode: '123456' });
    await time.advance(1_000);
    t2.jump(HOUR); // a wrong step: the store measures the skew again at the next claim
    steps = 6;
    const again = await g2.begin(sale);
    expect(again.verdict).not.toBe('allow'); // was: allow, with CLOCK_ANOMALY and SHARED_UNAVAILABLE
    expect(again.reasons.map((r) => r.code)).toContain('DUPLICATE_CHARGE');
  });
});
