/**
 * atk23 (holds): the recover lease after a restart is held until 2 minutes
 * after the first stored step that covers its start was noticed
 * (recover.ts leaseEnd). A merged step's `at` is not when anything was
 * noticed: it is its last held stamp plus all the merged sizes (compounded
 * on every write, see atk23-union), hours to years ahead of the clock. A
 * lease covered by one would read as running until then, and the unknown
 * charge would never be tried again (SPEC §10). These pin that it does not:
 * a real step after the lease is always found first (steps are ordered by
 * `at`, and a merged step covering the lease lies after the real ones).
 *
 * Since: a merged step is noticed when the later of its two was.
 */
import { describe, expect, it } from 'vitest';
import { createGuard, type RecoverAnswer } from '../../src/index.js';
import { indexedDbStore } from '../../src/idb.js';
import { virtualTime } from '../../src/testing.js';
import { OPTIONS, freshDb } from '../helpers/tabs.js';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const T = Date.parse('2026-02-02T08:00:00Z');
const wake = { amount: 1, currency: 'EUR', card: { token: 'tok_atk23_lease_wake' } };
const NAPS = 30;
const SLEEP = HOUR;
const sale = { amount: 8_800, currency: 'EUR', card: { token: 'tok_atk23_lease' } };

describe('atk23: the recover lease of a tab that died with its inquiry out, after a day of naps', () => {
  it('a tab opened after it tries the unknown charge within minutes, not when a merged step says', async () => {
    const db = freshDb();
    const time = virtualTime(T);
    const calls: string[] = [];
    const tabOf = (recover: () => Promise<RecoverAnswer>, scheduler = time.scheduler) =>
      createGuard({ ...OPTIONS, store: indexedDbStore(db), clock: time.clock, scheduler, recover, recoverAfter: '1m' });
    // Tab A's timers never run: its page dies with its inquiry out (the lease is never given back).
    const a = await tabOf(() => (calls.push('a'), new Promise<RecoverAnswer>(() => undefined)), { after: () => () => undefined });
    for (let i = 1; i <= NAPS; i++) {
      await time.advance(10 * MINUTE);
      time.jump(5 * MINUTE); // the tablet dims between customers
      await a.peek(wake);
    }
    const decision = await a.begin(sale);
    await decision.attempt!.markUnknown(); // the processor timed out
    void a.recoverNow(decision.attempt!.id); // "Check with the processor": the lease is taken
    await flush();
    expect(calls).toEqual(['a']);
    time.jump(SLEEP); // the tablet sleeps with the inquiry out, and wakes
    await a.peek(wake); // the step is noticed and written
    await flush();
    // The page is reloaded: a new tab, on the same database.
    const b = await tabOf(async () => (calls.push('b'), { status: 'declined' }));
    await time.advance(3 * MINUTE); // past the lease, however it is read: 2 min after the wake was noticed
    await b.recoverNow(decision.attempt!.id); // "Check with the processor"
    expect(calls).toEqual(['a', 'b']);
    expect((await b.get(decision.attempt!.id))?.status).toBe('declined');
    await b.close();
  });
});

describe('atk23: a dead tab’s lease, then a day of naps noticed by another tab (a customer display, no recover)', () => {
  it('the till page opened afterwards makes its call: the lease is not held by the merged steps', async () => {
    const db = freshDb();
    const time = virtualTime(T);
    const calls: string[] = [];
    const dead = { after: () => () => undefined };
    const a = await createGuard({
      ...OPTIONS,
      store: indexedDbStore(db),
      clock: time.clock,
      scheduler: dead,
      recover: () => (calls.push('a'), new Promise<RecoverAnswer>(() => undefined)),
    });
    const decision = await a.begin(sale);
    await decision.attempt!.markUnknown();
    void a.recoverNow(decision.attempt!.id); // the lease is taken; then the page dies
    await flush();
    const display = await createGuard({ ...OPTIONS, store: indexedDbStore(db), clock: time.clock, scheduler: dead });
    for (let i = 1; i <= 30; i++) {
      await time.advance(10 * MINUTE);
      time.jump(5 * MINUTE);
      await display.peek(wake); // the display notices each wake, and writes it
      await flush();
    }
    const c = await createGuard({
      ...OPTIONS,
      store: indexedDbStore(db),
      clock: time.clock,
      scheduler: time.scheduler,
      recover: async () => (calls.push('c'), { status: 'declined' }),
    });
    // A tab takes a lease that reads as run out only once it has been open long enough to be
    // sure no live tab holds it (recover.ts leaseRunOut): its own tries, every 5 s, get there.
    for (let s = 0; s < 18; s++) {
      await time.advance(10_000);
      await flush();
    }
    await c.recoverNow(decision.attempt!.id);
    expect(calls).toEqual(['a', 'c']);
    await c.close();
    await display.close();
  });
});

const flush = () => new Promise((resolve) => setTimeout(resolve, 20));
