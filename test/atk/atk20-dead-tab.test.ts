/**
 * atk20: start.ts / recover.ts chargedElsewhere on IndexedDB: a pending
 * found at start-up may be a live tab's charge, so its recover tries wait
 * until it is stale (pendingTimeout after it began, docs/idb-store.md).
 * A genuinely dead tab's charge: recovered no later than documented.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createGuard } from '../../src/index.js';
import { indexedDbStore } from '../../src/idb.js';
import { virtualTime } from '../../src/testing.js';
import { freshDb, OPTIONS } from '../helpers/tabs.js';

afterEach(() => vi.unstubAllGlobals());
const flush = () => new Promise((r) => setTimeout(r, 20));

describe('atk20: a dead tab’s charge found by a tab that starts', () => {
  it("(passing pin) the scheduled tries wait until the attempt is stale (+ recoverAfter); a person's recoverNow asks at once (SPEC §10)", async () => {
    vi.stubGlobal('BroadcastChannel', undefined);
    const db = freshDb();
    const time = virtualTime(Date.parse('2026-04-01T10:00:00Z'));
    const asked: number[] = [];
    const start = Date.parse('2026-04-01T10:00:00Z');
    const options = { ...OPTIONS, clock: time.clock, scheduler: time.scheduler }; // pendingTimeout 2m
    const a = await createGuard({ ...options, store: indexedDbStore(db) });
    const d = await a.begin({ amount: 930, currency: 'CNY', card: { token: 'tok_dead' } });
    const id = d.attempt!.id;
    await flush();
    // Tab A dies (its page is gone: nothing of it runs again). Tab B opens 10 s later.
    await time.advance(10_000);
    const b = await createGuard({
      ...options,
      store: indexedDbStore(db),
      recover: async (attempt: { id: string }) => {
        asked.push(time.clock.now() - start);
        expect(attempt.id).toBe(id);
        return { status: 'cancelled' };
      },
    });
    await time.advance(109_000); // 1:59 after it began: no scheduled try yet
    expect(asked).toEqual([]);
    await time.advance(6_000); // 2:05: stale, + recoverAfter 5 s
    await flush();
    await flush();
    expect(asked.length).toBe(1);
    expect(asked[0]).toBeGreaterThan(120_000);
    expect(asked[0]).toBeLessThanOrEqual(125_001);
    expect((await b.get(id))?.status).toBe('cancelled');
    await b.close();
  });

  it('a person pressing "Check with the processor" after a reload asks at once (the tab cannot tell a dead page from a live one; the person can)', async () => {
    vi.stubGlobal('BroadcastChannel', undefined);
    const db = freshDb();
    const time = virtualTime(Date.parse('2026-04-01T10:00:00Z'));
    const options = { ...OPTIONS, clock: time.clock, scheduler: time.scheduler };
    const a = await createGuard({ ...options, store: indexedDbStore(db) });
    const id = (await a.begin({ amount: 931, currency: 'CNY', card: { token: 'tok_dead2' } })).attempt!.id;
    await flush();
    await time.advance(10_000);
    const asked: string[] = [];
    const b = await createGuard({
      ...options,
      store: indexedDbStore(db),
      recover: async (attempt: { id: string }) => (asked.push(attempt.id), { status: 'approved' as const }),
    });
    const [manual] = await b.recoverNow(id);
    expect(asked).toEqual([id]);
    expect(manual?.status).toBe('approved');
    await b.close();
  });
});
