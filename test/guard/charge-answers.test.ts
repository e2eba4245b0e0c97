import { describe, expect, it } from 'vitest';
import { createGuard, memoryStore, type GuardEvent } from '../../src/index.js';
import { SECRET, flush, sale } from '../helpers/guard.js';

describe('charge() with a submit that touches its own attempt', () => {
  /**
   * The till's submit cancels the attempt (the customer pressed Cancel on
   * the PIN pad) but the processor answers approved anyway. settleOrKeep
   * swallows the INVALID_TRANSITION: charge() resolves `declined`, the
   * approval is neither recorded, journaled nor emitted (a late answer that
   * disagrees gets a `late-answer` event; an in-time one gets nothing), and
   * the sale is released, so the retry the cashier now makes is `allow`:
   * the customer is charged twice.
   */
  it('an approval answered after submit cancelled the attempt is not lost', async () => {
    const store = memoryStore();
    const guard = await createGuard({ merchantId: 'M-0001', secret: SECRET, store });
    const events: GuardEvent[] = [];
    guard.on('late-answer', (e) => events.push(e));
    const result = await guard.charge(sale(), async (attempt) => {
      await attempt.cancel();
      return { approved: true, authCode: 'A1', processorRef: 'R1' };
    });
    await flush();
    const reported = events.length > 0 || store.journal().some((e) => /approved/.test(String(e.detail ?? '')));
    expect(result.status === 'approved' || reported).toBe(true);
    await guard.close();
  });

  it('the retry after that lost approval is not allowed silently', async () => {
    const guard = await createGuard({ merchantId: 'M-0001', secret: SECRET });
    await guard.charge(sale(), async (attempt) => {
      await attempt.cancel();
      return { approved: true, authCode: 'A1' };
    });
    expect((await guard.begin(sale())).verdict).not.toBe('allow');
    await guard.close();
  });
});
