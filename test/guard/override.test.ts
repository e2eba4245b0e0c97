import { describe, expect, it, vi } from 'vitest';
import {
  GuardInputError,
  GuardOverrideError,
  type AuthorizeRequest,
  type Decision,
  type Guard,
  type OverrideRequest,
} from '../../src/index.js';
import { cardNumberLeaks } from '../helpers/cards.js';
import { MASTERCARD, deferred, flush, sale, spyStore, testGuard, thrown } from '../helpers/guard.js';

const CASHIER: OverrideRequest = { operator: 'cashier-7', reason: 'customer buys a second ticket' };
const SUPERVISOR: OverrideRequest = { operator: 'cashier-7', reason: 'processor confirmed no charge', supervisor: 'sup-1' };

/** A prompt: the same sale approved a moment ago (DUPLICATE_CHARGE). */
async function duplicatePrompt(guard: Guard): Promise<{ decision: Decision; firstId: string }> {
  const { attempt } = await guard.begin(sale());
  if (!attempt) throw new Error('expected an allow');
  await attempt.approve();
  const decision = await guard.begin(sale());
  expect(decision.verdict).toBe('prompt');
  return { decision, firstId: attempt.id };
}

/** An overridable block: an earlier attempt of the same sale has an unknown outcome. */
async function unknownBlock(guard: Guard): Promise<Decision> {
  const { attempt } = await guard.begin(sale());
  await attempt?.markUnknown();
  const decision = await guard.begin(sale());
  expect(decision.reasons.map((r) => r.code)).toEqual(['UNKNOWN_OUTCOME']);
  return decision;
}

describe('override: what it accepts', () => {
  it('refuses a copy of a decision, or one from another guard, with GuardInputError', async () => {
    const { guard } = await testGuard();
    const other = await testGuard();
    const { decision } = await duplicatePrompt(guard);
    const { decision: foreign } = await duplicatePrompt(other.guard);

    for (const bad of [
      { ...decision },
      structuredClone({ verdict: decision.verdict, reasons: decision.reasons, fingerprint: decision.fingerprint }),
      foreign,
    ]) {
      const error = await thrown(() => guard.override(bad, CASHIER));
      expect(error).toBeInstanceOf(GuardInputError);
    }
    expect(await thrown(() => guard.override(null as unknown as Decision, CASHIER))).toBeInstanceOf(GuardInputError);
  });

  it('refuses an allow decision with GuardInputError', async () => {
    const { guard } = await testGuard();
    const allow = await guard.begin(sale());
    expect(await thrown(() => guard.override(allow, CASHIER))).toBeInstanceOf(GuardInputError);
  });

  it.each<[string, unknown]>([
    ['no request', undefined],
    ['no operator', { reason: 'r' }],
    ['an empty operator', { operator: '', reason: 'r' }],
    ['a blank operator', { operator: '   ', reason: 'r' }],
    ['no reason', { operator: 'o' }],
    ['an empty reason', { operator: 'o', reason: '' }],
    ['a non-string supervisor', { operator: 'o', reason: 'r', supervisor: 7 }],
  ])('a prompt with %s is a GuardInputError and records nothing', async (_name, request) => {
    const store = spyStore();
    const { guard, events } = await testGuard({ store });
    const { decision } = await duplicatePrompt(guard);
    await flush();
    const before = { puts: store.puts.length, journal: store.journal().length, events: events.length };
    expect(await thrown(() => guard.override(decision, request as OverrideRequest))).toBeInstanceOf(GuardInputError);
    await flush();
    expect({ puts: store.puts.length, journal: store.journal().length, events: events.length }).toEqual(before);
  });
});

describe('override: blocks need the supervisor check', () => {
  it('without authorize configured, a block is NOT_AUTHORIZED', async () => {
    const { guard } = await testGuard();
    const decision = await unknownBlock(guard);
    const error = await thrown(() => guard.override(decision, SUPERVISOR));
    expect(error).toBeInstanceOf(GuardOverrideError);
    expect(error).toHaveProperty('code', 'NOT_AUTHORIZED');
  });

  it.each<[string, () => unknown]>([
    ['false', () => false],
    ["'yes'", () => 'yes'],
    ['1', () => 1],
    ['a rejected promise', () => Promise.reject(new Error('pin pad offline'))],
    [
      'a throw',
      () => {
        throw new Error('pin pad offline');
      },
    ],
  ])('authorize answering %s is NOT_AUTHORIZED and records nothing', async (_name, answer) => {
    const store = spyStore();
    const authorize = vi.fn(answer) as unknown as (req: AuthorizeRequest) => boolean;
    const { guard } = await testGuard({ store, authorize });
    const decision = await unknownBlock(guard);
    const puts = store.puts.length;
    const error = await thrown(() => guard.override(decision, SUPERVISOR));
    expect(error).toBeInstanceOf(GuardOverrideError);
    expect(error).toHaveProperty('code', 'NOT_AUTHORIZED');
    expect(authorize).toHaveBeenCalledTimes(1);
    expect(store.puts.length).toBe(puts);
  });

  // Issue 16: a supervisor check that threw said only "threw: override refused", hiding why.
  it('says that `authorize` threw, and what it threw, with card numbers masked', async () => {
    const authorize = () => {
      throw new Error('pin pad offline (card 4111 1111 1111 1111)');
    };
    const { guard } = await testGuard({ authorize });
    const decision = await unknownBlock(guard);
    const error = (await thrown(() => guard.override(decision, SUPERVISOR))) as GuardOverrideError;
    expect(error.message).toMatch(/^`authorize` threw, so the override was refused: pin pad offline/);
    expect(cardNumberLeaks(error.message)).toEqual([]);
  });

  it('authorize receives the decision, operator, reason and supervisor', async () => {
    const authorize = vi.fn((_req: AuthorizeRequest) => true);
    const { guard } = await testGuard({ authorize });
    const decision = await unknownBlock(guard);
    await guard.override(decision, SUPERVISOR);
    expect(authorize).toHaveBeenCalledTimes(1);
    const [request] = authorize.mock.calls[0] ?? [];
    expect(request?.decision).toBe(decision);
    expect(request).toMatchObject({ operator: 'cashier-7', reason: 'processor confirmed no charge', supervisor: 'sup-1' });

    // Without a named supervisor, authorize still runs and sees `supervisor: undefined`.
    const second = await testGuard({ authorize });
    const unnamed = await unknownBlock(second.guard);
    await second.guard.override(unnamed, CASHIER);
    expect(authorize.mock.calls[1]?.[0]).toMatchObject({ operator: 'cashier-7', supervisor: undefined });
    expect(authorize.mock.calls[1]?.[0]).toHaveProperty('supervisor');
  });

  it('a prompt never calls authorize', async () => {
    const authorize = vi.fn(() => false);
    const { guard } = await testGuard({ authorize });
    const { decision } = await duplicatePrompt(guard);
    expect((await guard.override(decision, CASHIER)).verdict).toBe('allow');
    expect(authorize).not.toHaveBeenCalled();
  });

  it('IN_FLIGHT can never be overridden, even with a willing supervisor', async () => {
    const authorize = vi.fn(() => true);
    const { guard } = await testGuard({ authorize });
    await guard.begin(sale());
    const decision = await guard.begin(sale());
    expect(decision.reasons.map((r) => r.code)).toEqual(['IN_FLIGHT']);
    const error = await thrown(() => guard.override(decision, SUPERVISOR));
    expect(error).toBeInstanceOf(GuardOverrideError);
    expect(error).toHaveProperty('code', 'IN_FLIGHT');
    expect(authorize).not.toHaveBeenCalled();
  });
});

describe('override: success', () => {
  it('a prompt override returns allow with a fresh attempt carrying the override note, journaled and emitted', async () => {
    const store = spyStore();
    const { guard, events } = await testGuard({ store });
    const { decision, firstId } = await duplicatePrompt(guard);

    const result = await guard.override(decision, CASHIER);
    expect(result.verdict).toBe('allow');
    const attempt = result.attempt;
    if (!attempt) throw new Error('expected a fresh attempt');
    expect(attempt.id).not.toBe(firstId);
    expect(attempt.status).toBe('pending');
    const note = { operator: 'cashier-7', reason: 'customer buys a second ticket', lifted: ['DUPLICATE_CHARGE'] };
    expect((await guard.get(attempt.id))?.override).toEqual(note);
    expect(store.puts.at(-1)).toMatchObject({ id: attempt.id, status: 'pending', override: note });

    await flush();
    expect(store.journal().filter((e) => e.type === 'override')).toEqual([
      expect.objectContaining({
        attemptId: attempt.id,
        operator: 'cashier-7',
        reason: 'customer buys a second ticket',
        codes: ['DUPLICATE_CHARGE'],
      }),
    ]);
    expect(events.filter((e) => e.type === 'override')).toEqual([
      expect.objectContaining({
        decision: result,
        operator: 'cashier-7',
        reason: 'customer buys a second ticket',
        lifted: ['DUPLICATE_CHARGE'],
      }),
    ]);
  });

  it('a supervisor override of a block records the supervisor', async () => {
    const { guard } = await testGuard({ authorize: () => true });
    const decision = await unknownBlock(guard);
    const result = await guard.override(decision, SUPERVISOR);
    expect(result.verdict).toBe('allow');
    expect((await guard.get(result.attempt?.id ?? ''))?.override).toEqual({
      operator: 'cashier-7',
      reason: 'processor confirmed no charge',
      supervisor: 'sup-1',
      lifted: ['UNKNOWN_OUTCOME'],
    });
  });

  it('lifts every code it was shown at once', async () => {
    const { guard } = await testGuard({ authorize: () => true });
    const first = (await guard.begin(sale({ orderId: 'ORD-1' }))).attempt;
    await first?.approve();
    const decision = await guard.begin(sale({ orderId: 'ORD-1' }));
    expect(decision.reasons.map((r) => r.code).sort()).toEqual(['DUPLICATE_CHARGE', 'ORDER_ALREADY_PAID']);
    const result = await guard.override(decision, SUPERVISOR);
    expect(result.verdict).toBe('allow');
    expect([...((await guard.get(result.attempt?.id ?? ''))?.override?.lifted ?? [])].sort()).toEqual([
      'DUPLICATE_CHARGE',
      'ORDER_ALREADY_PAID',
    ]);
  });

  it('works on a decision from peek', async () => {
    const { guard } = await testGuard();
    await (await guard.begin(sale())).attempt?.approve();
    const peeked = await guard.peek(sale());
    expect((await guard.override(peeked, CASHIER)).verdict).toBe('allow');
  });
});

describe('override: re-evaluation', () => {
  it('returns the new non-allow decision, without error, when a new reason appeared', async () => {
    const store = spyStore();
    const { guard, events } = await testGuard({ store });
    await (await guard.begin(sale())).attempt?.approve();
    const decision = await guard.begin(sale({ orderId: 'ORD-2' }));
    expect(decision.reasons.map((r) => r.code)).toEqual(['DUPLICATE_CHARGE']);

    // Meanwhile another sale on the same order is being charged.
    const other = await guard.begin(sale({ orderId: 'ORD-2', amount: 999, card: { pan: MASTERCARD } }));
    await flush();
    const before = { puts: store.puts.length, overrides: store.journal().filter((e) => e.type === 'override').length };

    const result = await guard.override(decision, CASHIER);
    expect(result.verdict).toBe('block');
    expect(result.attempt).toBeUndefined();
    expect(result.reasons.find((r) => r.code === 'IN_FLIGHT')?.attemptId).toBe(other.attempt?.id);
    await flush();
    expect({ puts: store.puts.length, overrides: store.journal().filter((e) => e.type === 'override').length }).toEqual(before);
    expect(events.filter((e) => e.type === 'override')).toEqual([]);
  });

  it('a decision is single-use: a second override of it is refused (one confirmation, one charge)', async () => {
    const { guard, store } = await testGuard();
    const { decision } = await duplicatePrompt(guard);
    const first = await guard.override(decision, CASHIER);
    expect(first.verdict).toBe('allow');
    await expect(guard.override(decision, CASHIER)).rejects.toMatchObject({ name: 'GuardInputError', code: 'UNKNOWN_DECISION' });
    await flush();
    expect(store.journal().filter((e) => e.type === 'override')).toHaveLength(1);
  });

  it("a double tap on a block's override reserves one attempt: the second tap, while the supervisor check runs, is refused", async () => {
    const check = deferred<boolean>();
    const { guard, store } = await testGuard({ authorize: () => check.promise });
    const block = await unknownBlock(guard);
    const first = guard.override(block, SUPERVISOR);
    const second = guard.override(block, SUPERVISOR);
    check.resolve(true);
    const [a, b] = await Promise.allSettled([first, second]);
    expect(a).toMatchObject({ status: 'fulfilled', value: { verdict: 'allow' } });
    expect(b).toMatchObject({ status: 'rejected', reason: { name: 'GuardInputError', code: 'UNKNOWN_DECISION' } });
    await flush();
    expect(store.journal().filter((e) => e.type === 'override')).toHaveLength(1);
    expect((await guard.attempts({ status: 'pending' })).length).toBe(1);
  });

  it('a refused supervisor check gives the decision back: the supervisor can try again', async () => {
    let answer = false;
    const { guard } = await testGuard({ authorize: () => answer });
    const block = await unknownBlock(guard);
    await expect(guard.override(block, SUPERVISOR)).rejects.toMatchObject({ name: 'GuardOverrideError', code: 'NOT_AUTHORIZED' });
    answer = true;
    expect((await guard.override(block, SUPERVISOR)).verdict).toBe('allow');
  });

  it('the decision it returns can itself be overridden once the new reason is the one to lift', async () => {
    const { guard } = await testGuard({ authorize: () => true });
    const { decision } = await duplicatePrompt(guard);
    // A new, overridable reason appears meanwhile: a same-fingerprint attempt with an unknown outcome.
    const side = await guard.override(await guard.peek(sale()), CASHIER);
    await side.attempt?.markUnknown();
    const next = await guard.override(decision, CASHIER);
    expect(next.verdict).toBe('block');
    expect(next.reasons.map((r) => r.code)).toContain('UNKNOWN_OUTCOME');
    const final = await guard.override(next, SUPERVISOR);
    expect(final.verdict).toBe('allow');
  });
});

describe('override: the request is free text, read once, card data masked (issue 10)', () => {
  it('masks a card number in operator, reason and supervisor before authorize, the record, the journal and the event', async () => {
    const authorize = vi.fn((_request: AuthorizeRequest) => true);
    const { guard, store, events } = await testGuard({ authorize });
    const first = await guard.begin(sale());
    await first.attempt?.markUnknown();
    const block = await guard.begin(sale());
    const done = await guard.override(block, {
      operator: 'op 4111.1111.1111.1111',
      reason: 'card 4111 1111 1111 1111 was read',
      supervisor: 'sup 4111/1111/1111/1111',
    });
    const note = (await guard.get(done.attempt?.id ?? ''))?.override;
    expect(note).toMatchObject({
      operator: 'op [card number removed]',
      reason: 'card [card number removed] was read',
      supervisor: 'sup [card number removed]',
    });
    expect(authorize.mock.calls[0]?.[0]).toMatchObject({ operator: note?.operator, reason: note?.reason, supervisor: note?.supervisor });
    await flush();
    expect(cardNumberLeaks([store.journal(), events, authorize.mock.calls])).toEqual([]);
  });

  it('turns a revoked Proxy or a throwing getter as the request into a GuardInputError', async () => {
    const { guard } = await testGuard();
    const { decision } = await duplicatePrompt(guard);
    const r = Proxy.revocable({}, {});
    r.revoke();
    expect(await thrown(() => guard.override(decision, r.proxy as OverrideRequest))).toMatchObject({
      name: 'GuardInputError',
      field: 'request',
    });
    const getter = Object.defineProperty({ ...CASHIER }, 'reason', {
      enumerable: true,
      get: () => {
        throw new Error('no');
      },
    });
    expect(await thrown(() => guard.override(decision, getter))).toMatchObject({ name: 'GuardInputError', field: 'reason' });
    // Nothing was used up: the decision can still be overridden.
    expect((await guard.override(decision, CASHIER)).verdict).toBe('allow');
  });
});
