/**
 * `pos-duplicate-guard/idb`: the IndexedDB store for browsers and web POS
 * shells (Chromium kiosks, Android WebView, Electron renderers). Its own entry
 * point so that bundles which never run in a browser do not carry it; it adds
 * only idb-keyval on top of the core.
 *
 * @example
 * import { createGuard } from 'pos-duplicate-guard';
 * import { indexedDbStore } from 'pos-duplicate-guard/idb';
 *
 * const guard = await createGuard({ merchantId: 'M-0001', secret, store: indexedDbStore() });
 *
 * @module pos-duplicate-guard/idb
 */
export { indexedDbStore } from './stores/idb.js';
export type { IndexedDbStore, IndexedDbStoreOptions } from './stores/idb.js';
