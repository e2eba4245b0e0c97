import { describe, expect, it } from 'vitest';
import { createGuard } from '../../src/index.js';
import { SECRET, sale } from '../helpers/guard.js';

/**
 * redact() masks every run of 12+ digits with up to 3 separators between
 * them, Luhn or not: amounts and dates a supervisor writes in an override
 * reason (the audit trail) become "[card number removed]".
 */
describe('amounts and dates in free text are kept', () => {
  it('an override reason listing split-payment amounts keeps them', async () => {
    const guard = await createGuard({ merchantId: 'M-0001', secret: SECRET });
    await (await guard.begin(sale())).attempt!.approve();
    const prompt = await guard.begin(sale());
    const reason = 'split bill 100.00 / 150.00 / 200.00';
    const allowed = await guard.override(prompt, { operator: 'ana', reason });
    expect((await guard.get(allowed.attempt!.id))?.override?.reason).toBe(reason);
    await guard.close();
  });

  it('a decline message with a date and an amount keeps them', async () => {
    const guard = await createGuard({ merchantId: 'M-0001', secret: SECRET });
    const message = 'limit reached 2026.03.01 500.00';
    const result = await guard.charge(sale(), async () => ({ approved: false, code: '61', message }));
    expect(result.attempt?.message).toBe(message);
    await guard.close();
  });
});
