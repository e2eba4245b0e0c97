/**
 * atk13 on real PostgreSQL: failed starts (wrong secret, a load that fails halfway, LOCKED)
 * and what they leave of the store and the terminal id; two secrets racing on an empty database.
 */
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGuard, GuardError, type Guard } from '../../src/index.js';
import { postgresStore } from '../../src/postgres.js';
import { memoryStore } from '../../src/stores/memory.js';
import { freshDatabase, type FreshDatabase } from '../helpers/postgres.js';
import { failure } from '../helpers/guard.js';

const SECRET = 'atk13-pg-secret-0123456789abcdef';
const OTHER = 'atk13-pg-other-0123456789abcdefgh';
let db: FreshDatabase;
let pool: pg.Pool;
const guards: Guard[] = [];
beforeAll(async () => {
  db = await freshDatabase('atk13');
  pool = db.pool({ max: 12 });
});
afterAll(async () => {
  await Promise.all(guards.map((guard) => guard.close().catch(() => undefined)));
  await db.drop();
});

const keep = (g: Guard) => (guards.push(g), g);
const card = (token: string) => ({ amount: 1_000, currency: 'CNY', card: { token } });

describe('atk13: PostgreSQL start-up', () => {
  it('two terminals with different secrets racing to start on an empty merchant: one is refused SECRET_CHANGED', async () => {
    const merchantId = 'M-RACE';
    const results = await Promise.allSettled([
      createGuard({ merchantId, terminalId: 'R1', secret: SECRET, store: postgresStore({ pool }) }),
      createGuard({ merchantId, terminalId: 'R2', secret: OTHER, store: postgresStore({ pool }) }),
    ]);
    for (const r of results) if (r.status === 'fulfilled') keep(r.value);
    const started = results.filter((r): r is PromiseFulfilledResult<Guard> => r.status === 'fulfilled').map((r) => r.value);
    if (started.length === 2) {
      // Both run: a sale approved on one is not a duplicate on the other.
      const d = await started[0]!.begin(card('tok_race'));
      await d.attempt!.approve();
      const peek = await started[1]!.peek(card('tok_race'));
      expect(peek.reasons.map((r) => r.code)).toEqual(['DUPLICATE_CHARGE']);
    }
    expect(started).toHaveLength(1);
  });

  it('a wrong-secret createGuard over the store object a guard runs on: refused, the running guard keeps working', async () => {
    const merchantId = 'M-SAME';
    const store = postgresStore({ pool });
    const g = keep(await createGuard({ merchantId, terminalId: 'S1', secret: SECRET, store }));
    for (const resetOnSecretChange of [false, true]) {
      expect(await failure(createGuard({ merchantId, terminalId: 'S1', secret: OTHER, store, resetOnSecretChange }))).toMatchObject({
        code: 'SECRET_CHANGED',
      });
    }
    const d = await g.begin(card('tok_same'));
    expect(d.verdict).toBe('allow');
    await d.attempt!.approve();
    const { rows } = await pool.query(`SELECT count(*) AS n FROM pos_duplicate_guard.attempts WHERE merchant_id = $1`, [merchantId]);
    expect(Number(rows[0].n)).toBe(1);
    const other = keep(await createGuard({ merchantId, terminalId: 'S2', secret: SECRET, store: postgresStore({ pool }) }));
    expect((await other.peek(card('tok_same'))).reasons.map((r) => r.code)).toEqual(['DUPLICATE_CHARGE']);
  });

  it('a load that fails halfway: rejected with a GuardError, and the terminal id is free for the next store', async () => {
    const merchantId = 'M-LOAD';
    const seed = keep(await createGuard({ merchantId, terminalId: 'L0', secret: SECRET, store: postgresStore({ pool }) }));
    const d = await seed.begin(card('tok_load'));
    await d.attempt!.approve();
    const store = postgresStore({ pool, local: memoryStore() });
    store.load = () => Promise.reject(new Error('connection reset mid-load'));
    const error = await failure(createGuard({ merchantId, terminalId: 'L1', secret: SECRET, store }));
    expect(error).toBeInstanceOf(GuardError);
    const next = await failure(
      createGuard({ merchantId, terminalId: 'L1', secret: SECRET, store: postgresStore({ pool }) }).then((g) => {
        keep(g);
        return g.peek(card('tok_load')).then((p) => {
          throw new Error(`started: ${p.reasons.map((r) => r.code).join(',')}`);
        });
      }),
    );
    expect(String((next as Error).message)).toBe('started: DUPLICATE_CHARGE');
  });

  it('LOCKED inside attach, then the same store given again once the other let the id go: it starts', async () => {
    const merchantId = 'M-LOCK';
    const first = await createGuard({ merchantId, terminalId: 'K1', secret: SECRET, store: postgresStore({ pool }) });
    const store = postgresStore({ pool, timeout: '2s' });
    const error = await failure(createGuard({ merchantId, terminalId: 'K1', secret: SECRET, store }));
    expect(error).toBeInstanceOf(GuardError);
    expect(error).toMatchObject({ code: 'LOCKED' });
    await first.close();
    const g = keep(await createGuard({ merchantId, terminalId: 'K1', secret: SECRET, store }));
    const d = await g.begin(card('tok_lock'));
    expect(d.verdict).toBe('allow');
  });
});
