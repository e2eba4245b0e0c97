/**
 * atk20: what a failed write left in memory only (ctx.unpersisted) is
 * written when the store takes a write again and at close() (decide.ts,
 * start.ts closeOnce) — but only by the guard holding the store
 * (`holdsStore`). A second createGuard over the same store object (a
 * re-login, a hot reload keeping the store) loads only what the store has,
 * and the older guard's close() then skips the write: the attempt the
 * older guard charged while the disk was away is lost with it.
 */
import { describe, expect, it } from 'vitest';
import { createGuard, memoryStore, type GuardStore } from '../../src/index.js';
import { SECRET, VISA } from '../helpers/guard.js';

/** A memoryStore whose puts fail while `down` is set (a disk hiccup). */
function flaky() {
  const base = memoryStore();
  const state = { down: false };
  const store: GuardStore = {
    ...base,
    put: (record) => (state.down ? Promise.reject(new Error('EIO: i/o error')) : base.put(record)),
  };
  return { store, state };
}

describe('atk20: memory-only records and a take-over of the same store object', () => {
  it('a sale charged while the disk was away (onStorageError allow, its reservation in memory only) is known to the guard that takes the store over: the same sale is not allowed again', async () => {
    const { store, state } = flaky();
    const options = { merchantId: 'M1', secret: SECRET, store, onStorageError: 'allow' as const };
    const older = await createGuard(options);
    const sale = { amount: 4321, currency: 'CNY', card: { pan: VISA }, orderId: 'ORD-20-UNP' };
    state.down = true;
    const d = await older.begin(sale);
    expect(d.verdict).toBe('allow');
    await d.attempt!.approve({ authCode: 'A1' }).catch(() => undefined);
    state.down = false; // the disk is back
    const newer = await createGuard(options);
    await older.close(); // "close the old guard": its memory-only records get their one more try?
    const again = await newer.begin(sale);
    expect(again.verdict).not.toBe('allow');
    await newer.close();
  });

  it('the same with the older guard closed first, then the new one created (the documented order): the sale is not allowed again (passing pin)', async () => {
    const { store, state } = flaky();
    const options = { merchantId: 'M1', secret: SECRET, store, onStorageError: 'allow' as const };
    const older = await createGuard(options);
    const sale = { amount: 4322, currency: 'CNY', card: { pan: VISA }, orderId: 'ORD-20-UNP2' };
    state.down = true;
    const d = await older.begin(sale);
    await d.attempt!.approve({ authCode: 'A1' }).catch(() => undefined);
    state.down = false;
    await older.close();
    const newer = await createGuard(options);
    expect((await newer.begin(sale)).verdict).not.toBe('allow');
    await newer.close();
  });
});
