/**
 * postgresStore's notices (SPEC §8, §9): every terminal hears every other's
 * writes, so what hearing one costs is paid once per terminal for every
 * write. A notice names the version written and nothing else, and the
 * terminal that hears it reads the row back (notices arriving together in
 * one query): NOTIFY and LISTEN need no privilege, so a notice is no proof
 * and carries nothing a role without SELECT may not read
 * (notice-forgery.test.ts).
 */
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createGuard, type Guard, type Sale } from '../../../src/index.js';
import { postgresStore, schemaSql } from '../../../src/postgres.js';
import { parseNotice } from '../../../src/stores/postgres/remote.js';
import type { AttemptRecord, StoreChange } from '../../../src/types.js';
import { freshDatabase, type FreshDatabase } from '../../helpers/postgres.js';

const SECRET = 'remote-test-secret-0123456789';
const sale = (token: string, amount = 1250): Sale => ({ amount, currency: 'CNY', card: { token } });

let db: FreshDatabase;
const guards: Guard[] = [];
beforeAll(async () => {
  db = await freshDatabase('remote');
});
afterAll(async () => {
  await Promise.all(guards.splice(0).map((guard) => guard.close().catch(() => undefined)));
  await db.drop();
});

/** A terminal on a pool of its own, the changes its store hands on, and the statements its pool runs from `count()` on. */
async function terminal(terminalId: string) {
  const pool = db.pool({ max: 3 });
  const store = postgresStore({ pool });
  const guard = await createGuard({ merchantId: 'M1', terminalId, secret: SECRET, store });
  guards.push(guard);
  const heard: StoreChange[] = [];
  store.subscribe?.((change) => heard.push(change));
  const statements: string[] = [];
  let counting = false;
  const query = pool.query.bind(pool) as (...args: unknown[]) => unknown;
  (pool as { query: unknown }).query = (config: { name?: string; text?: string } | string, ...rest: unknown[]) => {
    if (counting) statements.push(typeof config === 'string' ? config : (config.name ?? config.text ?? '?'));
    return query(config, ...rest);
  };
  return { pool, store, guard, heard, statements, count: () => (counting = true) };
}

const statusHeard = (heard: readonly StoreChange[], id: string | undefined) =>
  heard.flatMap((change) => (change.type === 'record' && change.record.id === id ? [change.record.status] : []));

describe('notices', () => {
  it("bring another terminal's settle, read back from the database (a notice is not trusted: any role may NOTIFY); a new sale's reservation is not announced", async () => {
    const t1 = await terminal('T1');
    const t2 = await terminal('T2');
    t2.count();
    const first = await t1.guard.begin(sale('tok-notice-1'));
    const id = first.attempt?.id;
    await first.attempt?.approve({ authCode: 'A1' });
    await vi.waitFor(() => expect(statusHeard(t2.heard, id)).toEqual(['approved']), { timeout: 3_000 });
    expect(t2.statements.length).toBeGreaterThan(0);
    expect(new Set(t2.statements)).toEqual(new Set(['pos_duplicate_guard_noticed']));
    // And T2's guard judges on it: the same sale again is a duplicate there.
    expect((await t2.guard.begin(sale('tok-notice-1'))).reasons.map((r) => r.code)).toContain('DUPLICATE_CHARGE');
  });

  it("announce a refund's reservation after its commit, and an override's inside it", async () => {
    const t1 = await terminal('T5');
    const t2 = await terminal('T6');
    const first = await t1.guard.begin(sale('tok-notice-3'));
    await first.attempt?.approve({ authCode: 'A3' });
    await vi.waitFor(() => expect(statusHeard(t2.heard, first.attempt?.id)).toEqual(['approved']), { timeout: 3_000 });
    const refund = await t1.guard.begin({ ...sale('tok-notice-3'), kind: 'refund', refundOf: first.attempt?.id, amount: 100 });
    await vi.waitFor(() => expect(statusHeard(t2.heard, refund.attempt?.id)).toEqual(['pending']), { timeout: 3_000 });
    const again = await t1.guard.begin(sale('tok-notice-3'));
    expect(again.verdict).toBe('prompt');
    const confirmed = await t1.guard.override(again, { operator: 'op-1', reason: 'customer buys two' });
    await vi.waitFor(() => expect(statusHeard(t2.heard, confirmed.attempt?.id)).toEqual(['pending']), { timeout: 3_000 });
  });

  it('name a row of any size by its version (one too large for a notice too), and the terminal that hears it reads it back whole', async () => {
    const t1 = await terminal('T3');
    const t2 = await terminal('T4');
    const first = await t1.guard.begin(sale('tok-notice-2'));
    await first.attempt?.approve({ authCode: 'A2' });
    await vi.waitFor(() => expect(statusHeard(t2.heard, first.attempt?.id)).toEqual(['approved']), { timeout: 3_000 });
    const [held] = t2.heard.flatMap((c) => (c.type === 'record' && c.record.id === first.attempt?.id ? [c.record] : []));
    t2.count();
    // Written through the store itself: the guard keeps its free text short. Over 8000 bytes with the
    // multi-byte characters: more than a notice could carry, and its notice is a version like any other.
    const large: AttemptRecord = { ...(held as AttemptRecord), status: 'declined', updatedAt: Date.now(), message: '拒'.repeat(3_000) };
    await t1.store.put(large);
    await vi.waitFor(() => expect(statusHeard(t2.heard, large.id)).toEqual(['approved', 'declined']), { timeout: 3_000 });
    expect(t2.statements).toEqual(['pos_duplicate_guard_noticed']);
    const told = t2.heard.at(-1) as { record: AttemptRecord };
    expect(told.record.message).toBe(large.message);
  });
});

describe('parseNotice', () => {
  const row = (id: string) => ({ v: 1, id, status: 'pending' });

  it('takes the versions a notice names', () => {
    expect(parseNotice(JSON.stringify(['M1', [7, 9], 'w_other']), 'M1', 'w_self')).toEqual({ versions: [7, 9], ids: [] });
  });

  it("ignores another merchant's notices and this writer's own", () => {
    const payload = JSON.stringify(['M1', [7], 'w_self']);
    expect(parseNotice(payload, 'M2', 'w_other')).toBeUndefined();
    expect(parseNotice(payload, 'M1', 'w_self')).toBeUndefined();
  });

  it("reads an older store's notices (an id, a list of ids, rows) as ids to read back: nothing a notice carries is taken", () => {
    expect(parseNotice(JSON.stringify(['M1', 'a', 'w']), 'M1', 'x')).toEqual({ versions: [], ids: ['a'] });
    expect(parseNotice(JSON.stringify(['M1', ['a', 'b'], 'w']), 'M1', 'x')).toEqual({ versions: [], ids: ['a', 'b'] });
    const rows = [
      [`a`, 7, -3, 1_000, row('a')],
      ['b', '7', 0, 1_000, row('not-b')],
      ['c', 7, 0, 1_000],
    ];
    expect(parseNotice(JSON.stringify(['M1', rows, 'w']), 'M1', 'x')).toEqual({ versions: [], ids: ['a', 'b', 'c'] });
  });

  it('ignores what names no row: versions that are not positive safe integers, items without an id', () => {
    const items = [0, -1, 1.5, 2 ** 53, '', [42, 7, 0, 1_000, row('42')], { id: 'd' }, null];
    expect(parseNotice(JSON.stringify(['M1', items, 'w']), 'M1', 'x')).toEqual({ versions: [], ids: [] });
  });
});

describe('the functions a terminal calls', () => {
  const FUNCTIONS = ['claim', 'filed_under', 'put_row', 'upload'];

  it('plan their statements once per connection (a generic plan), by key: planning the key lookup cost more than running it', async () => {
    const pool: pg.Pool = db.pool({ max: 1 });
    const { rows } = await pool.query<{ name: string; config: string[] | null }>(
      `SELECT p.proname AS name, p.proconfig AS config FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
        WHERE n.nspname = 'pos_duplicate_guard' AND p.proname = ANY ($1) ORDER BY 1`,
      [FUNCTIONS],
    );
    expect(rows).toEqual(FUNCTIONS.map((name) => ({ name, config: ['plan_cache_mode=force_generic_plan', 'enable_seqscan=off'] })));
  });

  it('keep to the indexes on a connection whose plans were made while the table was empty', async () => {
    const fresh = await freshDatabase('plans');
    try {
      const client = await fresh.pool({ max: 1 }).connect();
      const s = 'plans';
      await client.query(schemaSql(s));
      const byOrder = (key: string) =>
        client.query({ name: 'by_order', text: `SELECT * FROM ${s}.filed_under($1, $2)`, values: ['M1', key] });
      const claim = (id: string) =>
        client.query({
          name: 'claim',
          text: `SELECT * FROM ${s}.claim($1, $2, $3, $4, $5::json, $6::json)`,
          values: [
            'M1',
            'w',
            [`"fp-${id}"`],
            [id],
            '[]',
            JSON.stringify([{ id, record: '{}', skew: 0, status: 'pending', kind: 'sale', dbUpdatedAt: 1, keys: [`"fp-${id}"`] }]),
          ],
        });
      // Planned on the empty table, then the table fills (no ANALYZE yet: autovacuum has not come by).
      for (let i = 0; i < 6; i++) await Promise.all([byOrder(`"order-${i}"`), claim(`early-${i}`)]);
      await client.query(
        `INSERT INTO ${s}.attempts SELECT 'h' || g, 'M1', g, '{}', 0, 'pending', 'sale', g, g, 'w', ARRAY['"fp-h' || g || '"'] FROM generate_series(1, 20000) AS g`,
      );
      const plans: string[] = [];
      client.on('notice', (notice) => plans.push(notice.message ?? ''));
      await client.query(`LOAD 'auto_explain'`);
      await client.query(
        `SET auto_explain.log_min_duration = 0; SET auto_explain.log_nested_statements = on; SET auto_explain.log_level = notice`,
      );
      await byOrder('"order-x"');
      await claim('late');
      // filed_under's lookup (through related()), and the claim's: a new sale's claim expects no row and probes the
      // keys and ids itself (schema version 5), through the same fences.
      const lookups = plans.filter((plan) => plan.includes('related(') || plan.includes('claim_keys && p_keys'));
      expect(lookups).toHaveLength(2);
      for (const plan of lookups) {
        expect(plan).toContain('Bitmap Index Scan on attempts_claim_keys');
        expect(plan).not.toContain('Seq Scan');
      }
      // The claim's ids by the primary key, not through every open row of the merchant (attempts_hot).
      expect(lookups[1]).toContain('attempts_pkey');
      expect(lookups[1]).not.toContain('attempts_hot');
      client.release();
    } finally {
      await fresh.drop();
    }
  });
});
