/**
 * SPEC §4: "Every error the guard throws is an instance of exactly one of
 * these five". `attempts(filter = {})` and `charge(…, options = {})` take a
 * default only for `undefined`: a `null` (what a JSON-driven caller sends)
 * is dereferenced and throws a bare TypeError.
 */
import { describe, expect, it } from 'vitest';
import { GuardError } from '../../src/index.js';
import { sale, testGuard, thrown } from '../helpers/guard.js';

describe('bad arguments throw guard errors', () => {
  it('attempts(null)', async () => {
    const { guard } = await testGuard();
    const error = await thrown(() => guard.attempts(null as never));
    expect(error).toBeInstanceOf(GuardError);
  });

  it('charge(sale, submit, null)', async () => {
    const { guard } = await testGuard();
    const error = await thrown(() => guard.charge(sale(), async () => ({ approved: true }), null as never));
    expect(error).toBeInstanceOf(GuardError);
  });
});

// Issue 16: "this guard is closed" said what happened, not what to do next.
describe('a closed guard says what to use instead', () => {
  it('names createGuard', async () => {
    const { guard } = await testGuard();
    await guard.close();
    const error = await thrown(() => guard.begin(sale()));
    expect(error).toMatchObject({ name: 'GuardStateError', code: 'CLOSED' });
    expect((error as Error).message).toMatch(/closed.*createGuard/);
  });
});
