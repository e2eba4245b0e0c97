/**
 * `pos-duplicate-guard/node`: the store for Node and Electron terminals.
 *
 * A separate entry point so browser bundles of the core never pull in
 * `node:fs`. Only this entry (and the modules under `stores/file`) may import
 * Node built-ins.
 *
 * @example
 * import { createGuard } from 'pos-duplicate-guard';
 * import { fileStore } from 'pos-duplicate-guard/node';
 * const guard = await createGuard({ merchantId: 'M-0001', secret, store: fileStore('/var/lib/pos/guard.jsonl') });
 *
 * @module pos-duplicate-guard/node
 */
export { fileStore } from './stores/file.js';
export type { FileStore, FileStoreFs, FileStoreOptions } from './stores/file.js';
export { readJournal, readJournalFiles } from './stores/file/journal-read.js';
export type { JournalReadProgress, ReadJournalOptions } from './stores/file/journal-read.js';
