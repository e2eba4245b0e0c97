import { describe, expect, it } from 'vitest';
import { GuardInputError, GuardStateError, type AttemptStatus, type Guard, type Outcome } from '../../src/index.js';
import { MINUTE, SECOND, flush, sale, spyStore, testGuard, thrown } from '../helpers/guard.js';

type Settleable = Exclude<AttemptStatus, 'pending'>;
const TARGETS: readonly Settleable[] = ['approved', 'declined', 'unknown', 'cancelled', 'voided', 'refunded'];

/** SPEC §2's table, written out independently of src/lifecycle.ts. */
const LEGAL: Record<AttemptStatus, readonly Settleable[]> = {
  pending: ['approved', 'declined', 'unknown', 'cancelled'],
  unknown: ['approved', 'declined', 'cancelled', 'voided'],
  approved: ['voided', 'refunded'],
  declined: [],
  cancelled: [],
  voided: [],
  refunded: [],
};

/** The settles that bring a fresh pending attempt to each status. */
const PATH: Record<AttemptStatus, readonly Settleable[]> = {
  pending: [],
  unknown: ['unknown'],
  approved: ['approved'],
  declined: ['declined'],
  cancelled: ['cancelled'],
  voided: ['approved', 'voided'],
  refunded: ['approved', 'refunded'],
};

async function attemptIn(status: AttemptStatus) {
  const store = spyStore();
  const t = await testGuard({ store });
  const { attempt } = await t.guard.begin(sale());
  if (!attempt) throw new Error('expected an allow');
  for (const step of PATH[status]) await t.guard.settle(attempt.id, { status: step });
  expect((await t.guard.get(attempt.id))?.status).toBe(status);
  await flush();
  return { ...t, id: attempt.id };
}

async function snapshot(guard: Guard, store: ReturnType<typeof spyStore>, id: string) {
  await flush();
  return { record: await guard.get(id), stored: await store.load(), puts: store.puts.length, journal: store.journal().length };
}

describe('settle: the transition table of SPEC §2', () => {
  for (const from of Object.keys(LEGAL) as AttemptStatus[]) {
    for (const to of TARGETS) {
      if (from === to) continue;
      const legal = LEGAL[from].includes(to);
      it(`${from} → ${to} ${legal ? 'succeeds' : 'throws GuardStateError and changes nothing'}`, async () => {
        const { guard, store, events, id } = await attemptIn(from);
        const before = await snapshot(guard, store, id);
        const eventsBefore = events.length;
        if (legal) {
          const record = await guard.settle(id, { status: to });
          expect(record.status).toBe(to);
          expect((await guard.get(id))?.status).toBe(to);
          expect(store.puts.at(-1)).toMatchObject({ id, status: to });
          expect(events.at(-1)).toMatchObject({ type: 'settle', from, record: { id, status: to } });
        } else {
          const error = await thrown(() => guard.settle(id, { status: to }));
          expect(error).toBeInstanceOf(GuardStateError);
          expect(await snapshot(guard, store, id)).toEqual(before);
          expect(events.length).toBe(eventsBefore);
        }
      });
    }
  }

  // (`pending` is no settle status at all: see "status pending" under errors.)
  it.each(['unknown', 'approved', 'declined', 'cancelled', 'voided', 'refunded'] as const)(
    'settling a %s attempt to its own status is a no-op: the record comes back, nothing is written',
    async (status) => {
      const { guard, store, id } = await attemptIn(status);
      const before = await snapshot(guard, store, id);
      const record = await guard.settle(id, { status });
      expect(record).toEqual(before.record);
      expect(await snapshot(guard, store, id)).toEqual(before);
    },
  );

  it('stamps approvedAt and keeps the processor details on the record', async () => {
    const { guard, clock } = await testGuard();
    const { attempt } = await guard.begin(sale());
    clock.advance(7 * SECOND);
    const record = await guard.settle(attempt?.id ?? '', { status: 'approved', authCode: 'A1B2C3', processorRef: 'ch_123' });
    expect(record).toMatchObject({
      status: 'approved',
      authCode: 'A1B2C3',
      processorRef: 'ch_123',
      approvedAt: clock.wall,
      updatedAt: clock.wall,
    });
    expect(Object.isFrozen(record)).toBe(true);
  });
});

describe('settle: refunds', () => {
  it('partial refunds keep approved and add up; reaching the amount makes refunded', async () => {
    const { guard, store, id } = await attemptIn('approved');
    const first = await guard.settle(id, { status: 'refunded', amount: 250 });
    expect(first).toMatchObject({ status: 'approved', refunded: 250 });
    const second = await guard.settle(id, { status: 'refunded', amount: 500 });
    expect(second).toMatchObject({ status: 'approved', refunded: 750 });
    const last = await guard.settle(id, { status: 'refunded', amount: 500 });
    expect(last).toMatchObject({ status: 'refunded', refunded: 1250 });
    expect(store.puts.at(-1)).toMatchObject({ id, status: 'refunded', refunded: 1250 });
  });

  it('refunds the rest when no amount is given', async () => {
    const { guard, id } = await attemptIn('approved');
    await guard.settle(id, { status: 'refunded', amount: 1000 });
    expect(await guard.settle(id, { status: 'refunded' })).toMatchObject({ status: 'refunded', refunded: 1250 });
  });

  it('refuses an amount above what remains, changing nothing', async () => {
    const { guard, store, id } = await attemptIn('approved');
    await guard.settle(id, { status: 'refunded', amount: 1000 });
    const before = await snapshot(guard, store, id);
    expect(await thrown(() => guard.settle(id, { status: 'refunded', amount: 251 }))).toBeInstanceOf(GuardStateError);
    expect(await snapshot(guard, store, id)).toEqual(before);
  });

  it('refuses a refund with an amount on a fully refunded attempt (not a no-op)', async () => {
    const { guard, store, id } = await attemptIn('refunded');
    const before = await snapshot(guard, store, id);
    expect(await thrown(() => guard.settle(id, { status: 'refunded', amount: 1 }))).toBeInstanceOf(GuardStateError);
    expect(await snapshot(guard, store, id)).toEqual(before);
  });

  it("an approved refund attempt adds to the original sale's refunded sum", async () => {
    const { guard, store } = await testGuard();
    const original = (await guard.begin(sale({ amount: 5000 }))).attempt;
    await original?.approve();
    const refund = (await guard.begin(sale({ amount: 2000, kind: 'refund', refundOf: original?.id }))).attempt;
    expect(refund).toBeDefined();
    await refund?.approve();
    expect(await guard.get(original?.id ?? '')).toMatchObject({ status: 'approved', refunded: 2000 });
    const rest = (await guard.begin(sale({ amount: 3000, kind: 'refund', refundOf: original?.id }))).attempt;
    await rest?.approve();
    expect(await guard.get(original?.id ?? '')).toMatchObject({ status: 'refunded', refunded: 5000 });
    expect((await store.load()).find((r) => r.id === original?.id)).toMatchObject({ status: 'refunded', refunded: 5000 });
  });

  it('an overridden refund above the remaining sum refunds at most what remains', async () => {
    const { guard } = await testGuard({ authorize: () => true });
    const original = (await guard.begin(sale({ amount: 1000 }))).attempt;
    await original?.approve();
    const blocked = await guard.begin(sale({ amount: 1200, kind: 'refund', refundOf: original?.id }));
    expect(blocked.reasons.map((r) => r.code)).toEqual(['REFUND_EXCEEDS_CHARGE']);
    const refund = (await guard.override(blocked, { operator: 'o', reason: 'fee refunded too', supervisor: 's' })).attempt;
    await refund?.approve();
    expect(await guard.get(original?.id ?? '')).toMatchObject({ status: 'refunded', refunded: 1000 });
  });

  it('a sale with refunds cannot be voided (the void would return its whole amount again); reversing the refund frees it', async () => {
    const { guard } = await testGuard();
    const original = (await guard.begin(sale({ amount: 1000 }))).attempt;
    await original?.approve();
    const refund = (await guard.begin(sale({ amount: 400, kind: 'refund', refundOf: original?.id }))).attempt;
    await refund?.approve();
    await expect(original?.void()).rejects.toMatchObject({ name: 'GuardStateError', code: 'HAS_REFUNDS' });
    expect(await guard.get(original?.id ?? '')).toMatchObject({ status: 'approved', refunded: 400 });
    await refund?.void();
    expect((await original?.void())?.status).toBe('voided');
  });

  it('a sale with a refund in flight cannot be voided either', async () => {
    const { guard } = await testGuard();
    const original = (await guard.begin(sale({ amount: 1000 }))).attempt;
    await original?.approve();
    await guard.begin(sale({ amount: 1000, kind: 'refund', refundOf: original?.id }));
    await expect(original?.void()).rejects.toMatchObject({ code: 'HAS_REFUNDS' });
  });

  it('a refund attempt itself cannot be settled refunded', async () => {
    const { guard } = await testGuard();
    const original = (await guard.begin(sale({ amount: 1000 }))).attempt;
    await original?.approve();
    const refund = (await guard.begin(sale({ amount: 400, kind: 'refund', refundOf: original?.id }))).attempt;
    await refund?.approve();
    expect(await thrown(() => guard.settle(refund?.id ?? '', { status: 'refunded' }))).toBeInstanceOf(GuardStateError);
    expect(await guard.get(original?.id ?? '')).toMatchObject({ status: 'approved', refunded: 400 });
  });

  it('a declined refund attempt refunds nothing', async () => {
    const { guard } = await testGuard();
    const original = (await guard.begin(sale({ amount: 5000 }))).attempt;
    await original?.approve();
    const refund = (await guard.begin(sale({ amount: 2000, kind: 'refund', refundOf: original?.id }))).attempt;
    await refund?.decline();
    expect(await guard.get(original?.id ?? '')).toMatchObject({ status: 'approved', refunded: 0 });
  });
});

/**
 * Issue 10, item 5: no refund is recorded as a silent zero. The original's
 * refunded sum never exceeds its amount, but a refund that paid out beyond
 * what remained keeps its real amount in the original's `refunds` list, with
 * the excess as `over`, and is journaled and emitted as an over-refund.
 */
describe('settle: refunds beyond what remains', () => {
  async function saleOf(amount: number) {
    const store = spyStore();
    const t = await testGuard({ store, authorize: (req) => req.supervisor === 'sup' });
    const { attempt } = await t.guard.begin(sale({ amount }));
    await attempt?.approve();
    return { ...t, saleId: attempt?.id as string };
  }
  const supervised = { operator: 'op', reason: 'customer was charged a fee too', supervisor: 'sup' };

  it('an overridden refund above what remains keeps its real amount, the excess journaled and emitted', async () => {
    const { guard, store, events, saleId } = await saleOf(1000);
    const blocked = await guard.begin(sale({ amount: 1200, kind: 'refund', refundOf: saleId }));
    const refund = (await guard.override(blocked, supervised)).attempt;
    await refund?.approve();
    const original = await guard.get(saleId);
    expect(original).toMatchObject({ status: 'refunded', refunded: 1000, refunds: [{ id: refund?.id, amount: 1200, over: 200 }] });
    await flush();
    expect(store.journal()).toContainEqual(
      expect.objectContaining({ type: 'settle', attemptId: saleId, amount: 200, detail: `over-refund by ${refund?.id}` }),
    );
    expect(events).toContainEqual(
      expect.objectContaining({
        type: 'settle',
        from: 'approved',
        record: expect.objectContaining({ id: saleId, refunds: [{ id: refund?.id, amount: 1200, over: 200 }] }),
      }),
    );
    // The refund's own settle is still the last event.
    expect(events.at(-1)).toMatchObject({ type: 'settle', record: { id: refund?.id, status: 'approved' } });
  });

  it('a second refund that settles approved on a fully refunded sale is recorded, not as zero', async () => {
    const { guard, saleId } = await saleOf(1000);
    const first = (await guard.begin(sale({ amount: 1000, kind: 'refund', refundOf: saleId }))).attempt;
    await first?.markUnknown({ message: 'system error' });
    const held = await guard.begin(sale({ amount: 1000, kind: 'refund', refundOf: saleId, card: { token: 'tok_tap' } }));
    const second = (await guard.override(held, supervised)).attempt;
    await second?.approve();
    await first?.approve();
    const original = await guard.get(saleId);
    expect(original).toMatchObject({ status: 'refunded', refunded: 1000 });
    expect(original?.refunds).toEqual([
      { id: second?.id, amount: 1000 },
      { id: first?.id, amount: 1000, over: 1000 },
    ]);
    expect(original?.refunds?.some((r) => r.amount === 0)).toBe(false);
    // A retried settle counts nothing twice.
    await first?.approve();
    expect((await guard.get(saleId))?.refunds).toHaveLength(2);
  });

  it('voiding a refund lets an over-refund of the same sale count in its place', async () => {
    const { guard, saleId } = await saleOf(1000);
    const first = (await guard.begin(sale({ amount: 600, kind: 'refund', refundOf: saleId }))).attempt;
    await first?.approve();
    const held = await guard.begin(sale({ amount: 700, kind: 'refund', refundOf: saleId }));
    const second = (await guard.override(held, supervised)).attempt;
    await second?.approve();
    expect(await guard.get(saleId)).toMatchObject({
      status: 'refunded',
      refunded: 1000,
      refunds: [
        { id: first?.id, amount: 600 },
        { id: second?.id, amount: 700, over: 300 },
      ],
    });
    // The first refund was reversed: the 700 the customer did get back is what counts now.
    await first?.void();
    expect(await guard.get(saleId)).toMatchObject({ status: 'approved', refunded: 700, refunds: [{ id: second?.id, amount: 700 }] });
  });

  it("an over-refund whose sale's update was lost to a crash is repaired at start-up at its real amount, and reported", async () => {
    let failOriginal = false;
    const store = spyStore((record, write) => (failOriginal && record.kind === 'sale' ? Promise.reject(new Error('crash')) : write()));
    const { guard, clock } = await testGuard({ store, authorize: () => true });
    const { attempt } = await guard.begin(sale({ amount: 1000 }));
    await attempt?.approve();
    const blocked = await guard.begin(sale({ amount: 1500, kind: 'refund', refundOf: attempt?.id }));
    const refund = (await guard.override(blocked, supervised)).attempt;
    failOriginal = true;
    await refund?.approve();
    failOriginal = false;
    expect((await store.load()).find((r) => r.id === attempt?.id)).toMatchObject({ refunded: 0 });

    // The crash: a new process opens the same storage (another store object over the same data), and
    // the first guard's memory is gone with it (a take-over in the process would adopt that memory).
    const restarted = await testGuard({ store: { ...store }, clock: clock.afterRestart() });
    await flush();
    expect(await restarted.guard.get(attempt?.id as string)).toMatchObject({
      status: 'refunded',
      refunded: 1000,
      refunds: [{ id: refund?.id, amount: 1500, over: 500 }],
    });
    expect(store.journal().at(-1)).toMatchObject({
      type: 'settle',
      attemptId: attempt?.id,
      amount: 500,
      detail: `over-refund by ${refund?.id}`,
    });
  });

  it('a refund settled outside the guard counts the refunds whose outcome is open', async () => {
    const { guard, store, saleId } = await saleOf(1000);
    const open = (await guard.begin(sale({ amount: 600, kind: 'refund', refundOf: saleId }))).attempt;
    await open?.markUnknown();
    await flush();
    const before = { record: await guard.get(saleId), puts: store.puts.length };
    const error = await thrown(() => guard.settle(saleId, { status: 'refunded', amount: 500 }));
    expect(error).toBeInstanceOf(GuardStateError);
    expect(error).toMatchObject({ code: 'REFUND_EXCEEDS_CHARGE' });
    expect((error as Error).message).toContain(open?.id);
    expect({ record: await guard.get(saleId), puts: store.puts.length }).toEqual(before);

    expect(await guard.settle(saleId, { status: 'refunded', amount: 400 })).toMatchObject({ status: 'approved', refunded: 400 });
    // "The rest" is nothing while the open refund may have paid out the other 600: an error, not a refund of 0.
    expect(await thrown(() => guard.settle(saleId, { status: 'refunded' }))).toMatchObject({
      name: 'GuardStateError',
      code: 'REFUND_EXCEEDS_CHARGE',
    });
    expect(await guard.get(saleId)).toMatchObject({ status: 'approved', refunded: 400 });

    await open?.decline();
    expect(await guard.settle(saleId, { status: 'refunded' })).toMatchObject({ status: 'refunded', refunded: 1000 });
  });
});

describe('settle: errors', () => {
  it('an unknown attempt id is a GuardStateError', async () => {
    const { guard } = await testGuard();
    const error = await thrown(() => guard.settle('att_never_was', { status: 'approved' }));
    expect(error).toBeInstanceOf(GuardStateError);
    expect((error as GuardStateError).message).toContain('att_never_was');
  });

  it.each<[string, unknown]>([
    ['no outcome', undefined],
    ['a string', 'approved'],
    ['status pending', { status: 'pending' }],
    ['an unknown status', { status: 'settled' }],
    ['an amount on approved', { status: 'approved', amount: 100 }],
    ['a fractional refund', { status: 'refunded', amount: 1.5 }],
    ['a zero refund', { status: 'refunded', amount: 0 }],
    ['a non-string authCode', { status: 'approved', authCode: 42 }],
  ])('%s is a GuardInputError and changes nothing', async (_name, outcome) => {
    const { guard, store, id } = await attemptIn('approved');
    const before = await snapshot(guard, store, id);
    expect(await thrown(() => guard.settle(id, outcome as Outcome))).toBeInstanceOf(GuardInputError);
    expect(await snapshot(guard, store, id)).toEqual(before);
  });
});

describe('Attempt sugar', () => {
  it.each([
    ['approve', 'approved'],
    ['decline', 'declined'],
    ['markUnknown', 'unknown'],
    ['cancel', 'cancelled'],
  ] as const)('%s() settles a pending attempt %s', async (method, status) => {
    const { guard } = await testGuard();
    const { attempt } = await guard.begin(sale());
    if (!attempt) throw new Error('expected an allow');
    const record = await attempt[method]();
    expect(record.status).toBe(status);
    expect((await guard.get(attempt.id))?.status).toBe(status);
  });

  it('void() voids an approved attempt, and passes details through', async () => {
    const { guard } = await testGuard();
    const { attempt } = await guard.begin(sale());
    await attempt?.approve({ authCode: 'OK1' });
    expect(await attempt?.void({ processorRef: 'rev_9' })).toMatchObject({ status: 'voided', authCode: 'OK1', processorRef: 'rev_9' });
    expect(await thrown(() => attempt?.approve())).toBeInstanceOf(GuardStateError);
  });

  it('decline() keeps the processor code and message', async () => {
    const { guard } = await testGuard();
    const { attempt } = await guard.begin(sale());
    expect(await attempt?.decline({ code: '51', message: 'insufficient funds' })).toMatchObject({
      status: 'declined',
      code: '51',
      message: 'insufficient funds',
    });
  });
});

describe('pendingTimeout', () => {
  it('a pending older than pendingTimeout (strictly) reports unknown everywhere', async () => {
    const { guard, clock } = await testGuard({ pendingTimeout: '2m' });
    const { attempt } = await guard.begin(sale());
    if (!attempt) throw new Error('expected an allow');

    clock.advance(2 * MINUTE);
    expect((await guard.get(attempt.id))?.status).toBe('pending');
    expect(attempt.status).toBe('pending');
    expect((await guard.peek(sale())).reasons.map((r) => r.code)).toEqual(['IN_FLIGHT']);

    clock.advance(1);
    expect((await guard.get(attempt.id))?.status).toBe('unknown');
    expect(attempt.status).toBe('unknown');
    expect((await guard.attempts({ status: 'unknown' })).map((r) => r.id)).toEqual([attempt.id]);
    expect(await guard.attempts({ status: 'pending' })).toEqual([]);
    const d = await guard.peek(sale());
    expect(d.verdict).toBe('block');
    expect(d.reasons).toEqual([expect.objectContaining({ code: 'UNKNOWN_OUTCOME', attemptId: attempt.id })]);
  });

  it('a timed-out pending settles as if unknown: it can be voided, then no longer blocks', async () => {
    const { guard, clock } = await testGuard({ pendingTimeout: '2m' });
    const { attempt } = await guard.begin(sale());
    clock.advance(3 * MINUTE);
    const record = await guard.settle(attempt?.id ?? '', { status: 'voided' });
    expect(record.status).toBe('voided');
    expect((await guard.begin(sale())).verdict).toBe('allow');
  });

  it('a timed-out pending can be resumed, and is pending (IN_FLIGHT) again from then', async () => {
    const { guard, clock } = await testGuard({ pendingTimeout: '2m' });
    const { attempt } = await guard.begin(sale());
    clock.advance(3 * MINUTE);
    const resumed = await guard.resume(attempt?.id ?? '');
    expect(resumed.status).toBe('pending');
    expect(resumed.idempotencyKey).toBe(attempt?.idempotencyKey);
    expect((await guard.peek(sale())).reasons.map((r) => r.code)).toEqual(['IN_FLIGHT']);
    // Its timeout counts from the resume, not from begin.
    clock.advance(2 * MINUTE);
    expect(resumed.status).toBe('pending');
    clock.advance(1);
    expect(resumed.status).toBe('unknown');
  });
});

describe('attempts()', () => {
  it('filters by status (one or many), order and kind, oldest first', async () => {
    const { guard, clock } = await testGuard();
    const a = (await guard.begin(sale({ amount: 100, orderId: 'A' }))).attempt;
    clock.advance(SECOND);
    const b = (await guard.begin(sale({ amount: 200 }))).attempt;
    clock.advance(SECOND);
    const c = (await guard.begin(sale({ amount: 300, kind: 'refund' }))).attempt;
    await b?.approve();
    await c?.markUnknown();

    expect((await guard.attempts()).map((r) => r.id)).toEqual([a?.id, b?.id, c?.id]);
    expect((await guard.attempts({ status: 'approved' })).map((r) => r.id)).toEqual([b?.id]);
    expect((await guard.attempts({ status: ['pending', 'unknown'] })).map((r) => r.id)).toEqual([a?.id, c?.id]);
    expect((await guard.attempts({ orderId: 'A' })).map((r) => r.id)).toEqual([a?.id]);
    expect((await guard.attempts({ kind: 'refund' })).map((r) => r.id)).toEqual([c?.id]);
  });
});

describe('Attempt methods (sugar for guard.settle)', () => {
  it.each([
    ['approve', 'approved', { authCode: 'A1', processorRef: 'ch_1' }],
    ['decline', 'declined', { code: '05', message: 'do not honour' }],
    ['markUnknown', 'unknown', { code: 'TIMEOUT' }],
    ['cancel', 'cancelled', { message: 'customer walked away' }],
  ] as const)('%s() settles the attempt %s, with its details', async (method, status, details) => {
    const { guard } = await testGuard();
    const { attempt } = await guard.begin(sale());
    const record = await attempt?.[method](details);
    expect(record).toMatchObject({ id: attempt?.id, status, ...details });
    expect(attempt?.status).toBe(status);
    expect(await guard.get(attempt?.id ?? '')).toMatchObject({ status, ...details });
  });

  it('void() voids an approved attempt', async () => {
    const { guard } = await testGuard();
    const { attempt } = await guard.begin(sale());
    await attempt?.approve();
    expect(await attempt?.void({ processorRef: 'void_1' })).toMatchObject({ status: 'voided', processorRef: 'void_1' });
    expect(attempt?.status).toBe('voided');
  });

  it('serialises as its public fields and live status, nothing of the guard behind it', async () => {
    const { guard } = await testGuard();
    const { attempt } = await guard.begin(sale());
    await attempt?.approve();
    expect(JSON.parse(JSON.stringify(attempt))).toEqual({
      id: attempt?.id,
      idempotencyKey: attempt?.idempotencyKey,
      status: 'approved',
      amount: 1250,
      currency: 'CNY',
    });
  });
});

// Issue 16: "cannot go from 'declined' to 'approved'" said what was refused, not what is possible.
describe('a refused settle says what the attempt can still become', () => {
  it.each<[Settleable[], Settleable, RegExp]>([
    [['declined'], 'approved', /cannot go from 'declined' to 'approved': 'declined' is final/],
    [['approved'], 'declined', /from 'approved' it can only be settled 'voided', 'refunded'$/],
  ])('after %o, settling %s', async (path, to, said) => {
    const { guard } = await testGuard();
    const { attempt } = await guard.begin(sale());
    for (const status of path) await guard.settle(attempt?.id ?? '', { status });
    const error = await thrown(() => guard.settle(attempt?.id ?? '', { status: to }));
    expect(error).toBeInstanceOf(GuardStateError);
    expect((error as Error).message).toMatch(said);
  });
});
