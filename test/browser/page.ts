/**
 * The test page's script, bundled by run.ts with esbuild: a guard on
 * indexedDbStore, driven from Playwright through `window.harness`. Results are
 * plain data so they cross `page.evaluate`.
 */
import { createGuard, type Decision, type Guard, type Sale } from '../../src/index.js';
import { indexedDbStore } from '../../src/idb.js';

export interface PageFacts {
  secure: boolean;
  subtle: boolean;
  persistent: boolean | undefined;
}

export interface DecisionSummary {
  verdict: Decision['verdict'];
  codes: string[];
  attemptId: string | undefined;
}

export interface OpenOptions {
  /** Delete `BroadcastChannel` first, as on older WebViews and Safari. */
  noBroadcast?: boolean;
  /** Make every write of an attempt record abort its transaction, as a full disk does. */
  failWrites?: boolean;
  onStorageError?: 'prompt' | 'block' | 'allow';
  /** What the supervisor check answers. */
  authorize?: boolean;
}

export interface Harness {
  /** Opens a guard over `indexedDbStore({ name })`, as a POS shell does at load. */
  open(name: string, options?: OpenOptions): Promise<PageFacts>;
  /** Waits until the wall clock reaches `at` (so two pages start together), then runs `count` concurrent begins. */
  raceAt(sale: Sale, at: number, count: number): Promise<DecisionSummary[]>;
  begin(sale: Sale): Promise<DecisionSummary>;
  /** Overrides the last non-allow decision this page got. */
  override(supervisor: boolean): Promise<DecisionSummary>;
  settle(attemptId: string, status: 'approved' | 'declined' | 'unknown' | 'cancelled'): Promise<string>;
  /** Resolves the attempt's status, or the error's `name code`. */
  resume(attemptId: string): Promise<string>;
  status(attemptId: string): Promise<string | undefined>;
  /** Storage errors the guard reported, as `code`s. */
  storageErrors(): string[];
  /** Posts `message` on the store's BroadcastChannel, as any script of the origin can. */
  post(name: string, message: unknown): void;
  /** `indexedDB.deleteDatabase(name)`, as "clear site data" does. */
  deleteDatabase(name: string): Promise<void>;
  /** A record as stored, read with raw IndexedDB. */
  stored(name: string, attemptId: string): Promise<unknown>;
  /**
   * Writes `records` the way the previous release (schema 1) did: opens
   * without a version, creates the object store alone on a new database,
   * files live records under their order. The connection stays open and
   * steps aside on a version change, as that release's did.
   */
  writeAsPreviousRelease(name: string, records: HistoryRecord[]): Promise<{ version: number; instance: unknown }>;
  /** This release's store on `name`: the history methods, and what the database became. */
  history(name: string, since: number, before: number): Promise<HistoryFacts>;
  /** Upgrades `name` past this release's version, as a newer release would; then what this release's store reads there. */
  afterNewerRelease(name: string): Promise<{ version: number; got: string | undefined; all: number }>;
}

export interface HistoryRecord {
  id: string;
  status: string;
  kind: 'sale' | 'refund';
  updatedAt: number;
  orderId?: string;
  refundOf?: string;
}

export interface HistoryFacts {
  version: number;
  indexes: string[];
  instance: unknown;
  hot: string[];
  got: string | undefined;
  byOrder: string[];
  pruned: number;
  left: string[];
}

declare global {
  interface Window {
    harness: Harness;
  }
}

const SECRET = 'browser-test-secret-0123456789abcdef';

function asPromise<T>(request: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

function complete(tx: IDBTransaction): Promise<void> {
  return new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onabort = () => reject(tx.error);
  });
}

/** `{ version, indexes, instance }` of the database, read raw. */
async function schemaOf(name: string): Promise<{ version: number; indexes: string[]; instance: unknown }> {
  const db = await asPromise(indexedDB.open(name));
  try {
    const store = db.transaction('guard', 'readonly').objectStore('guard');
    return { version: db.version, indexes: [...store.indexNames].sort(), instance: await asPromise(store.get('m:instance')) };
  } finally {
    db.close();
  }
}
let guard: Guard | undefined;
let last: Decision | undefined;
const errors: string[] = [];

function current(): Guard {
  if (!guard) throw new Error('harness.open() first');
  return guard;
}

function summary(decision: Decision): DecisionSummary {
  return { verdict: decision.verdict, codes: decision.reasons.map((r) => r.code), attemptId: decision.attempt?.id };
}

window.harness = {
  async open(name, options = {}) {
    if (options.noBroadcast) Reflect.deleteProperty(globalThis, 'BroadcastChannel');
    if (options.failWrites) {
      const put = IDBObjectStore.prototype.put;
      IDBObjectStore.prototype.put = function (this: IDBObjectStore, ...args: Parameters<IDBObjectStore['put']>) {
        const request = put.apply(this, args);
        // Only the attempt records (the key check must be written for the guard
        // to start): the transaction aborts at commit, as on a full disk.
        if (typeof args[1] === 'string' && args[1].startsWith('r:')) this.transaction.abort();
        return request;
      };
    }
    const store = indexedDbStore({ name });
    guard = await createGuard({
      merchantId: 'M-BROWSER',
      secret: SECRET,
      store,
      ...(options.onStorageError ? { onStorageError: options.onStorageError } : {}),
      authorize: () => options.authorize === true,
    });
    guard.on('storage-error', (event) => errors.push(String((event.error as { code?: unknown }).code)));
    return { secure: window.isSecureContext, subtle: globalThis.crypto?.subtle !== undefined, persistent: await store.persistent() };
  },
  async raceAt(sale, at, count) {
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, at - Date.now())));
    const decisions = await Promise.all(Array.from({ length: count }, () => current().begin(sale)));
    return decisions.map(summary);
  },
  async begin(sale) {
    const decision = await current().begin(sale);
    if (decision.verdict !== 'allow') last = decision;
    return summary(decision);
  },
  async override(supervisor) {
    if (!last) throw new Error('no decision to override');
    const decision = await current().override(last, {
      operator: 'cashier-1',
      reason: 'browser test',
      ...(supervisor ? { supervisor: 'sup-1' } : {}),
    });
    if (decision.verdict !== 'allow') last = decision;
    return summary(decision);
  },
  async settle(attemptId, status) {
    return (await current().settle(attemptId, { status })).status;
  },
  async resume(attemptId) {
    try {
      return (await current().resume(attemptId)).status;
    } catch (error) {
      const { name, code } = error as { name?: string; code?: string };
      return `${name} ${code}`;
    }
  },
  storageErrors: () => [...errors],
  post(name, message) {
    const channel = new BroadcastChannel(`pos-duplicate-guard:${name}`);
    channel.postMessage(message);
    channel.close();
  },
  deleteDatabase(name) {
    return new Promise((resolve, reject) => {
      const request = indexedDB.deleteDatabase(name);
      request.onsuccess = () => resolve();
      request.onerror = () => reject(request.error ?? new Error(`deleting IndexedDB "${name}" failed`));
    });
  },
  stored(name, attemptId) {
    return new Promise((resolve, reject) => {
      const open = indexedDB.open(name);
      open.onerror = () => reject(open.error ?? new Error(`opening IndexedDB "${name}" failed`));
      open.onsuccess = () => {
        const db = open.result;
        const request = db.transaction('guard', 'readonly').objectStore('guard').get(`r:${attemptId}`);
        request.onsuccess = () => {
          db.close();
          resolve(request.result);
        };
        request.onerror = () => reject(request.error ?? new Error(`reading ${attemptId} from IndexedDB "${name}" failed`));
      };
    });
  },
  async writeAsPreviousRelease(name, records) {
    const open = indexedDB.open(name);
    open.onupgradeneeded = () => open.result.createObjectStore('guard').put('instance-of-release-1', 'm:instance');
    const db = await asPromise(open);
    db.onversionchange = () => db.close();
    const tx = db.transaction('guard', 'readwrite');
    const store = tx.objectStore('guard');
    const filed = new Map<string, string[]>();
    for (const r of records) {
      const record = {
        v: 1,
        idempotencyKey: `pdg_${r.id}_0123456789abcdef`,
        fingerprint: `fp_${r.id}`,
        merchantId: 'M-BROWSER',
        amount: 1250,
        currency: 'CNY',
        createdAt: r.updatedAt,
        pendingSince: r.updatedAt,
        refunded: 0,
        ...r,
      };
      store.put(record, `r:${r.id}`);
      if (r.orderId && ['pending', 'unknown', 'approved'].includes(r.status)) {
        const key = `c:order\u0000M-BROWSER\u0000${r.orderId}`;
        filed.set(key, [...(filed.get(key) ?? []), r.id]);
        store.put([key], `h:${r.id}`);
      }
    }
    for (const [key, ids] of filed) store.put(ids, key);
    await complete(tx);
    return { version: db.version, instance: 'instance-of-release-1' };
  },
  async history(name, since, before) {
    const store = indexedDbStore({ name });
    try {
      const ids = (records: { id: string }[]) => records.map((r) => r.id).sort();
      const hot = ids(await store.load({ since }));
      const got = (await store.get('paid-old'))?.status;
      const byOrder = ids(await store.byOrder('M-BROWSER', 'ORD-1'));
      const pruned = await store.prune(before);
      const left = ids(await store.load());
      return { ...(await schemaOf(name)), hot, got, byOrder, pruned, left };
    } finally {
      await store.close();
    }
  },
  async afterNewerRelease(name) {
    const { version } = await schemaOf(name);
    (await asPromise(indexedDB.open(name, version + 1))).close();
    const store = indexedDbStore({ name });
    try {
      return { version: version + 1, got: (await store.get('open-old'))?.status, all: (await store.load({ since: 0 })).length };
    } finally {
      await store.close();
    }
  },
  async status(attemptId) {
    return (await current().get(attemptId))?.status;
  },
};
