/**
 * atk19b: a tab frozen mid-charge (its timers do not fire, its clock reads
 * are stale) while another tab opens and resolves the charge by inquiry;
 * then the frozen tab wakes and its timeout fires, or its answer arrives.
 */
import { describe, expect, it } from 'vitest';
import { createGuard, type RecoverAnswer, type SubmitResult } from '../../src/index.js';
import { indexedDbStore } from '../../src/idb.js';
import { virtualTime } from '../../src/scenarios/virtual-time.js';
import { deferred } from '../helpers/guard.js';
import { freshDb, OPTIONS } from '../helpers/tabs.js';

const sale = { amount: 3_300, currency: 'CNY', card: { token: 'tok_19b_frozen' } };
const flush = () => new Promise((r) => setTimeout(r, 20));
const START = Date.parse('2026-04-01T10:00:00Z');

describe('atk19b a frozen tab wakes after another tab resolved its charge', () => {
  for (const wake of ['timeout', 'declined answer', 'approved answer'] as const) {
    it(`tab B’s inquiry found the charge approved; tab A wakes (${wake}): the stored attempt stays approved, A’s charge does not report it declined, and the sale is DUPLICATE_CHARGE in both tabs`, async () => {
      const db = freshDb();
      const ta = virtualTime(START);
      const a = await createGuard({ ...OPTIONS, store: indexedDbStore(db), clock: ta.clock, scheduler: ta.scheduler });
      const answer = deferred<SubmitResult>();
      let id = '';
      const charging = a.charge(sale, (attempt) => {
        id = attempt.id;
        return answer.promise;
      });
      await flush();
      expect(id).not.toBe('');
      // Tab A is frozen (hidden, a phone call on the tablet). 5 minutes later tab B opens.
      const tb = virtualTime(START + 5 * 60_000);
      const b = await createGuard({
        ...OPTIONS,
        store: indexedDbStore(db),
        clock: tb.clock,
        scheduler: tb.scheduler,
        recover: (): RecoverAnswer => ({ status: 'approved', authCode: 'INQ' }),
        recoverAfter: '5s',
      });
      await tb.advance(5_000);
      await flush();
      expect((await b.get(id))?.status).toBe('approved');
      // Tab A wakes.
      ta.jump(5 * 60_000);
      if (wake === 'timeout') await ta.advance(2 * 60_000);
      else answer.resolve(wake === 'approved answer' ? { approved: true, authCode: 'A1' } : { approved: false, code: '05' });
      const result = await charging;
      await flush();
      expect(result.status).not.toBe('declined');
      expect((await b.get(id))?.status).toBe('approved');
      expect((await a.peek(sale)).reasons.map((r) => r.code)).toContain('DUPLICATE_CHARGE');
      expect((await b.peek(sale)).reasons.map((r) => r.code)).toContain('DUPLICATE_CHARGE');
      await a.close();
      await b.close();
    });
  }
});
