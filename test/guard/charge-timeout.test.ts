import { describe, expect, it } from 'vitest';
import { createGuard } from '../../src/index.js';
import { SECRET, sale } from '../helpers/guard.js';

/**
 * A timeout (or a default pendingTimeout) above 2^31-1 ms (~24.8 days) is
 * accepted by parseDuration, but setTimeout clamps such a delay to 1 ms: the
 * charge is declared `unknown` at once although the processor approves it a
 * moment later.
 */
const slowApproval = () =>
  new Promise<{ approved: true; authCode: string }>((resolve) => setTimeout(() => resolve({ approved: true, authCode: 'A1' }), 30));

describe('charge() timeouts longer than setTimeout can hold', () => {
  it("timeout: '30d' does not time a 30 ms approval out", async () => {
    const guard = await createGuard({ merchantId: 'M-0001', secret: SECRET, pendingTimeout: '31d' });
    const result = await guard.charge(sale(), slowApproval, { timeout: '30d' });
    expect(result.status).toBe('approved');
    await guard.close();
  });

  it("pendingTimeout: '30d' (the default charge timeout) does not time a 30 ms approval out", async () => {
    const guard = await createGuard({ merchantId: 'M-0001', secret: SECRET, pendingTimeout: '30d' });
    const result = await guard.charge(sale(), slowApproval);
    expect(result.status).toBe('approved');
    await guard.close();
  });
});
