import { GuardStorageError, invalidOption } from '../errors.js';
import { storeOptions } from '../snapshot.js';
import { claimOf, orderKey, staysFiled } from '../claims.js';
import { isOpen } from '../lifecycle.js';
import { JOURNAL_FROM, JOURNAL_HEAD, headText, parseJournalHead } from '../journal/chain.js';
import type { AttemptRecord, Claim, GuardStore, JournalEntry, JournalSeal, StoreChange } from '../types.js';
import { recordProblem } from '../record.js';
import { BY_STATE, BY_TIME, connect } from './idb/connection.js';
import { toStorageError, unavailable } from './idb/errors.js';

export interface IndexedDbStoreOptions {
  /**
   * Database name. Each name is one database holding one object store, so
   * guards that must not share a history (two merchants in one shell) use two names.
   * @default 'pos-duplicate-guard'
   */
  name?: string;
  /** Journal entries kept, oldest dropped first, so a kiosk that never reloads stays bounded. @default 10_000 */
  journalLimit?: number;
  /**
   * The IndexedDB to use, e.g. fake-indexeddb's `new IDBFactory()` in tests.
   * @default globalThis.indexedDB, read at first use
   */
  indexedDB?: IDBFactory;
}

export interface IndexedDbStore extends GuardStore {
  /** The database name. */
  readonly name: string;
  get(id: string): Promise<AttemptRecord | undefined>;
  byOrder(merchantId: string, orderId: string): Promise<AttemptRecord[]>;
  prune(before: number): Promise<number>;
  claim(claim: Claim, judge: (related: AttemptRecord[]) => readonly AttemptRecord[] | undefined): Promise<boolean>;
  subscribe(listener: (change: StoreChange) => void): () => void;
  announce(record: AttemptRecord): void;
  /** The journal entries kept (up to `journalLimit`), oldest first: those of releases before the chain, then by `seq`. */
  journal(): Promise<JournalEntry[]>;
  /**
   * Whether the browser agreed to keep this origin's data under storage
   * pressure (`navigator.storage.persist()`, asked once, at open). `undefined`
   * where the API is missing, e.g. on `http://` pages.
   */
  persistent(): Promise<boolean | undefined>;
  close(): Promise<void>;
}

// Key layout, one object store per database. The prefixes keep each kind in
// its own key range: 'c:' < 'h:' < 'j:' < 'm:' < 'r:'.
/** `c:<claim key>` → the ids of the live records filed under it. */
const CLAIM = 'c:';
/** `h:<id>` → the claim keys that record is filed under, so settling it unfiles it. */
const HELD = 'h:';
/** `j:~<seq>` → a journal entry on the chain; `j:<time>-<tab><n>` → one of a release before it. */
const JOURNAL = 'j:';
/** Sealed entries, keyed by seq in base 36 (after the time-keyed entries of releases before the chain: '~' sorts last). */
const SEALED = `${JOURNAL}~`;
/** `m:<key>` → metadata (the key check value). */
const META = 'm:';
/** `r:<id>` → an AttemptRecord. */
const RECORD = 'r:';
const OBJECT_STORE = 'guard';
/**
 * The `[status, kind]` of the records `isHot` keeps at any age: open ones,
 * and approved refunds (start-up re-counts them on their sale). Read from
 * the `state` index, so start-up never walks the settled history.
 */
// The [status, kind] pairs `hotAtAnyAge` accepts (history.ts); test/stores/idb/history.test.ts checks them against `isHot`.
const HOT_STATES = [
  ['pending', 'sale'],
  ['pending', 'refund'],
  ['unknown', 'sale'],
  ['unknown', 'refund'],
  ['approved', 'refund'],
];

/**
 * What tabs post to each other: the id of a record written (the receiver
 * re-reads it from the database: a message is a hint, never the truth), or
 * a record a tab holds in memory only because its write failed.
 */
type Broadcast = { from: string; id: string } | { from: string; unpersisted: AttemptRecord };

/**
 * The browser store, on idb-keyval. Records survive reloads and
 * crashes; `claim` makes a reservation one IndexedDB read-write transaction, so
 * two tabs cannot both reserve one sale, on `http://` pages too (no Web Locks,
 * no `crypto.subtle` needed); a BroadcastChannel keeps other tabs' guards
 * current without a reload.
 *
 * Nothing touches IndexedDB until first use: in Node without `indexedDB` the
 * first call (so `createGuard`) rejects with `GuardStorageError` code `UNAVAILABLE`.
 *
 * @example
 * const guard = await createGuard({ merchantId: 'M-0001', secret, store: indexedDbStore() });
 */
/* @__NO_SIDE_EFFECTS__ */
export function indexedDbStore(options: IndexedDbStoreOptions = {}): IndexedDbStore {
  // Copied once: a getter or Proxy in the options is read here, never again.
  options = storeOptions(options, { indexedDB: 'ref' });
  const name = options.name ?? 'pos-duplicate-guard';
  const journalLimit = options.journalLimit ?? 10_000;
  if (!Number.isSafeInteger(journalLimit) || journalLimit < 1) {
    invalidOption('journalLimit', 'an integer >= 1 (the entries kept, oldest dropped first)', journalLimit);
  }
  // Trimming walks the journal's keys, so do it once per tenth of the limit, not per entry.
  const trimEvery = Math.ceil(journalLimit / 10);
  // Tells this store's broadcasts and journal keys from another tab's.
  const tag = Math.random().toString(36).slice(2, 8);

  let persisted: Promise<boolean | undefined> | undefined;
  const persist = () => (persisted ??= askPersistence());
  const listeners = new Set<(change: StoreChange) => void>();
  const notify = (change: StoreChange): void => {
    for (const listener of listeners) listener(change);
  };
  const connection = connect(
    () => resolveFactory(options.indexedDB, name),
    name,
    OBJECT_STORE,
    () => void persist(),
    () => notify({ type: 'wiped', detail: `IndexedDB "${name}" was deleted under this tab (site data cleared?) and created anew` }),
  );
  let channel: BroadcastChannel | undefined;
  let journalSeq = 0;
  let closed = false;

  /** Runs `body` as one transaction; IndexedDB errors become `GuardStorageError`s. */
  const run = <T>(operation: string, mode: IDBTransactionMode, body: Body<T>, durability?: IDBTransactionDurability): Promise<T> =>
    (closed
      ? Promise.reject(new GuardStorageError('CLOSED', `IndexedDB store "${name}" is closed`))
      : connection.use(mode, (store) => commit(store, body), durability)
    ).catch((error: unknown) => {
      throw toStorageError(error, operation, name);
    });

  const post = (message: Broadcast): void => {
    try {
      openChannel()?.postMessage(message);
    } catch {
      // Best effort: the claim transaction is what keeps tabs apart; this only
      // spares them a stale index until their next claim meets the record.
    }
  };
  const announce = (record: AttemptRecord): void => post({ from: tag, id: record.id });

  /** The value stored under `key`, read in its turn: after the writes issued before. */
  const value = (operation: string, key: string): Promise<unknown> =>
    run(operation, 'readonly', (store, done) => read(store, [key], ([found]) => done(found)));
  const get = (id: string): Promise<AttemptRecord | undefined> =>
    value('get', RECORD + id).then((found) => (isRecord(found) ? found : undefined));

  /** The record as the database holds it now, for a tab that was told it changed. */
  const reread = (id: string): void => {
    get(id).then(
      (record) => record && notify({ type: 'record', record }),
      () => undefined, // the next claim reads it anyway
    );
  };

  const openChannel = (): BroadcastChannel | undefined => {
    if (channel || closed || typeof BroadcastChannel === 'undefined') return channel;
    channel = new BroadcastChannel(`pos-duplicate-guard:${name}`);
    // Node keeps a process alive while a channel is open; a store must not.
    (channel as { unref?: () => void }).unref?.();
    channel.onmessage = (event: MessageEvent<unknown>) => {
      const message = event.data as { from?: unknown; id?: unknown; unpersisted?: unknown } | null;
      if (typeof message !== 'object' || message === null || message.from === tag) return;
      if (typeof message.id === 'string') reread(message.id);
      else if (isRecord(message.unpersisted)) notify({ type: 'unpersisted', record: message.unpersisted });
    };
    return channel;
  };

  return {
    name,

    load: (scope) =>
      scope
        ? run<Map<string, AttemptRecord>>('load', 'readonly', (store, done) => {
            // At start-up with history: the hot records only, from the two
            // indexes, never the whole history (nor the journal, which
            // appendJournal trims). A record both open and recent comes once.
            const hot = new Map<string, AttemptRecord>();
            const add = (value: unknown) => {
              if (isRecord(value)) hot.set(value.id, value);
            };
            done(hot);
            for (const state of HOT_STATES) {
              const request = store.index(BY_STATE).getAll(state);
              request.onsuccess = () => request.result.forEach(add);
            }
            // Newest first, up to the first one updated before `since`: no IDBKeyRange,
            // which is not a global where the factory is injected.
            walk(
              store.index(BY_TIME).openCursor(null, 'prev'),
              (cursor) => (cursor.key as number) >= scope.since && (add(cursor.value), cursor.continue()),
            );
          }).then((hot) => [...hot.values()])
        : run<AttemptRecord[]>('load', 'readwrite', (store, done) => {
            const keys = store.getAllKeys();
            const values = store.getAll();
            values.onsuccess = () => {
              const records: AttemptRecord[] = [];
              const journal: IDBValidKey[] = [];
              keys.result.forEach((key, i) => {
                const value: unknown = values.result[i];
                if (typeof key !== 'string') return;
                if (key.startsWith(RECORD) && isRecord(value)) records.push(value);
                else if (key.startsWith(JOURNAL)) journal.push(key);
              });
              // Keys come sorted, so the oldest entries come first.
              dropOldest(store, journal, journalLimit);
              done(records);
            };
          }),

    put: (record) => run('put', 'readwrite', (store) => write(store, record), 'strict').then(() => announce(record)),

    delete: (id) =>
      run('delete', 'readwrite', (store) => {
        store.delete(RECORD + id);
        release(store, id);
      }),

    get,

    byOrder: (merchantId, orderId) =>
      run<AttemptRecord[]>('byOrder', 'readonly', (store, done) =>
        // What is filed under the order's claim key, which every tab's writes keep current.
        related(store, [CLAIM + orderKey(merchantId, orderId)], [], (records) =>
          // The key joins merchant and order with NUL: another pair can join to the same key.
          done(records.filter((r) => staysFiled(r) && r.merchantId === merchantId && r.orderId === orderId)),
        ),
      ),

    prune: (before) => {
      let count = 0;
      // Oldest first, up to the first one updated at or after `before`: a
      // prune visits what expired (and the few open records that old), not
      // the history. Deleting unfiles, as a settle does.
      return run('prune', 'readwrite', (store) =>
        walk(store.index(BY_TIME).openCursor(), (cursor) => {
          const value: unknown = cursor.value;
          if ((cursor.key as number) >= before) return;
          if (isRecord(value) && !isOpen(value.status)) {
            cursor.delete();
            release(store, value.id);
            count++;
          }
          cursor.continue();
        }),
      ).then(() => count);
    },

    getMeta: (key) => value('getMeta', META + key) as Promise<string | undefined>,

    setMeta: (key, value) => run('setMeta', 'readwrite', (store) => store.put(value, META + key)),

    appendJournal: (entry: JournalEntry, seal?: JournalSeal) =>
      run('appendJournal', 'readwrite', (store) => {
        journalSeq++;
        if (journalSeq % trimEvery === 0) trimJournal(store, journalLimit);
        // Base 36, fixed width: keys sort by time and carry no long digit runs
        // (so a scan of the database for PAN-like numbers stays meaningful).
        const at = Math.max(0, entry.at).toString(36).padStart(9, '0');
        if (!seal) return void store.put(entry, `${JOURNAL}${at}-${tag}${journalSeq.toString(36)}`);
        // Sealed against the head read in this same read-write transaction, and the head written in it
        // too: every tab extends one chain, and the head is never ahead of the entries (or behind them).
        read(store, [META + JOURNAL_HEAD], ([text]) => {
          const sealed = seal(entry, parseJournalHead(typeof text === 'string' ? text : undefined));
          // Keyed by seq, after the time-keyed entries of releases before the chain ('~' sorts after base 36).
          store.put(sealed, `${SEALED}${sealed.seq.toString(36).padStart(9, '0')}`);
          store.put(headText(sealed), META + JOURNAL_HEAD);
        });
      }),

    journal: () =>
      run<JournalEntry[]>('journal', 'readonly', (store, done) => {
        const entries: JournalEntry[] = [];
        done(entries);
        // Jumps to the journal's key range with `continue`: `IDBKeyRange` is not a global where the factory is injected.
        walk(store.openCursor(), (cursor) => {
          const key = cursor.key;
          if (typeof key === 'string' && key < JOURNAL) return cursor.continue(JOURNAL);
          if (typeof key !== 'string' || !key.startsWith(JOURNAL)) return;
          entries.push(cursor.value as JournalEntry);
          cursor.continue();
        });
      }),

    claim: (claim, judge) => {
      const keys = claim.keys.map((key) => CLAIM + key);
      let failure: { error: unknown } | undefined;
      let written: readonly AttemptRecord[] = [];
      return run<boolean>(
        'claim',
        'readwrite',
        (store, done) => {
          // Every read and write below happens in this one read-write
          // transaction, issued from request callbacks (never after an await),
          // and IndexedDB runs overlapping read-write transactions one at a
          // time: of two tabs claiming one sale, the second sees the first's
          // record, and the guard's rules judge it before anything is written.
          related(store, keys, claim.ids, (records) => {
            try {
              written = judge(records) ?? [];
            } catch (error) {
              failure = { error };
              store.transaction.abort();
              return;
            }
            done(written.length > 0);
            // Lists stay short without pruning here: settling or deleting a record unfiles it.
            for (const record of written) write(store, record);
          });
        },
        'strict',
      ).then(
        (admitted) => {
          for (const record of written) announce(record);
          return admitted;
        },
        (error: unknown) => {
          throw failure ? failure.error : error;
        },
      );
    },

    subscribe: (listener) => {
      // Without BroadcastChannel the listener still hears of a wiped database.
      openChannel();
      listeners.add(listener);
      return () => {
        listeners.delete(listener);
      };
    },

    announce: (record) => post({ from: tag, unpersisted: record }),

    persistent: persist,

    close: async () => {
      closed = true;
      listeners.clear();
      channel?.close();
      channel = undefined;
      connection.close();
    },
  };
}

/** Issues a transaction's requests; `done` reports its result from their callbacks. */
type Body<T> = (store: IDBObjectStore, done: (value: T) => void) => void;

/**
 * Resolves with `body`'s result once the transaction committed (so the data
 * is durable), rejects if it aborted. A failed request or a quota error at
 * commit aborts the whole transaction, and `tx.error` names the real cause
 * (requests only say AbortError).
 */
function commit<T>(store: IDBObjectStore, body: Body<T>): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const tx = store.transaction;
    let result: T | undefined;
    tx.oncomplete = () => resolve(result as T);
    tx.onabort = () => reject(tx.error ?? new DOMException('aborted', 'AbortError'));
    try {
      body(store, (value) => (result = value));
    } catch (error) {
      // A request on a transaction that already aborted throws: the abort's reason is the real one.
      if (!tx.error) reject(error);
    }
  });
}

/** Reads `keys` in order, then calls `next` from the last request's callback, while the transaction is still active. */
function read(store: IDBObjectStore, keys: readonly string[], next: (values: unknown[]) => void): void {
  if (keys.length === 0) return next([]);
  const values: unknown[] = [];
  let left = keys.length;
  keys.forEach((key, i) => {
    const request = store.get(key);
    request.onsuccess = () => {
      values[i] = request.result;
      if (--left === 0) afterAbort(() => next(values));
    };
  });
}

/** The records filed under `keys` (prefixed claim keys) and those named by `ids`, each once. */
function related(store: IDBObjectStore, keys: readonly string[], ids: readonly string[], next: (records: AttemptRecord[]) => void): void {
  read(store, keys, (lists) => {
    const all = [...new Set([...lists.flatMap(idsOf), ...ids])];
    read(
      store,
      all.map((id) => RECORD + id),
      (values) => next(values.filter(isRecord)),
    );
  });
}

/** Hands `visit` each position of a cursor, which it moves on (`continue`) or leaves, ending the walk. */
function walk(request: IDBRequest<IDBCursorWithValue | null>, visit: (cursor: IDBCursorWithValue) => unknown): void {
  request.onsuccess = () => request.result && visit(request.result);
}

/**
 * Runs a request callback whose transaction may have aborted meanwhile (a
 * full disk): its further requests then throw, and the abort itself, not
 * that throw, is what the transaction reports.
 */
function afterAbort(body: () => void): void {
  try {
    body();
  } catch (error) {
    const name = (error as { name?: unknown } | null)?.name;
    if (name !== 'TransactionInactiveError' && name !== 'InvalidStateError') throw error;
  }
}

/**
 * Writes a record, and files it under its claim keys while it can hold back
 * a sale (or unfiles it once it cannot): whether it is written by a claim or
 * by a plain put (a settle, or a write retried after a storage failure), the
 * next reservation in any tab meets it.
 */
function write(store: IDBObjectStore, record: AttemptRecord): void {
  store.put(record, RECORD + record.id);
  if (!staysFiled(record)) return release(store, record.id);
  const keys = claimOf(record).keys.map((key) => CLAIM + key);
  store.put(keys, HELD + record.id);
  read(store, keys, (lists) => {
    lists.forEach((list, i) => {
      const ids = idsOf(list);
      if (!ids.includes(record.id)) store.put([...ids, record.id], keys[i]);
    });
  });
}

/**
 * Unfiles a record that can no longer hold back a sale (settled, pruned)
 * from the claim keys it was filed under, whichever tab settles or prunes
 * it: the lists stay as short as the live records.
 */
function release(store: IDBObjectStore, id: string): void {
  read(store, [HELD + id], ([keys]) => {
    if (!Array.isArray(keys)) return;
    store.delete(HELD + id);
    read(store, keys as string[], (lists) => {
      lists.forEach((list, i) => {
        const ids = idsOf(list);
        if (!ids.includes(id)) return;
        const rest = ids.filter((other) => other !== id);
        if (rest.length === 0) store.delete(keys[i] as string);
        else store.put(rest, keys[i] as string);
      });
    });
  });
}

/** The ids filed under a claim key (a single id, as releases before 0.2 wrote it, reads as one). */
function idsOf(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  return Array.isArray(value) ? value.filter((id): id is string => typeof id === 'string') : [];
}

/**
 * Deletes the oldest journal entries beyond `limit`. Walks keys with a cursor
 * that jumps to the journal's range, since `IDBKeyRange` is not a global where
 * the factory is injected.
 */
function trimJournal(store: IDBObjectStore, limit: number): void {
  const keys: IDBValidKey[] = [];
  const request = store.openKeyCursor();
  request.onsuccess = () => {
    const cursor = request.result;
    const key = cursor?.key;
    if (cursor && typeof key === 'string' && key < JOURNAL) return cursor.continue(JOURNAL);
    if (cursor && typeof key === 'string' && key.startsWith(JOURNAL)) {
      keys.push(key);
      return cursor.continue();
    }
    dropOldest(store, keys, limit);
  };
}

/**
 * Deletes the journal keys (sorted, oldest first) beyond `limit`, and when
 * sealed entries go, records where the chain now starts (`journal-from`, in
 * the same transaction): a verifier then tells this trim from someone
 * deleting the first entries kept, which reads as `missing`.
 */
function dropOldest(store: IDBObjectStore, keys: readonly IDBValidKey[], limit: number): void {
  const dropped = keys.slice(0, -limit);
  for (const key of dropped) store.delete(key);
  const firstKept = keys.slice(-limit).find((key) => typeof key === 'string' && key.startsWith(SEALED));
  if (firstKept !== undefined && dropped.some((key) => typeof key === 'string' && key.startsWith(SEALED))) {
    store.put(`${parseInt((firstKept as string).slice(SEALED.length), 36)}`, META + JOURNAL_FROM);
  }
}

function resolveFactory(injected: IDBFactory | undefined, name: string): IDBFactory {
  let factory: IDBFactory | undefined;
  let failure: unknown;
  try {
    factory = injected ?? globalThis.indexedDB;
  } catch (error) {
    // Some sandboxed frames throw SecurityError on mere access.
    failure = error;
  }
  if (factory) return factory;
  throw unavailable(`IndexedDB is unavailable here, so indexedDbStore("${name}") cannot persist (in Node, use fileStore)`, failure);
}

/** `navigator.storage.persist()`: asks the browser not to evict this origin's data under storage pressure. */
async function askPersistence(): Promise<boolean | undefined> {
  const storage = typeof navigator === 'undefined' ? undefined : (navigator as Partial<Navigator>).storage;
  try {
    return await storage?.persist?.();
  } catch {
    return undefined;
  }
}

/** A structurally plausible record: what another tab or an older version wrote is not trusted blindly. */
function isRecord(value: unknown): value is AttemptRecord {
  return recordProblem(value) === undefined;
}
