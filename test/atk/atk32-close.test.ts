/**
 * atk32: close() at every point of an open, of a reopen, and twice. After
 * close() the store must hold no connection (another tab's deletion is not
 * blocked) and must not open the database again (a deletion stays deleted).
 */
import { IDBFactory } from 'fake-indexeddb';
import { describe, expect, it } from 'vitest';
import { indexedDbStore } from '../../src/idb.js';
import { sampleRecord } from '../helpers/records.js';

let count = 0;
const freshDb = () => ({ name: `atk32-close-${++count}`, indexedDB: new IDBFactory() });
const tick = () => new Promise<void>((resolve) => setImmediate(resolve));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Deletes the database; 'blocked' if a connection held it. */
function remove(db: { name: string; indexedDB: IDBFactory }): Promise<'deleted' | 'blocked'> {
  return new Promise((resolve, reject) => {
    let blocked = false;
    const request = db.indexedDB.deleteDatabase(db.name);
    request.onblocked = () => (blocked = true);
    request.onsuccess = () => resolve(blocked ? 'blocked' : 'deleted');
    request.onerror = () => reject(request.error);
  });
}
const exists = async (db: { name: string; indexedDB: IDBFactory }) => (await db.indexedDB.databases()).some((d) => d.name === db.name);

describe('close() at every point', () => {
  it('during the first open: no connection kept, nothing reopened', async () => {
    for (let at = 0; at <= 20; at++) {
      const db = freshDb();
      const store = indexedDbStore(db);
      const first = store.put(sampleRecord('a')).catch(() => undefined);
      for (let t = 0; t < at; t++) await tick();
      await store.close();
      await store.close();
      await first;
      expect(await remove(db), `at ${at}`).toBe('deleted');
      await sleep(10);
      expect(await exists(db), `at ${at}`).toBe(false);
    }
  });

  it('during the reopen after a deletion: nothing reopened after close()', async () => {
    for (let at = 0; at <= 20; at++) {
      const db = freshDb();
      const store = indexedDbStore(db);
      await store.put(sampleRecord('a'));
      const gone = remove(db);
      for (let t = 0; t < at; t++) await tick();
      await store.close();
      await gone;
      await sleep(10);
      // Whatever the reopen did before close(), the store lets go of it.
      expect(await remove(db), `at ${at}`).toBe('deleted');
      await sleep(10);
      expect(await exists(db), `at ${at}`).toBe(false);
    }
  });
});

describe('a database deleted over and over', () => {
  it('one reopen per deletion, each heard once; nothing more once they stop', async () => {
    const db = freshDb();
    let opens = 0;
    const factory = {
      open: (name: string, version?: number) => (opens++, db.indexedDB.open(name, version)),
      deleteDatabase: (name: string) => db.indexedDB.deleteDatabase(name),
    } as unknown as IDBFactory;
    const store = indexedDbStore({ name: db.name, indexedDB: factory });
    let wiped = 0;
    store.subscribe((c) => void (c.type === 'wiped' && wiped++));
    await store.put(sampleRecord('a'));
    const before = opens;
    for (let i = 0; i < 30; i++) {
      await remove(db);
      await sleep(2);
    }
    await sleep(50);
    const after = opens;
    expect(after - before).toBeLessThanOrEqual(30);
    expect(wiped).toBeGreaterThanOrEqual(1);
    expect(wiped).toBeLessThanOrEqual(30);
    await sleep(100);
    expect(opens).toBe(after);
    await store.close();
  });
});
