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
import { createGuard } from '../../../src/index.js';
import { indexedDbStore } from '../../../src/idb.js';
import { SECOND, ManualClock, sale } from '../../helpers/guard.js';
import { OPTIONS, freshDb, tab } from '../../helpers/tabs.js';

describe('resume after a page reload on IndexedDB', () => {
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
});
