/**
 * charge() keeps a timed-out submit's late answer (#lateAnswer). If the
 * attempt was settled meanwhile (the cashier checked with the processor, which
 * had not seen the charge yet, and settled it 'cancelled'), a late *approval*
 * is dropped without a word: no journal entry, no event. The sale now reads
 * as never charged, the next begin of it is `allow`, and the customer pays
 * twice with nothing in the audit trail. (SPEC §10 asks that such answers be
 * "journaled and dropped" for recover; the same holds for money the processor
 * took.)
 */
import { describe, expect, it } from 'vitest';
import { memoryStore } from '../../src/index.js';
import { deferred, flush, sale, testGuard } from '../helpers/guard.js';

describe('a late approval after the attempt was settled elsewhere', () => {
  it('is journaled (a probable double charge to look into)', async () => {
    const store = memoryStore();
    const { guard } = await testGuard({ store });
    const answer = deferred<{ approved: true }>();
    const result = await guard.charge(sale(), () => answer.promise, { timeout: 5 });
    expect(result.status).toBe('unknown');
    const id = result.attempt?.id ?? '';
    await guard.settle(id, { status: 'cancelled', message: 'processor: no such payment' });
    answer.resolve({ approved: true }); // the processor took the money after all
    await flush();
    await flush();
    const mentions = store.journal().filter((entry) => entry.attemptId === id);
    expect(mentions.length).toBeGreaterThan(2); // begin's settle to unknown, the cancel, and this late approval
  });
});
