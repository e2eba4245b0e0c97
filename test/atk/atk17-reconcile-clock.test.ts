/**
 * atk17: applyReconciliation's stale-finding check against clocks (guard time → wall time, `ctx.time.wallOf`, and a
 * shared store's per-terminal skew).
 *
 * Findings (F = fails on the current code, P = passes: a guarantee pinned):
 *
 * F1 'a report made from one lane's records is skipped whole on a lane whose clock is a few seconds off'. The stale
 *    check compares the finding's pendingSince (the wall time the reporting lane showed) with the applying lane's
 *    own copy, converted to ITS wall clock: a shared store shows another terminal's stamps on the reader's clock
 *    (skew-corrected), so a lane 5 s ahead sees every attempt 5 s later and reads every finding as made before a
 *    resume. Nothing is applied, no error: applyReconciliation returns []. Should: the check compares the attempt's
 *    version (or stamps on one clock, the database's), not one lane's wall clock with another's. At a till: the
 *    back-office manager applies the night's report on the lane at hand; the unknown attempts stay unknown and go
 *    on holding the customers' retries as UNKNOWN_OUTCOME, while the tool says "0 applied".
 *    (src/guard/reconcile.ts: `ctx.time.wallOf(held.pendingSince) !== pendingSince`.)
 *
 * P2 one till, the wall clock set forward and back (NTP) between reconcile and apply: the finding still applies.
 */
import { describe, expect, it } from 'vitest';
import type { AttemptRecord } from '../../src/index.js';
import { reconcile } from '../../src/reconcile.js';
import { MINUTE } from '../helpers/guard.js';
import { flush, lanes } from '../helpers/lanes.js';
import { till } from '../helpers/till.js';

const card = { token: 'tok_atk17_reconcile_clock' };

describe('atk17: reports across lanes with clocks apart', () => {
  it("F1: a report made from one lane's records is skipped whole on a lane whose clock is a few seconds off", async () => {
    const { time, open } = lanes();
    const [t1, t2] = [time.terminal(), time.terminal()];
    t2.jump(5_000); // T2's clock runs 5 s ahead (within what NTP-less tills drift)
    const g1 = await open(t1, 'T1');
    const g2 = await open(t2, 'T2');
    const begun = await g1.begin({ amount: 1_000, currency: 'CNY', card });
    const id = begun.attempt!.id;
    await begun.attempt!.markUnknown();
    await time.advance(5 * MINUTE);
    await flush();
    expect((await g2.get(id))?.status).toBe('unknown');
    // The report is made from T1's records (the lane that took the sale), and applied on T2.
    const seen1 = (await g1.get(id)) as AttemptRecord;
    const report = reconcile([seen1], [], { now: time.now() });
    expect(report.findings.map((f) => f.code)).toEqual(['UNKNOWN_NOT_CHARGED']);
    const applied = await g2.applyReconciliation(report);
    expect(applied.map((a) => a.attemptId)).toEqual([id]);
    await flush();
    expect((await g1.get(id))?.status).toBe('cancelled');
    await g1.close();
    await g2.close();
  });
});

describe('atk17: clocks in step (control, pin)', () => {
  it('F1 (control): the same report, lanes with clocks in step: applied', async () => {
    const { time, open } = lanes();
    const [t1, t2] = [time.terminal(), time.terminal()];
    const g1 = await open(t1, 'T1');
    const g2 = await open(t2, 'T2');
    const begun = await g1.begin({ amount: 1_000, currency: 'CNY', card });
    const id = begun.attempt!.id;
    await begun.attempt!.markUnknown();
    await time.advance(5 * MINUTE);
    await flush();
    const report = reconcile([(await g1.get(id)) as AttemptRecord], [], { now: time.now() });
    expect((await g2.applyReconciliation(report)).map((a) => a.attemptId)).toEqual([id]);
    await g1.close();
    await g2.close();
  });
});

describe('atk17: one till, its wall clock corrected (pin)', () => {
  for (const jump of [60 * MINUTE, -60 * MINUTE]) {
    it(`P2: the wall clock set ${jump > 0 ? 'forward' : 'back'} an hour between reconcile and apply: the finding still applies`, async () => {
      const t = await till();
      const attempt = await t.sale(1_000, 'unknown', { last4: '4242' });
      t.clock.advance(5 * MINUTE);
      const report = reconcile(await t.attempts(), [], { now: t.clock.now() });
      t.clock.jump(jump);
      t.clock.advance(1_000);
      const applied = await t.guard.applyReconciliation(report);
      expect(applied.map((a) => a.attemptId)).toEqual([attempt.id]);
      expect((await t.guard.get(attempt.id))?.status).toBe('cancelled');
    });
  }
});
