/**
 * atk10: refunds made outside the guard, now listed on their sale under an
 * `external:` id, through every store (memory, file with compaction,
 * IndexedDB) and a restart: the list and the sum survive, start-up's
 * re-count of approved refunds (repairRefund) counts nothing twice, a
 * reversal afterwards relists the external ones, no card data lands in an
 * id or in the journal, the journal verifies, and the report's over-refund
 * total is what the sale lists.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { IDBFactory } from 'fake-indexeddb';
import { describe, expect, it } from 'vitest';
import { GuardError, createGuard, memoryStore, verifyJournal, type AttemptRecord, type Guard, type GuardStore } from '../../src/index.js';
import { fileStore } from '../../src/node.js';
import { indexedDbStore } from '../../src/idb.js';
import { summarizeJournal } from '../../src/report/summary.js';
import { JOURNAL_HEAD, parseJournalHead } from '../../src/journal/chain.js';
import { ManualClock, SECRET, VISA } from '../helpers/guard.js';
import { cardNumberLeaks } from '../helpers/cards.js';

const overOf = (record: AttemptRecord) => (record.refunds ?? []).reduce((sum, r) => sum + ((r as { over?: number }).over ?? 0), 0);
const refundOf = (saleId: string, amount: number) => ({
  amount,
  currency: 'CNY',
  card: { pan: VISA },
  kind: 'refund' as const,
  refundOf: saleId,
});

const kinds: [string, () => () => GuardStore][] = [
  [
    'memoryStore',
    () => {
      const store = memoryStore();
      return () => store;
    },
  ],
  [
    'fileStore',
    () => {
      const path = join(mkdtempSync(join(tmpdir(), 'pdg-atk10-')), 'guard.jsonl');
      return () => fileStore(path);
    },
  ],
  [
    'indexedDbStore',
    () => {
      const indexedDB = new IDBFactory();
      return () => indexedDbStore({ name: 'pdg-atk10', indexedDB });
    },
  ],
];

async function journalOf(store: GuardStore): Promise<unknown[]> {
  const s = store as { journal?: () => unknown; readJournal?: () => unknown };
  if (typeof s.journal === 'function') return [...((await s.journal()) as Iterable<unknown>)];
  return [];
}

describe('atk10: external refunds through every store and a restart', () => {
  for (const [name, make] of kinds) {
    it(`${name}: listed, kept, re-counted once, reversal relists them`, async () => {
      const reopen = make();
      const clock = new ManualClock();
      let store = reopen();
      let guard: Guard = await createGuard({ merchantId: 'M-0001', secret: SECRET, store, clock });
      const s = await guard.begin({ amount: 1_000, currency: 'CNY', card: { pan: VISA } });
      const saleId = s.attempt!.id;
      await guard.settle(saleId, { status: 'approved' });
      clock.advance(1_000);
      await guard.settle(saleId, { status: 'refunded', amount: 300 });
      const r = await guard.begin(refundOf(saleId, 200));
      expect(r.verdict).toBe('allow');
      await guard.settle(r.attempt!.id, { status: 'approved' });
      clock.advance(1_000);
      await guard.settle(saleId, { status: 'refunded' }); // the rest: 500
      const before = (await guard.get(saleId))!;
      expect([before.status, before.refunded, before.refunds?.length]).toEqual(['refunded', 1_000, 3]);
      const ids = before.refunds!.map((e) => e.id);
      expect(ids.filter((id) => id.startsWith('external:'))).toHaveLength(2);
      expect(cardNumberLeaks(ids)).toEqual([]);
      await guard.close();
      clock.advance(1_000);
      const restarted = clock.afterRestart();
      store = reopen();
      guard = await createGuard({ merchantId: 'M-0001', secret: SECRET, store, clock: restarted });
      const after = (await guard.get(saleId))!;
      expect([after.status, after.refunded, after.refunds!.map((e) => e.id)]).toEqual(['refunded', 1_000, ids]);
      // The attempt reversed after the restart: the two external refunds stay listed, 800 counted.
      restarted.advance(1_000);
      await guard.settle(r.attempt!.id, { status: 'voided' });
      const reversed = (await guard.get(saleId))!;
      expect([reversed.status, reversed.refunded, reversed.refunds!.map((e) => e.id)]).toEqual(['approved', 800, [ids[0], ids[2]]]);
      const err = await guard.settle(saleId, { status: 'refunded', amount: 201 }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(GuardError);
      expect(codesOf(await guard.peek(refundOf(saleId, 200)))).toEqual([]);
      await guard.settle(saleId, { status: 'refunded' }); // the rest: 200
      expect((await guard.get(saleId))!.refunded).toBe(1_000);
      expect(overOf((await guard.get(saleId))!)).toBe(0);
      const entries = await journalOf(store);
      expect(cardNumberLeaks(entries)).toEqual([]);
      const final = (await guard.get(saleId))!.refunds!.map((e) => e.id);
      const compact = (store as { compact?: () => Promise<void> }).compact;
      if (compact) await compact.call(store);
      await guard.close();
      // Compacted (a file store) and reopened once more: the same list, nothing counted twice.
      store = reopen();
      guard = await createGuard({ merchantId: 'M-0001', secret: SECRET, store, clock: restarted.afterRestart() });
      const last = (await guard.get(saleId))!;
      expect([last.status, last.refunded, last.refunds!.map((e) => e.id)]).toEqual(['refunded', 1_000, final]);
      await guard.close();
    });
  }

  it('memoryStore: an overridden over-refund after external refunds: the journal verifies and the report totals what the sale lists', async () => {
    const store = memoryStore();
    const clock = new ManualClock();
    const guard = await createGuard({ merchantId: 'M-0001', secret: SECRET, store, clock, authorize: async () => true });
    const s = await guard.begin({ amount: 1_000, currency: 'CNY', card: { pan: VISA } });
    const saleId = s.attempt!.id;
    await guard.settle(saleId, { status: 'approved' });
    clock.advance(1_000);
    await guard.settle(saleId, { status: 'refunded', amount: 700 });
    const d = await guard.begin(refundOf(saleId, 500));
    expect(codesOf(d)).toContain('REFUND_EXCEEDS_CHARGE');
    const r = await guard.override(d, { operator: 'ann', reason: 'customer insists', supervisor: 'sam' });
    await guard.settle(r.attempt!.id, { status: 'approved' });
    const sold = (await guard.get(saleId))!;
    expect([sold.refunded, overOf(sold)]).toEqual([1_000, 200]);
    const entries = store.journal();
    const head = parseJournalHead((await store.getMeta?.(JOURNAL_HEAD)) ?? '');
    expect(verifyJournal(entries, { secret: SECRET, ...(head ? { head } : {}) }).ok).toBe(true);
    const summary = summarizeJournal(entries, { tz: 'Asia/Shanghai' });
    expect(summary.refunds.overRefunds.reduce((sum, o) => sum + o.amount, 0)).toBe(200);
    await guard.close();
  });
});

function codesOf(d: { reasons: readonly { code: string }[] }): string[] {
  return d.reasons.map((r) => r.code);
}
