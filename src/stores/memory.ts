import { GuardConfigError, describeValue } from '../errors.js';
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
 */
/* @__NO_SIDE_EFFECTS__ */
export function memoryStore(options: MemoryStoreOptions = {}): MemoryStore {
  const given = storeOptions(options, {}).journalLimit ?? 10_000;
  if (!Number.isSafeInteger(given) || (given as number) < 0) {
    throw new GuardConfigError('INVALID_OPTION', `\`journalLimit\` must be an integer >= 0 (0 keeps no journal), got ${describeValue(given)}`, { field: 'journalLimit' });
  }
  const limit = given as number;
  const records = new Map<string, AttemptRecord>();
  const meta = new Map<string, string>();
  // A ring of exactly `limit` entries: bounded memory, oldest overwritten first.
  const ring: JournalEntry[] = [];
  let next = 0;
  return {
    load: async () => [...records.values()],
    put: async (record) => {
      records.set(record.id, record);
    },
    delete: async (id) => {
      records.delete(id);
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
