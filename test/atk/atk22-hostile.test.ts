/**
 * atk22: what the `clock-steps` meta can do to a guard when it is not what
 * this release wrote: a step noticed "in the future" (the clock was set
 * forward by mistake, noticed, then set back), damage, a hostile value.
 * The guard must start, and must not hold an open attempt begun after every
 * real step for longer than 7 days (a held unknown outcome blocks the
 * customer's card for that amount, and refunds of that sale, until someone
 * reconciles it by hand).
 */
import { describe, expect, it } from 'vitest';
import { CLOCK_STEPS, parseClockSteps } from '../../src/clock-steps.js';
import { createGuard, memoryStore, type MemoryStore } from '../../src/index.js';
import { virtualTime } from '../../src/testing.js';
import { SECRET } from '../helpers/guard.js';

const DAY = 86_400_000;
const HOUR = 3_600_000;
const START = Date.parse('2026-03-01T09:00:00Z');
const sale = { amount: 990, currency: 'CNY', card: { token: 'tok_atk22_hostile' } };
const codes = (decision: { reasons: { code: string }[] }) => decision.reasons.map((r) => r.code);

function setup(store: MemoryStore = memoryStore()) {
  const time = virtualTime(START);
  const open = () => createGuard({ merchantId: 'M1', secret: SECRET, store, clock: time.clock, scheduler: time.scheduler });
  return { time, open, store };
}

describe('atk22: clock-steps the guard did not expect', () => {
  it('the date set a year ahead by mistake, noticed, then set back: a charge begun after that, unknown, is not held past 7 days after a restart', async () => {
    const { time, open, store } = setup();
    const g = await open();
    time.jump(365 * DAY); // the manager types the wrong year
    await g.peek(sale);
    time.jump(-365 * DAY); // and fixes it a minute later
    await g.peek(sale);
    await time.advance(HOUR);
    const charge = await g.begin(sale);
    await charge.attempt!.markUnknown();
    expect(parseClockSteps(await store.getMeta(CLOCK_STEPS))).toHaveLength(1); // the mistaken step is kept
    await time.advance(7 * DAY + HOUR); // never reconciled
    time.restart();
    const after = await open();
    // Begun after every forward step the store knows of: 7 days on any clock, as without steps.
    expect(await after.get(charge.attempt!.id)).toBeUndefined();
    expect(codes(await after.peek(sale))).not.toContain('UNKNOWN_OUTCOME');
    await after.close();
  });

  it('a damaged clock-steps value of [[8.64e15, 8.64e15]] (the largest date, the largest step) does not hold today’s unknown charge forever', async () => {
    const { time, open, store } = setup();
    await store.setMeta(CLOCK_STEPS, '[[8640000000000000, 8640000000000000]]');
    const g = await open();
    const charge = await g.begin(sale);
    await charge.attempt!.markUnknown();
    await time.advance(30 * DAY);
    time.restart();
    const after = await open();
    expect(codes(await after.peek(sale))).not.toContain('UNKNOWN_OUTCOME');
    expect(await after.get(charge.attempt!.id)).toBeUndefined();
    await after.close();
  });

  it.each([
    ['not JSON', 'NaN'],
    ['Infinity as a string', '[["Infinity", "Infinity"]]'],
    ['a __proto__ object', '{"__proto__": {"length": 2, "0": [1, 2]}}'],
    ['a __proto__ key inside a step', '[{"__proto__": [1, 2]}]'],
    ['nulls', '[[null, null]]'],
    ['a negative time, a huge step', '[[-8640000000000000, 8640000000000000]]'],
    ['10 MB of one string', `"${'x'.repeat(10_000_000)}"`],
    ['an empty string', ''],
    ['absent (the control)', undefined],
  ])('starts over a clock-steps value that is %s, and an unknown charge begun then is pruned 7 days later', async (_, text) => {
    const { time, open, store } = setup();
    if (text !== undefined) await store.setMeta(CLOCK_STEPS, text);
    const g = await open(); // damage reads as no steps: the guard starts
    const charge = await g.begin(sale);
    await charge.attempt!.markUnknown();
    time.jump(DAY); // a step on top of the damage: the guard writes its list
    expect(codes(await g.peek(sale))).toContain('UNKNOWN_OUTCOME');
    await time.advance(7 * DAY - HOUR);
    time.restart();
    const after = await open();
    expect(codes(await after.peek(sale))).toContain('UNKNOWN_OUTCOME'); // stamped before the step: held a day longer
    await time.advance(2 * HOUR);
    time.restart();
    const later = await open();
    expect(await later.get(charge.attempt!.id)).toBeUndefined();
    await later.close();
  });

  it('a clock-steps value of 150 000 valid steps (about 3.5 MB) (an older release, or a hostile writer) costs a start and a step less than 2 s', async () => {
    const { time, open, store } = setup();
    const steps = Array.from({ length: 150_000 }, (_, i) => [START - DAY + i * 1_000, 2_000]);
    await store.setMeta(CLOCK_STEPS, JSON.stringify(steps));
    const began = performance.now();
    const g = await open();
    for (let i = 0; i < 20; i++) await (await g.begin({ ...sale, amount: 100 + i })).attempt!.markUnknown();
    time.jump(5_000);
    await g.peek(sale); // a step: the kept list is rewritten
    await new Promise<void>((resolve) => setTimeout(resolve, 0));
    expect(performance.now() - began).toBeLessThan(2_000);
    expect(parseClockSteps(await store.getMeta(CLOCK_STEPS)).length).toBeLessThanOrEqual(16);
    await g.close();
  }, 120_000);
});
