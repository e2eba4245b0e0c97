import { promisifyRequest } from 'idb-keyval';
import { GuardStorageError, invalidOption } from '../errors.js';
import { storeOptions } from '../snapshot.js';
import { claimOf, orderKey, staysFiled } from '../claims.js';
import { isOpen } from '../lifecycle.js';
import { JOURNAL_FROM, JOURNAL_HEAD, headText, parseJournalHead } from '../journal/chain.js';
import type { AttemptRecord, Claim, GuardStore, JournalEntry, JournalSeal, StoreChange } from '../types.js';
import { recordProblem } from '../record.js';
import { nameOf, toStorageError } from './idb/errors.js';

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
/**
 * Sealed entries, keyed by seq in base 36, fixed width: after the time-keyed
 * entries of releases before the chain ('~' sorts after base 36), in seq order.
 */
const SEALED = `${JOURNAL}~`;
/** `m:<key>` → metadata (the key check value, `m:instance`). */
const META = 'm:';
/** `r:<id>` → an AttemptRecord. */
const RECORD = 'r:';
const OBJECT_STORE = 'guard';
/** `m:instance`: the random id a database got when it was created. */
const INSTANCE = `${META}instance`;
/** How long a call waits for the connection to open again after it was lost (see `reopened`). */
const REOPEN_WAIT_MS = 3_000;
/** What this store saw as the instance id before its first open. */
const NOT_OPENED = Symbol('not opened');

/**
 * The schema. Version 2 adds two indexes over the records (other values
 * lack the key paths, so they are not indexed): `updatedAt`, for the records
 * changed since a time (start-up) or before one (pruning), and `state`,
 * `[status, kind]`, for the open ones and the approved refunds, whatever
 * their age. The engine keeps both current for every writer, a tab still
 * running an older release included.
 */
const VERSION = 2;
const BY_TIME = 'updatedAt';
const BY_STATE = 'state';
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
  if (!Number.isSafeInteger(journalLimit) || journalLimit < 1) invalidOption('journalLimit', 'an integer >= 1', journalLimit);
  // Trimming walks the journal's keys, so do it once per tenth of the limit, not per entry.
  const trimEvery = Math.ceil(journalLimit / 10);
  // Tells this store's broadcasts and journal keys from another tab's.
  const tag = randomId().slice(0, 6);

  let persisted: Promise<boolean | undefined> | undefined;
  const persist = () => (persisted ??= askPersistence());
  const listeners = new Set<(change: StoreChange) => void>();
  const notify = (change: StoreChange): void => {
    for (const listener of listeners) listener(change);
  };
  let channel: BroadcastChannel | undefined;
  let journalSeq = 0;
  let closed = false;
  let opening: Promise<IDBDatabase> | undefined;
  /** Whether the connection `opening` resolves to is open now. */
  let live = false;
  // Each database gets a random instance id when it is created. A database
  // found with another id than the last one this store saw was deleted
  // under it (site data cleared, `indexedDB.deleteDatabase`), whichever tab
  // created it again. One found without an id (giving it one failed) and
  // later with one is another database too.
  let instance: unknown = NOT_OPENED;

  /**
   * Opens at `version`, creating or upgrading the schema. The `IDBFactory`
   * is read at first use (importing this in Node or during SSR never touches
   * `indexedDB`; a sandboxed frame may throw on mere access).
   */
  const openAt = (version?: number): Promise<IDBDatabase> => {
    const request = (options.indexedDB ?? globalThis.indexedDB).open(name, version);
    request.onupgradeneeded = (event) => {
      // Version 1 (releases before history) is the object store alone: its
      // records are indexed as they are, so nothing is rewritten and the
      // instance id stays (an upgrade is not a wipe). A database without
      // one (created by a release before it) is given one: `add` fails on
      // an id already there, and that failure must not abort the upgrade.
      const store =
        event.oldVersion < 1
          ? request.result.createObjectStore(OBJECT_STORE)
          : (request.transaction as IDBTransaction).objectStore(OBJECT_STORE);
      store.add(randomId(), INSTANCE).onerror = (error) => error.preventDefault();
      // Guarded: a database created by the version-less open below has them already.
      if (!store.indexNames.contains(BY_TIME)) store.createIndex(BY_TIME, BY_TIME);
      if (!store.indexNames.contains(BY_STATE)) store.createIndex(BY_STATE, ['status', 'kind']);
    };
    return promisifyRequest(request);
  };

  /**
   * The connection, opened at first use and again after it was lost. Unlike
   * idb-keyval's `createStore`, a connection another tab needs to upgrade or
   * delete is released instead of blocking that tab.
   */
  const open = (): Promise<IDBDatabase> => {
    if (opening) return opening;
    const current = (async () => {
      try {
        // Upgraded past ours by a newer release in another tab: use it as it is, as releases before 2 did.
        const db = await openAt(VERSION).catch((error: unknown) => (nameOf(error) === 'VersionError' ? openAt() : Promise.reject(error)));
        // Another tab upgrades or deletes the database (versionchange), or the engine closed
        // the connection under us (site data cleared, Safari's habit): let go of it, and open
        // it again at once unless the store was closed, so that a deletion is noticed now rather
        // than at the next sale, and an upgrade is not blocked.
        db.onclose = db.onversionchange = () => {
          db.close();
          live = false;
          forget();
          reopen(0);
        };
        // An id that is not text (damage) reads as none: an object or NaN never equals itself on the next read.
        const seen = await transact<string | undefined>(db.transaction(OBJECT_STORE, 'readonly'), (store, done) =>
          read(store, [INSTANCE], ([id]) => done(typeof id === 'string' ? id : undefined)),
        );
        const recreated = instance !== NOT_OPENED && seen !== instance;
        instance = seen;
        void persist();
        if (recreated) notify({ type: 'wiped', detail: `IndexedDB "${name}" was deleted under this tab (site data cleared?)` });
        live = true;
        return db;
      } catch (error) {
        throw toStorageError(error, 'open', name, 'UNAVAILABLE');
      }
    })();
    const forget = () => {
      if (opening === current) opening = undefined;
    };
    current.catch(forget);
    return (opening = current);
  };

  /**
   * Opens again after the connection was lost. An open issued while the
   * browser still clears the origin's data fails (Chromium: AbortError), so
   * a failed one is tried again, 0.1 s later and doubling up to 5 s, for
   * about half a minute; after that the next call opens.
   */
  const reopen = (delay: number, tries = 10): void => {
    const timer = setTimeout(() => {
      if (closed || opening || tries <= 0) return;
      open().catch(() => reopen(Math.min(Math.max(delay * 2, 100), 5_000), tries - 1));
    }, delay);
    // Node keeps a process alive while a timer runs; a store must not.
    (timer as { unref?: () => void }).unref?.();
  };

  /**
   * A reopen (after the connection was lost) that has not answered within
   * REOPEN_WAIT_MS: queued behind another tab's upgrade that a third tab's
   * connection blocks, it may wait as long as that tab lives. The call fails
   * UNAVAILABLE (the guard applies `onStorageError`) rather than hang the
   * till; the open goes on, and a later call uses it. The first open is not
   * limited: a slow device's start-up waits for it.
   */
  const reopened = (connection: Promise<IDBDatabase>): Promise<IDBDatabase> =>
    new Promise((resolve, reject) => {
      const unanswered = `IndexedDB "${name}" did not open again within ${REOPEN_WAIT_MS} ms (an upgrade another tab blocks?)`;
      const timer = setTimeout(() => reject(new GuardStorageError('UNAVAILABLE', unanswered)), REOPEN_WAIT_MS);
      (timer as { unref?: () => void }).unref?.();
      connection.finally(() => clearTimeout(timer)).then(resolve, reject);
    });

  /** Runs `body` as one transaction, in call order with the others; IndexedDB errors become `GuardStorageError`s. */
  const run = <T>(operation: string, mode: IDBTransactionMode, body: Body<T>, durability?: IDBTransactionDurability): Promise<T> => {
    const connection = closed ? Promise.reject(new GuardStorageError('CLOSED', `IndexedDB "${name}" is closed`)) : open();
    return (live || instance === NOT_OPENED ? connection : reopened(connection))
      .then((db) => transact(db.transaction(OBJECT_STORE, mode, { durability }), body))
      .catch((error: unknown) => {
        // Closed by a version change or by the engine: fail this call, reopen on the next.
        if (opening === connection && nameOf(error) === 'InvalidStateError') opening = undefined;
        throw toStorageError(error, operation, name);
      });
  };

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

  const openChannel = (): BroadcastChannel | undefined => {
    if (channel || closed || typeof BroadcastChannel === 'undefined') return channel;
    channel = new BroadcastChannel(`pos-duplicate-guard:${name}`);
    // Node keeps a process alive while a channel is open; a store must not.
    (channel as { unref?: () => void }).unref?.();
    channel.onmessage = ({ data }: MessageEvent<unknown>) => {
      const message = data as { from?: unknown; id?: unknown; unpersisted?: unknown } | null | undefined;
      if (message?.from === tag) return;
      // The record as the database holds it now (if the read fails, the next claim reads it anyway).
      if (typeof message?.id === 'string') {
        get(message.id).then(
          (record) => record && notify({ type: 'record', record }),
          () => undefined,
        );
      } else if (isRecord(message?.unpersisted)) notify({ type: 'unpersisted', record: message.unpersisted });
    };
    return channel;
  };

  return {
    name,

    load: (scope) =>
      run<Map<string, AttemptRecord>>('load', scope ? 'readonly' : 'readwrite', (store, done) => {
        // A record both open and recent comes once.
        const found = new Map<string, AttemptRecord>();
        const add = (value: unknown) => isRecord(value) && found.set(value.id, value);
        done(found);
        // Without `scope`: every record (claim lists, metadata and journal entries are no records),
        // and the journal trimmed to `journalLimit`. At start-up with history: the hot records only,
        // from the two indexes, never the whole history (nor the journal, which appendJournal trims).
        const requests = scope ? HOT_STATES.map((state) => store.index(BY_STATE).getAll(state)) : [store.getAll()];
        for (const request of requests) request.onsuccess = () => request.result.forEach(add);
        if (!scope) return trimJournal(store, journalLimit);
        // Newest first, up to the first one updated before `since`: no IDBKeyRange,
        // which is not a global where the factory is injected.
        walk(
          store.index(BY_TIME).openCursor(null, 'prev'),
          (cursor) => (cursor.key as number) >= scope.since && (add(cursor.value), cursor.continue()),
        );
      }).then((found) => [...found.values()]),

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
        if (++journalSeq % trimEvery === 0) trimJournal(store, journalLimit);
        // Base 36, fixed width: keys sort by time and carry no long digit runs
        // (so a scan of the database for PAN-like numbers stays meaningful).
        const at = Math.max(0, entry.at).toString(36).padStart(9, '0');
        if (!seal) return void store.put(entry, `${JOURNAL}${at}-${tag}${journalSeq.toString(36)}`);
        // Sealed against the head read in this same read-write transaction, and the head written in it
        // too: every tab extends one chain, and the head is never ahead of the entries (or behind them).
        read(store, [META + JOURNAL_HEAD], ([text]) => {
          const sealed = seal(entry, parseJournalHead(typeof text === 'string' ? text : undefined));
          store.put(sealed, SEALED + sealed.seq.toString(36).padStart(9, '0'));
          store.put(headText(sealed), META + JOURNAL_HEAD);
        });
      }),

    journal: () =>
      run<JournalEntry[]>('journal', 'readonly', (store, done) => {
        const entries: JournalEntry[] = [];
        done(entries);
        walkJournal(store.openCursor(), (cursor) => entries.push(cursor.value as JournalEntry));
      }),

    claim: (claim, judge) => {
      let failure: { error: unknown } | undefined;
      let written: readonly AttemptRecord[] = [];
      return run<boolean>(
        'claim',
        'readwrite',
        (store, done) =>
          // Every read and write below happens in this one read-write
          // transaction, issued from request callbacks (never after an await),
          // and IndexedDB runs overlapping read-write transactions one at a
          // time: of two tabs claiming one sale, the second sees the first's
          // record, and the guard's rules judge it before anything is written.
          related(
            store,
            claim.keys.map((key) => CLAIM + key),
            claim.ids,
            (records) => {
              try {
                written = judge(records) ?? [];
              } catch (error) {
                failure = { error };
                return store.transaction.abort();
              }
              done(written.length > 0);
              // Lists stay short without pruning here: settling or deleting a record unfiles it.
              for (const record of written) write(store, record);
            },
          ),
        'strict',
      ).then(
        (admitted) => {
          written.forEach(announce);
          return admitted;
        },
        (error: unknown) => {
          throw failure ? failure.error : error;
        },
      );
    },

    subscribe: (listener) => {
      // Without BroadcastChannel (missing, or one that throws) the listener still hears of a wiped database.
      try {
        openChannel();
      } catch {
        channel = undefined;
      }
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
      opening?.then(
        (db) => db.close(),
        () => undefined,
      );
      opening = undefined;
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
function transact<T>(tx: IDBTransaction, body: Body<T>): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let result: T | undefined;
    // Not idb-keyval's promisifyRequest: it also rejects on `error`, which a failed request raises on the
    // transaction before the abort, while `tx.error` is still null; the abort names the real cause.
    tx.oncomplete = () => resolve(result as T);
    tx.onabort = () => reject(tx.error ?? new DOMException('aborted', 'AbortError'));
    try {
      body(tx.objectStore(OBJECT_STORE), (value) => (result = value));
    } catch (error) {
      // A request on a transaction that already aborted throws: the abort's reason is the real one.
      if (!tx.error) reject(error);
    }
  });
}

/**
 * Reads `keys`, then calls `next` from the last request's callback, while the
 * transaction is still active: a transaction's requests succeed in the order
 * they were made, so the others have by then.
 */
function read(store: IDBObjectStore, keys: readonly string[], next: (values: unknown[]) => void): void {
  const requests = keys.map((key) => store.get(key));
  const last = requests.at(-1);
  if (!last) return next([]);
  last.onsuccess = () => {
    // The transaction may have aborted meanwhile (a full disk): its further requests then
    // throw, and the abort itself, not that throw, is what the transaction reports.
    try {
      next(requests.map((request) => request.result as unknown));
    } catch (error) {
      if (!['TransactionInactiveError', 'InvalidStateError'].includes(nameOf(error))) throw error;
    }
  };
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
function walk<C extends IDBCursor>(request: IDBRequest<C | null>, visit: (cursor: C) => unknown): void {
  request.onsuccess = () => request.result && visit(request.result);
}

/**
 * Hands `each` the journal's positions, oldest first, then calls `end`. Jumps
 * to the journal's key range with `continue`: `IDBKeyRange` is not a global
 * where the factory is injected.
 */
function walkJournal<C extends IDBCursor>(request: IDBRequest<C | null>, each: (cursor: C) => void, end?: () => void): void {
  request.onsuccess = () => {
    const cursor = request.result;
    const key = cursor?.key;
    if (cursor && typeof key === 'string' && key < JOURNAL) return cursor.continue(JOURNAL);
    if (!cursor || typeof key !== 'string' || !key.startsWith(JOURNAL)) return end?.();
    each(cursor);
    cursor.continue();
  };
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
  refile(store, keys, record.id, true);
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
    refile(store, keys as string[], id, false);
  });
}

/**
 * The lists a transaction has filed so far, by key: two records filed under
 * one key in one transaction (a settled attempt and its retry, a refund
 * reversed and its sale) read the list before either writes it, so the
 * second goes on from the first's list, not from what it read.
 */
const filedIn = new WeakMap<IDBObjectStore, Map<string, string[]>>();

/** Adds `id` to the lists under `keys`, or takes it out of them (deleting a list left empty); a list already right is not written. */
function refile(store: IDBObjectStore, keys: readonly string[], id: string, add: boolean): void {
  read(store, keys, (lists) => {
    const filed = filedIn.get(store) ?? new Map<string, string[]>();
    filedIn.set(store, filed);
    lists.forEach((list, i) => {
      const key = keys[i] as string;
      const ids = filed.get(key) ?? idsOf(list);
      if (ids.includes(id) === add) return;
      const next = add ? [...ids, id] : ids.filter((other) => other !== id);
      filed.set(key, next);
      if (next.length > 0) store.put(next, key);
      else store.delete(key);
    });
  });
}

/** The ids filed under a claim key (a single id, as releases before 0.2 wrote it, reads as one). */
function idsOf(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  return Array.isArray(value) ? value.filter((id): id is string => typeof id === 'string') : [];
}

/**
 * Deletes the oldest journal entries beyond `limit`, and when sealed entries
 * go, records where the chain now starts (`journal-from`, in the same
 * transaction): a verifier then tells this trim from someone deleting the
 * first entries kept, which reads as `missing`. Keys sort oldest first, the
 * sealed ones last: when one of them is dropped, the first key kept is sealed.
 */
function trimJournal(store: IDBObjectStore, limit: number): void {
  const keys: string[] = [];
  walkJournal(
    store.openKeyCursor(),
    (cursor) => keys.push(cursor.key as string),
    () => {
      const cut = keys.length - limit;
      if (cut <= 0) return;
      for (const key of keys.slice(0, cut)) store.delete(key);
      if ((keys[cut - 1] as string).startsWith(SEALED)) {
        store.put(`${parseInt((keys[cut] as string).slice(SEALED.length), 36)}`, META + JOURNAL_FROM);
      }
    },
  );
}

/** `navigator.storage.persist()`: asks the browser not to evict this origin's data under storage pressure. */
async function askPersistence(): Promise<boolean | undefined> {
  try {
    // No `navigator` (Node 20) throws here too: no Storage API.
    return await (navigator.storage as Partial<StorageManager> | undefined)?.persist?.();
  } catch {
    return undefined;
  }
}

const randomId = (): string => Math.random().toString(36).slice(2);

/** A structurally plausible record: what another tab or an older version wrote is not trusted blindly. */
function isRecord(value: unknown): value is AttemptRecord {
  return recordProblem(value) === undefined;
}
