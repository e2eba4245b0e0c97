/**
 * A GuardStore in 35 lines, over `localStorage`: the shape any store for your
 * own database takes. (For real web POS shells prefer `indexedDbStore`: it
 * survives quota pressure better and keeps two tabs apart.)
 */
import { parseJournalHead, type AttemptRecord, type GuardStore, type JournalEntry, type JournalSeal } from '../src/index.js';

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
    // Sealed after the last entry, its head kept beside it (docs/journal.md); synchronous, so nothing lands between.
    async appendJournal(entry: JournalEntry, seal?: JournalSeal) {
      const sealed = seal ? seal(entry, parseJournalHead(storage.getItem(`${prefix}m:journal-head`) ?? undefined)) : entry;
      write(`j:${sealed.seq ?? `${entry.at}:${Math.random()}`}`, sealed);
      if (seal) storage.setItem(`${prefix}m:journal-head`, JSON.stringify({ seq: sealed.seq, hash: sealed.hash }));
    },
  };
}
