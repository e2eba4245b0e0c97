import { expect, it } from 'vitest';
import { createGuard } from '../../src/index.js';
import { localStorageStore } from '../../examples/local-storage-store.js';
import { storeContract } from '../../src/testing.js';

/** A Map-backed Storage, as a browser's localStorage behaves. */
function fakeStorage(): Storage {
  const map = new Map<string, string>();
  return {
    get length() {
      return map.size;
    },
    key: (i) => [...map.keys()][i] ?? null,
    getItem: (k) => map.get(k) ?? null,
    setItem: (k, v) => void map.set(k, String(v)),
    removeItem: (k) => void map.delete(k),
    clear: () => map.clear(),
  };
}

// The README's "Writing a store" example must really be a store.
storeContract(
  () => {
    const storage = fakeStorage();
    return { store: localStorageStore(storage), reopen: async () => localStorageStore(storage) };
  },
  { name: 'README example: localStorageStore', capabilities: ['journal'] },
);

it('keeps a reservation across a reload: the retry is held as UNKNOWN_OUTCOME', async () => {
  const storage = fakeStorage();
  const secret = 'example-secret-0123456789abcdef';
  const sale = { amount: 1250, currency: 'CNY', card: { token: 'wallet-1' } };
  const first = await createGuard({ merchantId: 'M1', secret, store: localStorageStore(storage) });
  expect((await first.begin(sale)).verdict).toBe('allow');
  const reloaded = await createGuard({ merchantId: 'M1', secret, store: localStorageStore(storage) });
  const retry = await reloaded.begin(sale);
  expect([retry.verdict, retry.reasons.map((r) => r.code)]).toEqual(['block', ['UNKNOWN_OUTCOME']]);
});
