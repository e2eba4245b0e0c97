/**
 * atk23: every write of the clock steps merges the guard's own list with the
 * store's (saveClockSteps: union, then tidy). Past 16 steps both lists hold a
 * merged step, each the sum of the oldest steps: the union keeps both merged
 * steps AND the originals one of them was made of (they are different pairs),
 * and tidy merges them again, adding each size twice or more. Every write
 * after the 16th step compounds it: 30 five-minute naps in a day (150 min
 * of steps in all) leave the store holding stamps 775 min longer; with a
 * restart a week, ten one-hour naps a day for a month leave steps of 2e15 ms
 * (64,000 years), for two months 6e22 ms, and past that `at - by` is
 * rounding noise of doubles.
 *
 * After the next restart every stamp before the merged step is held that
 * much longer: each approval prompts DUPLICATE_CHARGE for days (the regular
 * customer's coffee, every day: prompt fatigue lets the real duplicate
 * through), retention never ends (memory and the file grow without bound),
 * an unknown blocks its card for ever instead of 7 days.
 *
 * Fixed: a guard writes only the steps it noticed since its last write, and
 * settled attempts age by the wall clock across a restart (SPEC §3); the
 * DUPLICATE_CHARGE and retention tests pin that no over-hold comes back.
 */
import { describe, expect, it } from 'vitest';
import { CLOCK_STEPS, heldLongerBy, mergeClockSteps, parseClockSteps, type ClockStep } from '../../src/clock-steps.js';
import { createGuard, memoryStore, type Guard } from '../../src/index.js';
import { virtualTime } from '../../src/testing.js';
import type { VirtualTime } from '../../src/scenarios/virtual-time.js';
import { SECRET } from '../helpers/guard.js';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const T = Date.parse('2026-02-02T08:00:00Z');
const codes = (decision: { reasons: { code: string }[] }) => decision.reasons.map((r) => r.code);
const wake = { amount: 1, currency: 'EUR', card: { token: 'tok_atk23_union_wake' } };

/** A memoryStore till on virtual time: `open()` starts (or restarts) its guard. */
function till() {
  const store = memoryStore();
  const time = virtualTime(T);
  const open = () => createGuard({ merchantId: 'M1', secret: SECRET, store, clock: time.clock, scheduler: time.scheduler });
  return { store, time, open };
}

/** `count` naps: awake 10 minutes, asleep 5 (a forward step), then woken by the cashier. */
async function naps(g: Guard, time: VirtualTime, count: number): Promise<void> {
  for (let i = 1; i <= count; i++) {
    await time.advance(10 * MINUTE);
    time.jump(5 * MINUTE);
    await g.peek(wake);
  }
}

describe('atk23: the steps merged with the store on every write', () => {
  it('the stored list and the one step noticed since, merged: no stamp held longer than all the steps together', () => {
    const noted: ClockStep[] = [];
    let stored: ClockStep[] = [];
    for (let i = 1; i <= 18; i++) {
      const step: ClockStep = [T + i * 15 * MINUTE, 5 * MINUTE];
      noted.push(step);
      stored = mergeClockSteps(stored, [step], step[0]);
    }
    const all = noted.reduce((sum, [, by]) => sum + by, 0); // 90 min
    expect(heldLongerBy(stored, T) / MINUTE).toBe(all / MINUTE);
  });

  it('one guard through 30 five-minute naps: the store holds no stamp longer than the 150 min the clock stepped', async () => {
    const { store, time, open } = till();
    const g = await open();
    await naps(g, time, 30);
    await g.close();
    const steps = parseClockSteps(await store.getMeta(CLOCK_STEPS));
    expect(heldLongerBy(steps, T) / MINUTE).toBeLessThanOrEqual(150); // 775 now
  });

  it('a tablet that dims every 15 minutes: yesterday morning’s coffee (same card, same amount) does not prompt DUPLICATE_CHARGE after this morning’s restart', async () => {
    const { time, open } = till();
    const g = await open();
    const coffee = { amount: 350, currency: 'EUR', card: { token: 'tok_atk23_union_regular' } };
    const first = await g.begin(coffee);
    await first.attempt!.approve();
    await naps(g, time, 48);
    await g.close();
    time.jump(11 * HOUR); // shut at night, switched on next morning
    time.restart();
    const next = await open();
    // 24 h after the first coffee; held at most by the 4 h of naps after it (+ its 10-minute window).
    const again = await next.peek(coffee);
    expect(codes(again)).not.toContain('DUPLICATE_CHARGE'); // prompts now: held ~50 h
    await next.close();
  });
});

describe('atk23: what the compounded steps leave alone (holds)', () => {
  it('after a day of naps and a restart, a declined card’s retry, a voided sale’s re-charge and another amount on the same card are allowed', async () => {
    const { time, open } = till();
    const g = await open();
    const declined = { amount: 2_000, currency: 'EUR', card: { token: 'tok_atk23_declined' } };
    const voided = { amount: 3_000, currency: 'EUR', card: { token: 'tok_atk23_voided' } };
    const d = await g.begin(declined);
    await d.attempt!.decline();
    const v = await g.begin(voided);
    await v.attempt!.approve();
    await v.attempt!.void(); // voided the same day: the customer pays again later
    await naps(g, time, 48);
    await g.close();
    time.jump(11 * HOUR);
    time.restart();
    const next = await open();
    expect((await next.peek(declined)).verdict).toBe('allow');
    expect((await next.peek(voided)).verdict).toBe('allow');
    expect((await next.peek({ ...voided, amount: 3_001 })).verdict).toBe('allow');
    await next.close();
  });
});

describe('atk23: one over-held record at the head of the settled queue', () => {
  it('after the restart, sales made since (stamped after every step) still leave memory and the store when their 24 h retention ends', async () => {
    // AttemptIndex prunes from the head of a FIFO whose deadlines it assumes non-decreasing. A record from
    // before the restart, held by the compounded steps (here ~50 h; after weeks of naps, years), heads
    // it: nothing settled behind it is pruned until it is, though no step holds them: memory grows.
    const { store, time, open } = till();
    const g = await open();
    const early = await g.begin({ amount: 990, currency: 'EUR', card: { token: 'tok_atk23_head' } });
    await early.attempt!.approve();
    await naps(g, time, 48);
    await g.close();
    time.jump(11 * HOUR);
    time.restart();
    const next = await open();
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      const decision = await next.begin({ amount: 100 + i, currency: 'EUR', card: { token: `tok_atk23_after_${i}` } });
      await decision.attempt!.approve();
      ids.push(decision.attempt!.id);
      await time.advance(HOUR);
    }
    await time.advance(25 * HOUR); // no naps: the till stays awake (plugged in); every sale since is over 24 h old
    await next.peek(wake);
    const inStore = (await store.load()).filter((r) => ids.includes(r.id)).length;
    const inMemory = (await Promise.all(ids.map((id) => next.get(id)))).filter((r) => r !== undefined).length;
    expect({ inStore, inMemory }).toEqual({ inStore: 0, inMemory: 0 });
    await next.close();
  });
});
