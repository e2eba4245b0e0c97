import { describe, expect, it } from 'vitest';
import { memoryStore } from '../../src/index.js';
import { sampleRecord, storeContract } from './store-contract.js';

storeContract('memoryStore', async () => {
  const store = memoryStore();
  return { store, reopen: async () => store };
});

describe('memoryStore journal', () => {
  it('keeps at most journalLimit entries, newest last', async () => {
    const store = memoryStore({ journalLimit: 3 });
    for (let i = 0; i < 10; i++) await store.appendJournal({ at: i, type: 'settle' });
    expect(store.journal().map((e) => e.at)).toEqual([7, 8, 9]);
  });

  it('hands back the very records it was given (records are immutable)', async () => {
    const store = memoryStore();
    const record = Object.freeze(sampleRecord('a'));
    await store.put(record);
    expect((await store.load())[0]).toBe(record);
  });
});
