/**
 * A database deleted under two live tabs (site data cleared) is noticed only
 * by the connection that reopens it first (then in src/stores/idb/connection.ts:
 * `recreated = opened && event.oldVersion === 0`). Every other tab reopens an
 * existing, empty database, never hears 'wiped' and never writes back what
 * it holds, so its charge in flight vanishes from IndexedDB, and the claim in
 * any other tab allows the same sale again.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { forceCloseDatabase } from 'fake-indexeddb';
import type { StoreChange } from '../../../src/index.js';
import { indexedDbStore } from '../../../src/idb.js';
import { asPromise } from '../../helpers/raw-idb.js';
import { sampleRecord } from '../../helpers/records.js';
import { MASTERCARD, sale } from '../../helpers/guard.js';
import { deleteDatabase, freshDb, settle, tab } from '../../helpers/tabs.js';

afterEach(() => vi.unstubAllGlobals());

describe('a wiped database under two tabs', () => {
  it("tab B's charge in flight is written back even though tab A reopened the database first", async () => {
    vi.stubGlobal('BroadcastChannel', undefined); // older WebViews; or a message not delivered yet
    const db = freshDb();
    const a = await tab(db);
    const b = await tab(db);
    const wiped: string[] = [];
    b.guard.on('storage-error', (e) => wiped.push(String((e.error as { code?: string }).code)));

    const charging = await b.guard.begin(sale());
    expect(charging.verdict).toBe('allow'); // tab B submits the charge now

    await deleteDatabase(db); // "clear site data" while both tabs are open
    await a.guard.begin(sale({ card: { pan: MASTERCARD } })); // tab A happens to touch IndexedDB first: it restores its own
    await b.guard.peek(sale({ amount: 1 }));
    await b.guard.begin(sale({ amount: 2 })); // tab B's next write: it should notice too
    await settle(50);

    // Tab A rings the same sale while B's charge is still in flight.
    const again = await a.guard.begin(sale());
    expect(again.verdict).toBe('block');
    expect(again.reasons.map((r) => r.code)).toContain('IN_FLIGHT');
  });

  it('a tab opened after the wipe, before the live tab touched IndexedDB again: the live tab never writes back', async () => {
    vi.stubGlobal('BroadcastChannel', undefined);
    const db = freshDb();
    const a = await tab(db);
    const charging = await a.guard.begin(sale());
    expect(charging.verdict).toBe('allow');
    await deleteDatabase(db);
    const c = await tab(db); // a new tab opens first (it creates the database: for it, nothing was wiped)
    await a.guard.begin(sale({ card: { pan: MASTERCARD } })); // tab A's next call: the database exists, so no 'wiped'
    await settle(50);
    const again = await c.guard.begin(sale());
    expect(again.verdict).toBe('block');
  });
});

describe('a database without an instance id (giving it one failed, or a tool deleted it)', () => {
  it('is not reported wiped when reopened as it is, and is when deleted and created again', async () => {
    const db = freshDb();
    const first = indexedDbStore(db);
    await first.put(sampleRecord('a'));
    await first.close();
    const raw = await asPromise(db.indexedDB.open(db.name));
    await new Promise((resolve, reject) => {
      const tx = raw.transaction('guard', 'readwrite');
      tx.objectStore('guard').delete('m:instance');
      tx.oncomplete = resolve;
      tx.onabort = () => reject(tx.error);
    });
    raw.close();

    const open = vi.spyOn(db.indexedDB, 'open');
    const store = indexedDbStore(db);
    const heard: StoreChange[] = [];
    store.subscribe((change) => heard.push(change));
    await store.put(sampleRecord('b'));
    // The engine drops the connection: the store reopens the same database, still without an id.
    forceCloseDatabase((open.mock.results[0]?.value as IDBOpenDBRequest).result as unknown as Parameters<typeof forceCloseDatabase>[0]);
    await store.put(sampleRecord('c'));
    expect(heard).toEqual([]);

    await deleteDatabase(db);
    await store.put(sampleRecord('d'));
    await vi.waitFor(() => expect(heard).toEqual([expect.objectContaining({ type: 'wiped' })]));
    await store.close();
  });
});
