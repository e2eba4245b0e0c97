/**
 * atk22: the 16-step cap of `clock-steps` merges the two oldest steps into
 * one at the OLDER step's time. An open attempt stamped between the two then
 * counts neither: it loses the later step's hold, though the later step may
 * be the big one (NTP setting the clock days right). A tablet that sleeps and
 * wakes all day (each wake a forward step) reaches 16 steps within hours.
 * At the next start the unknown charge reads days older than it is, is
 * pruned as "unreconciled after 7 days", and its retry is let through: a
 * duplicate charge. Fixed: the merged step holds every stamp either held,
 * by both sizes.
 */
import { describe, expect, it } from 'vitest';
import { heldLongerBy, withClockStep, type ClockStep } from '../../src/clock-steps.js';
import { createGuard, memoryStore } from '../../src/index.js';
import { virtualTime } from '../../src/testing.js';
import { SECRET } from '../helpers/guard.js';

const DAY = 86_400_000;
const MINUTE = 60_000;
const sale = { amount: 4_200, currency: 'CNY', card: { token: 'tok_atk22_merge' } };
const other = { amount: 1, currency: 'CNY', card: { token: 'tok_atk22_merge_other' } };
const codes = (decision: { reasons: { code: string }[] }) => decision.reasons.map((r) => r.code);

describe('atk22: merging clock steps past the cap of 16', () => {
  it('never holds a stamp between the two oldest steps shorter than the steps noticed after it', () => {
    // Step 0 (a 2 s wake), a stamp, step 1 (NTP sets the clock 6 days right), then 15 more wakes:
    // the 17th step merges steps 0 and 1.
    const T = Date.parse('2026-02-20T09:00:00Z');
    let [steps, at, stamp] = [[] as ClockStep[], T, 0];
    for (let i = 0; i <= 16; i++) {
      const by = i === 1 ? 6 * DAY : 2_000;
      if (i === 1) stamp = at + 500;
      at += 60_000 + by;
      steps = withClockStep(steps, at, by);
    }
    const exact = 6 * DAY + 15 * 2_000; // every step but the first came after the stamp
    expect(heldLongerBy(steps, stamp)).toBeGreaterThanOrEqual(exact);
  });

  it('a tablet that woke from sleep, then was set 6 days right by NTP, then woke 15 more times: its 1-day-old unknown charge still blocks its retry after a restart', async () => {
    const store = memoryStore();
    const time = virtualTime(Date.parse('2026-02-20T09:00:00Z')); // 6 days behind
    const open = () => createGuard({ merchantId: 'M1', secret: SECRET, store, clock: time.clock, scheduler: time.scheduler });
    const g = await open();
    time.jump(5_000); // a wake from a short sleep
    await g.peek(other);
    await time.advance(MINUTE);
    const charge = await g.begin(sale);
    await charge.attempt!.markUnknown(); // the processor timed out
    await time.advance(MINUTE);
    time.jump(6 * DAY); // NTP sets the clock right
    expect(codes(await g.peek(sale))).toContain('UNKNOWN_OUTCOME');
    for (let i = 0; i < 15; i++) {
      await time.advance(10 * MINUTE);
      time.jump(5_000); // the tablet sleeps and wakes through the day
      await g.peek(other);
    }
    await time.advance(DAY); // the charge is a day old (read as 7 days old on its stamp)
    expect(codes(await g.peek(sale))).toContain('UNKNOWN_OUTCOME'); // held, within the process
    time.restart(); // the till restarts
    const after = await open();
    const retry = await after.begin(sale);
    expect(retry.verdict).toBe('block');
    expect(codes(retry)).toContain('UNKNOWN_OUTCOME');
    await after.close();
  });
});
