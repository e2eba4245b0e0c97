import { GuardConfigError, describeValue } from '../errors.js';
import { ExpiryQueue } from '../expiry-queue.js';
import { isHot } from '../history.js';
import { isOpen } from '../lifecycle.js';
import { orderKey, staysFiled } from '../claims.js';
import { storeOptions } from '../snapshot.js';
import type { AttemptRecord, GuardStore, JournalEntry } from '../types.js';

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
 * It keeps history (SPEC §6): the guard holds only hot records, and reads
 * settled ones past `window` back from here by id or by order.
 */
/* @__NO_SIDE_EFFECTS__ */
export function memoryStore(options: MemoryStoreOptions = {}): MemoryStore {
  const given = storeOptions(options, {}).journalLimit ?? 10_000;
  if (!Number.isSafeInteger(given) || (given as number) < 0) {
    throw new GuardConfigError(
      'INVALID_OPTION',
      `\`journalLimit\` must be an integer >= 0 (0 keeps no journal), got ${describeValue(given)}`,
      { field: 'journalLimit' },
    );
  }
  const limit = given as number;
  const records = new Map<string, AttemptRecord>();
  // Live records by merchant + order; a record is in it while its stored version stays filed.
  const orders = new Map<string, string[]>();
  // (updatedAt, id) in write order, for prune: stale entries are skipped.
  const updates = new ExpiryQueue();
  const meta = new Map<string, string>();
  // A ring of exactly `limit` entries: bounded memory, oldest overwritten first.
  const ring: JournalEntry[] = [];
  let next = 0;

  const orderKeyOf = (record: AttemptRecord) => (record.orderId === undefined ? undefined : orderKey(record.merchantId, record.orderId));
  const unfile = (record: AttemptRecord | undefined) => {
    const key = record && orderKeyOf(record);
    const ids = key === undefined ? undefined : orders.get(key);
    if (!ids) return;
    const rest = ids.filter((id) => id !== (record as AttemptRecord).id);
    if (rest.length === 0) orders.delete(key as string);
    else orders.set(key as string, rest);
  };
  const remove = (id: string) => {
    unfile(records.get(id));
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
      updates.push(record.updatedAt, record.id);
      const key = orderKeyOf(record);
      const wasFiled = previous !== undefined && staysFiled(previous) && orderKeyOf(previous) === key;
      if (wasFiled && !staysFiled(record)) unfile(previous);
      else if (!wasFiled && key !== undefined && staysFiled(record)) {
        unfile(previous);
        orders.set(key, [...(orders.get(key) ?? []), record.id]);
      }
    },
    delete: async (id) => {
      remove(id);
    },
    get: async (id) => records.get(id),
    byOrder: async (merchantId, orderId) => (orders.get(orderKey(merchantId, orderId)) ?? []).map((id) => records.get(id) as AttemptRecord),
    prune: async (before) => {
      let pruned = 0;
      updates.drain((updatedAt, id) => {
        if (updatedAt >= before) return false;
        const record = records.get(id);
        // Stale entries (a later version, or gone) are dropped; open records are the guard's to delete.
        if (record !== undefined && record.updatedAt === updatedAt && !isOpen(record.status)) {
          remove(id);
          pruned++;
        }
        return true;
      });
      return pruned;
    },
    getMeta: async (key) => meta.get(key),
    setMeta: async (key, value) => {
      meta.set(key, value);
    },
    appendJournal: async (entry) => {
      if (limit <= 0) return;
      ring[next % limit] = entry;
      next++;
    },
    journal: () => (next <= limit ? ring.slice(0, next) : [...ring.slice(next % limit), ...ring.slice(0, next % limit)]),
  };
}
