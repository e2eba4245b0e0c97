import { describe, expect, it } from 'vitest';
import { memoryStore } from '../../src/index.js';
import { storeContract } from '../../src/testing.js';
import { sampleRecord } from '../helpers/records.js';

// One Map: a reopen is the same store, as a guard re-created over it sees it.
storeContract(() => {
  const store = memoryStore();
  return { store, reopen: async () => store };
}, { name: 'memoryStore' });

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
