/**
 * atk23: a tablet that naps through the day (each wake a forward step of
 * the wall clock) and runs for weeks. Past 16 steps the oldest merge into
 * one noticed at `lastHeld + by` (its `at` pushed forward by its whole
 * size), and `tidy` drops a step only once it is 7 days old "on the clock
 * before all of the steps" (minus the sum of every kept step, the merged one
 * included). So the merged step is never dropped: every merge adds the next
 * nap to it. The hold of any stamp older than the 15 newest naps grows by
 * every nap the tablet ever took: after a month, 300 h; after two, 600 h
 * (withClockStep alone; the guard's writes compound it far beyond, see
 * atk23-union).
 *
 * After a restart this holds approvals, retention and unknowns by that much:
 * - a sale approved days ago prompts DUPLICATE_CHARGE when the regular
 *   customer buys the same again (prompt fatigue: a cashier who confirms
 *   every prompt confirms the real duplicate too);
 * - retention never ends (24 h becomes weeks, growing): memory and the store
 *   grow without bound on a till that restarts daily.
 * A guard that ran through the naps holds an approval by the naps after it
 * only (guard time); the stored steps should hold no longer than that, give
 * or take the naps merged: not by every nap since the tablet was set up.
 *
 * Fixed: past 16, the two steps noticed closest together merge (merged steps
 * stay spread over time), and each is dropped by the steps after it only.
 */
import { describe, expect, it } from 'vitest';
import { heldLongerBy, withClockStep, type ClockStep } from '../../src/clock-steps.js';
import { createGuard, memoryStore, type Guard } from '../../src/index.js';
import { virtualTime } from '../../src/testing.js';
import { SECRET } from '../helpers/guard.js';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const T = Date.parse('2026-02-01T08:00:00Z');
const codes = (decision: { reasons: { code: string }[] }) => decision.reasons.map((r) => r.code);

describe('atk23: a tablet that naps ten times a day, for weeks', () => {
  it('no stamp is held longer than the naps of the last 14 days together (the steps themselves: unbounded growth)', () => {
    let [steps, wall] = [[] as ClockStep[], T];
    const naps: number[] = []; // when each nap was noticed
    for (let day = 0; day < 60; day++) {
      for (let i = 0; i < 10; i++) {
        wall += 84 * MINUTE + HOUR; // awake 1 h 24 min, then asleep an hour
        steps = withClockStep(steps, wall, HOUR);
        naps.push(wall);
      }
    }
    // Every nap of the last 14 days after the stamp (140 h) is far more than any stamp should be held.
    const bound = naps.filter((at) => at > wall - 14 * DAY).length * HOUR;
    const worst = Math.max(...[1, 2, 3, 8, 20, 40].map((days) => heldLongerBy(steps, wall - days * DAY)));
    expect(worst / HOUR).toBeLessThanOrEqual(bound / HOUR); // 600 h now
  });

  async function napsFor(days: number, during: (day: number, g: Guard) => Promise<void>) {
    const store = memoryStore();
    const time = virtualTime(T);
    const open = () => createGuard({ merchantId: 'M1', secret: SECRET, store, clock: time.clock, scheduler: time.scheduler });
    let g = await open();
    for (let day = 0; day < days; day++) {
      for (let i = 0; i < 10; i++) {
        await time.advance(84 * MINUTE);
        time.jump(HOUR); // asleep an hour: the wall clock moved on, the monotonic one did not
        await g.peek({ amount: 1, currency: 'EUR', card: { token: 'tok_atk23_wake' } }); // the cashier wakes it
      }
      await during(day, g);
      if (day % 7 === 6 && day < 21) {
        // A weekly restart (an app update): the steps come back from the store.
        await g.close();
        time.restart();
        g = await open();
      }
    }
    return { store, time, open, g };
  }

  it('a coffee bought on day 28 (same card, same amount) does not prompt DUPLICATE_CHARGE on day 30 after a restart', async () => {
    const coffee = { amount: 350, currency: 'EUR', card: { token: 'tok_atk23_regular' } };
    let id = '';
    const { time, open, g } = await napsFor(30, async (day, guard) => {
      if (day !== 27) return;
      const decision = await guard.begin(coffee);
      expect(decision.verdict).toBe('allow');
      await decision.attempt!.approve();
      id = decision.attempt!.id;
    });
    // Within the process the 2-day-old coffee (20 h of naps since) is long past its 10-minute window.
    expect((await g.peek(coffee)).verdict).toBe('allow');
    await g.close();
    time.restart();
    const after = await open();
    expect(id).not.toBe('');
    const next = await after.peek(coffee);
    expect(codes(next)).not.toContain('DUPLICATE_CHARGE'); // prompts now: held hundreds of hours
    await after.close();
  }, 60_000);

  it('retention (24 h) still ends after a restart: a sale from day 20 is gone on day 30', async () => {
    const sale = { amount: 1_200, currency: 'EUR', card: { token: 'tok_atk23_old' } };
    let id = '';
    const { store, time, open, g } = await napsFor(30, async (day, guard) => {
      if (day !== 19) return;
      const decision = await guard.begin(sale);
      await decision.attempt!.approve();
      id = decision.attempt!.id;
    });
    await g.close();
    time.restart();
    const after = await open();
    await time.advance(HOUR);
    // 10 days old: 24 h retention plus its 100 h of naps since ended days ago.
    expect(await after.get(id)).toBeUndefined();
    expect((await store.load()).some((r) => r.id === id)).toBe(false);
    await after.close();
  }, 60_000);
});
