/**
 * Two tabs refunding one sale: the sale's `refunded` sum is read and written
 * in one transaction with what the other tab wrote (src/guard.ts settle →
 * the store's claim), so neither tab's refund is lost, and a refund made
 * outside the guard in one tab counts the other tab's refund in flight.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { MASTERCARD, sale } from '../../helpers/guard.js';
import { freshDb, tab } from '../../helpers/tabs.js';

afterEach(() => vi.unstubAllGlobals());

/** Two tabs without BroadcastChannel (they learn of each other only through the store), and a sale of 1000 approved in tab A. */
async function twoTabsAndASale() {
  vi.stubGlobal('BroadcastChannel', undefined);
  const db = freshDb();
  const a = await tab(db);
  const paid = await a.guard.begin(sale({ amount: 1000 }));
  await paid.attempt?.approve();
  return { a, b: await tab(db), paid };
}

describe('two tabs approving refunds of one sale', () => {
  it('the original counts both refunds, and a third that exceeds what is left is blocked', async () => {
    const { a, b, paid } = await twoTabsAndASale();
    // Each tab refunds 400 (800 of 1000: fine); B's copy of the sale still says 0 refunded.
    const r1 = await a.guard.begin(sale({ amount: 400, kind: 'refund', refundOf: paid.attempt?.id }));
    await r1.attempt?.approve();
    const r2 = await b.guard.begin(sale({ amount: 400, kind: 'refund', refundOf: paid.attempt?.id, card: { pan: MASTERCARD } }));
    expect([r1.verdict, r2.verdict]).toEqual(['allow', 'allow']);
    await r2.attempt?.approve();

    const original = (await a.store.load()).find((r) => r.id === paid.attempt?.id);
    expect.soft(original?.refunded).toBe(800);

    // Tab A, still open (a reload would repair it from the refund records), refunds 600 more.
    const r3 = await a.guard.begin(sale({ amount: 600, kind: 'refund', refundOf: paid.attempt?.id }));
    expect(r3.verdict).toBe('block');
    expect(r3.reasons.map((r) => r.code)).toContain('REFUND_EXCEEDS_CHARGE');
  });
});

describe('a refund made outside the guard in one tab while another tab refunds the same sale', () => {
  it("counts the other tab's refund in flight: settle(refunded) of the rest cannot exceed the sale", async () => {
    const { a, b, paid } = await twoTabsAndASale();
    // Tab B starts a refund of 600 (in flight); tab A never hears of it.
    expect((await b.guard.begin(sale({ amount: 600, kind: 'refund', refundOf: paid.attempt?.id }))).verdict).toBe('allow');
    // Tab A records a refund of 500 made at the terminal: only 400 remain.
    await expect(a.guard.settle(paid.attempt?.id ?? '', { status: 'refunded', amount: 500 })).rejects.toMatchObject({
      name: 'GuardStateError',
      code: 'REFUND_EXCEEDS_CHARGE',
    });
    expect((await a.guard.settle(paid.attempt?.id ?? '', { status: 'refunded', amount: 400 })).refunded).toBe(400);
  });
});
