import { describe, expect, it } from 'vitest';
import { GuardOverrideError, GuardStorageError, createGuard, memoryStore, type AttemptRecord } from '../../src/index.js';
import { ManualClock, SECRET, flush, sale, spyStore, testGuard, thrown } from '../helpers/guard.js';

/** A store whose writes fail while `broken.on` is true. */
function flakyStore() {
  const broken = { on: true };
  const store = spyStore(async (_record, write) => {
    if (broken.on) throw new Error('QuotaExceededError: disk full');
    await write();
  });
  return { store, broken };
}

describe('STORAGE_UNAVAILABLE: the write-ahead record could not be persisted', () => {
  it("onStorageError 'prompt' (the default): prompt, no attempt, nothing reserved", async () => {
    const { store } = flakyStore();
    const { guard, events } = await testGuard({ store });
    const d = await guard.begin(sale());
    expect(d.verdict).toBe('prompt');
    expect(d.attempt).toBeUndefined();
    expect(d.reasons).toEqual([expect.objectContaining({ code: 'STORAGE_UNAVAILABLE' })]);
    expect(d.reasons[0]?.message).toMatch(/saved/);
    // The failed reservation was released: nothing holds the sale.
    expect(await guard.attempts()).toEqual([]);
    expect((await guard.peek(sale())).verdict).toBe('allow');
    expect(events.filter((e) => e.type === 'storage-error')).toEqual([expect.objectContaining({ operation: 'put' })]);
  });

  it("onStorageError 'block': block, no attempt", async () => {
    const { store } = flakyStore();
    const { guard } = await testGuard({ store, onStorageError: 'block' });
    const d = await guard.begin(sale());
    expect(d.verdict).toBe('block');
    expect(d.attempt).toBeUndefined();
    expect(d.reasons.map((r) => r.code)).toEqual(['STORAGE_UNAVAILABLE']);
    expect(await guard.attempts()).toEqual([]);
  });

  it("onStorageError 'allow': allow with a warning; the attempt guards this process from memory", async () => {
    const { store } = flakyStore();
    const { guard } = await testGuard({ store, onStorageError: 'allow' });
    const d = await guard.begin(sale());
    expect(d.verdict).toBe('allow');
    expect(d.reasons.map((r) => r.code)).toEqual(['STORAGE_UNAVAILABLE']);
    expect(d.attempt?.status).toBe('pending');
    expect((await guard.peek(sale())).reasons.map((r) => r.code)).toEqual(['IN_FLIGHT']);
    expect(await store.load()).toEqual([]);
  });

  it('a prompt for storage can be overridden by the cashier, proceeding from memory', async () => {
    const { store } = flakyStore();
    const { guard } = await testGuard({ store });
    const d = await guard.begin(sale());
    const result = await guard.override(d, { operator: 'cashier-1', reason: 'offline, customer waiting' });
    expect(result.verdict).toBe('allow');
    expect(result.reasons.map((r) => r.code)).toEqual(['STORAGE_UNAVAILABLE']);
    expect((await guard.get(result.attempt?.id ?? ''))?.override?.lifted).toEqual(['STORAGE_UNAVAILABLE']);
  });

  it('a block for storage needs the supervisor check', async () => {
    const { store } = flakyStore();
    const { guard } = await testGuard({ store, onStorageError: 'block' });
    const d = await guard.begin(sale());
    const error = await thrown(() => guard.override(d, { operator: 'o', reason: 'r' }));
    expect(error).toBeInstanceOf(GuardOverrideError);
    expect(error).toHaveProperty('code', 'NOT_AUTHORIZED');
  });

  it('keeps a memory-only attempt and writes it once the store is back', async () => {
    const { store, broken } = flakyStore();
    const { guard } = await testGuard({ store, onStorageError: 'allow' });
    const { attempt } = await guard.begin(sale());
    broken.on = false;
    // The next settle retries what is still only in memory.
    await (await guard.begin(sale({ amount: 77 }))).attempt?.approve();
    const stored = (await store.load()).map((r: AttemptRecord) => r.id);
    expect(stored).toContain(attempt?.id);
  });
});

describe('settle when the store fails', () => {
  it('records the outcome in memory, reports a storage-error and does not throw', async () => {
    const { store, broken } = flakyStore();
    broken.on = false;
    const { guard, events } = await testGuard({ store });
    const { attempt } = await guard.begin(sale());
    broken.on = true;
    const record = await guard.settle(attempt?.id ?? '', { status: 'approved' });
    expect(record.status).toBe('approved');
    expect((await guard.peek(sale())).reasons.map((r) => r.code)).toEqual(['DUPLICATE_CHARGE']);
    expect(events.filter((e) => e.type === 'storage-error').length).toBeGreaterThan(0);
    expect((await store.load())[0]?.status).toBe('pending');

    broken.on = false;
    // The next settle retries what is still only in memory.
    await (await guard.begin(sale({ amount: 5 }))).attempt?.decline();
    await flush();
    expect((await store.load()).find((r) => r.id === attempt?.id)?.status).toBe('approved');
  });
});

describe('a store that cannot start', () => {
  it('createGuard rejects with GuardStorageError when load fails', async () => {
    const store = { ...memoryStore(), load: async (): Promise<AttemptRecord[]> => Promise.reject(new Error('IndexedDB blocked')) };
    const error = await thrown(() => createGuard({ merchantId: 'M', secret: SECRET, store, clock: new ManualClock() }));
    expect(error).toBeInstanceOf(GuardStorageError);
    expect((error as Error).message).toContain('IndexedDB blocked');
  });

  it('a failing journal never fails a decision', async () => {
    const store = { ...memoryStore(), appendJournal: async () => Promise.reject(new Error('journal full')) };
    const { guard, events } = await testGuard({ store });
    const { attempt } = await guard.begin(sale());
    await attempt?.approve();
    expect((await guard.begin(sale())).verdict).toBe('prompt');
    await flush();
    expect(events.filter((e) => e.type === 'storage-error').map((e) => (e.type === 'storage-error' ? e.operation : ''))).toContain(
      'appendJournal',
    );
  });
});
