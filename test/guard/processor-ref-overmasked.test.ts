import { describe, expect, it } from 'vitest';
import { createGuard } from '../../src/index.js';
import { SECRET, sale } from '../helpers/guard.js';

/**
 * processorRef is meant to keep its digits ("a 12-digit retrieval reference
 * number" — redact.ts) because reconciliation matches on them. But any
 * 12-19 digit reference that starts with 62, or passes Luhn (1 in 10), is
 * masked as a card number. An ISO 8583 RRN is YDDDHHNNNNNN: every RRN issued
 * on days 200-299 of 2026 starts with "62".
 */
describe('processorRef (RRN) is not masked as a card number', () => {
  it('keeps an RRN issued on day 205 of 2026 (62051...)', async () => {
    const guard = await createGuard({ merchantId: 'M-0001', secret: SECRET });
    const decision = await guard.begin(sale());
    const record = await decision.attempt!.approve({ processorRef: '620514123456', authCode: '123456' });
    expect(record.processorRef).toBe('620514123456');
    await guard.close();
  });

  it('keeps a Luhn-valid 12-digit RRN from a charge() answer', async () => {
    const guard = await createGuard({ merchantId: 'M-0001', secret: SECRET });
    // 512014123453: day 120 of 2025, passes Luhn by chance (as 1 in 10 do).
    const result = await guard.charge(sale(), async () => ({ approved: true, processorRef: '512014123453' }));
    expect(result.attempt?.processorRef).toBe('512014123453');
    await guard.close();
  });
});
