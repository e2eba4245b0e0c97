import { describe, expect, it } from 'vitest';
import { MASTERCARD, VISA, sale, spyStore, testGuard, thrown } from '../helpers/guard.js';

/**
 * Defects found by a line-by-line review against SPEC.md, each pinned so it
 * cannot come back.
 */
describe('override trusts only what the guard issued', () => {
  it('a block cannot be turned into a prompt to skip the supervisor check (SPEC §4)', async () => {
    let asked = 0;
    const { guard } = await testGuard({ authorize: () => ++asked > 0 && false });
    const first = await guard.begin(sale());
    await first.attempt?.markUnknown();
    const block = await guard.begin(sale());
    expect(block.verdict).toBe('block');
    expect(Object.isFrozen(block)).toBe(true);
    expect(() => {
      (block as { verdict: string }).verdict = 'prompt';
    }).toThrow(TypeError);
    await expect(guard.override({ ...block, verdict: 'prompt' }, { operator: 'o', reason: 'r' })).rejects.toMatchObject({
      code: 'UNKNOWN_DECISION',
    });
    await expect(guard.override(block, { operator: 'o', reason: 'r' })).rejects.toMatchObject({
      name: 'GuardOverrideError',
      code: 'NOT_AUTHORIZED',
    });
    expect(asked).toBe(1);
  });
});

describe('a storage outage never makes a sale impossible to override (SPEC §3 STORAGE_UNAVAILABLE)', () => {
  it('overriding the STORAGE_UNAVAILABLE prompt does not bring back the prompt already lifted', async () => {
    let failing = false;
    const store = spyStore((_, write) => (failing ? Promise.reject(new Error('disk full')) : write()));
    const { guard } = await testGuard({ store });
    await (await guard.begin(sale())).attempt?.approve();
    failing = true;
    const duplicate = await guard.begin(sale());
    expect(duplicate.reasons.map((r) => r.code)).toEqual(['DUPLICATE_CHARGE']);
    const storage = await guard.override(duplicate, { operator: 'o', reason: 'customer buys two' });
    expect([storage.verdict, storage.reasons.map((r) => r.code)]).toEqual(['prompt', ['STORAGE_UNAVAILABLE']]);
    const proceed = await guard.override(storage, { operator: 'o', reason: 'proceed on memory only' });
    expect(proceed.verdict).toBe('allow');
    expect(proceed.reasons.map((r) => r.code)).toEqual(['STORAGE_UNAVAILABLE']);
  });

  it('charge() with confirm gets through a DUPLICATE_CHARGE prompt during an outage', async () => {
    let failing = false;
    const { guard } = await testGuard({ store: spyStore((_, write) => (failing ? Promise.reject(new Error('quota')) : write())) });
    await (await guard.begin(sale())).attempt?.approve();
    failing = true;
    const result = await guard.charge(sale(), async () => ({ approved: true }), { confirm: () => true });
    expect(result.status).toBe('approved');
  });
});

describe('free text never carries card data into storage (SPEC §5)', () => {
  it('masks card numbers, expiry and CVV in thrown errors and decline messages', async () => {
    const { guard, store } = await testGuard();
    await guard.charge(sale(), async () => {
      throw new Error('card 4111 1111 1111 1111 exp 12/29 cvv 123 rejected');
    });
    await guard.charge(sale({ card: { pan: MASTERCARD } }), async () => ({
      approved: false,
      message: 'Declined for PAN 5555555555554444',
      code: 'PAN 5555555555554444',
    }));
    const persisted = JSON.stringify(await store.load());
    expect(persisted).not.toMatch(/4111 1111|4111111111111111|5555555555554444|12\/29|cvv 123/);
    expect(persisted).toContain('[card number removed]');
  });

  it('does not quote a card number back in an input error', async () => {
    const { guard } = await testGuard();
    const error = (await thrown(() => guard.begin(sale({ currency: VISA.replace(/ /g, '') })))) as Error;
    expect(error.message).not.toMatch(/4111/);
  });
});

describe('an overpay is a rule, not bad input (SPEC §3 ORDER_ALREADY_PAID)', () => {
  it('an amount above orderTotal is blocked ORDER_ALREADY_PAID even with nothing paid yet', async () => {
    const { guard } = await testGuard();
    const decision = await guard.begin(sale({ orderId: 'O-1', orderTotal: 1000, amount: 1250 }));
    expect([decision.verdict, decision.reasons.map((r) => r.code)]).toEqual(['block', ['ORDER_ALREADY_PAID']]);
  });
});

describe('refund attempts and their original sale (SPEC §2)', () => {
  async function refunded(guard: Awaited<ReturnType<typeof testGuard>>['guard']) {
    const charge = await guard.begin(sale({ amount: 1000 }));
    await charge.attempt?.approve();
    const refund = await guard.begin(sale({ amount: 1000, kind: 'refund', refundOf: charge.attempt?.id }));
    return { saleId: charge.attempt?.id as string, refund: refund.attempt };
  }

  it('voiding an approved refund takes back what it added: the sale is approved again', async () => {
    const { guard } = await testGuard();
    const { saleId, refund } = await refunded(guard);
    await refund?.approve();
    expect(await guard.get(saleId)).toMatchObject({ status: 'refunded', refunded: 1000 });
    await refund?.void();
    expect(await guard.get(saleId)).toMatchObject({ status: 'approved', refunded: 0, refunds: [] });
    // The customer was never refunded: the same sale again is a suspected repeat.
    expect((await guard.begin(sale({ amount: 1000 }))).reasons.map((r) => r.code)).toContain('DUPLICATE_CHARGE');
  });

  it('an original whose update was lost to a crash is repaired at start-up, so a second refund is blocked', async () => {
    let failOriginal = false;
    const store = spyStore((record, write) => (failOriginal && record.kind === 'sale' ? Promise.reject(new Error('crash')) : write()));
    const { guard, clock } = await testGuard({ store });
    const { saleId, refund } = await refunded(guard);
    failOriginal = true;
    await refund?.approve();
    expect((await store.load()).find((r) => r.id === saleId)).toMatchObject({ refunded: 0 });
    failOriginal = false;
    const { guard: restarted } = await testGuard({ store, clock: clock.afterRestart() });
    expect(await restarted.get(saleId)).toMatchObject({ status: 'refunded', refunded: 1000 });
    const again = await restarted.begin(sale({ amount: 1000, kind: 'refund', refundOf: saleId, card: { pan: MASTERCARD } }));
    expect([again.verdict, again.reasons.map((r) => r.code)]).toEqual(['block', ['REFUND_EXCEEDS_CHARGE']]);
  });

  it('a retried settle of the refund repairs the original too, and never counts it twice', async () => {
    let failOriginal = false;
    const store = spyStore((record, write) => (failOriginal && record.kind === 'sale' ? Promise.reject(new Error('io')) : write()));
    const { guard } = await testGuard({ store });
    const { saleId, refund } = await refunded(guard);
    failOriginal = true;
    await refund?.approve();
    failOriginal = false;
    await refund?.approve();
    await refund?.approve();
    expect((await store.load()).find((r) => r.id === saleId)).toMatchObject({ status: 'refunded', refunded: 1000 });
  });
});

describe('resume never puts two charges of one sale in flight', () => {
  it('refuses while a supervisor-overridden attempt of the same sale is pending, and allows it once that one is settled', async () => {
    const { guard } = await testGuard({ authorize: () => true });
    const first = await guard.begin(sale());
    await first.attempt?.markUnknown();
    const held = await guard.begin(sale());
    const second = await guard.override(held, { operator: 'o', reason: 'processor shows no charge', supervisor: 'sup-1' });
    expect(second.verdict).toBe('allow');
    await expect(guard.resume(first.attempt?.id as string)).rejects.toMatchObject({ name: 'GuardStateError', code: 'IN_FLIGHT' });
    expect((await guard.get(first.attempt?.id as string))?.status).toBe('unknown');
    await second.attempt?.decline();
    await expect(guard.resume(first.attempt?.id as string)).resolves.toMatchObject({ status: 'pending' });
  });
});
