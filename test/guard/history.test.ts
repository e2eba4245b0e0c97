/**
 * The history seam (SPEC §6, src/history.ts): over a store that keeps
 * history the guard holds only hot records, and reads the rest back by id
 * or order when a rule, a settle or a query needs them. Every rule must
 * hold exactly as when everything was in memory.
 */
import { describe, expect, it } from 'vitest';
import { createGuard, memoryStore, type AttemptRecord, type GuardStore, type MemoryStore } from '../../src/index.js';
import { virtualTime } from '../../src/testing.js';
import { HOUR, MASTERCARD, MINUTE, SECRET, flush, sale, testGuard, thrown } from '../helpers/guard.js';

/** A memoryStore that counts its history reads, and can be made to fail them. */
function countingStore(): MemoryStore & { reads: string[]; failReads: boolean } {
  const inner = memoryStore();
  const store = {
    ...inner,
    reads: [] as string[],
    failReads: false,
    get: async (id: string) => {
      store.reads.push(`get ${id}`);
      if (store.failReads) throw new Error('EIO: the disk said no');
      return inner.get?.(id);
    },
    byOrder: async (merchantId: string, orderId: string) => {
      store.reads.push(`byOrder ${orderId}`);
      if (store.failReads) throw new Error('EIO: the disk said no');
      return (await inner.byOrder?.(merchantId, orderId)) ?? [];
    },
  };
  return store;
}

async function approved(guard: Awaited<ReturnType<typeof testGuard>>['guard'], patch: Parameters<typeof sale>[0] = {}): Promise<string> {
  const { attempt } = await guard.begin(sale(patch));
  if (!attempt) throw new Error('expected an allow');
  await attempt.approve({ authCode: 'A1' });
  return attempt.id;
}

describe('a guard over a store with history', () => {
  it('lets a settled attempt leave memory after the window and still finds it by id, for get and for settle', async () => {
    const store = countingStore();
    const { guard, clock } = await testGuard({ store, window: '10m' });
    const id = await approved(guard);
    clock.advance(HOUR);
    await guard.peek(sale({ amount: 1 })); // a decision sweeps memory
    store.reads.length = 0;
    expect(await guard.get(id)).toMatchObject({ id, status: 'approved', authCode: 'A1' });
    expect(store.reads).toEqual([`get ${id}`]);
    // A void of yesterday's sale reads it back, settles it, writes it.
    expect(await guard.settle(id, { status: 'voided' })).toMatchObject({ status: 'voided' });
    expect((await store.get?.(id))?.status).toBe('voided');
  });

  it('an attempt handle still reports the status it settled to after the attempt left memory', async () => {
    const { guard, clock } = await testGuard({ window: '10m' });
    const { attempt } = await guard.begin(sale());
    await attempt?.approve();
    clock.advance(HOUR);
    await guard.peek(sale({ amount: 1 }));
    expect(attempt?.status).toBe('approved');
  });

  it('reads an order from the store for the order rules, and a refund original for the refund rules', async () => {
    const store = countingStore();
    const { guard, clock } = await testGuard({ store, window: '10m' });
    const paid = await approved(guard, { orderId: 'ORD-7', amount: 5000 });
    clock.advance(2 * HOUR);
    await guard.peek(sale({ amount: 1 }));
    store.reads.length = 0;
    const again = await guard.peek(sale({ orderId: 'ORD-7', amount: 5000 }));
    expect(again.reasons.map((r) => [r.code, r.attemptId])).toEqual([['ORDER_ALREADY_PAID', paid]]);
    expect(store.reads).toEqual(['byOrder ORD-7']);
    const refund = await guard.begin(sale({ kind: 'refund', refundOf: paid, amount: 6000 }));
    expect(refund.reasons.map((r) => r.code)).toEqual(['REFUND_EXCEEDS_CHARGE']);
    const fits = await guard.begin(sale({ kind: 'refund', refundOf: paid, amount: 2000 }));
    expect(fits.verdict).toBe('allow');
    await fits.attempt?.approve();
    // The refund's approval counted on the sale read back from the store.
    expect(await guard.get(paid)).toMatchObject({ refunded: 2000 });
    expect((await store.get?.(paid))?.refunded).toBe(2000);
  });

  it('sums an order paid partly before the window and partly inside it for the overpay rule (orderTotal)', async () => {
    const { guard, clock } = await testGuard({ window: '10m' });
    await approved(guard, { orderId: 'ORD-T', orderTotal: 5000, amount: 3000 });
    clock.advance(HOUR);
    await guard.peek(sale({ amount: 1 })); // the first payment leaves memory
    await approved(guard, { orderId: 'ORD-T', orderTotal: 5000, amount: 1500, card: { pan: MASTERCARD } });
    // 3000 (read back from the store) + 1500 (in memory) + 1000 > 5000: only the sum of both catches it.
    const over = await guard.peek(sale({ orderId: 'ORD-T', orderTotal: 5000, amount: 1000, card: { token: 'tok-third' } }));
    expect(over.reasons.map((r) => r.code)).toEqual(['ORDER_ALREADY_PAID']);
    const fits = await guard.peek(sale({ orderId: 'ORD-T', orderTotal: 5000, amount: 500, card: { token: 'tok-third' } }));
    expect(fits.verdict).toBe('allow');
  });

  it('a refund of a sale pruned after retention finds no original', async () => {
    const { guard, clock } = await testGuard({ window: '10m', retention: '24h' });
    const old = await approved(guard);
    clock.advance(24 * HOUR + MINUTE);
    const refund = await guard.peek(sale({ kind: 'refund', refundOf: old }));
    expect(refund.reasons.map((r) => r.code)).toEqual(['REFUND_ORIGINAL_NOT_FOUND']);
    expect(await guard.get(old)).toBeUndefined();
  });

  it('a refund in another currency than a sale that left memory is still refused as bad input', async () => {
    const { guard, clock } = await testGuard({ window: '10m' });
    const paid = await approved(guard);
    clock.advance(HOUR);
    await guard.peek(sale({ amount: 1 }));
    expect(await thrown(() => guard.begin(sale({ kind: 'refund', refundOf: paid, currency: 'USD' })))).toMatchObject({
      name: 'GuardInputError',
      field: 'currency',
    });
  });

  it('a store that cannot answer a history read makes the decision STORAGE_UNAVAILABLE under onStorageError, and records nothing', async () => {
    const store = countingStore();
    const { guard, events } = await testGuard({ store });
    store.failReads = true;
    const held = await guard.begin(sale({ orderId: 'ORD-1' }));
    expect([held.verdict, held.reasons.map((r) => r.code)]).toEqual(['prompt', ['STORAGE_UNAVAILABLE']]);
    expect(await guard.attempts()).toEqual([]);
    expect(events.some((e) => e.type === 'storage-error')).toBe(true);
    // The cashier may go on: the override lifts it, and the attempt is reserved in memory and store.
    store.failReads = false;
    const allowed = await guard.override(held, { operator: 'c1', reason: 'store back' });
    expect(allowed.verdict).toBe('allow');
  });

  it('start-up loads only the hot records, and prunes what retention let go in the store', async () => {
    const store = memoryStore();
    const { guard, clock } = await testGuard({ store, window: '10m', retention: '24h' });
    const old = await approved(guard, { amount: 100 });
    clock.advance(2 * HOUR);
    const recent = await approved(guard, { amount: 200 });
    const open = (await guard.begin(sale({ amount: 300 }))).attempt?.id;
    clock.advance(MINUTE);
    const loads: (number | undefined)[] = [];
    const spy: GuardStore = {
      ...store,
      load: async (scope) => {
        loads.push(scope?.since);
        return store.load(scope);
      },
    };
    const later = clock.afterRestart();
    const { guard: restarted } = await testGuard({ store: spy, clock: later, window: '10m', retention: '24h' });
    expect(loads).toEqual([clock.wall - 10 * MINUTE]);
    expect((await store.load({ since: clock.wall - 10 * MINUTE })).map((r: AttemptRecord) => r.id).sort()).toEqual([open, recent].sort());
    expect(await restarted.get(old)).toMatchObject({ status: 'approved' });
    later.advance(24 * HOUR);
    await restarted.peek(sale({ amount: 1 }));
    await flush();
    expect((await store.load()).map((r) => r.id)).toEqual([open]);
  });
});

describe('a store whose history read hangs (a dead connection, a stuck disk)', () => {
  it('makes the decision STORAGE_UNAVAILABLE within 5 s of the guard scheduler, never a begin that hangs', async () => {
    const inner = memoryStore();
    const store: GuardStore = { ...inner, byOrder: () => new Promise<never>(() => undefined) };
    const time = virtualTime(Date.parse('2026-03-01T09:00:00Z'));
    const guard = await createGuard({ merchantId: 'M-1', secret: SECRET, store, clock: time.clock, scheduler: time.scheduler });
    let decided = false;
    const pending = guard.begin(sale({ orderId: 'ORD-HANG' })).then((decision) => ((decided = true), decision));
    await time.advance(4_999);
    await flush();
    expect(decided).toBe(false);
    await time.advance(1);
    const decision = await pending;
    expect([decision.verdict, decision.reasons.map((r) => r.code)]).toEqual(['prompt', ['STORAGE_UNAVAILABLE']]);
    expect(await guard.attempts({ status: 'pending' })).toEqual([]);
  });
});

describe('half a history', () => {
  it('a store with get but not byOrder and prune is refused at createGuard, naming the store', async () => {
    const { byOrder: _byOrder, prune: _prune, ...half } = memoryStore();
    const error = await thrown(() => createGuard({ merchantId: 'M-1', secret: SECRET, store: half }));
    expect(error).toMatchObject({ name: 'GuardConfigError', code: 'INVALID_OPTION', field: 'store' });
    expect((error as Error).message).toBe(
      '`store` has get but not all of get, byOrder and prune: a store keeps history with all three or none',
    );
  });
});
