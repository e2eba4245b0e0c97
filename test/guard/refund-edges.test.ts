import { describe, expect, it } from 'vitest';
import { createGuard, memoryStore, type Guard } from '../../src/index.js';
import { SECRET, VISA, flush } from '../helpers/guard.js';

async function approvedSale(guard: Guard, amount: number, currency: string) {
  const d = await guard.begin({ amount, currency, card: { pan: VISA } });
  await d.attempt!.approve();
  return d.attempt!.id;
}

describe('refunds', () => {
  // A refund in another currency than its sale cannot be weighed against it
  // (minor units of USD are not minor units of JPY): bad input, refused
  // naming the field, and nothing is recorded.
  it('a refund in another currency than its sale is refused as bad input, and counts nothing', async () => {
    const store = memoryStore();
    const guard = await createGuard({ merchantId: 'M-0001', secret: SECRET, store, authorize: () => true });
    const saleId = await approvedSale(guard, 100_000, 'JPY');
    for (const currency of ['USD', 'KWD']) {
      const refund = { amount: 100_000, currency, card: { pan: VISA }, kind: 'refund' as const, refundOf: saleId };
      await expect(guard.begin(refund)).rejects.toMatchObject({ name: 'GuardInputError', field: 'currency' });
      await expect(guard.peek(refund)).rejects.toMatchObject({ name: 'GuardInputError', field: 'currency' });
    }
    expect(await guard.get(saleId)).toMatchObject({ status: 'approved', refunded: 0 });
    expect((await store.load()).length).toBe(1);
    await guard.close();
  });

  /**
   * approved → voided is taken whatever refunds the sale has: a sale 600 of
   * 1000 refunded is then voided (1000 back) and the guard records the
   * customer getting 1600 back for a 1000 sale with no over-refund reported;
   * the sale is released and reads `refunded: 600` on a voided record.
   */
  it('voiding a partly refunded sale is refused or reported as an over-refund', async () => {
    const store = memoryStore();
    const guard = await createGuard({ merchantId: 'M-0001', secret: SECRET, store });
    const saleId = await approvedSale(guard, 1000, 'CNY');
    const refund = await guard.begin({ amount: 600, currency: 'CNY', card: { pan: VISA }, kind: 'refund', refundOf: saleId });
    await refund.attempt!.approve();
    let refused = false;
    try {
      await guard.settle(saleId, { status: 'voided' });
    } catch (error) {
      refused = (error as Error).name === 'GuardStateError';
    }
    await flush();
    const reported = store.journal().some((e) => /over/i.test(String(e.detail ?? '')));
    expect(refused || reported).toBe(true);
    await guard.close();
  });

  /**
   * A refund of the whole sale is in flight; the sale is voided meanwhile
   * (the reversal goes through), then the refund comes back approved: the
   * customer got the money back twice. applyRefund ignores a refund of a
   * voided sale, so nothing is counted, journaled or emitted.
   */
  it('a refund approved after its sale was voided is reported as an over-refund (or the void is refused)', async () => {
    const store = memoryStore();
    const guard = await createGuard({ merchantId: 'M-0001', secret: SECRET, store });
    const saleId = await approvedSale(guard, 1000, 'CNY');
    const refund = await guard.begin({ amount: 1000, currency: 'CNY', card: { pan: VISA }, kind: 'refund', refundOf: saleId });
    expect(refund.verdict).toBe('allow');
    let refused = false;
    try {
      await guard.settle(saleId, { status: 'voided' });
    } catch (error) {
      refused = (error as Error).name === 'GuardStateError';
    }
    await refund.attempt!.approve();
    await flush();
    const reported = store.journal().some((e) => /over/i.test(String(e.detail ?? '')));
    expect(refused || reported).toBe(true);
    await guard.close();
  });
});
