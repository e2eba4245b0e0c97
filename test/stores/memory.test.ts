import { describe, expect, it } from 'vitest';
import { memoryStore } from '../../src/index.js';
import { storeContract } from '../../src/testing.js';
import { revokedProxy, throwingGetter } from '../helpers/guard.js';
import { sampleRecord } from '../helpers/records.js';

// One Map: a reopen is the same store, as a guard re-created over it sees it.
storeContract(
  () => {
    const store = memoryStore();
    return { store, reopen: async () => store };
  },
  { name: 'memoryStore', capabilities: ['history', 'journal'] },
);

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

describe('memoryStore options (review2): every refusal a GuardConfigError naming the field', () => {
  const refused = (options: unknown, field: string) =>
    expect(() => memoryStore(options as never)).toThrow(
      expect.objectContaining({ name: 'GuardConfigError', code: 'INVALID_OPTION', field }),
    );

  it('refuses options that are not an object', () => {
    refused(null, 'options');
    refused('big', 'options');
    refused(revokedProxy(), 'options');
  });

  it('refuses options whose getter throws', () => refused(throwingGetter('journalLimit'), 'journalLimit'));

  it('refuses a journalLimit that is not an integer >= 0, rather than keep no journal', () => {
    for (const bad of ['abc', '10', -1, 2.5, Number.NaN, {}]) refused({ journalLimit: bad }, 'journalLimit');
  });

  it('journalLimit 0 keeps no journal', async () => {
    const store = memoryStore({ journalLimit: 0 });
    await store.appendJournal({ at: 1, type: 'x' } as never);
    expect(store.journal()).toEqual([]);
  });
});
