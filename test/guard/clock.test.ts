import { describe, expect, it } from 'vitest';
import { createGuard, memoryStore, type Decision } from '../../src/index.js';
import { HOUR, MINUTE, ManualClock, SECOND, SECRET, flush, sale, testGuard } from '../helpers/guard.js';

const codes = (d: Decision) => d.reasons.map((r) => r.code).sort();

describe('windows use the monotonic clock within a process', () => {
  it.each([
    ['forward', 3 * HOUR],
    ['back', -3 * HOUR],
  ])('a wall-clock jump of hours %s does not expire DUPLICATE_CHARGE early', async (_dir, jump) => {
    const { guard, clock } = await testGuard({ window: '10m' });
    const { attempt } = await guard.begin(sale());
    await attempt?.approve();
    clock.advance(MINUTE);
    clock.jump(jump);
    const d = await guard.peek(sale());
    expect(d.verdict).toBe('prompt');
    expect(codes(d)).toEqual(['CLOCK_ANOMALY', 'DUPLICATE_CHARGE']);
    // The age is measured on the monotonic clock: one minute, not hours.
    expect(d.reasons.find((r) => r.code === 'DUPLICATE_CHARGE')?.ageMs).toBe(MINUTE);
    clock.advance(9 * MINUTE - 1);
    expect(codes(await guard.peek(sale()))).toEqual(['DUPLICATE_CHARGE']);
  });

  it.each([
    ['back', -3 * HOUR],
    ['forward', 3 * HOUR],
  ])('a wall-clock jump of hours %s does not extend the window', async (_dir, jump) => {
    const { guard, clock } = await testGuard({ window: '10m' });
    const { attempt } = await guard.begin(sale());
    await attempt?.approve();
    clock.advance(9 * MINUTE);
    clock.jump(jump);
    expect(codes(await guard.peek(sale()))).toEqual(['CLOCK_ANOMALY', 'DUPLICATE_CHARGE']);
    clock.advance(MINUTE);
    expect(await guard.peek(sale())).toMatchObject({ verdict: 'allow', reasons: [] });
  });

  it('pendingTimeout is monotonic too: a jump does not turn a fresh pending unknown', async () => {
    const { guard, clock } = await testGuard({ pendingTimeout: '2m' });
    const { attempt } = await guard.begin(sale());
    clock.jump(HOUR);
    expect(attempt?.status).toBe('pending');
    expect((await guard.peek(sale())).reasons.map((r) => r.code)).toContain('IN_FLIGHT');
  });
});

describe('CLOCK_ANOMALY', () => {
  it.each([
    ['forward', 2 * MINUTE + 1],
    ['back', -(2 * MINUTE + 1)],
    ['forward by days', 3 * 24 * HOUR],
  ])('is a warning on the first decision after a jump %s, and not on the next', async (_dir, jump) => {
    const { guard, clock, events } = await testGuard();
    expect(codes(await guard.peek(sale()))).toEqual([]);
    clock.advance(SECOND);
    clock.jump(jump);
    const first = await guard.begin(sale());
    // A warning: the verdict stays allow and the attempt is reserved.
    expect(first.verdict).toBe('allow');
    expect(first.attempt).toBeDefined();
    expect(first.reasons).toEqual([expect.objectContaining({ code: 'CLOCK_ANOMALY' })]);
    expect(events.filter((e) => e.type === 'clock-anomaly')).toEqual([{ type: 'clock-anomaly', driftMs: jump }]);

    clock.advance(SECOND);
    expect(codes(await guard.begin(sale({ amount: 99 })))).toEqual([]);
    expect(events.filter((e) => e.type === 'clock-anomaly')).toHaveLength(1);
  });

  it('rides along on a prompt or block without changing the verdict', async () => {
    const { guard, clock } = await testGuard();
    await (await guard.begin(sale())).attempt?.approve();
    await guard.begin(sale({ amount: 7 }));
    clock.jump(-HOUR);
    const prompt = await guard.peek(sale());
    expect(prompt.verdict).toBe('prompt');
    expect(codes(prompt)).toEqual(['CLOCK_ANOMALY', 'DUPLICATE_CHARGE']);
    clock.jump(HOUR);
    const block = await guard.peek(sale({ amount: 7 }));
    expect(block.verdict).toBe('block');
    expect(codes(block)).toEqual(['CLOCK_ANOMALY', 'IN_FLIGHT']);
  });

  it.each([2 * MINUTE, -2 * MINUTE, 30 * SECOND])('a jump of %i ms (at most 2 minutes) is never reported', async (jump) => {
    const { guard, clock, events } = await testGuard();
    await guard.peek(sale());
    clock.jump(jump);
    expect(codes(await guard.peek(sale()))).toEqual([]);
    expect(events.filter((e) => e.type === 'clock-anomaly')).toEqual([]);
  });

  it('does not sum small drifts across decisions', async () => {
    const { guard, clock, events } = await testGuard();
    for (let i = 0; i < 6; i++) {
      clock.advance(10 * SECOND);
      clock.jump(90 * SECOND);
      expect(codes(await guard.peek(sale()))).toEqual([]);
    }
    expect(events.filter((e) => e.type === 'clock-anomaly')).toEqual([]);
  });

  it('is journaled', async () => {
    const { guard, store, clock } = await testGuard();
    clock.jump(5 * MINUTE);
    await guard.peek(sale());
    await flush();
    expect(store.journal().filter((e) => e.type === 'clock-anomaly')).toHaveLength(1);
  });
});

describe('across a restart, records age by the wall clock', () => {
  it('DUPLICATE_CHARGE counts the time the process was down', async () => {
    const { guard, store, clock } = await testGuard({ window: '10m' });
    const { attempt } = await guard.begin(sale());
    await attempt?.approve();

    // Down for 4 minutes; the new process's monotonic clock starts from another origin.
    clock.advance(4 * MINUTE);
    const later = clock.afterRestart();
    const restarted = await createGuard({ merchantId: 'M-0001', secret: SECRET, store, clock: later, window: '10m' });
    const d = await restarted.peek(sale());
    expect(codes(d)).toEqual(['DUPLICATE_CHARGE']);
    expect(d.reasons[0]?.ageMs).toBe(4 * MINUTE);

    later.advance(6 * MINUTE);
    expect(codes(await restarted.peek(sale()))).toEqual([]);
  });

  it('a window that ran out while the process was down has run out', async () => {
    const { guard, store, clock } = await testGuard({ window: '10m' });
    await (await guard.begin(sale())).attempt?.approve();
    clock.advance(11 * MINUTE);
    const restarted = await createGuard({ merchantId: 'M-0001', secret: SECRET, store, clock: clock.afterRestart(), window: '10m' });
    expect(await restarted.peek(sale())).toMatchObject({ verdict: 'allow', reasons: [] });
  });

  // The index drops approved attempts from the fingerprint map once their
  // window has passed; it must judge that by approvedAt, as the rule does,
  // not by the last settle, which a clock set back can put before approval.
  it('a partial refund after a restart on a clock set back does not end the window early', async () => {
    const { guard, store, clock } = await testGuard({ window: '10m' });
    const { attempt } = await guard.begin(sale());
    await attempt?.approve();

    clock.jump(-HOUR);
    const later = clock.afterRestart();
    const restarted = await createGuard({ merchantId: 'M-0001', secret: SECRET, store, clock: later, window: '10m' });
    await restarted.settle(attempt?.id ?? '', { status: 'refunded', amount: 100 });
    await restarted.peek(sale({ amount: 1 }));
    // 45 minutes before the approval, by this clock: inside the window, as the rules see it.
    later.advance(15 * MINUTE);
    expect(codes(await restarted.begin(sale()))).toEqual(['DUPLICATE_CHARGE']);
  });
});

// A tablet that sleeps: the monotonic clock (CLOCK_MONOTONIC, performance.now)
// pauses while the wall clock goes on, which the manual clock shows as a
// wall-clock jump forward. What is stored must be the true wall-clock time.
describe('a till that sleeps', () => {
  it('dates what it stores by the wall clock, journal included', async () => {
    const { guard, store, clock } = await testGuard();
    clock.jump(8 * HOUR); // asleep on the shelf all night
    const { attempt } = await guard.begin(sale());
    await attempt?.approve();
    await flush();
    const [stored] = await store.load();
    expect(stored).toMatchObject({ createdAt: clock.wall, pendingSince: clock.wall, updatedAt: clock.wall, approvedAt: clock.wall });
    expect(await guard.get(attempt?.id ?? '')).toMatchObject({ createdAt: clock.wall, approvedAt: clock.wall });
    for (const entry of store.journal().slice(1)) expect(entry.at).toBe(clock.wall);
  });

  it('an approval made after waking still prompts after a restart 30 s later (DUPLICATE_CHARGE)', async () => {
    const { guard, store, clock } = await testGuard({ window: '10m' });
    clock.jump(2 * HOUR);
    await (await guard.begin(sale())).attempt?.approve();
    clock.advance(30 * SECOND);
    const restarted = await createGuard({ merchantId: 'M-0001', secret: SECRET, store, clock: clock.afterRestart(), window: '10m' });
    const d = await restarted.begin(sale());
    expect(codes(d)).toEqual(['DUPLICATE_CHARGE']);
    expect(d.reasons[0]?.ageMs).toBe(30 * SECOND);
  });

  it('an unknown outcome made 2 minutes before a restart is not pruned as a week old after nights of sleep', async () => {
    const { guard, store, clock } = await testGuard();
    for (let night = 0; night < 16; night++) {
      clock.advance(12 * HOUR);
      clock.jump(12 * HOUR);
      await guard.peek(sale({ amount: 1 })); // the till is used every day
    }
    await (await guard.begin(sale())).attempt?.markUnknown();
    clock.advance(2 * MINUTE);
    const restarted = await createGuard({ merchantId: 'M-0001', secret: SECRET, store, clock: clock.afterRestart() });
    expect(codes(await restarted.begin(sale()))).toEqual(['UNKNOWN_OUTCOME']);
  });

  it('within the process a paused clock errs on the safe side: an approval from before the sleep still prompts', async () => {
    const { guard, clock } = await testGuard({ window: '10m' });
    await (await guard.begin(sale())).attempt?.approve();
    clock.advance(MINUTE);
    clock.jump(2 * HOUR);
    expect(codes(await guard.begin(sale()))).toEqual(['CLOCK_ANOMALY', 'DUPLICATE_CHARGE']);
  });

  it('after a sleep, what happens next ages by the monotonic clock and is stored at its wall-clock time', async () => {
    const store = memoryStore();
    const clock = new ManualClock();
    const guard = await createGuard({ merchantId: 'M-0001', secret: SECRET, store, clock, window: '10m' });
    clock.jump(3 * HOUR);
    await (await guard.begin(sale())).attempt?.approve();
    clock.advance(MINUTE);
    const d = await guard.peek(sale());
    expect(d.reasons.find((r) => r.code === 'DUPLICATE_CHARGE')?.ageMs).toBe(MINUTE);
    const [stored] = await store.load();
    expect(stored?.approvedAt).toBe(clock.wall - MINUTE);
  });
});
