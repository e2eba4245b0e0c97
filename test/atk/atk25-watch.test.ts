/**
 * atk25: the clock watch (watchClock, src/guard/clock-steps.ts) attacked:
 * steps mid-charge still lost before a crash, and the watch doing harm.
 */
import { describe, expect, it } from 'vitest';
import { createGuard, memoryStore, type Scheduler } from '../../src/index.js';
import { virtualTime } from '../../src/testing.js';
import { SECRET } from '../helpers/guard.js';
import { codes } from '../helpers/tabs.js';
import { START, handleScheduler, ntpThenCrash, sale, setup, turn } from '../helpers/watch.js';

describe('atk25: the clock watch, broken', () => {
  it('take-over mid-charge (a hot reload): the new guard inherits the charge out but never watches it; NTP sets the clock 9 days right, the till dies 30 s later, and the retry is allowed: a double charge', async () => {
    const { time, open } = setup();
    const g1 = await open();
    const charge = await g1.begin(sale);
    expect(charge.verdict).toBe('allow');
    await time.advance(1_000);
    const g2 = await open(); // take-over: g1's watch is stopped (stopClockWatch)
    const retry = await ntpThenCrash(time, open);
    expect(codes(retry)).toContain('UNKNOWN_OUTCOME');
    expect(retry.verdict).toBe('block');
    void g2;
  });

  it('a scheduler whose after() returns a timer handle (not a cancel function): guard.close() after any begin rejects with a TypeError before it closes the store (the cancel of the watch is called unchecked)', async () => {
    const time = virtualTime(START);
    const scheduler = handleScheduler(time);
    const store = memoryStore();
    const g = await createGuard({ merchantId: 'M1', secret: SECRET, store, clock: time.clock, scheduler });
    await g.begin(sale);
    await time.advance(1_000);
    await expect(g.close()).resolves.toBeUndefined();
  });

  it('a scheduler whose after() returns a timer handle: charge() with a timeout, answered in time, resolves approved (cancelling its timer does not throw)', async () => {
    const time = virtualTime(START);
    const scheduler = handleScheduler(time);
    const g = await createGuard({ merchantId: 'M1', secret: SECRET, store: memoryStore(), clock: time.clock, scheduler });
    const result = await g.charge(sale, async () => ({ approved: true, authCode: 'A1' }), { timeout: '30s' });
    expect(result.status).toBe('approved');
    await g.close();
  });

  it('a scheduler that returns a timer handle: a take-over (second createGuard) mid-charge leaks an unhandled rejection (a Node process with --unhandled-rejections=throw, the default, dies)', async () => {
    const time = virtualTime(START);
    const scheduler = handleScheduler(time);
    const store = memoryStore();
    const open = () => createGuard({ merchantId: 'M1', secret: SECRET, store, clock: time.clock, scheduler });
    const unhandled: unknown[] = [];
    const on = (e: unknown) => unhandled.push(e);
    process.on('unhandledRejection', on);
    try {
      const g1 = await open();
      await g1.begin(sale);
      await time.advance(1_000);
      const g2 = await open();
      for (let i = 0; i < 5; i++) await turn();
      expect(unhandled.map(String)).toEqual([]);
      await g2.close();
    } finally {
      process.off('unhandledRejection', on);
    }
  });

  it('a clock whose now() throws once, read by a watch tick: the throw escapes the timer task (on the default scheduler an uncaught exception kills the POS process mid-charge)', async () => {
    const time = virtualTime(START);
    let bad = false;
    const clock = {
      now: () => {
        if (bad) throw new Error('clock read failed');
        return time.clock.now();
      },
      monotonic: () => time.clock.monotonic(),
    };
    const tasks: (() => void)[] = [];
    const scheduler: Scheduler = {
      after(ms, task) {
        tasks.push(task);
        return time.scheduler.after(ms, () => undefined);
      },
    };
    const g = await createGuard({ merchantId: 'M1', secret: SECRET, store: memoryStore(), clock, scheduler });
    await g.begin(sale);
    const tick = tasks.at(-1)!;
    bad = true;
    expect(() => tick()).not.toThrow();
    bad = false;
    await g.close();
  });
});
