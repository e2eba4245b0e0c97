/**
 * A refund made outside the guard, recorded with the processor's reference
 * of it (`settle(id, { status: 'refunded', amount, processorRef })`): the
 * same refund recorded twice (a double tap on "Record refund", a call
 * retried after a "system error", both lanes while cut off) counts once.
 */
import { describe, expect, it } from 'vitest';
import { createGuard, memoryStore, type Guard, type JournalEntry } from '../../src/index.js';
import { SECRET, VISA } from '../helpers/guard.js';
import { approvedOnTwoLanes, flush } from '../helpers/lanes.js';

async function approvedSale(guard: Guard, amount = 1_000) {
  const d = await guard.begin({ amount, currency: 'CNY', card: { pan: VISA } });
  await d.attempt!.approve();
  return d.attempt!.id;
}

async function oneGuard() {
  const journal: JournalEntry[] = [];
  const store = memoryStore();
  const append = store.appendJournal.bind(store);
  store.appendJournal = async (entry, seal) => {
    journal.push(entry);
    return append(entry, seal);
  };
  const guard = await createGuard({ merchantId: 'M-0001', secret: SECRET, store });
  const refundsOf = (id: string) => journal.filter((e) => e.attemptId === id && e.to === 'approved' && e.amount !== undefined);
  return { guard, store, journal, refundsOf };
}

describe('a refund made outside the guard, with its processorRef', () => {
  it('a double tap records it once: both calls resolve, the second changes nothing', async () => {
    const { guard, journal } = await oneGuard();
    const saleId = await approvedSale(guard);
    const outcome = { status: 'refunded', amount: 300, processorRef: 're_3PqX1' } as const;
    const [first, second] = await Promise.all([guard.settle(saleId, outcome), guard.settle(saleId, outcome)]);
    expect(first.refunded).toBe(300);
    expect(second.refunded).toBe(300);
    expect((await guard.get(saleId))?.refunds).toHaveLength(1);
    expect(journal.filter((e) => e.attemptId === saleId && e.type === 'settle' && e.amount === 300)).toHaveLength(1);
    await guard.close();
  });

  it('retried after a restart, it is still the one already listed', async () => {
    const store = memoryStore();
    const g1 = await createGuard({ merchantId: 'M-0001', secret: SECRET, store });
    const saleId = await approvedSale(g1);
    await g1.settle(saleId, { status: 'refunded', amount: 300, processorRef: 'RRN 123456789012' });
    await g1.close();
    const g2 = await createGuard({ merchantId: 'M-0001', secret: SECRET, store });
    expect((await g2.settle(saleId, { status: 'refunded', amount: 300, processorRef: 'RRN 123456789012' })).refunded).toBe(300);
    // Another refund (another reference) still adds.
    expect((await g2.settle(saleId, { status: 'refunded', amount: 200, processorRef: 'RRN 123456789013' })).refunded).toBe(500);
    await g2.close();
  });

  it('the last refund of a sale, retried, is a no-op rather than an amount beyond what remains', async () => {
    const { guard } = await oneGuard();
    const saleId = await approvedSale(guard);
    await guard.settle(saleId, { status: 'refunded', processorRef: 're_rest' });
    expect(await guard.settle(saleId, { status: 'refunded', processorRef: 're_rest' })).toMatchObject({
      status: 'refunded',
      refunded: 1_000,
    });
    expect(await guard.settle(saleId, { status: 'refunded', amount: 1_000, processorRef: 're_rest' })).toMatchObject({ refunded: 1_000 });
    await guard.close();
  });

  it('the same reference with another amount is refused (no retry), and records nothing', async () => {
    const { guard } = await oneGuard();
    const saleId = await approvedSale(guard);
    await guard.settle(saleId, { status: 'refunded', amount: 300, processorRef: 're_1' });
    await expect(guard.settle(saleId, { status: 'refunded', amount: 400, processorRef: 're_1' })).rejects.toMatchObject({
      name: 'GuardStateError',
      code: 'INVALID_TRANSITION',
      field: 'amount',
    });
    expect(await guard.get(saleId)).toMatchObject({ refunded: 300, status: 'approved' });
    await guard.close();
  });

  it('without a reference, each call is a refund of its own (SPEC §2)', async () => {
    const { guard } = await oneGuard();
    const saleId = await approvedSale(guard);
    await guard.settle(saleId, { status: 'refunded', amount: 300 });
    expect((await guard.settle(saleId, { status: 'refunded', amount: 300 })).refunded).toBe(600);
    await guard.close();
  });

  it('a reference is checked as a detail is, and one holding a card number is never stored', async () => {
    const { guard, store } = await oneGuard();
    const saleId = await approvedSale(guard);
    for (const processorRef of [42, 'x'.repeat(513)]) {
      await expect(guard.settle(saleId, { status: 'refunded', amount: 1, processorRef } as never)).rejects.toMatchObject({
        name: 'GuardInputError',
        code: 'INVALID_OUTCOME',
        field: 'processorRef',
      });
    }
    await guard.settle(saleId, { status: 'refunded', amount: 100, processorRef: `ref ${VISA}` });
    // The reference as given, keyed, names it: the same card-bearing text again is the same refund.
    expect((await guard.settle(saleId, { status: 'refunded', amount: 100, processorRef: `ref ${VISA}` })).refunded).toBe(100);
    const stored = JSON.stringify(await store.load());
    expect(stored).not.toContain(VISA);
    expect(stored).not.toContain(VISA.slice(0, 12));
    await guard.close();
  });
});

describe('the same outside refund recorded on two lanes', () => {
  it('cut off, each lane records it: once the lane is back it counts once, on every lane', async () => {
    const { time, db, g1, g2, store2, saleId } = await approvedOnTwoLanes({ token: 'tok_ext_ref' });
    db.disconnect('T2');
    const outcome = { status: 'refunded', amount: 400, processorRef: 'ACQ-77881' } as const;
    await g2.settle(saleId, outcome);
    await time.advance(1_000);
    await g1.settle(saleId, outcome);
    await time.advance(1_000);
    db.reconnect('T2');
    await store2.sync().catch(() => undefined);
    await flush();
    await time.advance(5_000);
    await flush();
    const [row] = await db.remote('observer').get('M1', [saleId]);
    expect(row!.record.refunded).toBe(400);
    for (const g of [g1, g2]) expect((await g.get(saleId))?.refunded).toBe(400);
    const overs = db.journal('M1').filter(({ entry }) => entry.detail?.startsWith('over-refund by'));
    expect(overs).toEqual([]);
  });

  it('tapped twice on two lanes sharing the database at once: counted once', async () => {
    const { g1, g2, saleId } = await approvedOnTwoLanes({ token: 'tok_ext_ref_2' });
    const outcome = { status: 'refunded', amount: 250, processorRef: 'ACQ-1' } as const;
    await Promise.all([g1.settle(saleId, outcome), g2.settle(saleId, outcome), g1.settle(saleId, outcome)]);
    for (const g of [g1, g2]) expect((await g.get(saleId))?.refunded).toBe(250);
  });
});
