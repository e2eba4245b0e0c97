import { invalidOption } from '../errors.js';
import { ExpiryQueue } from '../expiry-queue.js';
import { isHot } from '../history.js';
import { isOpen } from '../lifecycle.js';
import { staysFiled } from '../claims.js';
import { storeOptions } from '../snapshot.js';
import { JOURNAL_HEAD, headText, parseJournalHead } from '../journal/chain.js';
import type { AttemptRecord, GuardStore, JournalEntry, JournalHead } from '../types.js';

export interface MemoryStoreOptions {
  /** Journal entries kept, oldest dropped first, so a long-running till stays bounded; 0 keeps none. @default 10_000 */
  journalLimit?: number;
}

export interface MemoryStore extends GuardStore {
  /** The journal entries kept so far, oldest first. */
  journal(): JournalEntry[];
}

/**
 * The default store: a Map in this process. Survives a guard being dropped and
 * re-created over it (the QA scenarios' `restart`), not a page reload.
 * Records are immutable, so it keeps the guard's own objects: no copies.
 *
 * It keeps history: the guard holds only hot records, and reads
 * settled ones past `window` back from here by id or by order.
 */
/* @__NO_SIDE_EFFECTS__ */
export function memoryStore(options: MemoryStoreOptions = {}): MemoryStore {
  const given = storeOptions(options, {}).journalLimit ?? 10_000;
  if (!Number.isSafeInteger(given) || (given as number) < 0) invalidOption('journalLimit', 'an integer >= 0 (0 keeps no journal)', given);
  const limit = given as number;
  const records = new Map<string, AttemptRecord>();
  // Ids of the live records by merchant, then order: nested so that no
  // joined key string is kept per order, and an order's one id stands bare.
  const orders = new Map<string, Map<string, string | string[]>>();
  // (updatedAt, id) of settled versions in write order, for prune: stale entries are skipped.
  const updates = new ExpiryQueue();
  const meta = new Map<string, string>();
  // A ring of exactly `limit` entries: bounded memory, oldest overwritten first.
  const ring: JournalEntry[] = [];
  let next = 0;
  // The journal's chain head (SPEC §12): nothing here is durable, so it is simply the last entry appended.
  let head: JournalHead | undefined;

  const file = (record: AttemptRecord) => {
    if (record.orderId === undefined) return;
    let byOrder = orders.get(record.merchantId);
    if (!byOrder) orders.set(record.merchantId, (byOrder = new Map<string, string | string[]>()));
    const ids = byOrder.get(record.orderId);
    if (ids === undefined) byOrder.set(record.orderId, record.id);
    else if (typeof ids === 'string') byOrder.set(record.orderId, [ids, record.id]);
    else ids.push(record.id);
  };
  const unfile = (record: AttemptRecord) => {
    const byOrder = record.orderId === undefined ? undefined : orders.get(record.merchantId);
    const ids = byOrder?.get(record.orderId as string);
    if (!byOrder || ids === undefined) return;
    const rest = typeof ids === 'string' ? [] : ids.filter((id) => id !== record.id);
    if (rest.length === 0) byOrder.delete(record.orderId as string);
    else byOrder.set(record.orderId as string, rest.length === 1 ? (rest[0] as string) : rest);
  };
  const remove = (id: string) => {
    const record = records.get(id);
    if (record && staysFiled(record)) unfile(record);
    records.delete(id);
  };

  return {
    load: async (scope) => {
      const all = [...records.values()];
      return scope === undefined ? all : all.filter((record) => isHot(record, scope.since));
    },
    put: async (record) => {
      const previous = records.get(record.id);
      records.set(record.id, record);
      // Open records are the guard's to delete: only a settled version can be pruned here.
      if (!isOpen(record.status)) updates.push(record.updatedAt, record.id);
      const wasFiled = previous !== undefined && staysFiled(previous);
      if (wasFiled && !staysFiled(record)) unfile(previous);
      else if (!wasFiled && staysFiled(record)) file(record);
    },
    delete: async (id) => {
      remove(id);
    },
    get: async (id) => records.get(id),
    byOrder: async (merchantId, orderId) => {
      const ids = orders.get(merchantId)?.get(orderId);
      return (ids === undefined ? [] : typeof ids === 'string' ? [ids] : ids).map((id) => records.get(id) as AttemptRecord);
    },
    prune: async (before) => {
      let pruned = 0;
      updates.drain((updatedAt, id) => {
        if (updatedAt >= before) return false;
        const record = records.get(id);
        // Stale entries (a later version, or gone) are dropped.
        if (record !== undefined && record.updatedAt === updatedAt && !isOpen(record.status)) {
          remove(id);
          pruned++;
        }
        return true;
      });
      return pruned;
    },
    // The head is kept as an object and written out when asked for: no string per entry.
    getMeta: async (key) => (key === JOURNAL_HEAD && head ? headText(head) : meta.get(key)),
    setMeta: async (key, value) => {
      if (key === JOURNAL_HEAD) head = parseJournalHead(value);
      else meta.set(key, value);
    },
    appendJournal: async (entry, seal) => {
      if (limit <= 0) return;
      const appended = seal ? (head = seal(entry, head)) : entry;
      ring[next % limit] = appended;
      next++;
    },
    journal: () => (next <= limit ? ring.slice(0, next) : [...ring.slice(next % limit), ...ring.slice(0, next % limit)]),
  };
}
