/**
 * atk12: refunds made outside the guard with the processor's reference
 * (`settle(saleId, { status: 'refunded', amount?, processorRef })`), on one
 * guard over memoryStore and on two tabs over one IndexedDB.
 */
import { describe, expect, it } from 'vitest';
import { createGuard, memoryStore, type Guard, type GuardStore, type JournalEntry } from '../../src/index.js';
import { luhnValid } from '../../src/pan.js';
import { SECRET, VISA, MASTERCARD } from '../helpers/guard.js';
import { freshDb, settle, tab } from '../helpers/tabs.js';

async function approvedSale(guard: Guard, amount = 1_000, pan = VISA) {
  const d = await guard.begin({ amount, currency: 'CNY', card: { pan } });
  await d.attempt!.approve();
  return d.attempt!.id;
}

function journaled<S extends GuardStore>(store: S, into: JournalEntry[] = []): JournalEntry[] {
  const append = store.appendJournal.bind(store);
  store.appendJournal = async (entry, seal) => {
    into.push(entry);
    return append(entry, seal);
  };
  return into;
}

async function oneGuard() {
  const store = memoryStore();
  const journal = journaled(store);
  const guard = await createGuard({ merchantId: 'M-0001', secret: SECRET, store });
  return { guard, store, journal };
}

/** A 16-digit all-numeric reference (as some acquirers issue, e.g. a PSP reference) that happens to pass Luhn. */
function luhnRef(stem: string): string {
  for (let d = 0; d <= 9; d++) if (luhnValid(stem + d)) return stem + d;
  throw new Error('unreachable');
}

const refundSettles = (journal: JournalEntry[], id: string) =>
  journal.filter((e) => e.attemptId === id && e.type === 'settle' && e.amount !== undefined && !e.detail?.startsWith('over-refund'));

describe('atk12: two different processor references that mask to the same text', () => {
  it('two distinct 16-digit numeric references (Luhn-valid by chance) are two refunds, not one', async () => {
    const { guard } = await oneGuard();
    const saleId = await approvedSale(guard);
    const a = luhnRef('881565896176525');
    const b = luhnRef('881565896176999');
    expect(a).not.toBe(b);
    await guard.settle(saleId, { status: 'refunded', amount: 300, processorRef: a });
    // A second, different refund of the same amount: must add, not be taken for a retry of the first.
    const after = await guard.settle(saleId, { status: 'refunded', amount: 300, processorRef: b });
    expect(after.refunded).toBe(600);
    expect((await guard.get(saleId))?.refunds).toHaveLength(2);
    await guard.close();
  });

  it('two distinct references with another amount are not refused as "the same reference"', async () => {
    const { guard } = await oneGuard();
    const saleId = await approvedSale(guard);
    await guard.settle(saleId, { status: 'refunded', amount: 300, processorRef: `ACQ ${VISA}` });
    const after = await guard.settle(saleId, { status: 'refunded', amount: 200, processorRef: `ACQ ${MASTERCARD}` });
    expect(after.refunded).toBe(500);
    await guard.close();
  });

  it('no card number stored, journaled or thrown for a card-bearing reference (incl. a too-long one)', async () => {
    const { guard, store, journal } = await oneGuard();
    const saleId = await approvedSale(guard);
    await guard.settle(saleId, { status: 'refunded', amount: 100, processorRef: `ref ${VISA}` });
    const errors: unknown[] = [];
    for (const processorRef of [`ref ${VISA} ${'x'.repeat(600)}`, 4111111111111111, `ref ${VISA}`]) {
      try {
        await guard.settle(saleId, { status: 'refunded', amount: 150, processorRef } as never);
      } catch (e) {
        errors.push(e);
      }
    }
    expect(errors).toHaveLength(3);
    const digits = VISA.replace(/\s/g, '');
    const texts = [
      JSON.stringify(await store.load()),
      JSON.stringify(journal),
      ...errors.map((e) => `${String(e)} ${JSON.stringify(e)} ${(e as Error).stack}`),
    ];
    for (const t of texts) {
      expect(t.replace(/\s/g, '')).not.toContain(digits);
      expect(t).not.toContain('4111111111111111');
    }
  });
});

describe('atk12: the same reference, tapped again (memoryStore)', () => {
  it('triple tap, "the rest", no amount: one refund, one journal entry', async () => {
    const { guard, journal } = await oneGuard();
    const saleId = await approvedSale(guard);
    await guard.settle(saleId, { status: 'refunded', amount: 200, processorRef: 'r-first' });
    const o = { status: 'refunded', processorRef: 'r-rest' } as const;
    const all = await Promise.all([guard.settle(saleId, o), guard.settle(saleId, o), guard.settle(saleId, o)]);
    for (const r of all) expect(r.refunded).toBe(1_000);
    expect((await guard.get(saleId))?.refunds).toHaveLength(2);
    expect(refundSettles(journal, saleId).map((e) => e.amount)).toEqual([200, 800]);
    await guard.close();
  });

  it('mixed double tap: one with the amount, one without; restarted in between', async () => {
    const store = memoryStore();
    const journal = journaled(store);
    const g1 = await createGuard({ merchantId: 'M-0001', secret: SECRET, store });
    const saleId = await approvedSale(g1);
    await Promise.all([
      g1.settle(saleId, { status: 'refunded', amount: 400, processorRef: 'ref-x' }),
      g1.settle(saleId, { status: 'refunded', processorRef: 'ref-x' }),
    ]).catch(() => undefined);
    await g1.close();
    const g2 = await createGuard({ merchantId: 'M-0001', secret: SECRET, store });
    const rec = await g2.get(saleId);
    // Whichever landed first, the reference is listed exactly once.
    expect(rec?.refunds).toHaveLength(1);
    expect(refundSettles(journal, saleId)).toHaveLength(1);
    expect(refundSettles(journal, saleId)[0]!.amount).toBe(rec!.refunded);
    await g2.close();
  });

  it('void after an external refund with a reference: HAS_REFUNDS; the retry is still a no-op', async () => {
    const { guard } = await oneGuard();
    const saleId = await approvedSale(guard);
    await guard.settle(saleId, { status: 'refunded', amount: 300, processorRef: 'v-1' });
    await expect(guard.settle(saleId, { status: 'voided' })).rejects.toMatchObject({ code: 'HAS_REFUNDS' });
    expect((await guard.settle(saleId, { status: 'refunded', amount: 300, processorRef: 'v-1' })).refunded).toBe(300);
    await guard.close();
  });

  it('the same reference on two different sales: one refund on each', async () => {
    const { guard } = await oneGuard();
    const s1 = await approvedSale(guard, 1_000, VISA);
    const s2 = await approvedSale(guard, 800, MASTERCARD);
    await guard.settle(s1, { status: 'refunded', amount: 300, processorRef: 'shared' });
    await guard.settle(s2, { status: 'refunded', amount: 300, processorRef: 'shared' });
    expect((await guard.get(s1))?.refunded).toBe(300);
    expect((await guard.get(s2))?.refunded).toBe(300);
    await guard.close();
  });

  it('case and whitespace variants are distinct references; unicode and 512-char refs work', async () => {
    const { guard } = await oneGuard();
    const saleId = await approvedSale(guard, 10_000);
    const refs = ['re_AbC', 're_abc', ' re_AbC', 're_AbC ', 'ré_ü🙂', 'y'.repeat(512)];
    for (const r of refs) await guard.settle(saleId, { status: 'refunded', amount: 10, processorRef: r });
    for (const r of refs) await guard.settle(saleId, { status: 'refunded', amount: 10, processorRef: r });
    expect((await guard.get(saleId))?.refunded).toBe(10 * refs.length);
    await guard.close();
  });
});

describe('atk12: a new reference for "the rest" on a sale refunded in full', () => {
  it('another refund (a reference never listed) of "the rest" when nothing remains is refused, not taken for a retry', async () => {
    const { guard, journal } = await oneGuard();
    const saleId = await approvedSale(guard);
    await guard.settle(saleId, { status: 'refunded', processorRef: 'first-rest' });
    // With an amount, a new reference on a sale refunded in full is refused (a GuardStateError)...
    await expect(guard.settle(saleId, { status: 'refunded', amount: 100, processorRef: 'second' })).rejects.toMatchObject({
      name: 'GuardStateError',
    });
    // ...and without one it must be too: the reference says it is no retry of 'first-rest', and nothing remains.
    await expect(guard.settle(saleId, { status: 'refunded', processorRef: 'second-rest' })).rejects.toMatchObject({
      name: 'GuardStateError',
    });
    expect(refundSettles(journal, saleId).map((e) => e.amount)).toEqual([1_000]);
    await guard.close();
  });

  it('a processorRef equal to a refund attempt id is its own refund, and does not hide the attempt', async () => {
    const { guard } = await oneGuard();
    const saleId = await approvedSale(guard);
    const r = await guard.begin({ amount: 200, currency: 'CNY', card: { pan: VISA }, kind: 'refund', refundOf: saleId });
    await r.attempt!.approve();
    const after = await guard.settle(saleId, { status: 'refunded', amount: 200, processorRef: r.attempt!.id });
    expect(after.refunded).toBe(400);
    expect(after.refunds).toHaveLength(2);
    await guard.close();
  });
});

describe('atk12: two tabs over one IndexedDB', () => {
  it('both tabs record the same reference at once: one refund, one journal entry', async () => {
    const db = freshDb();
    const a = await tab(db);
    const b = await tab(db, a.clock);
    const journal: JournalEntry[] = [];
    journaled(a.store, journal);
    journaled(b.store, journal);
    const saleId = await approvedSale(a.guard);
    await b.guard.get(saleId);
    const o = { status: 'refunded', amount: 250, processorRef: 'tab-ref' } as const;
    await Promise.all([a.guard.settle(saleId, o), b.guard.settle(saleId, o), a.guard.settle(saleId, o), b.guard.settle(saleId, o)]);
    await settle(100);
    for (const g of [a.guard, b.guard]) expect((await g.get(saleId))?.refunded).toBe(250);
    expect(refundSettles(journal, saleId).map((e) => e.amount)).toEqual([250]);
    await a.guard.close();
    await b.guard.close();
  });

  it('two tabs record two different references at once: each tab journals its own amount', async () => {
    const db = freshDb();
    const a = await tab(db);
    const b = await tab(db, a.clock);
    const journal: JournalEntry[] = [];
    journaled(a.store, journal);
    journaled(b.store, journal);
    const saleId = await approvedSale(a.guard);
    await b.guard.get(saleId);
    await Promise.all([
      a.guard.settle(saleId, { status: 'refunded', amount: 300, processorRef: 'tab-a' }),
      b.guard.settle(saleId, { status: 'refunded', amount: 200, processorRef: 'tab-b' }),
    ]);
    await settle(100);
    for (const g of [a.guard, b.guard]) expect((await g.get(saleId))?.refunded).toBe(500);
    // The journal says what each refund paid back: 300 and 200, summing to 500.
    expect(
      refundSettles(journal, saleId)
        .map((e) => e.amount)
        .sort(),
    ).toEqual([200, 300]);
    await a.guard.close();
    await b.guard.close();
  });

  it('tab B records a reference after tab A recorded another one (B never re-read): B journals only its own', async () => {
    const db = freshDb();
    const a = await tab(db);
    const b = await tab(db, a.clock);
    const journal: JournalEntry[] = [];
    journaled(a.store, journal);
    journaled(b.store, journal);
    const saleId = await approvedSale(a.guard);
    await b.guard.get(saleId);
    await a.guard.settle(saleId, { status: 'refunded', amount: 300, processorRef: 'seq-a' });
    await b.guard.settle(saleId, { status: 'refunded', amount: 200, processorRef: 'seq-b' });
    expect((await b.guard.get(saleId))?.refunded).toBe(500);
    expect(refundSettles(journal, saleId).map((e) => e.amount)).toEqual([300, 200]);
    await a.guard.close();
    await b.guard.close();
  });
});
