/** Two or more tabs over one fake IndexedDB, for tests of what tabs do to each other. */
import { IDBFactory } from 'fake-indexeddb';
import { createGuard, type Guard, type GuardOptions, type RecoverAnswer } from '../../src/index.js';
import { indexedDbStore, type IndexedDbStore } from '../../src/idb.js';
import { virtualTime } from '../../src/scenarios/virtual-time.js';
import { ManualClock, SECRET, deferred } from './guard.js';

let count = 0;
export function freshDb(): { name: string; indexedDB: IDBFactory } {
  return { name: `pdg-review-${++count}`, indexedDB: new IDBFactory() };
}

export const OPTIONS = { merchantId: 'M-0001', secret: SECRET, window: '10m', pendingTimeout: '2m' } as const;

export interface Tab {
  guard: Guard;
  store: IndexedDbStore;
  clock: ManualClock;
}

export async function tab(
  db: { name: string; indexedDB: IDBFactory },
  clock = new ManualClock(),
  extra: Partial<GuardOptions> = {},
): Promise<Tab> {
  const store = indexedDbStore(db);
  const guard = await createGuard({ ...OPTIONS, ...extra, store, clock });
  return { guard, store, clock };
}

export function deleteDatabase(db: { name: string; indexedDB: IDBFactory }): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const request = db.indexedDB.deleteDatabase(db.name);
    request.onsuccess = () => resolve();
    request.onerror = () => reject(request.error ?? new Error(`deleting IndexedDB "${db.name}" failed`));
  });
}

export const settle = (ms = 20): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Tabs over one fresh IndexedDB on virtual time from `start`, whose `recover`
 * calls all wait for `hold`: `calls.most` is the most calls out at once.
 */
export function heldRecoverTabs(start: string) {
  const db = freshDb();
  const time = virtualTime(Date.parse(start));
  const hold = deferred<RecoverAnswer>();
  const calls = { out: 0, most: 0 };
  const recover = (): Promise<RecoverAnswer> => {
    calls.most = Math.max(calls.most, ++calls.out);
    return hold.promise.finally(() => calls.out--);
  };
  const tab = (extra: Partial<GuardOptions> = {}) =>
    createGuard({
      ...OPTIONS,
      store: indexedDbStore(db),
      clock: time.clock,
      scheduler: time.scheduler,
      recover,
      recoverAfter: '1h',
      ...extra,
    });
  return { db, time, hold, calls, tab };
}
