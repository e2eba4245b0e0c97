import { promisifyRequest } from 'idb-keyval';
import { GuardStorageError } from '../../errors.js';
import { unavailable } from './errors.js';

/** idb-keyval's `UseStore`, plus a durability hint: the write-ahead writes pass `'strict'`. */
export type Use = <T>(
  mode: IDBTransactionMode,
  callback: (store: IDBObjectStore) => T | PromiseLike<T>,
  durability?: IDBTransactionDurability,
) => Promise<T>;

export interface Connection {
  readonly use: Use;
  /** Closes the connection; a later `use` opens a new one. */
  close(): void;
}

/**
 * idb-keyval's `createStore(dbName, storeName)` with differences that
 * matter at a till: the `IDBFactory` is resolved at first use and may be
 * injected (importing this in Node or during SSR never touches `indexedDB`,
 * and tests pass fake-indexeddb), a connection another tab needs to
 * upgrade or delete is released instead of blocking that tab, and the
 * database has a schema version (its indexes, see VERSION).
 */
export function connect(
  factory: () => IDBFactory,
  dbName: string,
  storeName: string,
  onOpen: () => void,
  onRecreated: () => void,
): Connection {
  let opening: Promise<IDBDatabase> | undefined;
  // Each database gets a random instance id when it is created. A database
  // found with another id than the last one this store saw was deleted
  // under it (site data cleared, `indexedDB.deleteDatabase`), whichever tab
  // created it again.
  let instance: string | undefined;

  /** Opens at `version`, creating or upgrading the schema. */
  const openAt = (version?: number): Promise<IDBDatabase> => {
    const request = factory().open(dbName, version);
    request.onupgradeneeded = (event) => {
      // Version 1 (releases before history) is the object store alone: its
      // records are indexed as they are, so nothing is rewritten and the
      // instance id stays (an upgrade is not a wipe).
      const store =
        event.oldVersion < 1 ? request.result.createObjectStore(storeName) : (request.transaction as IDBTransaction).objectStore(storeName);
      if (event.oldVersion < 1) store.put(newInstance(), INSTANCE);
      // Guarded: a database created by the version-less open below has them already.
      if (!store.indexNames.contains(BY_TIME)) store.createIndex(BY_TIME, BY_TIME);
      if (!store.indexNames.contains(BY_STATE)) store.createIndex(BY_STATE, ['status', 'kind']);
    };
    return promisifyRequest(request);
  };

  const open = (): Promise<IDBDatabase> => {
    if (opening) return opening;
    const current: Promise<IDBDatabase> = openAt(VERSION)
      // Upgraded past ours by a newer release in another tab: use it as it is, as releases before 2 did.
      .catch((error: unknown) => ((error as { name?: unknown } | null)?.name === 'VersionError' ? openAt() : Promise.reject(error)))
      .then(async (db) => {
        // The engine may close a connection under us (site data cleared,
        // Safari's habit): forget it, and look again at once, so that a
        // deletion is noticed now rather than at the next sale.
        const lost = () => {
          forget();
          setTimeout(() => void open().catch(() => undefined), 0);
        };
        db.onclose = lost;
        db.onversionchange = (event) => {
          db.close();
          if (event.newVersion === null) lost();
          else forget();
        };
        const seen = await readInstance(db, storeName);
        const recreated = instance !== undefined && seen !== instance;
        instance = seen;
        onOpen();
        if (recreated) onRecreated();
        return db;
      });
    const forget = () => {
      if (opening === current) opening = undefined;
    };
    current.catch(forget);
    opening = current;
    return current;
  };

  // No IndexedDB, a sandboxed frame, a private mode that refuses storage.
  const cannotOpen = (error: unknown): Promise<never> =>
    Promise.reject(
      error instanceof GuardStorageError ? error : unavailable(`IndexedDB "${dbName}" cannot be opened here: ${String(error)}`, error),
    );

  const use: Use = (mode, callback, durability) => {
    let pending: Promise<IDBDatabase>;
    try {
      pending = open();
    } catch (error) {
      return cannotOpen(error);
    }
    return pending.then((db) => {
      let tx: IDBTransaction;
      try {
        tx = db.transaction(storeName, mode, durability ? { durability } : undefined);
      } catch (error) {
        // Closed by a version change or by the engine: fail this call, reopen on the next.
        if (opening === pending) opening = undefined;
        throw error;
      }
      return callback(tx.objectStore(storeName));
    }, cannotOpen);
  };

  return {
    use,
    close() {
      opening?.then(
        (db) => db.close(),
        () => undefined,
      );
      opening = undefined;
    },
  };
}

/**
 * The schema. Version 2 adds two indexes over the records (other values
 * lack the key paths, so they are not indexed): `updatedAt`, for the records
 * changed since a time (start-up) or before one (pruning), and `state`,
 * `[status, kind]`, for the open ones and the approved refunds, whatever
 * their age. The engine keeps both current for every writer, a tab still
 * running an older release included.
 */
const VERSION = 2;
export const BY_TIME = 'updatedAt';
export const BY_STATE = 'state';

/** `m:instance`: the random id a database got when it was created. */
const INSTANCE = 'm:instance';

function newInstance(): string {
  return Math.random().toString(36).slice(2);
}

/** The database's instance id, given one if it has none (created by an older release). */
function readInstance(db: IDBDatabase, storeName: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const tx = db.transaction(storeName, 'readwrite');
    const store = tx.objectStore(storeName);
    const request = store.get(INSTANCE);
    let id = '';
    request.onsuccess = () => {
      id = typeof request.result === 'string' ? request.result : newInstance();
      if (id !== request.result) store.put(id, INSTANCE);
    };
    tx.oncomplete = () => resolve(id);
    // Giving an old database its id is best effort (a full disk must not stop the till):
    // without one stored, a deletion is still noticed through versionchange and close.
    tx.onabort = () => (id ? resolve(id) : reject(tx.error ?? new Error('transaction aborted')));
  });
}
