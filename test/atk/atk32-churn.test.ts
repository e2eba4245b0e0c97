/**
 * atk32: another tab upgrades or deletes the database at every point of a
 * store call (each fake-indexeddb task from 0 to 40 after the call starts).
 * What must hold: every call settles; a call that resolved wrote what it said
 * (an upgrade loses nothing); a deletion after the store opened is heard as
 * 'wiped'; no reopen loop.
 */
import { IDBFactory } from 'fake-indexeddb';
import { describe, expect, it, vi } from 'vitest';
import type { JournalEntry, StoreChange } from '../../src/index.js';
import { indexedDbStore, type IndexedDbStore } from '../../src/idb.js';
import { dump, asPromise } from '../helpers/raw-idb.js';
import { sampleRecord } from '../helpers/records.js';

let count = 0;
const freshDb = () => ({ name: `atk32-churn-${++count}`, indexedDB: new IDBFactory() });
const tick = () => new Promise<void>((resolve) => setImmediate(resolve));
const within = <T>(p: Promise<T>, ms = 3000): Promise<T | 'hung'> =>
  Promise.race([p, new Promise<'hung'>((resolve) => setTimeout(() => resolve('hung'), ms).unref())]);

/** Another tab of a newer release: opens one version up, then lets go. */
async function upgrade(db: { name: string; indexedDB: IDBFactory }): Promise<void> {
  const current = await asPromise(db.indexedDB.open(db.name));
  const version = current.version;
  current.close();
  const next = await asPromise(db.indexedDB.open(db.name, version + 1));
  next.close();
}
function remove(db: { name: string; indexedDB: IDBFactory }): Promise<void> {
  return new Promise((resolve, reject) => {
    const request = db.indexedDB.deleteDatabase(db.name);
    request.onsuccess = () => resolve();
    request.onerror = () => reject(request.error);
  });
}

const seal = (entry: JournalEntry, previous: { seq: number } | undefined) => ({ ...entry, seq: (previous?.seq ?? 0) + 1, hash: 'h' });

type Op = { name: string; run(store: IndexedDbStore, i: number): Promise<unknown>; check(data: Map<string, unknown>, i: number): boolean };
const OPS: Op[] = [
  { name: 'put', run: (s, i) => s.put(sampleRecord(`p${i}`)), check: (d, i) => d.has(`r:p${i}`) && d.has(`h:p${i}`) },
  {
    name: 'claim',
    run: (s, i) => s.claim({ keys: [`k${i}`], ids: [] }, () => [sampleRecord(`c${i}`, { fingerprint: `k${i}` })]),
    check: (d, i) => d.has(`r:c${i}`),
  },
  {
    name: 'appendJournal',
    run: (s, i) => s.appendJournal({ at: i, type: 'start' }, seal),
    check: (d) => [...d.keys()].some((k) => k.startsWith('j:~')),
  },
  { name: 'load', run: (s) => s.load(), check: () => true },
  { name: 'setMeta', run: (s, i) => s.setMeta(`x${i}`, 'v'), check: (d, i) => d.get(`m:x${i}`) === 'v' },
];

describe('another tab upgrades the database at every point of a call', () => {
  for (const op of OPS) {
    it(`${op.name}: settles, and what resolved is stored`, async () => {
      for (let at = 0; at <= 40; at += 2) {
        const db = freshDb();
        const store = indexedDbStore(db);
        await store.load();
        const call = op.run(store, at).then(
          () => 'ok' as const,
          (e: { code?: string }) => e.code ?? 'error',
        );
        for (let t = 0; t < at; t++) await tick();
        await upgrade(db);
        const outcome = await within(call);
        expect(outcome, `at ${at}`).not.toBe('hung');
        if (outcome === 'ok') expect(op.check(await dump(db), at), `at ${at}`).toBe(true);
        // The store works on the upgraded database.
        await store.put(sampleRecord(`after${at}`));
        await store.close();
      }
    });
  }
});

describe('another tab deletes the database at every point of a call', () => {
  for (const op of OPS) {
    it(`${op.name}: settles, and the deletion is heard`, async () => {
      for (let at = 0; at <= 40; at += 2) {
        const db = freshDb();
        const store = indexedDbStore(db);
        const heard: StoreChange[] = [];
        store.subscribe((c) => heard.push(c));
        await store.load();
        const call = op.run(store, at).then(
          () => 'ok' as const,
          (e: { code?: string }) => e.code ?? 'error',
        );
        for (let t = 0; t < at; t++) await tick();
        await remove(db);
        const outcome = await within(call);
        expect(outcome, `at ${at}`).not.toBe('hung');
        // The store reopens at once; under load that may take a while.
        await vi.waitFor(
          () =>
            expect(
              heard.filter((c) => c.type === 'wiped'),
              `at ${at}`,
            ).toHaveLength(1),
          { timeout: 2000 },
        );
        await new Promise((r) => setTimeout(r, 20));
        expect(
          heard.filter((c) => c.type === 'wiped'),
          `at ${at}`,
        ).toHaveLength(1);
        await store.close();
      }
    });
  }
});
