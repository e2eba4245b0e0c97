import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  GuardInputError,
  GuardOverrideError,
  GuardStateError,
  type AttemptRecord,
  type CardInput,
  type Decision,
  type Guard,
  type Outcome,
  type OverrideRequest,
  type Sale,
} from '../../src/index.js';
import { MASTERCARD, MINUTE, SECOND, VISA, flush, sale, testGuard, thrown } from '../helpers/guard.js';

const WINDOW_MS = 10 * MINUTE;
const CARDS: readonly CardInput[] = [{ pan: VISA }, { pan: MASTERCARD }, { token: 'tok_wallet_1' }];
const AMOUNTS = [1250, 990] as const;
const STATUSES = ['approved', 'declined', 'unknown', 'cancelled', 'voided', 'refunded'] as const;

type Op =
  | { op: 'begin'; card: number; amount: number }
  | { op: 'settle'; target: number; status: (typeof STATUSES)[number]; partial: boolean }
  | { op: 'resume'; target: number }
  | { op: 'advance'; ms: number }
  | { op: 'override'; target: number; supervisor: boolean };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({ op: fc.constant('begin' as const), card: fc.nat(CARDS.length - 1), amount: fc.constantFrom(...AMOUNTS) }),
  },
  {
    weight: 4,
    arbitrary: fc.record({
      op: fc.constant('settle' as const),
      target: fc.nat(20),
      status: fc.constantFrom(...STATUSES),
      partial: fc.boolean(),
    }),
  },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('resume' as const), target: fc.nat(20) }) },
  // Around the boundaries that matter: pendingTimeout (2m) and window (10m).
  {
    weight: 2,
    arbitrary: fc.record({
      op: fc.constant('advance' as const),
      ms: fc.constantFrom(SECOND, 30 * SECOND, 2 * MINUTE + 1, 5 * MINUTE, WINDOW_MS),
    }),
  },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('override' as const), target: fc.nat(20), supervisor: fc.boolean() }) },
);

/** Live per SPEC §2/§3 at `now`: pending, unknown, or approved less than `window` ago. */
const isLiveAt = (r: AttemptRecord, now: number) =>
  r.status === 'pending' ||
  r.status === 'unknown' ||
  (r.status === 'approved' && r.approvedAt !== undefined && now - r.approvedAt < WINDOW_MS);

/**
 * No two live attempts share a fingerprint unless an override stands
 * between them: in each fingerprint's live attempts, oldest first, every
 * attempt after the first carries an override note.
 */
async function assertNoUnguardedDuplicates(guard: Guard, now: number): Promise<void> {
  const byFingerprint = new Map<string, AttemptRecord[]>();
  for (const r of await guard.attempts()) {
    if (!isLiveAt(r, now)) continue;
    byFingerprint.set(r.fingerprint, [...(byFingerprint.get(r.fingerprint) ?? []), r]);
  }
  for (const group of byFingerprint.values()) {
    const ordered = [...group].sort(
      (a, b) => a.createdAt - b.createdAt || Number(a.override !== undefined) - Number(b.override !== undefined),
    );
    const unguarded = ordered.slice(1).filter((r) => r.override === undefined);
    expect(unguarded.map((r) => ({ id: r.id, status: r.status }))).toEqual([]);
  }
}

describe('properties', () => {
  it('random begin / settle / resume / advance / override never leave an unguarded duplicate live', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(opArb, { minLength: 1, maxLength: 40 }), async (ops) => {
        const { guard, clock } = await testGuard({ window: WINDOW_MS, pendingTimeout: '2m', authorize: (req) => req.supervisor === 'sup' });
        const ids: string[] = [];
        const held: Decision[] = [];
        const pick = <T>(list: readonly T[], i: number): T | undefined => (list.length === 0 ? undefined : list[i % list.length]);

        for (const step of ops) {
          try {
            if (step.op === 'begin') {
              const d = await guard.begin(sale({ card: CARDS[step.card] as CardInput, amount: step.amount }));
              if (d.attempt) ids.push(d.attempt.id);
              else held.push(d);
            } else if (step.op === 'settle') {
              const id = pick(ids, step.target);
              if (id === undefined) continue;
              const outcome: Outcome =
                step.status === 'refunded' && step.partial ? { status: 'refunded', amount: 100 } : { status: step.status };
              await guard.settle(id, outcome);
            } else if (step.op === 'resume') {
              const id = pick(ids, step.target);
              if (id !== undefined) await guard.resume(id);
            } else if (step.op === 'advance') {
              clock.advance(step.ms);
            } else {
              const decision = pick(held, step.target);
              if (decision === undefined) continue;
              const request: OverrideRequest = {
                operator: 'op',
                reason: 'property test',
                ...(step.supervisor ? { supervisor: 'sup' } : {}),
              };
              const d = await guard.override(decision, request);
              if (d.attempt) {
                ids.push(d.attempt.id);
                // One confirmation, one charge: the decision is spent.
                held.splice(held.indexOf(decision), 1);
                await expect(guard.override(decision, request)).rejects.toMatchObject({ code: 'UNKNOWN_DECISION' });
              } else held.push(d);
            }
          } catch (error) {
            // Illegal transitions and refused overrides are expected; nothing else is.
            if (!(error instanceof GuardStateError || error instanceof GuardOverrideError)) throw error;
          }
          await assertNoUnguardedDuplicates(guard, clock.wall);
        }
      }),
      { numRuns: 80 },
    );
  });

  const corruptions: readonly ((s: Record<string, unknown>) => void)[] = [
    (s) => (s.amount = 12.5),
    (s) => (s.amount = 0),
    (s) => (s.amount = -1250),
    (s) => (s.amount = '1250'),
    (s) => (s.amount = Number.NaN),
    (s) => (s.amount = 2 ** 53),
    (s) => delete s.amount,
    (s) => (s.currency = 'cny'),
    (s) => (s.currency = 'CNYY'),
    (s) => (s.currency = 156),
    (s) => delete s.currency,
    (s) => (s.card = { pan: '4111 1111 1111 1112' }),
    (s) => (s.card = { pan: '41111111111' }),
    (s) => (s.card = { pan: '4111 1111 1111 111x' }),
    (s) => (s.card = { pan: VISA, token: 'tok' }),
    (s) => (s.card = { token: '' }),
    (s) => (s.card = { last4: '111' }),
    (s) => (s.card = { last4: '1111', bin: '41' }),
    (s) => (s.card = { last4: '1111', expiry: '13/40' }),
    (s) => (s.card = { pan: VISA, cvv: '123' }),
    (s) => (s.card = {}),
    (s) => (s.card = null),
    (s) => (s.card = VISA),
    (s) => (s.cvv = '123'),
    (s) => (s.pin = '1234'),
    (s) => (s.track2 = ';4111111111111111=2912?'),
    (s) => (s.surprise = true),
    (s) => (s.kind = 'void'),
    (s) => (s.refundOf = 'att_x'),
    (s) => (s.orderTotal = 5000),
    (s) => (s.card = { pan: ';4111111111111111=2912?' }),
    (s) => (s.merchantId = ''),
    (s) => (s.orderId = ' padded '),
    (s) => (s.operator = 42),
  ];

  const badSale: fc.Arbitrary<unknown> = fc.oneof(
    fc.subarray([...corruptions], { minLength: 1, maxLength: 3 }).map((fns) => {
      const s: Record<string, unknown> = { ...sale() };
      for (const corrupt of fns) corrupt(s);
      return s;
    }),
    // Not a sale at all.
    fc.anything().filter((v) => typeof v !== 'object' || v === null || Array.isArray(v) || !('card' in v)),
  );

  const SETTLE_STATUSES: readonly unknown[] = STATUSES;
  const badOutcome: fc.Arbitrary<unknown> = fc.oneof(
    fc.constantFrom<unknown>(
      { status: 'pending' },
      { status: 'APPROVED' },
      { status: 'approved', amount: 5 },
      { status: 'refunded', amount: 0 },
      { status: 'refunded', amount: 1.5 },
      { status: 'refunded', amount: '1' },
      { status: 'declined', code: 51 },
      { status: 'approved', authCode: 'x'.repeat(513) },
    ),
    fc.anything().filter((v) => typeof v !== 'object' || v === null || !SETTLE_STATUSES.includes((v as { status?: unknown }).status)),
  );

  const badRequest: fc.Arbitrary<unknown> = fc.oneof(
    fc.constantFrom<unknown>(
      { operator: '', reason: 'r' },
      { operator: 'o', reason: ' ' },
      { operator: 'o' },
      { reason: 'r' },
      { operator: 'o', reason: 'r', supervisor: 1 },
      {
        operator: 7,
        reason: 'r',
      },
    ),
    fc.anything().filter((v) => {
      const r = v as { operator?: unknown; reason?: unknown } | null | undefined;
      return typeof r?.operator !== 'string' || typeof r?.reason !== 'string' || r.operator.trim() === '' || r.reason.trim() === '';
    }),
  );

  const badTimeout = fc.oneof(
    fc.constantFrom<unknown>(-1, 1.5, '10 m', '10', '1.5h', '', 'm', null, {}, Number.NaN, Infinity),
    fc.string().filter((s) => !/^(\d+(ms|d|h|m|s))+$/.test(s)),
  );

  type BadCall =
    | { call: 'begin' | 'peek' | 'charge'; input: unknown }
    | { call: 'settle'; input: unknown }
    | { call: 'override'; input: unknown }
    | { call: 'timeout'; input: unknown };
  const badCall: fc.Arbitrary<BadCall> = fc.oneof(
    fc.record({ call: fc.constantFrom('begin' as const, 'peek' as const, 'charge' as const), input: badSale }),
    fc.record({ call: fc.constant('settle' as const), input: badOutcome }),
    fc.record({ call: fc.constant('override' as const), input: badRequest }),
    fc.record({ call: fc.constant('timeout' as const), input: badTimeout }),
  );

  it('random bad input only ever throws GuardInputError and changes nothing', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(badCall, { minLength: 1, maxLength: 8 }), async (calls) => {
        const { guard, store } = await testGuard();
        const approved = (await guard.begin(sale())).attempt;
        await approved?.approve();
        const pending = (await guard.begin(sale({ amount: 990 }))).attempt;
        const prompt = await guard.begin(sale());
        expect(prompt.verdict).toBe('prompt');
        await flush();
        const snapshot = async () => {
          await flush();
          return {
            records: JSON.stringify(await store.load()),
            journal: store.journal().length,
            attempts: JSON.stringify(await guard.attempts()),
          };
        };
        const before = await snapshot();
        let submits = 0;
        const submit = async () => {
          submits++;
          return { approved: true as const };
        };

        for (const { call, input } of calls) {
          const error = await thrown(() => {
            switch (call) {
              case 'begin':
              case 'peek':
                return guard[call](input as Sale);
              case 'charge':
                return guard.charge(input as Sale, submit);
              case 'settle':
                return guard.settle(pending?.id ?? '', input as Outcome);
              case 'override':
                return guard.override(prompt, input as OverrideRequest);
              case 'timeout':
                return guard.charge(sale({ amount: 4321 }), submit, { timeout: input as number });
            }
          });
          expect(error).toBeInstanceOf(GuardInputError);
        }
        expect(submits).toBe(0);
        expect(await snapshot()).toEqual(before);
      }),
      { numRuns: 150 },
    );
  });
});
