/**
 * Raw IndexedDB, behind the store's back: what the tests read to see what
 * really got persisted, and write as another version or a tool could.
 */

/** A database: its name and the (fake) IndexedDB it lives in. */
export interface Db {
  name: string;
  indexedDB: IDBFactory;
}

export function asPromise<T>(request: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

/** Every key and value in the database's object store. */
export async function dump(db: Db): Promise<Map<string, unknown>> {
  return (await inspect(db)).data;
}

/** The database's version, the object store's indexes, and every key and value. */
export async function inspect(db: Db): Promise<{ version: number; indexes: string[]; data: Map<string, unknown> }> {
  const connection = await asPromise(db.indexedDB.open(db.name));
  try {
    const store = connection.transaction('guard', 'readonly').objectStore('guard');
    const [keys, values] = await Promise.all([asPromise(store.getAllKeys()), asPromise(store.getAll())]);
    return {
      version: connection.version,
      indexes: [...store.indexNames].sort(),
      data: new Map(keys.map((key, i) => [String(key), values[i]])),
    };
  } finally {
    connection.close();
  }
}

/** Writes `value` under `key`, as another version or a tool could. */
export async function rawPut(db: Db, key: string, value: unknown): Promise<void> {
  const connection = await asPromise(db.indexedDB.open(db.name));
  try {
    const tx = connection.transaction('guard', 'readwrite');
    tx.objectStore('guard').put(value, key);
    await new Promise((resolve, reject) => {
      tx.oncomplete = resolve;
      tx.onabort = () => reject(tx.error);
    });
  } finally {
    connection.close();
  }
}
