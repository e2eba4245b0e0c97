/**
 * atk20: a second createGuard over the same store object (a re-login, a
 * hot reload keeping the store) while the first guard's charge is out. The
 * registry (src/guard/submits.ts) knows that attempt is with the processor
 * and keeps recover away from it; the newer guard's start-up reports it
 * `unknown` (a dead process's), which a supervisor may lift
 * (UNKNOWN_OUTCOME is liftable; IN_FLIGHT never is), so the same sale is
 * charged a second time while the first charge is still on its way.
 */
import { describe, expect, it } from 'vitest';
import { createGuard, type SubmitResult } from '../../src/index.js';
import { deferred, VISA } from '../helpers/guard.js';
import { notFoundTill } from '../helpers/inquiry.js';

const tick = () => new Promise((r) => setTimeout(r, 1));
const sale = { amount: 880, currency: 'CNY', card: { pan: VISA }, orderId: 'ORD-20-TK' };

describe('atk20: take-over of one store object with a charge out', () => {
  it('the newer guard does not let a supervisor lift the hold on a sale the older guard is charging right now (IN_FLIGHT, never liftable)', async () => {
    const { time, asked, options } = notFoundTill({ authorize: () => true });
    const older = await createGuard(options);
    const answer = deferred<SubmitResult>();
    let id: string | undefined;
    const first = older.charge(sale, (a) => ((id = a.id), answer.promise), { timeout: '60s' });
    for (let i = 0; i < 20 && !id; i++) await tick();
    const newer = await createGuard(options);
    await time.advance(20_000);
    expect(asked).toEqual([]); // recover held off (passing part)
    const d = await newer.begin(sale);
    expect(d.verdict).toBe('block');
    const overridden = await newer.override(d, { operator: 'c1', reason: 'customer says it failed', supervisor: 's1' }).then(
      (x) => x.verdict,
      (e: unknown) => `threw ${(e as { code?: string }).code}`,
    );
    expect.soft(d.reasons.map((r) => r.code)).toContain('IN_FLIGHT');
    expect(overridden).not.toBe('allow');
    answer.resolve({ approved: true, authCode: 'A1' });
    await first;
    await newer.close();
  });
});
