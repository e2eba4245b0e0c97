/**
 * SPEC §3: "A refund whose outcome is open (pending or unknown) may have paid
 * out: it counts against what remains refundable on its original, so two
 * refunds of one sale can never together exceed it, whatever their cards or
 * amounts." The sale's `refunded` sum moves only when a refund is approved,
 * so refundRules (src/rules.ts) counts the open ones too.
 */
import { describe, expect, it } from 'vitest';
import { MASTERCARD, testGuard, sale } from '../helpers/guard.js';

describe('open refunds count against the original', () => {
  it('a second refund while the first is pending is REFUND_EXCEEDS_CHARGE when both exceed the sale', async () => {
    const { guard } = await testGuard();
    const paid = await guard.begin(sale({ amount: 1000 }));
    await paid.attempt?.approve();
    const first = await guard.begin(sale({ amount: 600, kind: 'refund', refundOf: paid.attempt?.id }));
    expect(first.verdict).toBe('allow');
    // The till says "system error"; the cashier refunds again, to another card.
    const second = await guard.begin(sale({ amount: 600, kind: 'refund', refundOf: paid.attempt?.id, card: { pan: MASTERCARD } }));
    expect(second.verdict).toBe('block');
    expect(second.reasons.map((r) => r.code)).toContain('REFUND_EXCEEDS_CHARGE');
  });

  it('a refund whose outcome is unknown still counts (different amount, same card)', async () => {
    const { guard } = await testGuard();
    const paid = await guard.begin(sale({ amount: 1000 }));
    await paid.attempt?.approve();
    const first = await guard.begin(sale({ amount: 700, kind: 'refund', refundOf: paid.attempt?.id }));
    await first.attempt?.markUnknown();
    const second = await guard.begin(sale({ amount: 699, kind: 'refund', refundOf: paid.attempt?.id }));
    expect(second.reasons.map((r) => r.code)).toContain('REFUND_EXCEEDS_CHARGE');
    expect(second.verdict).toBe('block');
  });
});

import { vi, afterEach } from 'vitest';
import { freshDb, tab } from '../helpers/tabs.js';

describe('two tabs refunding one sale at once', () => {
  afterEach(() => vi.unstubAllGlobals());
  it('never refund more than its amount together (the claim reads the refund key, the rule ignores it)', async () => {
    vi.stubGlobal('BroadcastChannel', undefined);
    const db = freshDb();
    const a = await tab(db);
    const paid = await a.guard.begin(sale({ amount: 1000 }));
    await paid.attempt?.approve();
    const b = await tab(db); // knows the original from its start-up load
    const ra = await a.guard.begin(sale({ amount: 600, kind: 'refund', refundOf: paid.attempt?.id }));
    const rb = await b.guard.begin(sale({ amount: 600, kind: 'refund', refundOf: paid.attempt?.id, card: { pan: MASTERCARD } }));
    expect(ra.verdict).toBe('allow');
    expect(rb.verdict).toBe('block');
    expect(rb.reasons.map((r) => r.code)).toContain('REFUND_EXCEEDS_CHARGE');
  });
});
