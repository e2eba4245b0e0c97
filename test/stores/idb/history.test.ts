/**
 * The history seam on IndexedDB (SPEC §6, src/history.ts): `load({ since })`
 * hands back the hot records from two indexes, `get` and `byOrder` read one
 * record or an order's live ones in their turn, and `prune` deletes what
 * expired without walking the history. Two stores on one database are two tabs.
 */
import { IDBCursor, IDBFactory } from 'fake-indexeddb';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { AttemptRecord, AttemptStatus, SaleKind } from '../../../src/index.js';
import { indexedDbStore, type IndexedDbStore } from '../../../src/idb.js';
import { claimOf, staysFiled } from '../../../src/claims.js';
import { hasHistory, isHot } from '../../../src/history.js';
import { dump, rawPut } from '../../helpers/raw-idb.js';
import { sampleRecord } from '../../helpers/records.js';

const T = 1_767_225_600_000;
const MINUTE = 60_000;
const STATUSES: AttemptStatus[] = ['pending', 'unknown', 'approved', 'declined', 'cancelled', 'voided', 'refunded'];

let count = 0;
const freshDb = () => ({ name: `pdg-history-${++count}`, indexedDB: new IDBFactory() });

const opened: IndexedDbStore[] = [];
function store(db: { name: string; indexedDB: IDBFactory }): IndexedDbStore {
  const made = indexedDbStore(db);
  opened.push(made);
  return made;
}
afterEach(async () => {
  vi.restoreAllMocks();
  await Promise.all(opened.splice(0).map((s) => s.close()));
});

const ids = (records: readonly AttemptRecord[]) => records.map((r) => r.id).sort();
/** What a claim on `keys` hands its judge (it writes nothing). */
async function filedUnder(on: IndexedDbStore, keys: readonly string[]): Promise<string[]> {
  let seen: AttemptRecord[] = [];
  await on.claim({ keys, ids: [] }, (related) => ((seen = related), undefined));
  return ids(seen);
}

describe('indexedDbStore history', () => {
  it('has all three methods, so the guard treats it as a store with history', () => {
    expect(hasHistory(indexedDbStore({ name: 'unused', indexedDB: new IDBFactory() }))).toBe(true);
  });

  describe('load({ since })', () => {
    it('returns exactly the hot records of every status and kind, old or recent; load() returns all', async () => {
      const s = store(freshDb());
      const since = T + 10 * MINUTE;
      const all: AttemptRecord[] = [];
      for (const kind of ['sale', 'refund'] as SaleKind[]) {
        for (const status of STATUSES) {
          for (const [age, updatedAt] of [
            ['old', T],
            ['edge', since],
            ['new', since + MINUTE],
          ] as const) {
            const refund = kind === 'refund' ? { refundOf: 'some-sale' } : {};
            all.push(sampleRecord(`${kind}-${status}-${age}`, { kind, status, updatedAt, ...refund }));
          }
        }
      }
      for (const r of all) await s.put(r);
      const hot = await s.load({ since });
      expect(ids(hot)).toEqual(ids(all.filter((r) => isHot(r, since))));
      // Each comes once, as stored, though open and recent ones are in both indexes.
      expect(hot).toHaveLength(new Set(hot.map((r) => r.id)).size);
      expect(hot.find((r) => r.id === 'sale-unknown-new')).toEqual(all.find((r) => r.id === 'sale-unknown-new'));
      expect(ids(await s.load())).toEqual(ids(all));
    });

    it("builds only the hot records, not the history (few cursor steps), and sees another tab's writes", async () => {
      const db = freshDb();
      const tabA = store(db);
      const since = T + 10 * MINUTE;
      await Promise.all(
        Array.from({ length: 300 }, (_, i) =>
          tabA.put(sampleRecord(`old-${i}`, { status: i % 2 ? 'approved' : 'declined', updatedAt: T + i })),
        ),
      );
      const tabB = store(db);
      await tabB.put(sampleRecord('open-old', { status: 'unknown', updatedAt: T }));
      await tabB.put(sampleRecord('recent', { status: 'declined', updatedAt: since + 1 }));
      const steps = vi.spyOn(IDBCursor.prototype, 'continue');
      expect(ids(await tabA.load({ since }))).toEqual(['open-old', 'recent']);
      // One step past the recent record to the first old one, where the walk stops.
      expect(steps).toHaveBeenCalledTimes(1);
    });

    it('takes its place in the write order: a put issued before it is in it', async () => {
      const s = store(freshDb());
      const written = s.put(sampleRecord('a', { status: 'approved', updatedAt: T + 5 }));
      const hot = s.load({ since: T });
      await written;
      expect(ids(await hot)).toEqual(['a']);
    });
  });

  describe('get', () => {
    it('reads the stored record by id, settled or not; undefined when absent or deleted', async () => {
      const s = store(freshDb());
      const settled = sampleRecord('a', { status: 'declined', code: '05' });
      await s.put(settled);
      expect(await s.get('a')).toEqual(settled);
      expect(await s.get('missing')).toBeUndefined();
      await s.delete('a');
      expect(await s.get('a')).toBeUndefined();
    });

    it("reads after the writes issued before it, and another tab's writes", async () => {
      const db = freshDb();
      const tabA = store(db);
      const tabB = store(db);
      void tabA.put(sampleRecord('a'));
      const approved = sampleRecord('a', { status: 'approved', updatedAt: T + 1 });
      void tabA.put(approved);
      expect(await tabA.get('a')).toEqual(approved);
      expect(await tabB.get('a')).toEqual(approved);
      await tabB.put(sampleRecord('a', { status: 'voided', updatedAt: T + 2 }));
      expect((await tabA.get('a'))?.status).toBe('voided');
    });

    it('ignores a value that is not a record', async () => {
      const db = freshDb();
      const s = store(db);
      await s.put(sampleRecord('a'));
      await rawPut(db, 'r:junk', { id: 'junk', status: 'approved' });
      expect(await s.get('junk')).toBeUndefined();
    });
  });

  describe('byOrder', () => {
    it("returns the live records on the merchant's order, and nothing else", async () => {
      const s = store(freshDb());
      const on = (id: string, patch: Partial<AttemptRecord>) => sampleRecord(id, { merchantId: 'M-1', orderId: 'ORD-1', ...patch });
      const records = [
        ...STATUSES.map((status) => on(status, { status })),
        on('refund', { kind: 'refund', refundOf: 'approved', status: 'approved' }),
        on('other-order', { orderId: 'ORD-2' }),
        on('other-merchant', { merchantId: 'M-2' }),
        sampleRecord('no-order', { merchantId: 'M-1' }),
      ];
      for (const r of records) await s.put(r);
      expect(ids(await s.byOrder('M-1', 'ORD-1'))).toEqual(['approved', 'pending', 'refund', 'unknown']);
      expect((await s.byOrder('M-1', 'ORD-1')).every(staysFiled)).toBe(true);
      expect(await s.byOrder('M-1', 'ORD-404')).toEqual([]);
      expect(ids(await s.byOrder('M-2', 'ORD-1'))).toEqual(['other-merchant']);
    });

    it('sees what another tab claimed, and drops what it settled', async () => {
      const db = freshDb();
      const tabA = store(db);
      const tabB = store(db);
      const paid = sampleRecord('paid', { merchantId: 'M-1', orderId: 'ORD-1' });
      expect(await tabB.claim(claimOf(paid), () => [paid])).toBe(true);
      expect(await tabA.byOrder('M-1', 'ORD-1')).toEqual([paid]);
      await tabB.put({ ...paid, status: 'approved', updatedAt: T + 1 });
      expect((await tabA.byOrder('M-1', 'ORD-1')).map((r) => r.status)).toEqual(['approved']);
      await tabB.put({ ...paid, status: 'voided', updatedAt: T + 2 });
      expect(await tabA.byOrder('M-1', 'ORD-1')).toEqual([]);
    });

    it('reads an order filed by an earlier release (one id per key)', async () => {
      const db = freshDb();
      const s = store(db);
      const old = sampleRecord('old', { merchantId: 'M-1', orderId: 'ORD-1', status: 'approved' });
      await s.put(old);
      await rawPut(db, `c:${claimOf(old).keys[1]}`, 'old');
      expect(await s.byOrder('M-1', 'ORD-1')).toEqual([old]);
    });
  });

  describe('prune', () => {
    it('deletes the settled records updated before `before`, keeps open ones however old, and resolves the count', async () => {
      const s = store(freshDb());
      const before = T + 10 * MINUTE;
      const records = STATUSES.flatMap((status) => [
        sampleRecord(`${status}-old`, { status, updatedAt: T }),
        sampleRecord(`${status}-edge`, { status, updatedAt: before }),
      ]);
      for (const r of records) await s.put(r);
      expect(await s.prune(before)).toBe(5);
      expect(ids(await s.load())).toEqual(
        ids(records.filter((r) => r.updatedAt >= before || r.status === 'pending' || r.status === 'unknown')),
      );
      expect(await s.get('approved-old')).toBeUndefined();
      expect(await s.prune(before)).toBe(0);
    });

    it('unfiles what it deletes: no claim key or held list is left behind', async () => {
      const db = freshDb();
      const s = store(db);
      const approved = sampleRecord('approved', { fingerprint: 'fp', orderId: 'ORD-1', status: 'approved', updatedAt: T });
      const open = sampleRecord('open', { fingerprint: 'fp', status: 'unknown', updatedAt: T });
      await s.put(approved);
      await s.put(open);
      expect(await filedUnder(s, claimOf(approved).keys)).toEqual(['approved', 'open']);
      expect(await s.prune(T + 1)).toBe(1);
      expect(await filedUnder(s, claimOf(approved).keys)).toEqual(['open']);
      expect(await s.byOrder(approved.merchantId, 'ORD-1')).toEqual([]);
      const keys = [...(await dump(db)).keys()].filter((key) => key.startsWith('c:') || key.startsWith('h:'));
      expect(keys.sort()).toEqual(['c:fp', 'h:open']);
    });

    it('walks only what expired: the cursor stops at the first record updated at or after `before`', async () => {
      const s = store(freshDb());
      await Promise.all(
        Array.from({ length: 300 }, (_, i) => s.put(sampleRecord(`recent-${i}`, { status: 'approved', updatedAt: T + MINUTE + i }))),
      );
      await s.put(sampleRecord('expired', { status: 'declined', updatedAt: T }));
      await s.put(sampleRecord('kept-open', { status: 'pending', updatedAt: T + 1 }));
      const steps = vi.spyOn(IDBCursor.prototype, 'continue');
      expect(await s.prune(T + MINUTE)).toBe(1);
      // Past the expired one and the open one, to the first recent one, where the walk stops.
      expect(steps).toHaveBeenCalledTimes(2);
      expect(await s.load()).toHaveLength(301);
    });

    it("deletes what another tab wrote, and the other tab's reads see it gone; in the write order", async () => {
      const db = freshDb();
      const tabA = store(db);
      const tabB = store(db);
      await tabA.put(sampleRecord('a', { status: 'approved', updatedAt: T }));
      // Issued without awaiting: the settle lands, then the prune sees it.
      void tabB.put(sampleRecord('b', { status: 'declined', updatedAt: T }));
      const pruned = tabB.prune(T + 1);
      void tabB.put(sampleRecord('c', { status: 'declined', updatedAt: T }));
      expect(await pruned).toBe(2);
      expect(await tabA.get('a')).toBeUndefined();
      expect(ids(await tabA.load())).toEqual(['c']);
    });
  });
});

// ── raw IndexedDB ──────────────────────────────────────────────────────────
