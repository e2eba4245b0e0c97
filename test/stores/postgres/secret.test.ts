/**
 * A terminal started with another secret over a merchant's PostgreSQL
 * history (SPEC §5, §9): refused SECRET_CHANGED, with resetOnSecretChange
 * too, and not a row of the other lanes' history is deleted.
 */
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGuard, GuardConfigError, type Guard } from '../../../src/index.js';
import { postgresStore } from '../../../src/postgres.js';
import { freshDatabase, type FreshDatabase } from '../../helpers/postgres.js';

const SECRET = 'merchant-secret-0123456789abcdef';
let db: FreshDatabase;
let pool: pg.Pool;
const guards: Guard[] = [];
beforeAll(async () => {
  db = await freshDatabase('secret_changed');
  pool = db.pool({ max: 6 });
});
afterAll(async () => {
  await Promise.all(guards.map((guard) => guard.close().catch(() => undefined)));
  await db.drop();
});

const terminal = async (terminalId: string, options: { secret?: string; resetOnSecretChange?: boolean } = {}) => {
  const guard = await createGuard({ merchantId: 'M-SECRET', terminalId, secret: SECRET, store: postgresStore({ pool }), ...options });
  guards.push(guard);
  return guard;
};

describe('postgresStore: a terminal with another secret', () => {
  it('is refused SECRET_CHANGED even with resetOnSecretChange, and the merchant’s rows all stay', async () => {
    const t1 = await terminal('T1');
    const sale = { amount: 1_500, currency: 'CNY', card: { token: 'tok_pg_secret' } };
    const d = await t1.begin(sale);
    await t1.settle(d.attempt!.id, { status: 'approved' });
    await t1.begin({ ...sale, amount: 2_500 });
    const count = async () =>
      Number((await pool.query(`SELECT count(*) AS n FROM pos_duplicate_guard.attempts WHERE merchant_id = 'M-SECRET'`)).rows[0].n);
    expect(await count()).toBe(2);
    for (const resetOnSecretChange of [false, true]) {
      const error = await terminal('T2', { secret: 'another-secret-0123456789abcdef', resetOnSecretChange }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(GuardConfigError);
      expect(error).toMatchObject({ code: 'SECRET_CHANGED', field: 'secret' });
    }
    expect(await count()).toBe(2);
    // The terminal id T2 was given back: with the merchant's secret it starts, and sees the history.
    const t2 = await terminal('T2');
    expect((await t2.peek(sale)).reasons.map((r) => r.code)).toEqual(['DUPLICATE_CHARGE']);
  });
});
