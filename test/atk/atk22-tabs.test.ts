/**
 * atk22: tabs over one IndexedDB each keep their own copy of `clock-steps`
 * and write it whole. A tab that never read another tab's step (it opened
 * after the clock stepped, before the other tab noticed) writes over it
 * when it notices a step of its own: the step that holds the other tab's
 * unknown charge is gone, and a tab opened later lets its retry through.
 * Fixed: a guard writes its steps merged with what the store holds.
 */
import { describe, expect, it } from 'vitest';
import { CLOCK_STEPS, parseClockSteps } from '../../src/clock-steps.js';
import { ManualClock } from '../helpers/guard.js';
import { freshDb, settle, tab } from '../helpers/tabs.js';

const DAY = 86_400_000;
const HOUR = 3_600_000;
const sale = { amount: 2_500, currency: 'CNY', card: { token: 'tok_atk22_tabs' } };
const other = { amount: 5, currency: 'CNY', card: { token: 'tok_atk22_tabs_other' } };
const codes = (decision: { reasons: { code: string }[] }) => decision.reasons.map((r) => r.code);

describe('atk22: clock-steps written by several tabs', () => {
  // Failed before a guard merged its steps with the stored ones.
  it('tab B’s step (a 10 s wake) does not erase the 5-day correction tab A wrote: a tab opened 2.5 days later still holds A’s unknown charge', async () => {
    const db = freshDb();
    const clock = new ManualClock(Date.parse('2026-02-20T09:00:00Z'));
    const a = await tab(db, clock);
    const charge = await a.guard.begin(sale);
    await charge.attempt!.markUnknown(); // the terminal timed out
    clock.advance(5_000);
    clock.jump(5 * DAY); // NTP sets the device clock right
    const b = await tab(db, clock); // a second tab opens (its guard time starts on the corrected clock)
    expect(codes(await a.guard.peek(sale))).toContain('UNKNOWN_OUTCOME'); // tab A notices the step, writes it
    await settle();
    expect(parseClockSteps(await b.store.getMeta(CLOCK_STEPS))).toHaveLength(1);
    await a.guard.close(); // tab A is closed
    clock.advance(60_000);
    clock.jump(10_000); // the tablet sleeps for 10 s
    await b.guard.peek(other); // tab B notices that step, and writes its own list
    await settle();
    await b.guard.close();
    clock.advance(2 * DAY + 12 * HOUR); // the charge is 2.5 days old (7.5 on its stamp)
    const c = await tab(db, clock.afterRestart());
    const retry = await c.guard.begin(sale);
    expect(retry.verdict).toBe('block');
    expect(codes(retry)).toContain('UNKNOWN_OUTCOME');
    await c.guard.close();
  });
});
