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
 * idb-keyval's `createStore(dbName, storeName)` with two differences that
 * matter at a till: the `IDBFactory` is resolved at first use and may be
 * injected (importing this in Node or during SSR never touches `indexedDB`,
 * and tests pass fake-indexeddb), and a connection another tab needs to
 * upgrade or delete is released instead of blocking that tab.
 */
export function connect(factory: () => IDBFactory, dbName: string, storeName: string, onOpen: () => void, onRecreated: () => void): Connection {
  let opening: Promise<IDBDatabase> | undefined;
  // Once a connection has opened, a database found new again was deleted
  // under this tab (site data cleared, `indexedDB.deleteDatabase`).
  let opened = false;

  const open = (): Promise<IDBDatabase> => {
    if (opening) return opening;
    const request = factory().open(dbName);
    let recreated = false;
    request.onupgradeneeded = (event) => {
      recreated = opened && event.oldVersion === 0;
      request.result.createObjectStore(storeName);
    };
    const current: Promise<IDBDatabase> = promisifyRequest(request).then((db) => {
      // The engine may close a connection under us (site data cleared,
      // Safari's habit): forget it, and the next call reopens.
      db.onclose = forget;
      db.onversionchange = () => {
        db.close();
        forget();
      };
      onOpen();
      opened = true;
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
    Promise.reject(error instanceof GuardStorageError ? error : unavailable(`IndexedDB "${dbName}" cannot be opened here: ${String(error)}`, error));

  const use: Use = (mode, callback, durability) => {
    let pending: Promise<IDBDatabase>;
    try {
      pending = open();
    } catch (error) {
      return cannotOpen(error);
    }
    return pending.then(
      (db) => {
        let tx: IDBTransaction;
        try {
          tx = db.transaction(storeName, mode, durability ? { durability } : undefined);
        } catch (error) {
          // Closed by a version change or by the engine: fail this call, reopen on the next.
          if (opening === pending) opening = undefined;
          throw error;
        }
        return callback(tx.objectStore(storeName));
      },
      cannotOpen,
    );
  };

  return {
    use,
    close() {
      opening?.then((db) => db.close(), () => undefined);
      opening = undefined;
    },
  };
}
