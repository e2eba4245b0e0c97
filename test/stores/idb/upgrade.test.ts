/**
 * Schema version 2 (the history indexes) over a database the previous
 * release wrote. That release opened the database without a version (so a
 * new one was version 1) and created the `guard` object store alone; its
 * writes are the ones this release still makes. Here it is the store of this
 * release with that open path put back: a factory that drops the version,
 * and no index created. Then this release opens the same database, as a
 * reloaded page (or a second tab on the new code) does.
 */
import { IDBFactory, IDBObjectStore } from 'fake-indexeddb';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createGuard, type AttemptRecord, type Guard, type GuardStore, type StoreChange } from '../../../src/index.js';
import { indexedDbStore, type IndexedDbStore } from '../../../src/idb.js';
import { claimOf } from '../../../src/claims.js';
import { MINUTE, SECRET, sale } from '../../helpers/guard.js';
import { inspect, type Db } from '../../helpers/raw-idb.js';
import { sampleRecord } from '../../helpers/records.js';

let count = 0;
const freshDb = (): Db => ({ name: `pdg-upgrade-${++count}`, indexedDB: new IDBFactory() });

const handles: Array<{ close(): Promise<void> }> = [];
const track = <T extends { close(): Promise<void> }>(handle: T): T => (handles.push(handle), handle);
afterEach(async () => {
  vi.restoreAllMocks();
  await Promise.all(handles.splice(0).map((h) => h.close().catch(() => undefined)));
});

/** The previous release's store on `db`: opens without a version, creates no index. */
function previousRelease(db: Db): { store: IndexedDbStore; done(): void } {
  // Creating one is skipped (the previous release had none to create).
  const noIndexes = vi.spyOn(IDBObjectStore.prototype, 'createIndex').mockImplementation(() => undefined as never);
  const factory = { open: (name: string) => db.indexedDB.open(name), deleteDatabase: (name: string) => db.indexedDB.deleteDatabase(name) };
  const store = track(indexedDbStore({ name: db.name, indexedDB: factory as unknown as IDBFactory }));
  return { store, done: () => noIndexes.mockRestore() };
}

const guardOn = (store: GuardStore): Promise<Guard> => createGuard({ merchantId: 'M-0001', secret: SECRET, store }).then(track);
/** The store as the previous release's guard used it: it had no history methods. */
const withoutHistory = ({ get: _get, byOrder: _byOrder, prune: _prune, ...rest }: IndexedDbStore): GuardStore => rest;
const ids = (records: readonly AttemptRecord[]) => records.map((r) => r.id).sort();

describe('upgrading a database written by the previous release (schema 1 to 2)', () => {
  it('keeps every record, claim, journal entry and the instance id, and indexes the records', async () => {
    const db = freshDb();
    const old = previousRelease(db);
    const T = 1_767_225_600_000;
    const records = [
      sampleRecord('open-old', { status: 'unknown', fingerprint: 'fp-open', orderId: 'ORD-1', updatedAt: T }),
      sampleRecord('paid-old', { status: 'approved', fingerprint: 'fp-paid', orderId: 'ORD-1', updatedAt: T }),
      sampleRecord('refund-old', { kind: 'refund', refundOf: 'paid-old', status: 'approved', fingerprint: 'fp-refund', updatedAt: T }),
      sampleRecord('declined-old', { status: 'declined', updatedAt: T }),
      sampleRecord('declined-new', { status: 'declined', updatedAt: T + 20 * MINUTE }),
    ];
    for (const r of records) await old.store.put(r);
    await old.store.setMeta('keyCheck', 'kcv');
    await old.store.appendJournal({ at: T, type: 'start' });
    const before = await inspect(db);
    old.done();
    expect(before.version).toBe(1);
    expect(before.indexes).toEqual([]);
    await old.store.close();

    const store = track(indexedDbStore(db));
    const heard: StoreChange[] = [];
    store.subscribe((change) => heard.push(change));
    expect(ids(await store.load())).toEqual(ids(records));
    const after = await inspect(db);
    expect(after.version).toBe(2);
    expect(after.indexes).toEqual(['state', 'updatedAt']);
    // Nothing rewritten, nothing lost: the same keys and values, the instance id included (no 'wiped').
    expect(after.data).toEqual(before.data);
    expect(heard).toEqual([]);

    // The history methods work on what the previous release wrote.
    expect(ids(await store.load({ since: T + 10 * MINUTE }))).toEqual(['declined-new', 'open-old', 'refund-old']);
    expect(await store.get('paid-old')).toEqual(records[1]);
    expect(ids(await store.byOrder('M-TEST', 'ORD-1'))).toEqual(['open-old', 'paid-old']);
    expect(await store.prune(T + 1)).toBe(3);
    expect(ids(await store.load())).toEqual(['declined-new', 'open-old']);
    let filed: AttemptRecord[] = [];
    await store.claim(
      { keys: [...claimOf(records[0] as AttemptRecord).keys, 'fp-paid', 'fp-refund'], ids: [] },
      (related) => ((filed = related), undefined),
    );
    expect(ids(filed)).toEqual(['open-old']);
  });

  it('upgrades under a live tab of the previous release, which steps aside, reopens, and whose writes are indexed', async () => {
    const db = freshDb();
    const old = previousRelease(db);
    await old.store.put(sampleRecord('a', { status: 'approved' }));
    old.done();
    // The new release opens while the old tab still holds its connection.
    const store = track(indexedDbStore(db));
    await store.put(sampleRecord('b', { status: 'declined' }));
    expect((await inspect(db)).version).toBe(2);
    // The old tab's next write reopens the database at its current version (it asks for none).
    const charging = sampleRecord('c', { status: 'pending', updatedAt: 1 });
    await old.store.put(charging);
    expect(await store.load({ since: Date.now() })).toEqual([charging]);
    expect(ids(await old.store.load())).toEqual(['a', 'b', 'c']);
  });

  it("a guard on the new release blocks a retry of the previous release's charge in flight", async () => {
    const db = freshDb();
    const old = previousRelease(db);
    const before = await guardOn(withoutHistory(old.store));
    const charging = await before.begin(sale());
    expect(charging.verdict).toBe('allow');
    await before.close();
    old.done();

    const after = await guardOn(track(indexedDbStore(db)));
    const retry = await after.begin(sale());
    expect(retry.verdict).toBe('block');
    expect(retry.reasons.find((r) => r.code === 'UNKNOWN_OUTCOME')?.attemptId).toBe(charging.attempt?.id);
    expect((await inspect(db)).version).toBe(2);
  });
});
