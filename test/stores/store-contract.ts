import { describe, expect, it } from 'vitest';
import type { AttemptRecord, GuardStore } from '../../src/index.js';

/** A record as the guard writes it: no card data, only keyed hashes and BIN/last 4. */
export function sampleRecord(id: string, patch: Partial<AttemptRecord> = {}): AttemptRecord {
  return {
    v: 1,
    id,
    idempotencyKey: `pdg_${id}_0123456789abcdef`,
    fingerprint: `fp_${id}`,
    merchantId: 'M-TEST',
    kind: 'sale',
    amount: 1250,
    currency: 'CNY',
    status: 'pending',
    createdAt: 1_767_225_600_000,
    updatedAt: 1_767_225_600_000,
    pendingSince: 1_767_225_600_000,
    refunded: 0,
    last4: '3446',
    ...patch,
  };
}

/**
 * The behaviour every GuardStore owes the guard (SPEC §6). Each adapter's test
 * file calls this with a factory that returns a fresh, empty store; `reopen`
 * opens the same storage again, as a restarted process would.
 */
export function storeContract(name: string, open: () => Promise<{ store: GuardStore; reopen: () => Promise<GuardStore> }>): void {
  describe(`${name} honours the GuardStore contract`, () => {
    it('starts empty', async () => {
      const { store } = await open();
      expect(await store.load()).toEqual([]);
      expect(await store.getMeta('keyCheck')).toBeUndefined();
    });

    it('puts, replaces by id and deletes', async () => {
      const { store } = await open();
      await store.put(sampleRecord('a'));
      await store.put(sampleRecord('b'));
      await store.put(sampleRecord('a', { status: 'approved', approvedAt: 1_767_225_601_000 }));
      await store.delete('b');
      const loaded = await store.load();
      expect(loaded).toHaveLength(1);
      expect(loaded[0]).toMatchObject({ id: 'a', status: 'approved', approvedAt: 1_767_225_601_000 });
    });

    it('keeps metadata', async () => {
      const { store } = await open();
      await store.setMeta('keyCheck', 'abc');
      await store.setMeta('keyCheck', 'def');
      expect(await store.getMeta('keyCheck')).toBe('def');
    });

    it('accepts journal entries', async () => {
      const { store } = await open();
      await expect(store.appendJournal({ at: 1, type: 'settle', attemptId: 'a', from: 'pending', to: 'approved' })).resolves.toBeUndefined();
    });

    it('survives a reopen with every record and its metadata', async () => {
      const { store, reopen } = await open();
      await store.put(sampleRecord('a'));
      await store.put(sampleRecord('b', { status: 'declined' }));
      await store.put(sampleRecord('a', { status: 'unknown' }));
      await store.setMeta('keyCheck', 'kcv');
      const again = await reopen();
      const loaded = (await again.load()).sort((x, y) => x.id.localeCompare(y.id));
      expect(loaded.map((r) => [r.id, r.status])).toEqual([
        ['a', 'unknown'],
        ['b', 'declined'],
      ]);
      expect(await again.getMeta('keyCheck')).toBe('kcv');
    });
  });
}
