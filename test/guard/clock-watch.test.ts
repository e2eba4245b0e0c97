/**
 * While a charge is out, the guard reads its clock every 5 s when no call
 * does (watchClock, src/guard/clock-steps.ts): a step of the wall clock
 * mid-charge is written to the store within seconds, so a till that dies
 * before its next call still holds the charge after a restart. Then, while
 * an open attempt is held, every 15 min; none on a till with none, or after close.
 */
import { describe, expect, it } from 'vitest';
import { CLOCK_STEPS } from '../../src/clock-steps.js';
import { createGuard, memoryStore, type Scheduler } from '../../src/index.js';
import { virtualTime } from '../../src/testing.js';
import { SECRET } from '../helpers/guard.js';

const DAY = 86_400_000;
const sale = { amount: 1_250, currency: 'CNY', card: { token: 'tok_watch' } };

/** Virtual time whose scheduler counts the timers set and cancelled. */
function countedTime() {
  const time = virtualTime(Date.parse('2026-02-20T09:00:00Z'));
  const counts = { set: 0, cancelled: 0 };
  const scheduler: Scheduler = {
    after(ms, task) {
      counts.set++;
      const cancel = time.scheduler.after(ms, task);
      return () => (counts.cancelled++, cancel());
    },
  };
  const store = memoryStore();
  const open = () => createGuard({ merchantId: 'M1', secret: SECRET, store, clock: time.clock, scheduler });
  return { time, counts, store, open };
}

describe('the clock watched while a charge is out', () => {
  it('the clock set 9 days right 5 s into a charge, no call after it: the step is in the store within 5 s', async () => {
    const { time, store, open } = countedTime();
    const g = await open();
    await g.begin(sale);
    await time.advance(1_000);
    time.jump(9 * DAY);
    expect(await store.getMeta(CLOCK_STEPS)).toBeUndefined();
    await time.advance(5_000);
    await new Promise((resolve) => setTimeout(resolve, 0));
    const steps = JSON.parse((await store.getMeta(CLOCK_STEPS)) ?? '[]') as number[][];
    expect(steps.map(([, by]) => by)).toEqual([9 * DAY]);
    await g.close();
  });

  it('a settled charge: reads stop pendingTimeout (2 min) after it went out; an idle hour after, none', async () => {
    const { time, counts, open } = countedTime();
    const g = await open();
    const before = counts.set;
    const charge = await g.begin(sale);
    await time.advance(12_000);
    expect(counts.set - before).toBeGreaterThanOrEqual(2); // read at 5 and 10 s
    await charge.attempt!.approve();
    await time.advance(2 * 60_000);
    const after = counts.set;
    await time.advance(60 * 60_000);
    expect(counts.set).toBe(after);
    await g.close();
  });

  it('a charge never settled: every 5 s for pendingTimeout (2 min) after it went out, then every 15 min while it stays open, not every 5 s for good', async () => {
    const { time, counts, open } = countedTime();
    const g = await open();
    const before = counts.set;
    await g.begin(sale);
    await time.advance(2 * 60_000);
    expect(counts.set - before).toBeGreaterThanOrEqual(20);
    expect(counts.set - before).toBeLessThanOrEqual(30);
    const fast = counts.set;
    await time.advance(60 * 60_000);
    // A quarter of an hour apart.
    expect(counts.set - fast).toBeGreaterThanOrEqual(3);
    expect(counts.set - fast).toBeLessThanOrEqual(5);
    await g.close();
  });

  it('an unknown outcome held an hour after its charge, no call since: NTP sets the clock 9 days right, the till dies 16 min later; after the restart the retry is still held', async () => {
    const { time, store, open } = countedTime();
    const g = await open();
    const charge = await g.begin(sale);
    await charge.attempt!.markUnknown();
    await time.advance(60 * 60_000);
    time.jump(9 * DAY);
    await time.advance(16 * 60_000);
    await new Promise((resolve) => setTimeout(resolve, 0));
    const steps = JSON.parse((await store.getMeta(CLOCK_STEPS)) ?? '[]') as number[][];
    expect(steps.map(([, by]) => by)).toEqual([9 * DAY]);
    time.restart();
    const after = await open();
    const retry = await after.begin(sale);
    expect(retry.reasons.map((r) => r.code)).toContain('UNKNOWN_OUTCOME');
    await after.close();
  });

  it('an unknown outcome held: the watch goes on at start-up (a restart finds it), every 15 min', async () => {
    const { time, store, open } = countedTime();
    const g = await open();
    const charge = await g.begin(sale);
    await charge.attempt!.markUnknown();
    await time.advance(10 * 60_000);
    time.restart();
    await open();
    time.jump(9 * DAY);
    await time.advance(16 * 60_000);
    await new Promise((resolve) => setTimeout(resolve, 0));
    const steps = JSON.parse((await store.getMeta(CLOCK_STEPS)) ?? '[]') as number[][];
    expect(steps.map(([, by]) => by)).toEqual([9 * DAY]);
  });

  it('the last open attempt settled: the reads every 15 min stop', async () => {
    const { time, counts, open } = countedTime();
    const g = await open();
    const charge = await g.begin(sale);
    await charge.attempt!.markUnknown();
    await time.advance(10 * 60_000);
    await g.settle(charge.attempt!.id, { status: 'declined' });
    await time.advance(16 * 60_000);
    const set = counts.set;
    await time.advance(60 * 60_000);
    expect(counts.set).toBe(set);
    await g.close();
  });

  it('close() cancels the next read (a Node process is not kept alive by it)', async () => {
    const { time, counts, open } = countedTime();
    const g = await open();
    await g.begin(sale);
    await time.advance(1_000);
    const cancelled = counts.cancelled;
    await g.close();
    expect(counts.cancelled).toBeGreaterThan(cancelled);
    const set = counts.set;
    await time.advance(60_000);
    expect(counts.set).toBe(set);
  });
});

describe('the clock watch across a take-over that fails to start', () => {
  it('a second createGuard over the store fails to load it while a charge is out: the first guard, handed the store back, goes on watching its clock', async () => {
    const { time, store, open } = countedTime();
    const g = await open();
    await g.begin(sale);
    await time.advance(1_000);
    // The take-over's load fails (a disk error): the store goes back to the first guard.
    const load = store.load.bind(store);
    store.load = () => Promise.reject(new Error('EIO'));
    const failed = await open().then(
      () => 'started',
      (error: Error) => error.name,
    );
    store.load = load;
    expect(failed).toBe('GuardStorageError');
    time.jump(9 * DAY);
    await time.advance(6_000);
    await new Promise((resolve) => setTimeout(resolve, 0));
    const steps = JSON.parse((await store.getMeta(CLOCK_STEPS)) ?? '[]') as number[][];
    expect(steps.map(([, by]) => by)).toEqual([9 * DAY]);
    await g.close();
  });
});
