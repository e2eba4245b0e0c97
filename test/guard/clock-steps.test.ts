/**
 * The wall clock's forward steps kept with the store (src/clock-steps.ts):
 * an open attempt stamped before a step is held 7 days on the clock as it
 * reads after it, by the next process and by a tab opened later, not pruned
 * early; nothing else is held longer.
 */
import { describe, expect, it } from 'vitest';
import { CLOCK_STEPS, parseClockSteps } from '../../src/clock-steps.js';
import { createGuard, memoryStore, type GuardStore } from '../../src/index.js';
import { indexedDbStore } from '../../src/idb.js';
import { virtualTime } from '../../src/testing.js';
import { ManualClock, SECRET } from '../helpers/guard.js';
import { freshDb, tab } from '../helpers/tabs.js';

const DAY = 86_400_000;
const sale = { amount: 1_250, currency: 'CNY', card: { token: 'tok_steps' } };
const codes = (decision: { reasons: { code: string }[] }) => decision.reasons.map((r) => r.code);

describe('clock steps kept with the store', () => {
  it('a tab opened after another tab saw the clock set right 9 days forward holds that tab’s unknown charge (UNKNOWN_OUTCOME), not allow', async () => {
    const db = freshDb();
    const clock = new ManualClock(Date.parse('2026-02-20T09:00:00Z'));
    const a = await tab(db, clock);
    const first = await a.guard.begin(sale);
    await first.attempt!.markUnknown();
    clock.advance(5_000);
    clock.jump(9 * DAY);
    expect(codes(await a.guard.peek(sale))).toContain('UNKNOWN_OUTCOME'); // tab A notices the step
    await a.guard.close();
    const b = await tab(db, clock.afterRestart());
    const retry = await b.guard.begin(sale);
    expect(retry.verdict).toBe('block');
    expect(codes(retry)).toContain('UNKNOWN_OUTCOME');
    await b.guard.close();
  });

  it('the step is written as [noticed at, size] once noticed; an attempt begun after it is pruned 7 days after its begin as before', async () => {
    const store = memoryStore();
    const time = virtualTime(Date.parse('2026-02-20T09:00:00Z'));
    const open = () => createGuard({ merchantId: 'M1', secret: SECRET, store, clock: time.clock, scheduler: time.scheduler });
    const g = await open();
    time.jump(3 * DAY);
    await g.peek(sale);
    await Promise.resolve();
    const noticed = Date.parse('2026-02-23T09:00:00Z');
    expect(parseClockSteps(await store.getMeta(CLOCK_STEPS))).toEqual([[noticed, 3 * DAY]]);
    const after = await g.begin(sale);
    await after.attempt!.markUnknown();
    await time.advance(7 * DAY - 60_000);
    time.restart();
    const within = await open();
    expect(codes(await within.peek(sale))).toContain('UNKNOWN_OUTCOME');
    await time.advance(2 * 60_000);
    time.restart();
    const past = await open();
    expect((await past.peek(sale)).verdict).toBe('allow');
    expect(await past.get(after.attempt!.id)).toBeUndefined();
    await past.close();
  });

  it('an open attempt stamped before the step is held 7 days after its begin on the corrected clock, then pruned', async () => {
    const store = memoryStore();
    const time = virtualTime(Date.parse('2026-02-20T09:00:00Z'));
    const open = () => createGuard({ merchantId: 'M1', secret: SECRET, store, clock: time.clock, scheduler: time.scheduler });
    const g = await open();
    const first = await g.begin(sale);
    await first.attempt!.markUnknown();
    time.jump(9 * DAY);
    await g.peek(sale);
    await time.advance(7 * DAY - 60_000);
    time.restart();
    expect(codes(await (await open()).peek(sale))).toContain('UNKNOWN_OUTCOME');
    await time.advance(2 * 60_000);
    time.restart();
    const past = await open();
    expect(await past.get(first.attempt!.id)).toBeUndefined();
    await past.close();
  });

  it('a step noticed while the guard starts is written once it started', async () => {
    const time = virtualTime(Date.parse('2026-02-20T09:00:00Z'));
    const inner = memoryStore();
    let jumped = false;
    const store: GuardStore = Object.assign(Object.create(inner) as GuardStore, {
      getMeta: async (key: string) => {
        if (!jumped) [jumped] = [true, time.jump(DAY)];
        return inner.getMeta(key);
      },
    });
    const g = await createGuard({ merchantId: 'M1', secret: SECRET, store, clock: time.clock, scheduler: time.scheduler });
    await Promise.resolve();
    expect(parseClockSteps(await inner.getMeta(CLOCK_STEPS))).toEqual([[Date.parse('2026-02-21T09:00:00Z'), DAY]]);
    await g.close();
  });

  it('a store that moves times onto the clock as it reads now (timesOnOwnerClock) is not told of steps', async () => {
    const time = virtualTime(Date.parse('2026-02-20T09:00:00Z'));
    const inner = memoryStore();
    const store: GuardStore = Object.assign(Object.create(inner) as GuardStore, { timesOnOwnerClock: true });
    const g = await createGuard({ merchantId: 'M1', secret: SECRET, store, clock: time.clock, scheduler: time.scheduler });
    time.jump(DAY);
    await g.peek(sale);
    await Promise.resolve();
    expect(await inner.getMeta(CLOCK_STEPS)).toBeUndefined();
    await g.close();
  });

  it('a clock set back is no step: nothing is written', async () => {
    const db = freshDb();
    const clock = new ManualClock();
    const a = await tab(db, clock);
    clock.jump(-DAY);
    await a.guard.peek(sale);
    await a.guard.close();
    const store = indexedDbStore(db);
    expect(await store.getMeta(CLOCK_STEPS)).toBeUndefined();
    await store.close?.();
  });
});
