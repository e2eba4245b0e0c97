/**
 * SPEC §4: "Every error the guard throws is an instance of exactly one of
 * these five". `attempts(filter = {})` and `charge(…, options = {})` take a
 * default only for `undefined`: a `null` (what a JSON-driven caller sends)
 * is dereferenced and throws a bare TypeError.
 */
import { describe, expect, it } from 'vitest';
import { GuardError } from '../../src/index.js';
import { sale, testGuard, thrown } from '../helpers/guard.js';

describe('review: bad arguments throw guard errors', () => {
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
