/**
 * atk17: applyReconciliation's stale-finding check (`judgedPendingSince`, src/guard/reconcile.ts) across lanes.
 *
 * Findings (F = fails on the current code, P = passes: a guarantee pinned):
 *
 * F1 'a report applied on a lane that has not heard the attempt was resumed elsewhere cancels the resumed charge'.
 *    Lane T2 reconciles: T1's unknown attempt was never charged (UNKNOWN_NOT_CHARGED). T2 then hears nothing for a
 *    moment; T1's cashier resumes the attempt (same idempotency key, a new submission now at the processor). T2
 *    applies the report: the stale check compares the finding's pendingSince with T2's OWN held copy (still the old
 *    one), passes, and the settle's claim then reads the fresh, resumed `pending` row and plans pending → cancelled
 *    on the old evidence. Should: the check is made against the version the claim read (or the settle refuses a
 *    pendingSince other than the report's). At a till: the resumed charge goes through, the record says cancelled,
 *    the customer's retry is allowed — charged twice. (src/guard/reconcile.ts: `ctx.time.wallOf(held.pendingSince)`
 *    is read before settleChanging; settle.ts's claim callback re-plans on `fresh` without it.)
 *
 * F4 'a report passed through postMessage (structuredClone) cancels a charge resumed since'. The stale check rides
 *    on the finding objects' identity (a WeakMap beside the report, never in it): the report reconcile() made in a
 *    Web Worker, or in Electron's main process, reaches the UI thread as a structured clone, which carries no
 *    WeakMap entry, and is applied "as it says" — exactly atk15's resumed-then-unknown attempt, cancelled again.
 *    Should: what the check needs travels in the report (a plain field: SPEC §11's finding shape, or the report's
 *    time), so a copy is checked as the original is. At a till: reconciliation is the kind of job apps move off the
 *    UI thread; the resumed charge goes through, the record says cancelled, the retry is allowed: charged twice.
 *    (src/reconcile/shared.ts `judgedPendingSince = new WeakMap`; src/guard/reconcile.ts reads it per finding.)
 *
 * P2 a report copied whole with `{ ...report }` keeps the findings' identity: the stale check still applies.
 * P3 two reports for the same attempt: only the first applied, the second finds it settled.
 */
import { describe, expect, it } from 'vitest';
import type { AttemptRecord } from '../../src/index.js';
import { reconcile, type ReconcileReport } from '../../src/reconcile.js';
import { MINUTE } from '../helpers/guard.js';
import { flush, lanes } from '../helpers/lanes.js';
import { till } from '../helpers/till.js';

const card = { token: 'tok_atk17_reconcile' };

describe('atk17: reconciliation applied across lanes', () => {
  it('F1: a report applied on a lane that has not heard the attempt was resumed elsewhere cancels the resumed charge', async () => {
    const { time, db, open } = lanes();
    const g1 = await open(time.terminal(), 'T1');
    const g2 = await open(time.terminal(), 'T2');
    const begun = await g1.begin({ amount: 1_000, currency: 'CNY', card });
    const id = begun.attempt!.id;
    await begun.attempt!.markUnknown();
    await time.advance(5 * MINUTE);
    await flush();
    const seen = (await g2.get(id)) as AttemptRecord;
    expect(seen.status).toBe('unknown');
    const old = reconcile([seen], [], { now: time.now() });
    expect(old.findings.map((f) => f.code)).toEqual(['UNKNOWN_NOT_CHARGED']);

    // T2 hears nothing for a moment; T1's cashier resumes the attempt: a new submission, now at the processor.
    db.disconnect('T2');
    await time.advance(1_000);
    await g1.resume(id);
    expect((await g1.get(id))?.status).toBe('pending');
    db.reconnect('T2');
    expect((await g2.get(id))?.status).toBe('unknown'); // T2's copy is the old one

    const applied = await g2.applyReconciliation(old);
    await flush();
    // Today: [{ UNKNOWN_NOT_CHARGED → cancelled }]: the live, resumed charge settled cancelled by the old evidence.
    expect(applied).toEqual([]);
    expect((await g1.get(id))?.status).toBe('pending');
    await g1.close();
    await g2.close();
  });
});

describe('atk17: a report copied as postMessage copies it', () => {
  it('F4: a report passed through postMessage (structuredClone) cancels a charge resumed since', async () => {
    const t = await till();
    const attempt = await t.sale(1_000, 'unknown', { last4: '4242' });
    t.clock.advance(5 * MINUTE);
    const old = reconcile(await t.attempts(), [], { now: t.clock.now() });
    // Made in a worker; posted to the UI thread (a structured clone), applied there later.
    const posted = structuredClone(old);
    await t.guard.resume(attempt.id);
    t.clock.advance(10_000);
    await t.guard.settle(attempt.id, { status: 'unknown' });
    expect(await t.guard.applyReconciliation(posted)).toEqual([]);
    expect((await t.guard.get(attempt.id))?.status).toBe('unknown');
  });
});

describe('atk17: copies and repeats of a report (pins)', () => {
  it('P2: a report copied with a spread keeps the stale check (the resumed attempt is not cancelled)', async () => {
    const t = await till();
    const attempt = await t.sale(1_000, 'unknown', { last4: '4242' });
    t.clock.advance(5 * MINUTE);
    const old = reconcile(await t.attempts(), [], { now: t.clock.now() });
    await t.guard.resume(attempt.id);
    t.clock.advance(10_000);
    await t.guard.settle(attempt.id, { status: 'unknown' });
    const copy: ReconcileReport = { ...old };
    expect(await t.guard.applyReconciliation(copy)).toEqual([]);
    expect((await t.guard.get(attempt.id))?.status).toBe('unknown');
  });

  it('P3: two reports for the same attempt: the first settles it, the second changes nothing', async () => {
    const t = await till();
    const attempt = await t.sale(1_000, 'unknown', { last4: '4242' });
    t.clock.advance(5 * MINUTE);
    const first = reconcile(await t.attempts(), [], { now: t.clock.now() });
    const second = reconcile(await t.attempts(), [], { now: t.clock.now() });
    const [a, b] = await Promise.all([t.guard.applyReconciliation(first), t.guard.applyReconciliation(second)]);
    expect([...a, ...b]).toHaveLength(1);
    expect((await t.guard.get(attempt.id))?.status).toBe('cancelled');
  });
});
