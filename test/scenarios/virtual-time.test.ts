import { describe, expect, it } from 'vitest';
import { createGuard } from '../../src/index.js';
import { virtualTime } from '../../src/testing.js';
import { SECRET, flush, sale, thrown } from '../helpers/guard.js';

describe('virtualTime', () => {
  it('runs timers in due order as time advances, each at its own time, and not before', async () => {
    const time = virtualTime(1_000_000);
    const ran: [string, number, number][] = [];
    time.scheduler.after(300, () => ran.push(['c', time.clock.monotonic(), time.clock.now()]));
    time.scheduler.after(100, () => {
      ran.push(['a', time.clock.monotonic(), time.clock.now()]);
      time.scheduler.after(50, () => ran.push(['b', time.clock.monotonic(), time.clock.now()]));
    });
    const cancel = time.scheduler.after(200, () => ran.push(['cancelled', 0, 0]));
    cancel();
    await time.advance(99);
    expect(ran).toEqual([]);
    await time.advance(1000);
    expect(ran).toEqual([
      ['a', 100, 1_000_100],
      ['b', 150, 1_000_150],
      ['c', 300, 1_000_300],
    ]);
    expect([time.clock.monotonic(), time.clock.now()]).toEqual([1099, 1_001_099]);
  });

  it('jump moves the wall clock only; restart starts the monotonic clock again and drops the timers', async () => {
    const time = virtualTime(0);
    let fired = false;
    time.scheduler.after(10, () => (fired = true));
    time.jump(-5000);
    expect([time.clock.now(), time.clock.monotonic()]).toEqual([-5000, 0]);
    time.restart();
    await time.advance(100);
    expect(fired).toBe(false);
  });
});

describe("charge's timeout runs on the injected scheduler", () => {
  it('settles a silent submit as unknown when virtual time passes the timeout, with no real wait', async () => {
    const time = virtualTime(Date.parse('2026-03-01T09:00:00Z'));
    const guard = await createGuard({ merchantId: 'M-1', secret: SECRET, clock: time.clock, scheduler: time.scheduler });
    let settled = false;
    let submitted!: () => void;
    const inSubmit = new Promise<void>((resolve) => (submitted = resolve));
    const silent = () => {
      submitted();
      return new Promise<never>(() => undefined);
    };
    const charging = guard.charge(sale(), silent, { timeout: '30s' }).then((result) => {
      settled = true;
      return result;
    });
    await inSubmit;
    await time.advance(29_999);
    await flush();
    expect(settled).toBe(false);
    await time.advance(1);
    expect(await charging).toMatchObject({ status: 'unknown', attempt: { status: 'unknown', message: 'no answer within 30000 ms' } });
  });

  it('refuses a timeout of 0, which would settle every charge as unknown before the processor answered', async () => {
    const guard = await createGuard({ merchantId: 'M-1', secret: SECRET });
    let submitted = false;
    const error = await thrown(() => guard.charge(sale(), async () => ((submitted = true), { approved: true }), { timeout: 0 }));
    expect(error).toMatchObject({ name: 'GuardInputError', field: 'timeout' });
    expect(submitted).toBe(false);
    expect(await guard.attempts()).toEqual([]);
  });

  it('a scheduler that throws never leaves a submitted charge without its timeout (setTimeout stands in)', async () => {
    const broken = {
      after: () => {
        throw new Error('scheduler down');
      },
    };
    const guard = await createGuard({ merchantId: 'M-1', secret: SECRET, scheduler: broken });
    const result = await guard.charge(sale(), () => new Promise<never>(() => undefined), { timeout: 30 });
    expect(result).toMatchObject({ status: 'unknown', attempt: { status: 'unknown', message: 'no answer within 30 ms' } });
  });

  it('refuses a scheduler without after()', async () => {
    const error = await thrown(() => createGuard({ merchantId: 'M-1', secret: SECRET, scheduler: {} as never }));
    expect(error).toMatchObject({ name: 'GuardConfigError', field: 'scheduler' });
  });
});
