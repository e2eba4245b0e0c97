/**
 * atk14 on real PostgreSQL (the terminal's network cut with a TCP proxy): the key check of a till
 * whose start-up is cut off. The same findings as atk14-keycheck.test.ts, on postgresStore:
 *
 * F15 'pg: a till restarted cut off with a changed secret starts over its own history written with
 *     the old one' — the retry of the sale it charged a minute before is allowed.
 * F5  'pg: a failed start while cut off writes its wrong secret into the empty shared database once
 *     a later start comes back' — then every lane with the merchant's secret is refused.
 */
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGuard, memoryStore, type Guard, type GuardStore } from '../../src/index.js';
import { postgresStore } from '../../src/postgres.js';
import { freshDatabase, tcpProxy, type FreshDatabase, type TcpProxy } from '../helpers/postgres.js';
import { failure } from '../helpers/guard.js';

const RIGHT = 'atk14-pg-secret-0123456789abcdef';
const WRONG = 'atk14-pg-typo-0123456789abcdefgh';
let db: FreshDatabase;
let pool: pg.Pool;
let proxy: TcpProxy;
let cutPool: pg.Pool;
const guards: Guard[] = [];
beforeAll(async () => {
  db = await freshDatabase('atk14');
  pool = db.pool({ max: 6 });
  proxy = await tcpProxy(Number(db.config.port));
  cutPool = db.pool({ host: proxy.host, port: proxy.port, max: 6, connectionTimeoutMillis: 500 });
});
afterAll(async () => {
  proxy.restore();
  await Promise.all(guards.map((guard) => guard.close().catch(() => undefined)));
  await proxy.close();
  await db.drop();
});

const keep = (g: Guard) => (guards.push(g), g);
const sale = { amount: 1_000, currency: 'CNY', card: { token: 'tok_atk14_pg' } };
const codes = (d: { reasons: readonly { code: string }[] }) => d.reasons.map((r) => r.code);

describe('atk14: PostgreSQL, the key check of a till started cut off', () => {
  it('F15 pg: a till restarted cut off with a changed secret starts over its own history written with the old one', async () => {
    const merchantId = 'M-F15';
    keep(await createGuard({ merchantId, terminalId: 'A1', secret: RIGHT, store: postgresStore({ pool }) }));
    const local = memoryStore();
    const till = await createGuard({
      merchantId,
      terminalId: 'A2',
      secret: RIGHT,
      store: postgresStore({ pool: cutPool, local, timeout: '1s' }),
    });
    const d = await till.begin(sale);
    await d.attempt!.approve();
    await till.close();
    proxy.cut();
    try {
      const restarted = await createGuard({
        merchantId,
        terminalId: 'A2',
        secret: WRONG,
        store: postgresStore({ pool: cutPool, local, timeout: '1s' }),
      }).then(
        (g) => keep(g),
        (e: unknown) => e,
      );
      if (!(restarted instanceof Error)) {
        const retry = await (restarted as Guard).begin(sale);
        expect(codes(retry)).toContain('DUPLICATE_CHARGE');
      }
      expect(restarted).toMatchObject({ code: 'SECRET_CHANGED' });
    } finally {
      proxy.restore();
    }
  });

  it('F5 pg: a failed start while cut off writes its wrong secret into the empty shared database once a later start comes back', async () => {
    const merchantId = 'M-F5';
    const inner = memoryStore();
    let failing = true;
    const local: GuardStore = { ...inner, load: (scope) => (failing ? Promise.reject(new Error('disk hiccup')) : inner.load(scope)) };
    proxy.cut();
    try {
      const error = await failure(
        createGuard({ merchantId, terminalId: 'B2', secret: WRONG, store: postgresStore({ pool: cutPool, local, timeout: '1s' }) }),
      );
      expect(error).toMatchObject({ name: 'GuardStorageError' });
    } finally {
      proxy.restore();
    }
    failing = false;
    const corrected = await createGuard({
      merchantId,
      terminalId: 'B2',
      secret: RIGHT,
      store: postgresStore({ pool: cutPool, local, timeout: '1s' }),
    }).then(
      (g) => keep(g),
      (e: unknown) => e,
    );
    const other = await createGuard({ merchantId, terminalId: 'B1', secret: RIGHT, store: postgresStore({ pool }) }).then(
      (g) => keep(g),
      (e: unknown) => e,
    );
    expect(corrected).not.toBeInstanceOf(Error);
    expect(other).not.toBeInstanceOf(Error);
  });
});
