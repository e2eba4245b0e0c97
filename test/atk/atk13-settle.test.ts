/**
 * atk13: the settle journal's `amount` and `from` for a refund made outside the guard,
 * under double taps, two tabs (fake IndexedDB), lanes (shared in-memory database).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createGuard, GuardError, memoryStore, type Guard, type JournalEntry } from '../../src/index.js';
import { VISA } from '../helpers/guard.js';
import { deleteDatabase, freshDb, settle as wait, tab } from '../helpers/tabs.js';
import { flush, lanes } from '../helpers/lanes.js';

const dbs: ReturnType<typeof freshDb>[] = [];
afterEach(async () => {
  for (const db of dbs.splice(0)) await deleteDatabase(db).catch(() => undefined);
});
function db() {
  const d = freshDb();
  dbs.push(d);
  return d;
}

async function approvedSale(guard: Guard, amount = 1_000, pan = VISA) {
  const d = await guard.begin({ amount, currency: 'CNY', card: { pan } });
  await d.attempt!.approve();
  return d.attempt!.id;
}

const refundEntries = (journal: readonly JournalEntry[], id: string) =>
  journal.filter((e) => e.attemptId === id && e.type === 'settle' && e.amount !== undefined && !e.detail?.startsWith('over-refund'));

async function settledOrError<T>(p: Promise<T>): Promise<T | Error> {
  return p.catch((e: unknown) => e as Error);
}

describe('atk13: "refund the rest" (no amount) tapped twice', () => {
  it('memoryStore (no claim): both resolve, refunded once, one journal entry with the amount', async () => {
    const store = memoryStore();
    const guard = await createGuard({ merchantId: 'M-0001', secret: 'atk13-secret-0123456789abcdef', store });
    const id = await approvedSale(guard);
    const r = await Promise.all([guard.settle(id, { status: 'refunded' }), guard.settle(id, { status: 'refunded' })]);
    expect(r.map((a) => a.refunded)).toEqual([1_000, 1_000]);
    await flush();
    expect(refundEntries(store.journal(), id).map((e) => [e.from, e.amount])).toEqual([['approved', 1_000]]);
    await guard.close();
  });

  it('IndexedDB, one tab: a double tap resolves both (a retry), not INVALID_TRANSITION', async () => {
    const d = db();
    const t = await tab(d);
    const id = await approvedSale(t.guard);
    const r = await Promise.all([
      settledOrError(t.guard.settle(id, { status: 'refunded' })),
      settledOrError(t.guard.settle(id, { status: 'refunded' })),
    ]);
    expect(r.map((a) => (a instanceof Error ? `${a.name}:${(a as GuardError).code}` : a.refunded))).toEqual([1_000, 1_000]);
    await wait();
    expect(refundEntries(await t.store.journal(), id).map((e) => [e.from, e.amount])).toEqual([['approved', 1_000]]);
    await t.guard.close();
  });

  it('IndexedDB, two tabs: both resolve, refunded once, one journal entry', async () => {
    const d = db();
    const a = await tab(d);
    const b = await tab(d, a.clock);
    const id = await approvedSale(a.guard);
    await wait();
    expect((await b.guard.get(id))?.status).toBe('approved');
    const r = await Promise.all([
      settledOrError(a.guard.settle(id, { status: 'refunded' })),
      settledOrError(b.guard.settle(id, { status: 'refunded' })),
    ]);
    expect(r.map((x) => (x instanceof Error ? `${x.name}:${(x as GuardError).code}` : x.refunded))).toEqual([1_000, 1_000]);
    await wait();
    expect(refundEntries(await a.store.journal(), id).map((e) => [e.from, e.amount])).toEqual([['approved', 1_000]]);
    await a.guard.close();
    await b.guard.close();
  });

  it('lanes: two terminals record "the rest" of the same sale at once: both resolve, counted once', async () => {
    const { time, open } = lanes();
    const g1 = await open(time.terminal(), 'T1');
    const g2 = await open(time.terminal(), 'T2');
    const id = await approvedSale(g1);
    await time.advance(1_000);
    await flush();
    expect((await g2.get(id))?.status).toBe('approved');
    const r = await Promise.all([
      settledOrError(g1.settle(id, { status: 'refunded' })),
      settledOrError(g2.settle(id, { status: 'refunded' })),
    ]);
    expect(r.map((x) => (x instanceof Error ? `${x.name}:${(x as GuardError).code}` : x.refunded))).toEqual([1_000, 1_000]);
  });
});

describe('atk13: journal amounts for refunds made outside the guard', () => {
  it('IndexedDB two tabs, amount without a reference tapped on each: two refunds, journal amounts 300 and 300, from approved', async () => {
    const d = db();
    const a = await tab(d);
    const b = await tab(d, a.clock);
    const id = await approvedSale(a.guard);
    await wait();
    await Promise.all([a.guard.settle(id, { status: 'refunded', amount: 300 }), b.guard.settle(id, { status: 'refunded', amount: 300 })]);
    await wait();
    expect((await a.guard.get(id))?.refunded).toBe(600);
    expect((await b.guard.get(id))?.refunded).toBe(600);
    const entries = refundEntries(await a.store.journal(), id);
    expect(entries.map((e) => [e.from, e.amount])).toEqual([
      ['approved', 300],
      ['approved', 300],
    ]);
    await a.guard.close();
    await b.guard.close();
  });

  it('IndexedDB two tabs, the same processorRef tapped on each twice: one entry of 300', async () => {
    const d = db();
    const a = await tab(d);
    const b = await tab(d, a.clock);
    const id = await approvedSale(a.guard);
    await wait();
    const o = { status: 'refunded', amount: 300, processorRef: 're_atk13' } as const;
    const r = await Promise.all([a.guard.settle(id, o), b.guard.settle(id, o), a.guard.settle(id, o), b.guard.settle(id, o)]);
    expect(r.map((x) => x.refunded)).toEqual([300, 300, 300, 300]);
    await wait();
    expect(refundEntries(await a.store.journal(), id).map((e) => e.amount)).toEqual([300]);
    await a.guard.close();
    await b.guard.close();
  });

  it('IndexedDB: the last 400 recorded on a stale tab after another tab refunded 600: from approved, amount 400, to refunded', async () => {
    const d = db();
    const a = await tab(d);
    const b = await tab(d, a.clock);
    const id = await approvedSale(a.guard);
    await wait();
    await a.guard.settle(id, { status: 'refunded', amount: 600 });
    // b has not heard yet (or has: either way what it journals is what it added).
    const rest = await b.guard.settle(id, { status: 'refunded' });
    expect(rest.refunded).toBe(1_000);
    await wait();
    const entries = refundEntries(await a.store.journal(), id);
    expect(entries.map((e) => [e.from, e.to, e.amount])).toEqual([
      ['approved', 'approved', 600],
      ['approved', 'refunded', 400],
    ]);
    await a.guard.close();
    await b.guard.close();
  });

  it('IndexedDB: a void racing a refund made outside the guard on another tab: exactly one wins, the money adds up', async () => {
    for (let round = 0; round < 4; round++) {
      const d = db();
      const a = await tab(d);
      const b = await tab(d, a.clock);
      const id = await approvedSale(a.guard);
      await wait();
      const calls =
        round % 2 === 0
          ? [a.guard.settle(id, { status: 'voided' }), b.guard.settle(id, { status: 'refunded', amount: 300 })]
          : [b.guard.settle(id, { status: 'refunded', amount: 300 }), a.guard.settle(id, { status: 'voided' })];
      const r = await Promise.all(calls.map((c) => settledOrError(c)));
      const errors = r.filter((x): x is Error => x instanceof Error);
      expect(errors).toHaveLength(1);
      expect(errors[0]).toBeInstanceOf(GuardError);
      expect((errors[0] as GuardError).field).toBeDefined();
      await wait();
      const final = await a.guard.get(id);
      expect(final?.status === 'voided' ? final.refunded : final?.refunded).toBe(final?.status === 'voided' ? 0 : 300);
      const entries = (await a.store.journal()).filter((e) => e.attemptId === id && e.type === 'settle' && e.from === 'approved');
      expect(entries).toHaveLength(1);
      await a.guard.close();
      await b.guard.close();
    }
  });

  it('a settle racing a take-over (a second createGuard over the same memory store): counted once, journaled once', async () => {
    const store = memoryStore();
    const options = { merchantId: 'M-0001', secret: 'atk13-secret-0123456789abcdef', store };
    const g1 = await createGuard(options);
    const id = await approvedSale(g1);
    const [r1, g2] = await Promise.all([
      settledOrError(g1.settle(id, { status: 'refunded', amount: 300, processorRef: 'p1' })),
      createGuard(options),
    ]);
    const r2 = await g2.settle(id, { status: 'refunded', amount: 300, processorRef: 'p1' });
    expect(r2.refunded).toBe(300);
    if (r1 instanceof Error) expect(r1).toBeInstanceOf(GuardError);
    await flush();
    expect(refundEntries(store.journal(), id).map((e) => e.amount)).toEqual([300]);
    await g2.close();
  });

  it('lanes: a void racing a refund made outside the guard on the other lane: one wins, one GuardError, money adds up', async () => {
    for (let round = 0; round < 4; round++) {
      const { time, open } = lanes();
      const g1 = await open(time.terminal(), 'T1');
      const g2 = await open(time.terminal(), 'T2');
      const id = await approvedSale(g1);
      await time.advance(1_000);
      await flush();
      const calls =
        round % 2 === 0
          ? [g1.settle(id, { status: 'voided' }), g2.settle(id, { status: 'refunded', amount: 300 })]
          : [g2.settle(id, { status: 'refunded', amount: 300 }), g1.settle(id, { status: 'voided' })];
      const r = await Promise.all(calls.map((c) => settledOrError(c)));
      const errors = r.filter((x): x is Error => x instanceof Error);
      expect(errors).toHaveLength(1);
      expect(errors[0]).toBeInstanceOf(GuardError);
      await time.advance(1_000);
      await flush();
      const a = await g1.get(id);
      const b = await g2.get(id);
      expect([a?.status, a?.refunded]).toEqual([b?.status, b?.refunded]);
      expect(a?.status === 'voided' ? a.refunded === 0 : a?.refunded === 300).toBe(true);
    }
  });

  it('IndexedDB: a settle racing a take-over in the same tab (a second createGuard over the same store object): counted once', async () => {
    const d = db();
    const a = await tab(d);
    const id = await approvedSale(a.guard);
    const o = { status: 'refunded', amount: 300, processorRef: 'p-take' } as const;
    const [r1, g2] = await Promise.all([
      settledOrError(a.guard.settle(id, o)),
      createGuard({
        merchantId: 'M-0001',
        secret: (await import('../helpers/guard.js')).SECRET,
        window: '10m',
        pendingTimeout: '2m',
        store: a.store,
        clock: a.clock,
      }),
    ]);
    if (r1 instanceof Error) expect(r1).toBeInstanceOf(GuardError);
    expect((await g2.settle(id, o)).refunded).toBe(300);
    await wait();
    expect(refundEntries(await a.store.journal(), id).map((e) => e.amount)).toEqual([300]);
    await g2.close();
  });
});
