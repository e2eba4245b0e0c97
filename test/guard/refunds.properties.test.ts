import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  GuardOverrideError,
  GuardStateError,
  createGuard,
  type AttemptRecord,
  type CardInput,
  type Decision,
  type Guard,
} from '../../src/index.js';
import { HOUR, MASTERCARD, MINUTE, SECOND, SECRET, UNIONPAY, VISA, flush, sale, testGuard } from '../helpers/guard.js';
import { EXTERNAL } from '../../src/refunds.js';

/*
 * Issue 10, item 5 as a property: refunds of one sale left open (pending,
 * unknown), retried on other cards and for other amounts, resumed, settled
 * every way, overridden, recorded outside the guard, across restarts (a new
 * guard over the same store, the old one dropped without close()). Whatever
 * happens:
 *
 * - the refunds the guard allowed without an override that are approved or
 *   still open, plus what was recorded as refunded outside the guard, never
 *   add up to more than the sale (SPEC §3: an open refund may have paid out);
 * - nothing is recorded as zero: the sale lists every approved refund of it
 *   once, with the refund's real amount, and its refunded sum is what those
 *   counted plus what was refunded outside the guard, never above its amount.
 */

const SALES = [1000, 2500] as const;
const CARDS: readonly CardInput[] = [{ pan: VISA }, { pan: MASTERCARD }, { pan: UNIONPAY }, { token: 'tok_tapped' }];
const REFUND_AMOUNTS = [100, 400, 600, 1000, 2500] as const;
const SETTLES = ['approved', 'declined', 'unknown', 'cancelled', 'voided'] as const;

type Op =
  | { op: 'refund'; sale: number; card: number; amount: number }
  | { op: 'settle'; target: number; status: (typeof SETTLES)[number] }
  | { op: 'resume'; target: number }
  | { op: 'override'; target: number; supervisor: boolean }
  | { op: 'external'; sale: number; amount: number | undefined }
  | { op: 'advance'; ms: number }
  | { op: 'restart' };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      op: fc.constant('refund' as const),
      sale: fc.nat(SALES.length - 1),
      card: fc.nat(CARDS.length - 1),
      amount: fc.constantFrom(...REFUND_AMOUNTS),
    }),
  },
  { weight: 5, arbitrary: fc.record({ op: fc.constant('settle' as const), target: fc.nat(30), status: fc.constantFrom(...SETTLES) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('resume' as const), target: fc.nat(30) }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('override' as const), target: fc.nat(30), supervisor: fc.boolean() }) },
  {
    weight: 1,
    arbitrary: fc.record({
      op: fc.constant('external' as const),
      sale: fc.nat(SALES.length - 1),
      amount: fc.option(fc.constantFrom(100, 300, 1000), { nil: undefined }),
    }),
  },
  // Around pendingTimeout (2m) and window (10m); never near the 7 days an unknown is kept.
  {
    weight: 2,
    arbitrary: fc.record({ op: fc.constant('advance' as const), ms: fc.constantFrom(SECOND, 2 * MINUTE + 1, 10 * MINUTE, HOUR) }),
  },
  { weight: 2, arbitrary: fc.constant({ op: 'restart' as const }) },
);

const OPTIONS = {
  merchantId: 'M-0001',
  secret: SECRET,
  pendingTimeout: '2m',
  retention: '7d',
  authorize: ({ supervisor }: { supervisor: string | undefined }) => supervisor === 'sup',
};

interface Sale {
  id: string;
  amount: number;
  /** Refunded outside the guard (`settle(id, { status: 'refunded' })`). */
  external: number;
}

async function assertRefundsHold(guard: Guard, sales: readonly Sale[], where: string): Promise<void> {
  const all = await guard.attempts();
  for (const s of sales) {
    const refunds = all.filter((r) => r.kind === 'refund' && r.refundOf === s.id);
    const unguarded = refunds.filter(
      (r) => r.override === undefined && (r.status === 'approved' || r.status === 'pending' || r.status === 'unknown'),
    );
    const sum = unguarded.reduce((total, r) => total + r.amount, 0) + s.external;
    expect(
      sum,
      `${where}: refunds of ${s.id} allowed without an override: ${unguarded.map((r) => `${r.amount}:${r.status}`).join(', ')} + ${s.external} outside`,
    ).toBeLessThanOrEqual(s.amount);

    const original = all.find((r) => r.id === s.id) as AttemptRecord;
    const listed = original.refunds ?? [];
    expect(original.refunded, `${where}: refunded sum of ${s.id}`).toBeLessThanOrEqual(original.amount);
    expect(
      listed.filter((e) => !(e.amount > 0)),
      `${where}: a refund listed as zero`,
    ).toEqual([]);
    const approved = refunds.filter((r) => r.status === 'approved');
    // Refunds made outside the guard are listed too, each under an id of its own (EXTERNAL), never over.
    const outside = listed.filter((e) => e.id.startsWith(EXTERNAL));
    const attempts = listed.filter((e) => !e.id.startsWith(EXTERNAL));
    expect(attempts.map((e) => e.id).sort(), `${where}: the approved refunds of ${s.id}, each listed once`).toEqual(
      approved.map((r) => r.id).sort(),
    );
    for (const e of attempts) {
      expect(e.amount, `${where}: ${e.id} listed at its real amount`).toBe(approved.find((r) => r.id === e.id)?.amount);
    }
    expect(new Set(outside.map((e) => e.id)).size, `${where}: each refund made outside listed once`).toBe(outside.length);
    expect(
      outside.reduce((total, e) => total + e.amount, 0),
      `${where}: what was refunded outside ${s.id}, listed`,
    ).toBe(s.external);
    expect(outside.filter((e) => (e as { over?: number }).over !== undefined)).toEqual([]);
    const counted = listed.reduce((total, e) => total + e.amount - ((e as { over?: number }).over ?? 0), 0);
    expect(counted, `${where}: refunded sum of ${s.id} is what its refunds counted, those made outside included`).toBe(original.refunded);
  }
}

describe('refund properties', () => {
  it('open refunds, retried on other cards and amounts and across restarts, never let refunds exceed the sale, and none is recorded as zero', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(opArb, { minLength: 1, maxLength: 40 }), async (ops) => {
        const t = await testGuard({ ...OPTIONS });
        const store = t.store;
        let { guard, clock } = t;
        const sales: Sale[] = [];
        for (const amount of SALES) {
          const { attempt } = await guard.begin(sale({ amount, card: { pan: VISA } }));
          await attempt?.approve();
          sales.push({ id: attempt?.id as string, amount, external: 0 });
        }
        clock.advance(20 * MINUTE);
        const refunds: string[] = [];
        let held: Decision[] = [];
        const pick = <T>(list: readonly T[], i: number): T | undefined => (list.length === 0 ? undefined : list[i % list.length]);

        for (const [i, step] of ops.entries()) {
          try {
            if (step.op === 'refund') {
              const of = sales[step.sale] as Sale;
              const d = await guard.begin(
                sale({ amount: step.amount, kind: 'refund', refundOf: of.id, card: CARDS[step.card] as CardInput }),
              );
              if (d.attempt) refunds.push(d.attempt.id);
              else held.push(d);
            } else if (step.op === 'settle') {
              const id = pick(refunds, step.target);
              if (id !== undefined) await guard.settle(id, { status: step.status });
            } else if (step.op === 'resume') {
              const id = pick(refunds, step.target);
              if (id !== undefined) await guard.resume(id);
            } else if (step.op === 'override') {
              const decision = pick(held, step.target);
              if (decision === undefined) continue;
              const d = await guard.override(decision, {
                operator: 'op',
                reason: 'property test',
                ...(step.supervisor ? { supervisor: 'sup' } : {}),
              });
              if (d.attempt) {
                refunds.push(d.attempt.id);
                held.splice(held.indexOf(decision), 1);
              } else held.push(d);
            } else if (step.op === 'external') {
              const of = sales[step.sale] as Sale;
              const before = (await guard.get(of.id))?.refunded ?? 0;
              const after = await guard.settle(of.id, {
                status: 'refunded',
                ...(step.amount === undefined ? {} : { amount: step.amount }),
              });
              of.external += after.refunded - before;
            } else if (step.op === 'advance') {
              clock.advance(step.ms);
            } else {
              // A crash: the old guard is dropped without close(); a new one takes the store over.
              clock = clock.afterRestart();
              guard = await createGuard({ ...OPTIONS, store, clock });
              // Decisions are the old guard's: the new one would refuse them.
              held = [];
            }
          } catch (error) {
            // Illegal transitions, refunds above what remains, resumes while in flight and refused overrides are expected.
            if (!(error instanceof GuardStateError || error instanceof GuardOverrideError)) throw error;
          }
          await flush();
          await assertRefundsHold(guard, sales, `op ${i} ${JSON.stringify(step)}`);
        }
      }),
      { numRuns: 120 },
    );
  });
});
