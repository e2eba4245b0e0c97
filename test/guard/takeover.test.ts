/**
 * A takeover (createGuard over the same store, SPEC §6) while charge() waits
 * for the processor: when `submit` resolves approved, charge() calls
 * this.settle(), which #assertOpen refuses with TAKEN_OVER. The processor's
 * approval, which this process holds in hand, is dropped: charge() rejects
 * (the app shows "payment failed" though money moved) and the new guard keeps
 * the attempt as `unknown`, an UNKNOWN_OUTCOME a supervisor may override into
 * a second charge. (A crash loses the answer by necessity; a takeover does not.)
 */
import { describe, expect, it } from 'vitest';
import { createGuard, memoryStore, type GuardStore, type StoreChange } from '../../src/index.js';
import { ManualClock, SECRET, deferred, flush, sale } from '../helpers/guard.js';

describe('takeover while charge() waits for the processor', () => {
  it("the processor's approval is not lost", async () => {
    const store = memoryStore();
    const clock = new ManualClock();
    const first = await createGuard({ merchantId: 'M-0001', secret: SECRET, store, clock });
    const answer = deferred<{ approved: true; authCode: string }>();
    let id = '';
    const charging = first.charge(sale(), async (attempt) => {
      id = attempt.id;
      return answer.promise;
    });
    await flush();
    const second = await createGuard({ merchantId: 'M-0001', secret: SECRET, store, clock });
    answer.resolve({ approved: true, authCode: 'A1' });
    await charging.catch(() => undefined);
    await flush();
    expect((await second.get(id))?.status).toBe('approved');
  });
});

describe('a store change heard while a new guard loads over the store', () => {
  it('a conflict the store reports during the take-over is journaled once (by the guard still listening)', async () => {
    const inner = memoryStore();
    const listeners = new Set<(change: StoreChange) => void>();
    let reportOnLoad = false;
    const store: GuardStore = {
      ...inner,
      subscribe(listener) {
        listeners.add(listener);
        return () => void listeners.delete(listener);
      },
      async load(scope) {
        if (reportOnLoad) {
          reportOnLoad = false;
          for (const listener of [...listeners]) listener({ type: 'conflict', code: 'DUPLICATE_CHARGE', attempts: ['own-1', 'other-1'] });
        }
        return inner.load(scope);
      },
    };
    const first = await createGuard({ merchantId: 'M-0001', secret: SECRET, store });
    reportOnLoad = true;
    const second = await createGuard({ merchantId: 'M-0001', secret: SECRET, store });
    await flush();
    expect(inner.journal().filter((entry) => entry.type === 'conflict')).toHaveLength(1);
    await second.close();
    await first.close().catch(() => undefined);
  });
});
