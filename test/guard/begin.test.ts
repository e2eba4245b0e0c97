import { describe, expect, it } from 'vitest';
import { GuardInputError, GuardStateError, memoryStore, type AttemptRecord, type Claim } from '../../src/index.js';
import { MINUTE, SECOND, START, deferred, flush, sale, spyStore, testGuard, thrown } from '../helpers/guard.js';

const URL_SAFE_KEY = /^[A-Za-z0-9_-]{16,255}$/;

describe('begin', () => {
  it('allows a first sale and reserves a pending attempt with an id and an idempotency key', async () => {
    const { guard, store } = await testGuard();
    const decision = await guard.begin(sale());

    expect(decision.verdict).toBe('allow');
    expect(decision.reasons).toEqual([]);
    expect(typeof decision.fingerprint).toBe('string');
    const attempt = decision.attempt;
    if (!attempt) throw new Error('an allow carries an attempt');
    expect(attempt.id).toMatch(/\S/);
    expect(attempt.idempotencyKey).toMatch(URL_SAFE_KEY);
    expect(attempt.status).toBe('pending');
    expect(attempt).toMatchObject({ amount: 1250, currency: 'CNY', fingerprint: decision.fingerprint });

    const stored = await store.load();
    expect(stored).toHaveLength(1);
    expect(stored[0]).toMatchObject({
      id: attempt.id,
      idempotencyKey: attempt.idempotencyKey,
      status: 'pending',
      amount: 1250,
      currency: 'CNY',
      createdAt: START,
      pendingSince: START,
      refunded: 0,
    });
    expect(await guard.get(attempt.id)).toEqual(stored[0]);
  });

  it("records the sale's context: the guard's terminal, the order, the operator, BIN and last 4", async () => {
    const { guard } = await testGuard({ terminalId: 'T-01' });
    const { attempt } = await guard.begin(sale({ orderId: 'ORD-1', operator: 'op-9' }));
    expect(await guard.get(attempt?.id ?? '')).toMatchObject({
      merchantId: 'M-0001',
      terminalId: 'T-01',
      kind: 'sale',
      orderId: 'ORD-1',
      operator: 'op-9',
      bin: '411111',
      last4: '1111',
    });
  });

  it('gives every attempt its own id and idempotency key', async () => {
    const { guard } = await testGuard();
    const ids = new Set<string>();
    const keys = new Set<string>();
    for (let amount = 1; amount <= 40; amount++) {
      const { attempt } = await guard.begin(sale({ amount }));
      if (!attempt) throw new Error('expected an allow');
      expect(attempt.idempotencyKey).toMatch(URL_SAFE_KEY);
      ids.add(attempt.id);
      keys.add(attempt.idempotencyKey);
    }
    expect(ids.size).toBe(40);
    expect(keys.size).toBe(40);
  });

  it("keeps the attempt handle's status live", async () => {
    const { guard, clock } = await testGuard({ pendingTimeout: '2m' });
    const first = (await guard.begin(sale())).attempt;
    const second = (await guard.begin(sale({ amount: 990 }))).attempt;
    if (!first || !second) throw new Error('expected allows');

    await guard.settle(first.id, { status: 'approved' });
    expect(first.status).toBe('approved');
    await first.void();
    expect(first.status).toBe('voided');

    expect(second.status).toBe('pending');
    clock.advance(2 * MINUTE + 1);
    expect(second.status).toBe('unknown');
  });

  it('persists the write-ahead record before it resolves', async () => {
    const gate = deferred<void>();
    const store = spyStore(async (_record, write) => {
      await gate.promise;
      await write();
    });
    const { guard } = await testGuard({ store });

    let resolved = false;
    const pending = guard.begin(sale()).then((d) => {
      resolved = true;
      return d;
    });
    await flush();
    // The write has been asked for, but the store has not finished it: begin must wait.
    expect(store.puts).toHaveLength(1);
    expect(store.puts[0]).toMatchObject({ status: 'pending', amount: 1250 });
    expect(resolved).toBe(false);
    expect(await store.load()).toEqual([]);

    gate.resolve();
    const decision = await pending;
    const stored = await store.load();
    expect(stored.map((r) => [r.id, r.status, r.idempotencyKey])).toEqual([
      [decision.attempt?.id, 'pending', decision.attempt?.idempotencyKey],
    ]);
  });

  it('reserves through store.claim when the store has it, and only resolves after the claim', async () => {
    const base = memoryStore();
    const gate = deferred<void>();
    const claims: { ids: readonly string[]; keys: readonly string[] }[] = [];
    let puts = 0;
    const store = {
      ...base,
      put: async (record: AttemptRecord) => {
        puts++;
        await base.put(record);
      },
      claim: async (claim: Claim, judge: (related: AttemptRecord[]) => readonly AttemptRecord[] | undefined) => {
        claims.push({ ids: claim.ids, keys: claim.keys });
        await gate.promise;
        const written = judge([]) ?? [];
        for (const record of written) await base.put(record);
        return written.length > 0;
      },
    };
    const { guard } = await testGuard({ store });

    let resolved = false;
    const pending = guard.begin(sale({ orderId: 'ORD-1' })).then((d) => {
      resolved = true;
      return d;
    });
    await flush();
    expect(claims).toHaveLength(1);
    expect(resolved).toBe(false);

    gate.resolve();
    const decision = await pending;
    expect(decision.verdict).toBe('allow');
    expect(puts).toBe(0);
    expect(claims[0]?.ids).toContain(decision.attempt?.id);
    // Claimed by fingerprint and by order, so another tab's begin of either collides.
    expect(claims[0]?.keys).toContain(decision.fingerprint);
    expect(claims[0]?.keys.length).toBe(2);
    expect((await store.load()).map((r) => r.id)).toEqual([decision.attempt?.id]);
  });

  it('blocks a second begin of the same sale while the first is pending', async () => {
    const { guard, clock } = await testGuard();
    const first = await guard.begin(sale());
    clock.advance(30 * SECOND);
    const second = await guard.begin(sale({ card: { pan: '4111-1111-1111-1111' } }));
    expect(second.verdict).toBe('block');
    expect(second.attempt).toBeUndefined();
    expect(second.reasons).toEqual([expect.objectContaining({ code: 'IN_FLIGHT', attemptId: first.attempt?.id, ageMs: 30 * SECOND })]);
  });
});

describe('peek', () => {
  it('evaluates like begin but reserves and records nothing', async () => {
    const { guard, store } = await testGuard();
    const allow = await guard.peek(sale());
    expect(allow.verdict).toBe('allow');
    expect(allow.attempt).toBeUndefined();
    await flush();
    expect(await store.load()).toEqual([]);
    expect(await guard.attempts()).toEqual([]);

    // A peek reserves nothing, so a begin right after it is still allowed.
    const begun = await guard.begin(sale());
    expect(begun.verdict).toBe('allow');
    await flush();
    const journalBefore = store.journal().length;
    const recordsBefore = await store.load();

    const blocked = await guard.peek(sale());
    expect(blocked.verdict).toBe('block');
    expect(blocked.reasons.map((r) => r.code)).toEqual(['IN_FLIGHT']);
    await flush();
    expect(await store.load()).toEqual(recordsBefore);
    expect(store.journal()).toHaveLength(journalBefore);
  });
});

describe('bad input to begin / peek', () => {
  it('throws GuardInputError naming the field and records nothing', async () => {
    const { guard, store } = await testGuard();
    const bad = [
      sale({ amount: 12.5 }),
      sale({ amount: 0 }),
      sale({ currency: 'cny' }),
      sale({ card: { pan: '4111 1111 1111 1112' } }),
      { ...sale(), cvv: '123' },
    ];
    for (const input of bad) {
      for (const method of ['begin', 'peek'] as const) {
        const error = await thrown(() => guard[method](input));
        expect(error).toBeInstanceOf(GuardInputError);
        expect((error as GuardInputError).field).toBeTruthy();
      }
    }
    await flush();
    expect(await store.load()).toEqual([]);
    expect(await guard.attempts()).toEqual([]);
    expect(store.journal().filter((e) => e.type !== 'start')).toEqual([]);
  });

  // SPEC §4 types begin/peek as `Promise<Decision>`; callers write
  // `guard.begin(sale).catch(...)`, which only works if bad input rejects.
  // (Core bug at the time of writing: validation runs before the async part.)
  it.each(['begin', 'peek'] as const)('%s rejects the returned promise instead of throwing synchronously', async (method) => {
    const { guard } = await testGuard();
    let result: Promise<unknown> | undefined;
    expect(() => {
      result = guard[method](sale({ amount: 12.5 }));
    }).not.toThrow();
    await expect(result).rejects.toBeInstanceOf(GuardInputError);
  });

  it('rejects with GuardStateError CLOSED after close()', async () => {
    const { guard } = await testGuard();
    await guard.close();
    const error = await thrown(() => guard.begin(sale()));
    expect(error).toBeInstanceOf(GuardStateError);
    expect(error).toHaveProperty('code', 'CLOSED');
  });
});
