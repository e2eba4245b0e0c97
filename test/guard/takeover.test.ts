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
import { createGuard, memoryStore } from '../../src/index.js';
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
