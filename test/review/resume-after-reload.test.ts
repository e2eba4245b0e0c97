/**
 * SPEC §6: at start-up "this guard's own pending records report as unknown",
 * and §4 resume() is the safe retry after a crash. On IndexedDB, #load turns
 * the reloaded tab's crashed `pending` into `unknown` in memory only; resume
 * then sends that in-memory version as `stored` and the claim's judge
 * (src/guard.ts resume: `sameVersion(other, stored)`) finds the database's
 * `pending` "different", so it concludes another tab resumed it: resume()
 * throws IN_FLIGHT "was resumed in another tab" and #adopt puts the
 * `pending` back in the index. Until pendingTimeout the till cannot retry
 * the charge at all (IN_FLIGHT is never overridable), though nobody else is
 * charging it.
 */
import { describe, expect, it } from 'vitest';
import { createGuard } from '../../src/index.js';
import { indexedDbStore } from '../../src/idb.js';
import { SECOND, ManualClock, sale } from '../helpers/guard.js';
import { OPTIONS, freshDb, tab } from './helpers.js';

describe('review: resume after a page reload on IndexedDB', () => {
  it("resumes the tab's own crashed attempt with its idempotency key", async () => {
    const db = freshDb();
    const before = await tab(db, new ManualClock());
    const crashed = await before.guard.begin(sale()); // the page reloads while the charge is out
    before.clock.advance(10 * SECOND);

    const guard = await createGuard({ ...OPTIONS, store: indexedDbStore(db), clock: before.clock.afterRestart() });
    expect((await guard.get(crashed.attempt?.id ?? ''))?.status).toBe('unknown');
    const resumed = await guard.resume(crashed.attempt?.id ?? '');
    expect(resumed.idempotencyKey).toBe(crashed.attempt?.idempotencyKey);
  });

  it('a refused resume does not turn the start-up unknown back into IN_FLIGHT', async () => {
    const db = freshDb();
    const before = await tab(db, new ManualClock());
    const crashed = await before.guard.begin(sale());
    before.clock.advance(10 * SECOND);
    const guard = await createGuard({ ...OPTIONS, store: indexedDbStore(db), clock: before.clock.afterRestart() });
    await guard.resume(crashed.attempt?.id ?? '').catch(() => undefined);
    const decision = await guard.peek(sale());
    expect(decision.reasons.map((r) => r.code)).not.toContain('IN_FLIGHT');
  });
});

describe('review: a crashed tab, the clock set back, a reload', () => {
  it('the supervisor can lift UNKNOWN_OUTCOME of the crashed attempt (it is not IN_FLIGHT for an hour)', async () => {
    const db = freshDb();
    const before = await tab(db, new ManualClock(), { authorize: () => true });
    await before.guard.begin(sale()); // the tab dies mid-charge
    before.clock.advance(5 * 60 * SECOND); // well past pendingTimeout: without the clock change, this passes
    before.clock.jump(-60 * 60 * SECOND); // NTP corrects a clock that ran an hour fast
    const guard = await createGuard({ ...OPTIONS, authorize: () => true, store: indexedDbStore(db), clock: before.clock.afterRestart() });
    const blocked = await guard.begin(sale());
    expect(blocked.reasons.map((r) => r.code)).toEqual(['UNKNOWN_OUTCOME']);
    const lifted = await guard.override(blocked, { operator: 'op', reason: 'processor shows no charge', supervisor: 'sup' });
    expect(lifted.verdict).toBe('allow');
  });
});
