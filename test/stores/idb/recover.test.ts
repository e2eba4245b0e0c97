/**
 * SPEC §10 across tabs: two tabs over one IndexedDB never call `recover` for
 * one attempt at once (the lease is taken in the claim's transaction), and a
 * tab takes over once the lease of a tab that died mid-try has run out.
 */
import { describe, expect, it } from 'vitest';
import { createGuard, type GuardOptions, type RecoverAnswer } from '../../../src/index.js';
import { indexedDbStore } from '../../../src/idb.js';
import { virtualTime } from '../../../src/scenarios/virtual-time.js';
import { freshDb, OPTIONS } from '../../helpers/tabs.js';

const sale = { amount: 880, currency: 'CNY', card: { token: 'tok_tabs' } };

describe('recover across tabs', () => {
  it('one try at a time; the other tab tries once the dead tab’s lease ran out', async () => {
    const db = freshDb();
    const time = virtualTime(Date.parse('2026-04-01T10:00:00Z'));
    const calls: string[] = [];
    const tab = (recover: GuardOptions['recover']) =>
      createGuard({ ...OPTIONS, store: indexedDbStore(db), clock: time.clock, scheduler: time.scheduler, recover });
    const a = await tab(() => {
      calls.push('A');
      return new Promise<RecoverAnswer>(() => undefined); // tab A hangs mid-try, then its page is gone
    });
    const decision = await a.begin(sale);
    await decision.attempt?.markUnknown();
    const id = decision.attempt?.id as string;
    // Tab B opens (a reload in another window): the attempt is unknown, on its schedule too.
    const b = await tab(() => {
      calls.push('B');
      return { status: 'cancelled' };
    });
    await time.advance(5_000);
    await new Promise((r) => setTimeout(r, 20));
    expect(calls).toEqual(['A']);
    await time.advance(100_000);
    expect(calls).toEqual(['A']);
    await time.advance(30_000);
    await new Promise((r) => setTimeout(r, 20));
    expect(calls).toEqual(['A', 'B']);
    expect((await b.get(id))?.status).toBe('cancelled');
  });
});
