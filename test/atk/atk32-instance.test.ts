/**
 * atk32: the instance id as found in the database. This release reads it as
 * it is (`unknown`) in a read-only transaction and compares it with `!==`
 * (src/stores/idb.ts:189-193); 6495457 took only a string, and gave the
 * database a new string id when it found anything else.
 */
// Fixed: an instance id that is not text reads as none. The tests below, once it.fails, pass since.
import { forceCloseDatabase } from 'fake-indexeddb';
import { describe, expect, it, vi } from 'vitest';
import type { StoreChange } from '../../src/index.js';
import { indexedDbStore } from '../../src/idb.js';
import { rawPut } from '../helpers/raw-idb.js';
import { sampleRecord } from '../helpers/records.js';
import { closedAfterEach, freshDb, tab } from '../helpers/tabs.js';

const open = closedAfterEach();
type Closable = Parameters<typeof forceCloseDatabase>[0];

describe('an instance id that is not a string', () => {
  // FINDING (regression, low). A `m:instance` holding an object, an array or NaN (a tool,
  // a debugging session, another library sharing the name, a hostile script) never
  // compares equal to itself once read again: structured clone hands back a new object
  // each time, and NaN !== NaN. So every reopen (Safari dropping the connection, another
  // tab's upgrade, and now, with the eager reopen, at once after each) reports the
  // database 'wiped' (src/stores/idb.ts:192-195), and the guard answers each with
  // `restore` (src/guard/tabs.ts:135-145): a WIPED storage-error, a journal entry, and
  // a plain put of every attempt it holds over what other tabs wrote since. 6495457's
  // readInstance (6495457 src/stores/idb/connection.ts:149-163) replaced a non-string id
  // with a fresh string once, so the database was never reported wiped.
  // At a till: a stream of false "site data was cleared" alarms, and each one writes this
  // tab's copies back over newer versions in the database.
  for (const [what, value] of [
    ['an object', { id: 'x' }],
    ['NaN', Number.NaN],
  ] as const) {
    it(`${what}: a reopen of the same database is not reported wiped`, async () => {
      const db = freshDb();
      const first = indexedDbStore(db);
      await first.put(sampleRecord('a'));
      await first.close();
      await rawPut(db, 'm:instance', value);

      const openSpy = vi.spyOn(db.indexedDB, 'open');
      const store = indexedDbStore(db);
      const heard: StoreChange[] = [];
      store.subscribe((c) => heard.push(c));
      await store.put(sampleRecord('b'));
      // The engine drops the connection (Safari's habit): the store reopens the same database.
      forceCloseDatabase((openSpy.mock.results.at(-1)?.value as IDBOpenDBRequest).result as unknown as Closable);
      await new Promise((r) => setTimeout(r, 20));
      await store.put(sampleRecord('c'));
      expect(heard).toEqual([]);
      await store.close();
    });
  }

  it('a guard over it: no WIPED storage-error for a connection merely dropped', async () => {
    const db = freshDb();
    const setup = indexedDbStore(db);
    await setup.load();
    await setup.close();
    await rawPut(db, 'm:instance', { id: 'x' });
    const openSpy = vi.spyOn(db.indexedDB, 'open');
    const a = await tab(db);
    open.push(a);
    const errors: string[] = [];
    a.guard.on('storage-error', (e) => errors.push(String((e.error as { code?: string }).code)));
    for (let i = 0; i < 3; i++) {
      forceCloseDatabase((openSpy.mock.results.at(-1)?.value as IDBOpenDBRequest).result as unknown as Closable);
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(errors).toEqual([]);
  });
});
