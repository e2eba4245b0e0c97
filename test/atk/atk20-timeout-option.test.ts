/**
 * atk20: charge()'s `timeout` may not exceed pendingTimeout (options.ts
 * withinPending). Passing pins: refused before anything is reserved, equal
 * is fine, and the refusal is a GuardInputError naming `timeout`.
 */
import { describe, expect, it } from 'vitest';
import { createGuard, GuardInputError, memoryStore } from '../../src/index.js';
import { SECRET, VISA } from '../helpers/guard.js';

describe('atk20: charge timeout against pendingTimeout', () => {
  it('timeout above pendingTimeout: GuardInputError on `timeout`, submit never called, nothing reserved; equal to it: charged', async () => {
    const guard = await createGuard({ merchantId: 'M1', secret: SECRET, store: memoryStore(), pendingTimeout: '90s' });
    const sale = { amount: 1500, currency: 'CNY', card: { pan: VISA } };
    let calls = 0;
    const error = await guard.charge(sale, async () => (calls++, { approved: true }), { timeout: '91s' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(GuardInputError);
    expect((error as GuardInputError).field).toBe('timeout');
    expect(calls).toBe(0);
    expect(await guard.attempts()).toEqual([]);
    const ok = await guard.charge(sale, async () => (calls++, { approved: true }), { timeout: 90_000 });
    expect(ok.status).toBe('approved');
    await guard.close();
  });
});
