/**
 * From the SPEC audit (§9): "Only a failure to connect or a timeout counts
 * as cut off: serialization failures and deadlocks are retried, never taken
 * for an outage. While cut off the store tries to reconnect at least every
 * 2 s with no further call needed." Neither had a test: every test gave its
 * own `retry`, and no statement ever failed with 40001 or 40P01.
 */
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGuard, memoryStore, type Guard, type Sale } from '../../../src/index.js';
import { postgresStore, type PgPool } from '../../../src/postgres.js';
import { freshDatabase, type FreshDatabase } from '../../helpers/postgres.js';

const SECRET = 'transient-test-secret-0123456789';
const sale = (token: string): Sale => ({ amount: 1250, currency: 'CNY', card: { token } });

let db: FreshDatabase;
const guards: Guard[] = [];
beforeAll(async () => {
  db = await freshDatabase('transient');
});
afterAll(async () => {
  await Promise.all(guards.splice(0).map((guard) => guard.close().catch(() => undefined)));
  await db.drop();
});

/** A pool whose next `failures` claims fail with SQLSTATE `code` before reaching the server (as a conflict or an outage would). */
function failing(pool: pg.Pool) {
  const plan = { code: '', failures: 0, failed: 0 };
  const wrapped = new Proxy(pool, {
    get(target, name, receiver) {
      if (name !== 'query') return Reflect.get(target, name, receiver) as unknown;
      return (config: { name?: string }, ...rest: unknown[]) => {
        if (plan.failures > 0 && typeof config === 'object' && config.name?.endsWith('_claim')) {
          plan.failures--;
          plan.failed++;
          return Promise.reject(Object.assign(new Error(`simulated ${plan.code}`), { code: plan.code }));
        }
        return (target.query as (...args: unknown[]) => unknown)(config, ...rest);
      };
    },
  });
  return { pool: wrapped as unknown as PgPool, plan };
}

async function terminal(terminalId: string, retry?: string) {
  const { pool, plan } = failing(db.pool({ max: 3 }));
  const store = postgresStore({ pool, local: memoryStore(), ...(retry === undefined ? {} : { retry }) });
  const guard = await createGuard({ merchantId: 'M1', terminalId, secret: SECRET, store });
  guards.push(guard);
  return { guard, store, plan };
}

describe('statements the server refused for a moment', () => {
  it.each(['40001', '40P01'])('%s (serialization failure, deadlock) is tried again: allow, not SHARED_UNAVAILABLE', async (code) => {
    const { guard, store, plan } = await terminal(`T-${code}`);
    Object.assign(plan, { code, failures: 3 });
    const d = await guard.begin(sale(`tok-${code}`));
    expect(d.verdict).toBe('allow');
    expect(d.reasons).toEqual([]);
    expect(plan.failed).toBe(3);
    expect(store.cutOff?.()).toBe(false);
  });

  it('a failure to connect (08006) is an outage: SHARED_UNAVAILABLE, and the store is cut off', async () => {
    const { guard, store, plan } = await terminal('T-08006');
    Object.assign(plan, { code: '08006', failures: 1 });
    const d = await guard.begin(sale('tok-08006'));
    expect(d.reasons.map((r) => r.code)).toEqual(['SHARED_UNAVAILABLE']);
    expect(store.cutOff?.()).toBe(true);
  });
});

describe('the default retry', () => {
  it('reconnects within about 2 s of the database coming back, with no further call', async () => {
    const { guard, store, plan } = await terminal('T-RETRY');
    Object.assign(plan, { code: '08006', failures: 1 });
    await guard.begin(sale('tok-retry'));
    expect(store.cutOff?.()).toBe(true);
    const from = Date.now();
    while (store.cutOff?.() && Date.now() - from < 5_000) await new Promise((resolve) => setTimeout(resolve, 50));
    expect(store.cutOff?.()).toBe(false);
    expect(Date.now() - from).toBeLessThan(3_000);
  });
});
