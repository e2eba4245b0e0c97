/**
 * atk20: sale.ts now refuses control characters and bidi overrides in a
 * sale's identifiers (merchantId, terminalId, orderId, refundOf, operator):
 * "shown on screens and in reports as it is: an ESC sequence or a bidi
 * override would rewrite them". The guard's own merchantId / terminalId
 * (createGuard options), which every record, journal line and report
 * carries, still take them: the same text is refused in a sale and
 * accepted as the guard's default, and written into every record.
 */
import { describe, expect, it } from 'vitest';
import { createGuard, GuardError, memoryStore } from '../../src/index.js';
import { SECRET } from '../helpers/guard.js';

const outcome = (p: Promise<unknown>) =>
  p.then(
    () => 'accepted',
    (e: unknown) => (e instanceof GuardError ? `refused ${e.code}` : `threw ${String(e)}`),
  );

describe('atk20: identifiers with control characters, guard options vs sales', () => {
  for (const [field, value] of [
    ['merchantId', 'M1\u202eX'],
    ['merchantId', 'M1\u001b[2JX'],
    ['terminalId', 'T1\u2066X'],
  ] as const) {
    it(`createGuard refuses ${field} ${JSON.stringify(value)} as a sale's ${field} is refused`, async () => {
      const sale = { amount: 100, currency: 'CNY', card: { token: 'tok_20_id' }, [field]: value };
      const base = { merchantId: 'M1', secret: SECRET, store: memoryStore() };
      const guard = await createGuard(base);
      const inSale = await outcome(guard.begin(sale));
      await guard.close();
      expect(inSale).toMatch(/^refused/);
      const asOption = await outcome(createGuard({ ...base, store: memoryStore(), [field]: value }).then((g) => g.close()));
      expect(asOption).toMatch(/^refused/);
    });
  }
});
