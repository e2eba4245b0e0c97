/**
 * A guard fenced by a take-over that is still starting keeps hearing the
 * store (to be whole if handed it back). An open attempt it hears then must
 * not start its clock watch: the timer would keep the fenced guard reachable
 * for 15 minutes, for nothing (it no longer holds the store).
 */
import { describe, expect, it } from 'vitest';
import { createGuard, type GuardStore } from '../../src/index.js';
import { indexedDbStore } from '../../src/idb.js';
import { virtualTime } from '../../src/testing.js';
import { deferred } from '../helpers/guard.js';
import { OPTIONS, countedScheduler, freshDb, settle } from '../helpers/tabs.js';

const sale = { amount: 4_100, currency: 'CNY', card: { token: 'tok_atk27_fenced' } };

/** `store`, whose load() waits for `gate` while it is closed. */
function gatedLoad(store: GuardStore) {
  let gate: Promise<void> = Promise.resolve();
  const gated = new Proxy(store, {
    get(target, key) {
      if (key === 'load') return async (...args: Parameters<GuardStore['load']>) => (await gate, target.load(...args));
      const value: unknown = Reflect.get(target, key);
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
  return { gated, hold: (until: Promise<void>) => void (gate = until) };
}

describe('atk27: a fenced guard hearing the store', () => {
  it('an unknown attempt another tab writes while a take-over of this tab’s store is loading sets no timer on the fenced guard', async () => {
    const db = freshDb();
    const time = virtualTime(Date.parse('2026-02-20T09:00:00Z'));
    const { live, scheduler } = countedScheduler(time);
    const s = gatedLoad(indexedDbStore(db));
    const g1 = await createGuard({ ...OPTIONS, store: s.gated, clock: time.clock, scheduler });
    const other = await createGuard({ ...OPTIONS, store: indexedDbStore(db), clock: time.clock, scheduler: time.scheduler });
    expect(live.size).toBe(0);
    const opened = deferred<void>();
    s.hold(opened.promise);
    const taking = createGuard({ ...OPTIONS, store: s.gated, clock: time.clock, scheduler: time.scheduler });
    await settle();
    const charge = await other.begin(sale);
    await charge.attempt!.markUnknown();
    await settle(50);
    opened.resolve();
    const g2 = await taking;
    await settle();
    expect(live.size).toBe(0);
    await g2.close();
    await other.close();
    await g1.close();
  });
});
