/**
 * A write-ahead record that could not be claimed (storage error, policy
 * 'allow') lives in memory and is retried by #persist on the next write,
 * through `store.put` (src/guard.ts #persist). `put` writes `r:<id>` but never
 * files the record under its claim keys (src/stores/idb.ts: only `claim`
 * files). So once the disk is back the approval is in IndexedDB, yet another
 * tab's claim, which reads only what is filed under the sale's keys, never
 * meets it: without BroadcastChannel that tab allows an immediate repeat.
 */
import { IDBObjectStore } from 'fake-indexeddb';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { sale } from '../../helpers/guard.js';
import { freshDb, tab } from '../../helpers/tabs.js';

afterEach(() => {
  vi.restoreAllMocks();
  vi.unstubAllGlobals();
});

function failPutsWithQuota() {
  const original = IDBObjectStore.prototype.put;
  return vi.spyOn(IDBObjectStore.prototype, 'put').mockImplementation(function (
    this: IDBObjectStore,
    ...args: Parameters<IDBObjectStore['put']>
  ) {
    const request = original.apply(this, args);
    (this.transaction as unknown as { _abort(name: string): void })._abort('QuotaExceededError');
    return request;
  });
}

describe('a record persisted late is never filed under its claim keys', () => {
  it("another tab's claim meets an approval that reached IndexedDB after a storage failure", async () => {
    vi.stubGlobal('BroadcastChannel', undefined);
    const db = freshDb();
    const a = await tab(db, undefined, { onStorageError: 'allow' });
    const b = await tab(db);
    const quota = failPutsWithQuota();
    const charged = await a.guard.begin(sale());
    expect(charged.verdict).toBe('allow'); // memory only (STORAGE_UNAVAILABLE warning)
    quota.mockRestore(); // the disk has room again
    await charged.attempt?.approve(); // this write lands, with the write-ahead record
    const stored = await b.store.load();
    expect(stored.map((r) => r.status)).toEqual(['approved']); // it is in IndexedDB

    const repeat = await b.guard.begin(sale()); // seconds later, tab B
    expect(repeat.reasons.map((r) => r.code)).toContain('DUPLICATE_CHARGE');
    expect(repeat.verdict).toBe('prompt');
  });
});

describe('a charge in flight persisted late is invisible to the claim', () => {
  it('tab B allows the same sale while tab A is charging it (IN_FLIGHT missed)', async () => {
    vi.stubGlobal('BroadcastChannel', undefined);
    const db = freshDb();
    const a = await tab(db, undefined, { onStorageError: 'allow' });
    const b = await tab(db);
    const other = await a.guard.begin(sale({ amount: 990 }));
    const quota = failPutsWithQuota();
    const charging = await a.guard.begin(sale());
    expect(charging.verdict).toBe('allow');
    quota.mockRestore();
    await other.attempt?.approve(); // the next write retries the in-memory pending record by put
    const stored = await b.store.load();
    expect(stored.find((r) => r.id === charging.attempt?.id)?.status).toBe('pending');

    const repeat = await b.guard.begin(sale());
    expect(repeat.verdict).toBe('block');
    expect(repeat.reasons.map((r) => r.code)).toContain('IN_FLIGHT');
  });
});
