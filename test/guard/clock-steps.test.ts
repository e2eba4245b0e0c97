/**
 * The wall clock's forward steps kept with the store (src/clock-steps.ts):
 * an open attempt stamped before a step is held 7 days on the clock as it
 * reads after it, by the next process and by a tab opened later, not pruned
 * early; nothing else is held longer.
 */
import { describe, expect, it } from 'vitest';
import { CLOCK_STEPS, parseClockSteps } from '../../src/clock-steps.js';
import { createGuard, memoryStore, type GuardStore, type RecoverAnswer } from '../../src/index.js';
import { indexedDbStore } from '../../src/idb.js';
import { virtualTime } from '../../src/testing.js';
import { ManualClock, SECRET } from '../helpers/guard.js';
import { OPTIONS, freshDb, heldRecoverTabs, tab } from '../helpers/tabs.js';

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

  it('a tab opened after the clock was set 10 minutes forward, while another tab’s inquiry is out: its "Check with the processor" makes no second call', async () => {
    const { time, hold, calls, tab: tabOf } = heldRecoverTabs('2026-04-01T10:00:00Z');
    const a = await tabOf();
    const decision = await a.begin(sale);
    await decision.attempt!.markUnknown();
    const id = decision.attempt!.id;
    const first = a.recoverNow(id);
    await flush();
    expect(calls.out).toBe(1);
    time.jump(10 * 60_000);
    await a.peek(sale); // tab A notices the step
    await flush();
    const c = await tabOf();
    const second = await c.recoverNow(id);
    expect({ most: calls.most, error: second[0]?.error !== undefined }).toEqual({ most: 1, error: true });
    hold.resolve({ status: 'cancelled' });
    await first;
    await a.close();
    await c.close();
  });

  it('a tab’s inquiry out when it died, then the clock set back an hour: the tab alive across it tries again once the lease is over, not an hour later', async () => {
    const db = freshDb();
    const time = virtualTime(Date.parse('2026-04-01T10:00:00Z'));
    const calls: string[] = [];
    const never = new Promise<RecoverAnswer>(() => undefined);
    const tabOf = (recover: () => Promise<RecoverAnswer>, scheduler = time.scheduler) =>
      createGuard({ ...OPTIONS, store: indexedDbStore(db), clock: time.clock, scheduler, recover, recoverAfter: '1h' });
    // Tab A's timers never run: its page is gone (its lease is never given back).
    const a = await tabOf(() => (calls.push('a'), never), { after: () => () => undefined });
    const b = await tabOf(async () => (calls.push('b'), { status: 'cancelled' }));
    const decision = await a.begin(sale);
    await decision.attempt!.markUnknown();
    void a.recoverNow(decision.attempt!.id); // tab A's page dies with its call out
    await flush();
    time.jump(-60 * 60_000);
    await time.advance(60_000);
    await b.recoverNow(decision.attempt!.id);
    expect(calls).toEqual(['a']); // A's lease holds: its call may still be out
    await time.advance(2 * 60_000);
    await b.recoverNow(decision.attempt!.id);
    expect(calls).toEqual(['a', 'b']);
    expect((await b.get(decision.attempt!.id))?.status).toBe('cancelled');
    await b.close();
  });
});

const flush = () => new Promise((resolve) => setTimeout(resolve, 20));
