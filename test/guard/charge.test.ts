import { describe, expect, it, vi } from 'vitest';
import {
  GuardInputError,
  type Attempt,
  type ChargeOptions,
  type Decision,
  type Guard,
  type MemoryStore,
  type SubmitResult,
} from '../../src/index.js';
import { deferred, flush, sale, spyStore, testGuard, thrown } from '../helpers/guard.js';

const approve = async (): Promise<SubmitResult> => ({ approved: true, authCode: 'A1', processorRef: 'ch_1' });

/** Charges the sale once, approved, so the next charge of it is a DUPLICATE_CHARGE prompt. */
async function alreadyCharged(guard: Guard) {
  const first = await guard.charge(sale(), approve);
  expect(first.status).toBe('approved');
  return first;
}

/** Leaves an attempt of the sale with an unknown outcome: the next charge is an overridable block. */
async function unknownOutcome(guard: Guard) {
  const first = await guard.charge(sale(), async () => {
    throw new Error('socket hang up');
  });
  expect(first.status).toBe('unknown');
  return first;
}

describe('charge: submit outcomes', () => {
  it('approved: submits with the reserved attempt and settles it approved', async () => {
    const { guard } = await testGuard();
    const submit = vi.fn(async (attempt: Attempt): Promise<SubmitResult> => {
      expect(attempt.status).toBe('pending');
      return { approved: true, authCode: 'A1', processorRef: 'ch_1' };
    });
    const result = await guard.charge(sale(), submit);
    expect(submit).toHaveBeenCalledTimes(1);
    const attempt = submit.mock.calls[0]?.[0];
    expect(attempt?.idempotencyKey).toMatch(/^[A-Za-z0-9_-]{16,255}$/);
    expect(result.status).toBe('approved');
    expect(result.decision.verdict).toBe('allow');
    expect(result.attempt).toMatchObject({ id: attempt?.id, status: 'approved', authCode: 'A1', processorRef: 'ch_1' });
    expect(await guard.get(attempt?.id ?? '')).toMatchObject({ status: 'approved' });
  });

  it('declined: settles declined with the code and message, and the retry is not blocked', async () => {
    const { guard } = await testGuard();
    const result = await guard.charge(sale(), async () => ({ approved: false, code: '51', message: 'insufficient funds' }));
    expect(result.status).toBe('declined');
    expect(result.attempt).toMatchObject({ status: 'declined', code: '51', message: 'insufficient funds' });
    expect((await guard.charge(sale(), approve)).status).toBe('approved');
  });

  it('submit throwing settles unknown, because the charge may have gone through', async () => {
    const { guard } = await testGuard();
    const result = await unknownOutcome(guard);
    expect(result.attempt).toMatchObject({ status: 'unknown' });
    expect(result.attempt?.message).toContain('socket hang up');
    expect(await guard.attempts({ status: 'unknown' })).toHaveLength(1);
  });

  it('submit resolving something that is not a SubmitResult settles unknown', async () => {
    const { guard } = await testGuard();
    const result = await guard.charge(sale(), (async () => ({ ok: true })) as unknown as () => Promise<SubmitResult>);
    expect(result.status).toBe('unknown');
  });

  it('a timeout settles unknown; a late approval then settles the attempt approved', async () => {
    const { guard } = await testGuard();
    const late = deferred<SubmitResult>();
    const result = await guard.charge(sale(), () => late.promise, { timeout: 50 });
    expect(result.status).toBe('unknown');
    const id = result.attempt?.id ?? '';
    expect(await guard.get(id)).toMatchObject({ status: 'unknown' });

    late.resolve({ approved: true, authCode: 'LATE1' });
    await flush();
    expect(await guard.get(id)).toMatchObject({ status: 'approved', authCode: 'LATE1' });
  });

  it('a late answer does not overwrite an outcome reconciled in the meantime', async () => {
    const { guard } = await testGuard();
    const late = deferred<SubmitResult>();
    const result = await guard.charge(sale(), () => late.promise, { timeout: '50ms' });
    const id = result.attempt?.id ?? '';
    await guard.settle(id, { status: 'voided' });
    late.resolve({ approved: true });
    await flush();
    expect(await guard.get(id)).toMatchObject({ status: 'voided' });
  });

  it("defaults the timeout to the guard's pendingTimeout", async () => {
    const { guard } = await testGuard({ pendingTimeout: 40 });
    const started = Date.now();
    const result = await guard.charge(sale(), () => new Promise<SubmitResult>(() => undefined));
    expect(result.status).toBe('unknown');
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it.each<[string, unknown]>([
    ['a negative number', -5],
    ['a fraction', 1.5],
    ['a unit typo', '10 m'],
    ['a bare number string', '10'],
    ['an object', {}],
  ])('a bad timeout (%s) is a GuardInputError and nothing is recorded', async (_name, timeout) => {
    const store = spyStore();
    const { guard } = await testGuard({ store });
    const submit = vi.fn(approve);
    const error = await thrown(() => guard.charge(sale(), submit, { timeout: timeout as number }));
    expect(error).toBeInstanceOf(GuardInputError);
    expect(error).toHaveProperty('field', 'timeout');
    expect(submit).not.toHaveBeenCalled();
    expect(store.puts).toEqual([]);
    expect(await guard.attempts()).toEqual([]);
  });

  it('a bad sale is a GuardInputError and submit is never called', async () => {
    const { guard } = await testGuard();
    const submit = vi.fn(approve);
    expect(await thrown(() => guard.charge(sale({ amount: -1 }), submit))).toBeInstanceOf(GuardInputError);
    expect(submit).not.toHaveBeenCalled();
  });
});

describe('charge: prompts', () => {
  it('no confirm: not-confirmed, nothing submitted', async () => {
    const { guard } = await testGuard();
    await alreadyCharged(guard);
    const submit = vi.fn(approve);
    const result = await guard.charge(sale(), submit);
    expect(result.status).toBe('not-confirmed');
    expect(result.decision.verdict).toBe('prompt');
    expect(result.attempt).toBeUndefined();
    expect(submit).not.toHaveBeenCalled();
  });

  it('confirm false: not-confirmed', async () => {
    const { guard } = await testGuard();
    await alreadyCharged(guard);
    const confirm = vi.fn((_decision: Decision) => false);
    expect((await guard.charge(sale(), approve, { confirm })).status).toBe('not-confirmed');
    expect(confirm).toHaveBeenCalledTimes(1);
    expect(confirm.mock.calls[0]?.[0]).toMatchObject({ verdict: 'prompt', reasons: [{ code: 'DUPLICATE_CHARGE' }] });
  });

  it("confirm true: overrides as sale.operator ?? 'cashier', 'confirmed at the till'", async () => {
    const { guard } = await testGuard();
    await alreadyCharged(guard);
    const result = await guard.charge(sale(), approve, { confirm: () => true });
    expect(result.status).toBe('approved');
    expect(result.attempt?.override).toEqual({ operator: 'cashier', reason: 'confirmed at the till', lifted: ['DUPLICATE_CHARGE'] });

    const named = await guard.charge(sale({ operator: 'op-42' }), approve, { confirm: async () => true });
    expect(named.status).toBe('approved');
    expect(named.attempt?.override).toMatchObject({ operator: 'op-42', reason: 'confirmed at the till' });
  });

  it('confirm { operator, reason }: overrides with those', async () => {
    const { guard } = await testGuard();
    await alreadyCharged(guard);
    const result = await guard.charge(sale(), approve, { confirm: async () => ({ operator: 'lee', reason: 'two coffees, two payments' }) });
    expect(result.status).toBe('approved');
    expect(result.attempt?.override).toEqual({ operator: 'lee', reason: 'two coffees, two payments', lifted: ['DUPLICATE_CHARGE'] });
  });
});

describe('charge: blocks', () => {
  it('no escalate: blocked, nothing submitted', async () => {
    const { guard } = await testGuard({ authorize: () => true });
    await unknownOutcome(guard);
    const submit = vi.fn(approve);
    const result = await guard.charge(sale(), submit);
    expect(result.status).toBe('blocked');
    expect(result.decision.reasons.map((r) => r.code)).toEqual(['UNKNOWN_OUTCOME']);
    expect(submit).not.toHaveBeenCalled();
  });

  it('escalate with a willing supervisor: charged, with the supervisor on the override note', async () => {
    const authorize = vi.fn(() => true);
    const { guard } = await testGuard({ authorize });
    await unknownOutcome(guard);
    const escalate = vi.fn(async (_d: Decision) => ({ operator: 'cashier-7', reason: 'processor says no charge', supervisor: 'sup-1' }));
    const result = await guard.charge(sale(), approve, { escalate });
    expect(result.status).toBe('approved');
    expect(escalate).toHaveBeenCalledTimes(1);
    expect(authorize).toHaveBeenCalledTimes(1);
    expect(result.attempt?.override).toEqual({
      operator: 'cashier-7',
      reason: 'processor says no charge',
      supervisor: 'sup-1',
      lifted: ['UNKNOWN_OUTCOME'],
    });
  });

  it('escalate refused by authorize: blocked, nothing submitted', async () => {
    const { guard } = await testGuard({ authorize: () => false });
    await unknownOutcome(guard);
    const submit = vi.fn(approve);
    const result = await guard.charge(sale(), submit, { escalate: () => ({ operator: 'o', reason: 'r', supervisor: 's' }) });
    expect(result.status).toBe('blocked');
    expect(submit).not.toHaveBeenCalled();
  });

  it('escalate answering false: blocked', async () => {
    const { guard } = await testGuard({ authorize: () => true });
    await unknownOutcome(guard);
    expect((await guard.charge(sale(), approve, { escalate: () => false })).status).toBe('blocked');
  });

  it('IN_FLIGHT: blocked without asking escalate', async () => {
    const { guard } = await testGuard({ authorize: () => true });
    const inFlight = deferred<SubmitResult>();
    const first = guard.charge(sale(), () => inFlight.promise);
    await flush();
    const escalate = vi.fn(() => ({ operator: 'o', reason: 'r' }));
    const second = await guard.charge(sale(), approve, { escalate });
    expect(second.status).toBe('blocked');
    expect(second.decision.reasons.map((r) => r.code)).toEqual(['IN_FLIGHT']);
    expect(escalate).not.toHaveBeenCalled();
    inFlight.resolve({ approved: true });
    expect((await first).status).toBe('approved');
  });
});

/** The journal notes that annotate a settle: what charge had to leave out of an answer. */
const notesOf = (store: MemoryStore, id: string) =>
  store
    .journal()
    .filter((e) => e.type === 'settle' && e.attemptId === id && e.to === undefined)
    .map((e) => e.detail);

describe('charge: whatever submit does, the attempt is settled and charge resolves (issue 10, item 7)', () => {
  it('a throw with a message over 512 characters (a gateway HTML page) settles unknown, cut, and says so', async () => {
    const { guard, store } = await testGuard();
    const page = `<!doctype html><html><body>${'<p>Bad Gateway</p>'.repeat(300)}</body></html>`;
    const result = await guard.charge(sale(), async () => {
      throw new Error(page);
    });
    expect(result.status).toBe('unknown');
    const id = result.attempt?.id ?? '';
    expect(await guard.get(id)).toMatchObject({ status: 'unknown' });
    expect(result.attempt?.message).toHaveLength(512);
    expect(result.attempt?.message?.startsWith('<!doctype html>')).toBe(true);
    await flush();
    expect(notesOf(store, id)).toEqual([expect.stringMatching(/message cut to 512/)]);
  });

  it.each<[string, () => unknown]>([
    ['a null-prototype object', () => Object.create(null)],
    [
      'a revoked Proxy',
      () => {
        const r = Proxy.revocable({}, {});
        r.revoke();
        return r.proxy;
      },
    ],
    [
      'an error whose message getter throws',
      () =>
        Object.defineProperty(new Error(), 'message', {
          get: () => {
            throw new Error('no');
          },
        }),
    ],
    ['undefined', () => undefined],
    ['a symbol', () => Symbol('boom')],
  ])('a throw of %s settles unknown and resolves', async (_what, make) => {
    const { guard } = await testGuard();
    const result = await guard.charge(sale(), async () => {
      throw make();
    });
    expect(result.status).toBe('unknown');
    expect(await guard.get(result.attempt?.id ?? '')).toMatchObject({ status: 'unknown' });
  });

  it('an approval with a 600-character authCode is recorded without it, and the journal says so', async () => {
    const { guard, store } = await testGuard();
    const result = await guard.charge(sale(), async () => ({ approved: true, authCode: 'A'.repeat(600), processorRef: 'ch_1' }));
    expect(result.status).toBe('approved');
    expect(result.attempt).toMatchObject({ status: 'approved', processorRef: 'ch_1' });
    expect(result.attempt?.authCode).toBeUndefined();
    await flush();
    expect(notesOf(store, result.attempt?.id ?? '')).toEqual([expect.stringMatching(/authCode dropped/)]);
    // Approved means approved: the same sale again is a duplicate.
    expect((await guard.begin(sale())).reasons.map((r) => r.code)).toEqual(['DUPLICATE_CHARGE']);
  });

  it('an approval with a numeric authCode keeps it as text', async () => {
    const { guard } = await testGuard();
    const result = await guard.charge(sale(), (async () => ({
      approved: true,
      authCode: 123456,
    })) as unknown as () => Promise<SubmitResult>);
    expect(result.attempt).toMatchObject({ status: 'approved', authCode: '123456' });
  });

  it('an approval whose details throw when read is still an approval', async () => {
    const { guard } = await testGuard();
    const answer = Object.defineProperty({ approved: true }, 'authCode', {
      get: () => {
        throw new Error('no');
      },
    });
    const result = await guard.charge(sale(), async () => answer);
    expect(result.status).toBe('approved');
  });

  it('a decline with a bad code or message is still a decline', async () => {
    const { guard } = await testGuard();
    const answer = { approved: false, code: { reason: 51 }, message: 'x'.repeat(2000) } as unknown as SubmitResult;
    const result = await guard.charge(sale(), async () => answer);
    expect(result.status).toBe('declined');
    expect(result.attempt?.status).toBe('declined');
    expect(result.attempt?.code).toBeUndefined();
    expect(result.attempt?.message).toHaveLength(512);
  });

  it('an answer that throws when read settles unknown', async () => {
    const { guard } = await testGuard();
    const revoked = Proxy.revocable({ approved: true }, {});
    revoked.revoke();
    const result = await guard.charge(sale(), async () => ({ answer: revoked.proxy }).answer);
    expect(result.status).toBe('unknown');
  });

  it('a late approval with a bad authCode is still recorded as an approval', async () => {
    const { guard, store } = await testGuard();
    const late = deferred<SubmitResult>();
    const result = await guard.charge(sale(), () => late.promise, { timeout: 20 });
    const id = result.attempt?.id ?? '';
    late.resolve({ approved: true, authCode: 7 as unknown as string, processorRef: 'R'.repeat(900) });
    await flush();
    await flush();
    expect(await guard.get(id)).toMatchObject({ status: 'approved', authCode: '7' });
    expect(notesOf(store, id)).toEqual([expect.stringMatching(/processorRef dropped/)]);
  });

  it('a late answer that throws when read leaves the attempt unknown, with no unhandled rejection', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      const { guard } = await testGuard();
      const late = deferred<SubmitResult>();
      const result = await guard.charge(sale(), () => late.promise, { timeout: 20 });
      const answer = Object.defineProperty({}, 'approved', {
        get: () => {
          throw new Error('no');
        },
      });
      late.resolve(answer as SubmitResult);
      await flush();
      await flush();
      expect(await guard.get(result.attempt?.id ?? '')).toMatchObject({ status: 'unknown' });
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });

  it('submit that settles its own attempt and then throws: charge resolves with what it recorded', async () => {
    const { guard } = await testGuard();
    const result = await guard.charge(sale(), async (attempt) => {
      await attempt.decline({ code: '05' });
      throw new Error('then the app fell over');
    });
    expect(result.status).toBe('declined');
    expect(result.attempt).toMatchObject({ status: 'declined', code: '05' });
  });
});

describe('charge: hostile options and sales (issue 10)', () => {
  it.each<[string, () => unknown, string]>([
    [
      'a throwing getter on confirm',
      () =>
        Object.defineProperty({}, 'confirm', {
          enumerable: true,
          get: () => {
            throw new Error('no');
          },
        }),
      'confirm',
    ],
    [
      'a throwing getter on timeout',
      () =>
        Object.defineProperty({}, 'timeout', {
          enumerable: true,
          get: () => {
            throw new Error('no');
          },
        }),
      'timeout',
    ],
    [
      'a revoked Proxy',
      () => {
        const r = Proxy.revocable({}, {});
        r.revoke();
        return r.proxy;
      },
      'options',
    ],
    ['a confirm that is not a function', () => ({ confirm: 'yes' }), 'confirm'],
    ['an escalate that is not a function', () => ({ escalate: true }), 'escalate'],
  ])('%s is a GuardInputError naming it, and nothing is submitted', async (_what, make, field) => {
    const { guard } = await testGuard();
    const submit = vi.fn(approve);
    const error = await thrown(() => guard.charge(sale(), submit, make() as ChargeOptions));
    expect(error).toBeInstanceOf(GuardInputError);
    expect(error).toHaveProperty('field', field);
    expect(submit).not.toHaveBeenCalled();
    expect(await guard.attempts()).toEqual([]);
  });

  it('confirm: true overrides as the operator the sale was validated with, reading the sale once', async () => {
    const { guard } = await testGuard();
    await alreadyCharged(guard);
    let reads = 0;
    const hostile = Object.defineProperty(sale(), 'operator', {
      enumerable: true,
      get() {
        if (++reads > 1) throw new Error('read twice');
        return 'op-7';
      },
    });
    const result = await guard.charge(hostile, approve, { confirm: () => true });
    expect(result.status).toBe('approved');
    expect(result.attempt?.override).toMatchObject({ operator: 'op-7' });
  });
});
