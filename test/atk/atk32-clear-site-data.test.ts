/**
 * atk32: "clear site data" under live tabs, as Chromium does it.
 *
 * Observed in Debian Chromium 150 (now a check of test/browser/run.ts, through CDP
 * `Storage.clearDataForOrigin`, what DevTools' "Clear site data" and the
 * browser's settings do): every connection gets a `close` event; the store
 * reopens at once (src/stores/idb.ts:184-188, `setTimeout(() => open(), 0)`),
 * but that open, issued while the origin's data is being cleared, fails with
 * `AbortError: The connection was closed.`. The failure is only forgotten
 * (src/stores/idb.ts:201-204, `current.catch(forget)`): nothing tries again,
 * so the tab notices the wipe at its next call, not "at once", and until then
 * it has written back nothing. Meanwhile any tab that opens or reserves sees
 * an empty database.
 *
 * Not a regression: 6495457's `lost()` reopened once too (same result in the
 * same Chromium). But it is exactly what the restructure's single handler
 * claims to cover ("so that a deletion is noticed now rather than at the next
 * sale"), and docs/idb-store.md says each tab "opens it again at once and
 * compares".
 */
import { IDBFactory, forceCloseDatabase } from 'fake-indexeddb';
import { describe, expect, it, vi } from 'vitest';
import { createGuard } from '../../src/index.js';
import { indexedDbStore } from '../../src/idb.js';
import { closedAfterEach, codes, deleteDatabase, OPTIONS, type Tab } from '../helpers/tabs.js';
import { ManualClock, sale } from '../helpers/guard.js';

const open = closedAfterEach();
type Closable = Parameters<typeof forceCloseDatabase>[0];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * fake-indexeddb behind a factory that behaves as Chromium did while clearing
 * site data: `clearSiteData()` closes every connection (a `close` event), fails
 * the opens issued meanwhile with AbortError, then deletes the database.
 */
function chromiumLikeDb(name: string) {
  const real = new IDBFactory();
  const connections: IDBDatabase[] = [];
  let clearing = false;
  const factory = {
    open(dbName: string, version?: number): IDBOpenDBRequest {
      if (clearing) {
        const request = {
          error: new DOMException('The connection was closed.', 'AbortError'),
          result: undefined,
        } as unknown as IDBOpenDBRequest;
        setTimeout(() => (request.onerror as (() => void) | null)?.(), 0);
        return request;
      }
      const request = real.open(dbName, version);
      request.addEventListener('success', () => connections.push(request.result));
      return request;
    },
    deleteDatabase: (dbName: string) => real.deleteDatabase(dbName),
  } as unknown as IDBFactory;
  return {
    db: { name, indexedDB: factory },
    async clearSiteData() {
      clearing = true;
      for (const connection of connections.splice(0)) forceCloseDatabase(connection as unknown as Closable);
      await sleep(20); // the tabs' reopens land here
      await deleteDatabase({ name, indexedDB: real });
      clearing = false;
    },
  };
}

async function tabOn(db: { name: string; indexedDB: IDBFactory }): Promise<Tab> {
  const store = indexedDbStore(db);
  const clock = new ManualClock();
  const t = { guard: await createGuard({ ...OPTIONS, store, clock }), store, clock };
  open.push(t);
  return t;
}

describe('site data cleared under two live tabs, one of them charging', () => {
  // FINDING (not a regression; simulated from the Chromium log in the next test).
  // At a till: tab B has sent a charge to the terminal; the site data is cleared (a
  // support person's "clear cache", a browser cleanup policy); tab B makes no call until
  // the terminal answers, so its attempt is nowhere in IndexedDB. A tab opened now (or a
  // reload of tab A) reserves the same sale and charges the customer a second time.
  it('each live tab notices at once and writes back: a tab opened afterwards is blocked', async () => {
    vi.stubGlobal('BroadcastChannel', undefined); // or a message not delivered yet
    const site = chromiumLikeDb('atk32-clear-1');
    const a = await tabOn(site.db);
    const b = await tabOn(site.db);
    const wiped: string[] = [];
    b.guard.on('storage-error', (e) => wiped.push(String((e.error as { code?: string }).code)));
    expect((await b.guard.begin(sale())).verdict).toBe('allow'); // tab B is charging
    await site.clearSiteData();
    await sleep(100); // no call from tab A or tab B meanwhile
    const c = await tabOn(site.db);
    const again = await c.guard.begin(sale());
    expect({ wiped, verdict: again.verdict, codes: codes(again) }).toMatchObject({ wiped: ['WIPED'], verdict: 'block' });
    void a;
  });
});
