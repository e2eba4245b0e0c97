/**
 * atk22: the `clock-steps` meta write, and the guards that should (or must
 * not) make it.
 */
import { describe, expect, it } from 'vitest';
import { CLOCK_STEPS, parseClockSteps } from '../../src/clock-steps.js';
import { createGuard, memoryStore, type GuardEvent, type GuardStore } from '../../src/index.js';
import { virtualTime } from '../../src/testing.js';
import { SECRET } from '../helpers/guard.js';

const DAY = 86_400_000;
const START = Date.parse('2026-02-20T09:00:00Z'); // 9 days behind
const sale = { amount: 1_250, currency: 'CNY', card: { token: 'tok_atk22_meta' } };
const other = { amount: 7, currency: 'CNY', card: { token: 'tok_atk22_meta_other' } };
const codes = (decision: { reasons: { code: string }[] }) => decision.reasons.map((r) => r.code);
const flush = () => new Promise<void>((resolve) => setTimeout(resolve, 0));

function setup(store: GuardStore = memoryStore()) {
  const time = virtualTime(START);
  const open = () => createGuard({ merchantId: 'M1', secret: SECRET, store, clock: time.clock, scheduler: time.scheduler });
  return { time, open, store };
}

describe('atk22: the clock-steps write', () => {
  it('a clock-steps write that failed once (a disk hiccup) is written again by a later write: the unknown charge still blocks its retry after a restart', async () => {
    const inner = memoryStore();
    let failNext = true;
    const store: GuardStore = Object.assign(Object.create(inner) as GuardStore, {
      setMeta: async (key: string, value: string) => {
        if (key === CLOCK_STEPS && failNext) {
          failNext = false;
          throw new Error('EIO: disk hiccup');
        }
        return inner.setMeta(key, value);
      },
    });
    const { time, open } = setup(store);
    const g = await open();
    const errors: GuardEvent[] = [];
    g.on('storage-error', (e) => errors.push(e));
    const charge = await g.begin(sale);
    await time.advance(5_000);
    time.jump(9 * DAY); // NTP sets the clock right
    await time.advance(30_000);
    await charge.attempt!.markUnknown(); // notices the step: its write fails, the record's succeeds
    await flush();
    expect(errors.length).toBeGreaterThan(0); // the app was told once
    // The till goes on: the disk is fine again, sales are written.
    const next = await g.begin(other);
    await next.attempt!.approve();
    await time.advance(60_000);
    await g.close(); // a clean shutdown
    time.restart();
    const after = await open();
    const retry = await after.begin(sale);
    expect(retry.verdict).toBe('block');
    expect(codes(retry)).toContain('UNKNOWN_OUTCOME');
    await after.close();
  });

  it('a second createGuard in the same process (a hot reload) right after an NTP step the first guard had not yet noticed: the unknown charge still blocks', async () => {
    const { time, open } = setup();
    const g = await open();
    const charge = await g.begin(sale);
    await time.advance(5_000);
    await charge.attempt!.markUnknown();
    await time.advance(30_000);
    time.jump(9 * DAY); // NTP: the first guard's GuardTime can tell, the store cannot
    await time.advance(1_000);
    const reloaded = await open(); // takes the store over from g
    const retry = await reloaded.begin(sale);
    expect(retry.verdict).toBe('block');
    expect(codes(retry)).toContain('UNKNOWN_OUTCOME');
    await reloaded.close();
  });

  it('a fenced guard that notices a step writes nothing over its successor’s clock-steps', async () => {
    const inner = memoryStore();
    const writes: string[] = [];
    const store: GuardStore = Object.assign(Object.create(inner) as GuardStore, {
      setMeta: async (key: string, value: string) => {
        if (key === CLOCK_STEPS) writes.push(value);
        return inner.setMeta(key, value);
      },
    });
    const { time, open } = setup(store);
    const first = await open();
    const held = (await first.begin(other)).attempt!;
    const second = await open(); // fences `first`
    time.jump(DAY);
    await second.peek(sale); // the owner notes the step
    await flush();
    expect(writes).toHaveLength(1);
    time.jump(DAY);
    expect(held.status).toBe('pending'); // the fenced guard reads its clock (the handle's live status): it notices the step
    await first.peek(sale).catch(() => undefined); // fenced: TAKEN_OVER
    await flush();
    expect(writes).toHaveLength(1);
    expect(parseClockSteps(await inner.getMeta(CLOCK_STEPS))).toHaveLength(1);
    await second.close();
    await first.close();
  });

  it('no clock-steps write after close, and no unhandled rejection from one that fails', async () => {
    const inner = memoryStore();
    const writes: string[] = [];
    const store: GuardStore = Object.assign(Object.create(inner) as GuardStore, {
      setMeta: async (key: string, value: string) => {
        if (key === CLOCK_STEPS) {
          writes.push(value);
          throw new Error('quota exceeded');
        }
        return inner.setMeta(key, value);
      },
    });
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      const { time, open } = setup(store);
      const g = await open();
      const held = (await g.begin(other)).attempt!;
      time.jump(DAY);
      await g.peek(sale); // the write fails: told as a storage-error, not thrown
      await g.close();
      time.jump(DAY);
      void held.status; // a closed guard's handle still reads its clock: it notices the step
      await g.peek(sale).catch(() => undefined); // closed
      await flush();
      await flush();
      // The failed write, and its retry at close: none after.
      expect(writes).toHaveLength(2);
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });
});
