/**
 * A GuardStore in 30 lines, over `localStorage`: the shape any store for your
 * own database takes. (For real web POS shells prefer `indexedDbStore`: it
 * survives quota pressure better and keeps two tabs apart.)
 */
import type { AttemptRecord, GuardStore, JournalEntry } from '../src/index.js';

export function localStorageStore(storage: Storage, prefix = 'pdg:'): GuardStore {
  const keys = () => Array.from({ length: storage.length }, (_, i) => storage.key(i) ?? '');
  const write = (key: string, value: unknown) => storage.setItem(prefix + key, JSON.stringify(value));
  return {
    async load() {
      return keys()
        .filter((key) => key.startsWith(`${prefix}r:`))
        .map((key) => JSON.parse(storage.getItem(key) ?? 'null') as AttemptRecord);
    },
    // setItem is synchronous and throws QuotaExceededError when full: the
    // guard turns that rejection into STORAGE_UNAVAILABLE.
    async put(record) {
      write(`r:${record.id}`, record);
    },
    async delete(id) {
      storage.removeItem(`${prefix}r:${id}`);
    },
    async getMeta(key) {
      return storage.getItem(`${prefix}m:${key}`) ?? undefined;
    },
    async setMeta(key, value) {
      storage.setItem(`${prefix}m:${key}`, value);
    },
    async appendJournal(entry: JournalEntry) {
      write(`j:${entry.at}:${Math.random().toString(36).slice(2)}`, entry);
    },
  };
}
