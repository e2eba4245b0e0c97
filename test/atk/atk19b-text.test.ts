/**
 * atk19b: hostile free text (a card number, track data) in what `recover`
 * throws and in what `confirm`/`escalate` throw: docs/security.md says a
 * thrown error's message is masked before it is stored, journaled, emitted
 * or thrown.
 */
import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { createGuard, memoryStore, type GuardEvent } from '../../src/index.js';
import { virtualTime } from '../../src/scenarios/virtual-time.js';

const SECRET = 'atk19b-text-secret-0123456789abcdef';
const START = Date.parse('2026-03-01T09:00:00Z');
const PAN = '4111 1111 1111 1111';
const leaks = (text: string) => /4111\D{0,3}1111\D{0,3}1111\D{0,3}1111/.test(text);

async function till(recover: () => Promise<never>) {
  const time = virtualTime(START);
  const guard = await createGuard({
    merchantId: 'M1',
    secret: SECRET,
    store: memoryStore(),
    clock: time.clock,
    scheduler: time.scheduler,
    recover,
    recoverAfter: '1s',
    recoverTries: 2,
  });
  const events: GuardEvent[] = [];
  for (const type of ['recover', 'recovery-exhausted'] as const) guard.on(type, (e) => events.push(e));
  return { guard, time, events };
}

describe('atk19b: a card number in what recover throws', () => {
  it('the recover event emitted for a try that threw carries no card number (its error is masked, as the journal entry is)', async () => {
    const { guard, time, events } = await till(async () => {
      throw new Error(`host said: card ${PAN} not found`);
    });
    const d = await guard.begin({ amount: 1_000, currency: 'CNY', card: { token: 'tok-1' } });
    await guard.settle(d.attempt!.id, { status: 'unknown' });
    await time.advance(1_000);
    const recovered = events.filter((e) => e.type === 'recover');
    expect(recovered.length).toBe(1);
    // What a listener that logs the event (console.log / pino / util.inspect) writes.
    const logged = inspect(recovered[0], { depth: 5 });
    expect(logged).toContain('removed]');
    expect(leaks(logged)).toBe(false);
  });

  it('recoverNow resolves a result whose error carries no card number', async () => {
    const { guard } = await till(async () => {
      throw new Error(`host said: card ${PAN} not found`);
    });
    const d = await guard.begin({ amount: 1_000, currency: 'CNY', card: { token: 'tok-1' } });
    await guard.settle(d.attempt!.id, { status: 'unknown' });
    const [result] = await guard.recoverNow(d.attempt!.id);
    const logged = inspect(result, { depth: 5 });
    expect(logged).toContain('removed]');
    expect(leaks(logged)).toBe(false);
  });
});

describe('atk19b: a card number in what confirm throws', () => {
  it('the GuardInputError charge throws when confirm throws carries no card number anywhere a logger prints (message or cause)', async () => {
    const time = virtualTime(START);
    const guard = await createGuard({
      merchantId: 'M1',
      secret: SECRET,
      store: memoryStore(),
      clock: time.clock,
      scheduler: time.scheduler,
    });
    const sale = { amount: 1_000, currency: 'CNY', card: { token: 'tok-2' } };
    const first = await guard.begin(sale);
    await guard.settle(first.attempt!.id, { status: 'approved' });
    const error = await guard
      .charge(sale, async () => ({ approved: true }), {
        confirm: () => {
          throw new Error(`customer card ${PAN} track ;4111111111111111=29121010000000000000?`);
        },
      })
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect((error as Error).name).toBe('GuardInputError');
    expect(leaks((error as Error).message)).toBe(false);
    const logged = inspect(error, { depth: 5 });
    expect(leaks(logged)).toBe(false);
  });
});

describe('atk19b: card data other than the number in an override note (docs/security.md: "Track data, expiry dates and CVVs are masked too")', () => {
  async function overriddenReason(reason: string): Promise<string> {
    const time = virtualTime(START);
    const guard = await createGuard({
      merchantId: 'M1',
      secret: SECRET,
      store: memoryStore(),
      clock: time.clock,
      scheduler: time.scheduler,
    });
    const sale = { amount: 1_000, currency: 'CNY', card: { token: 'tok-3' } };
    const first = await guard.begin(sale);
    await guard.settle(first.attempt!.id, { status: 'approved' });
    const prompt = await guard.begin(sale);
    const allowed = await guard.override(prompt, { operator: 'c1', reason });
    const record = await guard.get(allowed.attempt!.id);
    return JSON.stringify(record);
  }

  it('an expiry written year first ("exp 2029-12") is masked', async () => {
    const kept = await overriddenReason('customer read card, exp 2029-12, asked for a second one');
    expect(kept).not.toContain('2029-12');
  });

  it('an expiry run onto its label ("exp12/29") is masked', async () => {
    const kept = await overriddenReason('card exp12/29 second round');
    expect(kept).not.toContain('12/29');
  });

  it('a CVV named "security code" is masked', async () => {
    const kept = await overriddenReason('customer gave security code 123 by phone');
    expect(kept).not.toMatch(/security code 123/);
  });

  it('track 1 whose number a reader wrote in groups keeps no cardholder name or expiry/service code', async () => {
    const kept = await overriddenReason('swiped %B4111 1111 1111 1111^DOE/JOHN^29121010000000?');
    expect(kept).not.toContain('DOE/JOHN');
  });
});

describe('atk19b: a card number in what recover answers', () => {
  it('the recover event, recoverNow’s result and the stored attempt carry the answer’s message and codes masked', async () => {
    const time = virtualTime(START);
    const store = memoryStore();
    const guard = await createGuard({
      merchantId: 'M1',
      secret: SECRET,
      store,
      clock: time.clock,
      scheduler: time.scheduler,
      recover: () => ({ status: 'declined', message: `card ${PAN} declined`, code: '4111111111111111' }),
      recoverAfter: '1h',
    });
    const events: GuardEvent[] = [];
    guard.on('recover', (e) => events.push(e));
    const d = await guard.begin({ amount: 1_000, currency: 'CNY', card: { token: 'tok-4' } });
    await guard.settle(d.attempt!.id, { status: 'unknown' });
    const results = await guard.recoverNow(d.attempt!.id);
    const logged = [inspect(events, { depth: 6 }), inspect(results, { depth: 6 }), JSON.stringify(await store.load())].join('\n');
    expect(results[0]?.status).toBe('declined');
    expect(leaks(logged)).toBe(false);
  });
});

describe('atk19b: control characters in identifiers and notes (the brief: never stored, journaled or emitted)', () => {
  for (const field of ['operator', 'orderId'] as const) {
    it(`a ${field} holding NUL / ESC [2J / a bidi override is refused (GuardInputError naming ${field}), nothing recorded`, async () => {
      const time = virtualTime(START);
      const store = memoryStore();
      const guard = await createGuard({ merchantId: 'M1', secret: SECRET, store, clock: time.clock, scheduler: time.scheduler });
      const error = await guard
        .begin({ amount: 1_000, currency: 'CNY', card: { token: 'tok-5' }, [field]: 'A1\u0000\u001b[2J\u202eX' })
        .then(
          () => undefined,
          (e: unknown) => e as { name: string; field: string },
        );
      expect(error?.name).toBe('GuardInputError');
      expect(error?.field).toBe(field);
      expect(await store.load()).toEqual([]);
    });
  }
});
