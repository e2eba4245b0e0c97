/**
 * From the SPEC audit: a till that crashed after charging while cut off,
 * restarted once the database is back, catches up during start-up and
 * finds that another lane charged the same sale meanwhile. That conflict
 * (a probable double charge, "refund one") was journaled, but emitted
 * before `createGuard` resolved, to nobody: the till's screen never heard
 * of it. SPEC §4: what start-up found is emitted afterwards, to a listener
 * attached right after `await createGuard(…)`.
 */
import { describe, expect, it } from 'vitest';
import { createGuard, type GuardEventOf } from '../../src/index.js';
import { sharedMemoryDatabase } from '../../src/shared/memory-remote.js';
import { sharedStore } from '../../src/shared/store.js';
import { memoryStore } from '../../src/stores/memory.js';

const secret = 'shared-store-secret-0123456789';
const clock = { now: () => Date.now(), monotonic: () => performance.now() };

describe('a conflict found by the catch-up at start-up', () => {
  it('reaches a conflict listener attached right after createGuard resolves', async () => {
    const db = sharedMemoryDatabase(() => Date.now());
    const sale = { amount: 1_250, currency: 'CNY', card: { token: 'tok_start_up_conflict' } };
    const lane1 = await createGuard({
      merchantId: 'M1',
      terminalId: 'T1',
      secret,
      clock,
      store: sharedStore(db.remote('T1'), { retryMs: 20 }),
    });
    const local = memoryStore();
    const lane2 = await createGuard({
      merchantId: 'M1',
      terminalId: 'T2',
      secret,
      clock,
      store: sharedStore(db.remote('T2'), { local, retryMs: 100_000 }),
    });
    db.disconnect('T2');
    const own = await lane2.begin(sale);
    await own.attempt!.approve(); // charged while cut off
    const other = await lane1.begin(sale);
    await other.attempt!.approve(); // the same sale on the other lane, which could not see it
    // Lane 2 crashes (no close) and starts again over its local store, the database back.
    db.reconnect('T2');
    const store = sharedStore(db.remote('T2'), { local, retryMs: 20 });
    const restarted = await createGuard({ merchantId: 'M1', terminalId: 'T2', secret, clock, store });
    const heard: GuardEventOf<'conflict'>[] = [];
    restarted.on('conflict', (event) => heard.push(event));
    await store.settled();
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(heard).toEqual([{ type: 'conflict', code: 'DUPLICATE_CHARGE', attempts: [own.attempt!.id, other.attempt!.id] }]);
    await restarted.close();
    await lane1.close();
  });
});
