/**
 * postgresStore's schema and options (SPEC §9): the shipped DDL is the DDL
 * the store runs; ten terminals starting at once on an empty database all
 * start and create the schema once; the `schema` option puts a history in a
 * schema of its own; one database serves several merchants, each with its
 * own records and key check; a DBA's schema serves terminals that may not
 * run DDL; bad options are GuardConfigErrors naming the field and the rule.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createGuard, GuardConfigError, verifyJournal, type Guard, type JournalEntry, type Sale } from '../../../src/index.js';
import { headOf, journalSeal } from '../../../src/journal/chain.js';
import { DEFAULT_SCHEMA, postgresStore, schemaSql, type PostgresStoreOptions } from '../../../src/postgres.js';
import { freshDatabase, type FreshDatabase } from '../../helpers/postgres.js';
import { SCHEMA_VERSION } from '../../../src/stores/postgres/schema.js';

const SECRET = 'schema-test-secret-0123456789';
const sale = (token: string, amount = 1250): Sale => ({ amount, currency: 'CNY', card: { token } });

let db: FreshDatabase;
const guards: Guard[] = [];
beforeAll(async () => {
  db = await freshDatabase('schema');
});
afterAll(async () => {
  await Promise.all(guards.splice(0).map((guard) => guard.close().catch(() => undefined)));
  await db.drop();
});

async function terminal(
  pool: pg.Pool,
  {
    merchantId = 'M1',
    terminalId = 'T1',
    secret = SECRET,
    schema,
  }: { merchantId?: string; terminalId?: string; secret?: string; schema?: string } = {},
): Promise<Guard> {
  const store = postgresStore({ pool, ...(schema === undefined ? {} : { schema }) });
  const guard = await createGuard({ merchantId, terminalId, secret, store });
  guards.push(guard);
  return guard;
}

/** The transaction ids that created (or last rewrote) the schema's namespace, tables, sequences, indexes and functions. */
async function creators(pool: pg.Pool, schema: string): Promise<string[]> {
  const { rows } = await pool.query<{ xmin: string }>(
    `SELECT n.xmin::text FROM pg_namespace n WHERE n.nspname = $1
     UNION SELECT c.xmin::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1
     UNION SELECT p.xmin::text FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = $1`,
    [schema],
  );
  return rows.map((r) => r.xmin);
}

describe('the DDL', () => {
  it('ships as schema/postgres.sql exactly as the store runs it (schemaSql of the default schema)', () => {
    const shipped = readFileSync(fileURLToPath(new URL('../../../schema/postgres.sql', import.meta.url)), 'utf8');
    expect(DEFAULT_SCHEMA).toBe('pos_duplicate_guard');
    expect(shipped).toBe(schemaSql(DEFAULT_SCHEMA));
  });

  it('is created once when ten terminals (ten pools) start at once on an empty database, and every one starts', async () => {
    const fresh = await freshDatabase('ten');
    try {
      const pools = Array.from({ length: 10 }, () => fresh.pool({ max: 3 }));
      const started = await Promise.allSettled(pools.map((pool, i) => terminal(pool, { terminalId: `T${i}` })));
      expect(started.filter((r) => r.status === 'rejected')).toEqual([]);
      const check = pools[0] as pg.Pool;
      // One transaction made all of it: no terminal ran the DDL again after the first one committed.
      expect(await creators(check, DEFAULT_SCHEMA)).toHaveLength(1);
      expect((await check.query(`SELECT version FROM ${DEFAULT_SCHEMA}.schema_version`)).rows).toEqual([{ version: SCHEMA_VERSION }]);
      // And they share one history: a sale begun on one is IN_FLIGHT on all the others.
      const ten = started.map((r) => (r as PromiseFulfilledResult<Guard>).value);
      expect((await (ten[3] as Guard).begin(sale('tok-ten'))).verdict).toBe('allow');
      for (const guard of ten.filter((_, i) => i !== 3)) {
        expect((await guard.begin(sale('tok-ten'))).reasons.map((r) => r.code)).toEqual(['IN_FLIGHT']);
      }
      // A terminal starting later finds the schema and leaves it alone.
      await terminal(fresh.pool({ max: 2 }), { terminalId: 'T10' });
      expect(await creators(check, DEFAULT_SCHEMA)).toHaveLength(1);
      await Promise.all(ten.map((guard) => guard.close()));
    } finally {
      await fresh.drop();
    }
  });

  it('is all a terminal needs when a DBA ran schema.sql and granted only what its header lists (no DDL right)', async () => {
    const fresh = await freshDatabase('dba');
    try {
      const admin = fresh.pool({ max: 1 });
      const role = `till_${fresh.name}`.slice(0, 63);
      await admin.query(readFileSync(fileURLToPath(new URL('../../../schema/postgres.sql', import.meta.url)), 'utf8'));
      const s = DEFAULT_SCHEMA;
      await admin.query(`CREATE ROLE ${role} LOGIN`);
      await admin.query(`REVOKE CREATE ON SCHEMA public FROM PUBLIC`);
      await admin.query(`REVOKE CREATE ON DATABASE ${fresh.name} FROM PUBLIC`);
      await admin.query(`GRANT USAGE ON SCHEMA ${s} TO ${role}`);
      await admin.query(`GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA ${s} TO ${role}`);
      await admin.query(`GRANT USAGE ON ALL SEQUENCES IN SCHEMA ${s} TO ${role}`);
      await admin.query(`GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA ${s} TO ${role}`);
      const till = fresh.pool({ max: 3, user: role });
      // The role cannot run the DDL: proof that the store does not need to.
      await expect(till.query(`CREATE TABLE ${s}.probe (x int)`)).rejects.toThrow(/permission denied/);
      const a = await terminal(till, { terminalId: 'T1' });
      const b = await terminal(fresh.pool({ max: 3, user: role }), { terminalId: 'T2' });
      const allowed = await a.begin(sale('tok-dba'));
      expect((await b.begin(sale('tok-dba'))).reasons.map((r) => r.code)).toEqual(['IN_FLIGHT']);
      const id = allowed.attempt?.id as string;
      await a.settle(id, { status: 'approved', authCode: 'A1' });
      await vi.waitFor(async () => expect((await b.get(id))?.status).toBe('approved'), { timeout: 2_000 });
      expect((await b.begin(sale('tok-dba'))).reasons.map((r) => r.code)).toEqual(['DUPLICATE_CHARGE']);
      await Promise.all([a.close(), b.close()]);
    } finally {
      await fresh.drop();
    }
  });

  it('of an older version is brought up to date by the first terminal to start (a schema of version 1, without filed_under)', async () => {
    const fresh = await freshDatabase('upgrade');
    try {
      const admin = fresh.pool({ max: 1 });
      await admin.query(schemaSql(DEFAULT_SCHEMA));
      await admin.query(`DROP FUNCTION ${DEFAULT_SCHEMA}.filed_under(text, text); UPDATE ${DEFAULT_SCHEMA}.schema_version SET version = 1`);
      const guard = await terminal(fresh.pool({ max: 3 }), { terminalId: 'T1' });
      // byOrder calls filed_under: a sale on an order is decided, not a store failure.
      expect((await guard.begin({ ...sale('tok-upgrade'), orderId: 'ORD-1' })).verdict).toBe('allow');
      expect((await admin.query(`SELECT version FROM ${DEFAULT_SCHEMA}.schema_version ORDER BY 1`)).rows).toEqual([
        { version: 1 },
        { version: SCHEMA_VERSION },
      ]);
      await guard.close();
    } finally {
      await fresh.drop();
    }
  });
});

describe('the current version on a database of version 2', () => {
  it('is brought up to date by the first terminal to start: journal seqs filled in, unique per terminal; chains go on; run again, it changes nothing', async () => {
    const fresh = await freshDatabase('v2');
    try {
      const admin = fresh.pool({ max: 1 });
      const s = DEFAULT_SCHEMA;
      // The DDL version 2 shipped (schema/postgres.sql at that version), with a journal written by version 2's stores.
      await admin.query(readFileSync(fileURLToPath(new URL('./schema-v2.sql', import.meta.url)), 'utf8'));
      const seal = journalSeal(SECRET);
      const chain = (n: number): JournalEntry[] => {
        const entries: JournalEntry[] = [];
        for (let i = 0; i < n; i++) {
          entries.push(seal({ at: 1_000 + i, type: 'start', detail: `v2 ${i}` }, entries.at(-1) && headOf(entries.at(-1) as JournalEntry)));
        }
        return entries;
      };
      const v2Journal = async (terminalId: string | null, entries: readonly JournalEntry[]) => {
        for (const entry of entries) {
          await admin.query(`INSERT INTO ${s}.journal (merchant_id, terminal_id, at, entry) VALUES ('M1', $1, $2, $3)`, [
            terminalId,
            entry.at,
            JSON.stringify(entry),
          ]);
        }
      };
      await v2Journal('T1', chain(3));
      // A chain version 2 broke (seq 2 sealed twice: a batch in flight at a restart), and an entry from before the chain.
      const [first, second] = chain(2) as [JournalEntry, JournalEntry];
      await v2Journal('T2', [first, second, seal({ at: 2_000, type: 'start', detail: 'again' }, headOf(first))]);
      await v2Journal('T3', [{ at: 500, type: 'start' }]);

      const guard = await terminal(fresh.pool({ max: 3 }), { terminalId: 'T1' });
      const allowed = await guard.begin(sale('tok-v2'));
      await allowed.attempt?.approve();
      await guard.close();

      expect((await admin.query(`SELECT version FROM ${s}.schema_version ORDER BY 1`)).rows).toEqual([
        { version: 2 },
        { version: SCHEMA_VERSION },
      ]);
      const rows = async () =>
        (
          await admin.query<{ terminal_id: string; seq: string | null; entry: string }>(
            `SELECT terminal_id, seq, entry FROM ${s}.journal ORDER BY id`,
          )
        ).rows;
      const bySeq = (terminalId: string, held: Awaited<ReturnType<typeof rows>>) =>
        held.filter((r) => r.terminal_id === terminalId).map((r) => (r.seq === null ? null : Number(r.seq)));
      const migrated = await rows();
      // T1's chain went on from its version 2 entries, and verifies whole.
      const t1 = bySeq('T1', migrated);
      expect(t1.slice(0, 4)).toEqual([1, 2, 3, 4]);
      expect(t1).toEqual(t1.map((_, i) => i + 1));
      const t1Entries = migrated.filter((r) => r.terminal_id === 'T1').map((r) => JSON.parse(r.entry) as JournalEntry);
      expect(verifyJournal(t1Entries, { secret: SECRET })).toMatchObject({ ok: true });
      // The broken chain keeps its first seq 2; the second holds none (the chain is as broken as it was, and says so).
      expect(bySeq('T2', migrated)).toEqual([1, 2, null]);
      expect(bySeq('T3', migrated)).toEqual([null]);
      // From now on a seq is taken once per terminal.
      await expect(
        admin.query(`INSERT INTO ${s}.journal (merchant_id, terminal_id, at, entry, seq) VALUES ('M1', 'T1', 1, '{}', 2)`),
      ).rejects.toThrow(/journal_seq/);
      // The DDL run again (a DBA's psql -f twice) changes nothing.
      await admin.query(schemaSql(s));
      expect(await rows()).toEqual(migrated);
    } finally {
      await fresh.drop();
    }
  });
});

describe('the schema option', () => {
  it('puts the history in the schema named, and two schemas in one database are two histories', async () => {
    const pool = db.pool({ max: 6 });
    const a1 = await terminal(pool, { schema: 'lane_a', terminalId: 'A1' });
    const a2 = await terminal(pool, { schema: 'lane_a', terminalId: 'A2' });
    const b1 = await terminal(pool, { schema: 'lane_b', terminalId: 'B1' });
    const begun = await a1.begin(sale('tok-schema'));
    expect(begun.verdict).toBe('allow');
    expect((await a2.begin(sale('tok-schema'))).reasons.map((r) => r.code)).toEqual(['IN_FLIGHT']);
    // The other schema's terminal holds its own history: nothing of lane_a.
    const other = await b1.begin(sale('tok-schema'));
    expect(other.verdict).toBe('allow');
    const rows = async (schema: string) =>
      (await pool.query<{ id: string }>(`SELECT id FROM ${schema}.attempts ORDER BY id`)).rows.map((r) => r.id);
    expect(await rows('lane_a')).toEqual([begun.attempt?.id]);
    expect(await rows('lane_b')).toEqual([other.attempt?.id]);
    const tables = await pool.query<{ table_schema: string }>(
      `SELECT DISTINCT table_schema FROM information_schema.tables WHERE table_name = 'attempts' ORDER BY 1`,
    );
    expect(tables.rows.map((r) => r.table_schema)).toEqual(['lane_a', 'lane_b']);
    await Promise.all([a1.close(), a2.close(), b1.close()]);
  });
});

describe('one database, several merchants', () => {
  it("never loads another merchant's records, and keeps a key check per merchant", async () => {
    const pool = db.pool({ max: 6 });
    const schema = 'merchants';
    const m1 = await terminal(pool, { schema, merchantId: 'M1', terminalId: 'T1', secret: 'merchant-one-secret-0123456789' });
    const paid = await m1.begin({ ...sale('tok-shared-card'), orderId: 'ORD-1' });
    await paid.attempt?.approve();
    const open = await m1.begin(sale('tok-open'));
    expect(open.verdict).toBe('allow');

    // Another merchant, another secret, the same database and schema: it starts (its own key check)…
    const m2 = await terminal(pool, { schema, merchantId: 'M2', terminalId: 'T1', secret: 'merchant-two-secret-9876543210' });
    // …and holds none of M1's records, by id or by listing, open or settled.
    expect(await m2.attempts()).toEqual([]);
    for (const id of [paid.attempt?.id, open.attempt?.id]) expect(await m2.get(id as string)).toBeUndefined();
    const second = await m2.begin({ ...sale('tok-shared-card'), orderId: 'ORD-1' });
    expect(second.verdict).toBe('allow');
    expect(second.reasons).toEqual([]);

    // The key checks, per merchant.
    const stored = await pool.query<{ merchant_id: string; value: string }>(
      `SELECT merchant_id, value FROM ${schema}.meta WHERE key = 'keyCheck' ORDER BY merchant_id`,
    );
    expect(stored.rows.map((r) => r.merchant_id)).toEqual(['M1', 'M2']);
    expect(stored.rows[0]?.value).not.toBe(stored.rows[1]?.value);
    const reader = postgresStore({ pool, schema });
    await reader.attach?.({
      merchantId: 'M2',
      terminalId: 'R',
      windowMs: 600_000,
      pendingTimeoutMs: 120_000,
      clock: { now: () => Date.now(), monotonic: () => performance.now() },
      scheduler: {
        after(ms, task) {
          const timer = setTimeout(task, ms);
          return () => clearTimeout(timer);
        },
      },
    });
    expect(await reader.getMeta('keyCheck')).toBe(stored.rows[1]?.value);
    expect((await reader.load()).map((r) => r.merchantId)).toEqual(['M2']);
    await reader.close?.();

    // M1 with M2's secret is refused: M1's own key check is there.
    await expect(
      createGuard({ merchantId: 'M1', terminalId: 'T9', secret: 'merchant-two-secret-9876543210', store: postgresStore({ pool, schema }) }),
    ).rejects.toMatchObject({ name: 'GuardConfigError', code: 'SECRET_CHANGED' });
    await Promise.all([m1.close(), m2.close()]);
  });
});

describe('options', () => {
  const pool = { query: async () => ({ rows: [] }), connect: async () => ({}) } as unknown as PostgresStoreOptions['pool'];
  const cases: [string, unknown, string, RegExp][] = [
    ['no options', undefined, 'options', /must be an object with at least `pool`/],
    ['no pool', {}, 'pool', /must be a pg\.Pool/],
    ['a pool without connect()', { pool: { query: () => undefined } }, 'pool', /must be a pg\.Pool/],
    ['a schema with capitals and a dash', { pool, schema: 'Bad-Name' }, 'schema', /must be a lower-case SQL identifier/],
    ['a schema smuggling SQL', { pool, schema: 'x; DROP TABLE attempts' }, 'schema', /must be a lower-case SQL identifier/],
    ['a schema of 64 characters', { pool, schema: 'a'.repeat(64) }, 'schema', /at most 63/],
    ['an empty schema', { pool, schema: '' }, 'schema', /must be a lower-case SQL identifier/],
    ['timeout 0', { pool, timeout: 0 }, 'timeout', /must be a Duration above 0/],
    ["timeout '0s'", { pool, timeout: '0s' }, 'timeout', /must be a Duration above 0/],
    ['timeout not a Duration', { pool, timeout: 'soon' }, 'timeout', /must be a Duration/],
    ['retry 0', { pool, retry: 0 }, 'retry', /must be a Duration above 0/],
    ['local not a store', { pool, local: 'guard.jsonl' }, 'local', /must be a GuardStore/],
  ];
  it.each(cases)('refuses %s with a GuardConfigError naming the field and the rule', (_, options, field, rule) => {
    let thrown: unknown;
    try {
      postgresStore(options as PostgresStoreOptions);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(GuardConfigError);
    expect(thrown).toMatchObject({ field });
    expect((thrown as Error).message).toContain(`\`${field}\``);
    expect((thrown as Error).message).toMatch(rule);
  });
});

describe('version 4 on a database of version 3', () => {
  it('replaces claim() by one that calls no other function, with the grants kept, and terminals go on on the history', async () => {
    const fresh = await freshDatabase('v3');
    try {
      const admin = fresh.pool({ max: 1 });
      const s = DEFAULT_SCHEMA;
      // The DDL version 3 shipped, and a sale a version 3 store reserved and approved.
      await admin.query(readFileSync(fileURLToPath(new URL('./schema-v3.sql', import.meta.url)), 'utf8'));
      await admin.query(`GRANT EXECUTE ON FUNCTION ${s}.claim(text, text, text[], text[], json, json) TO PUBLIC`);
      const body = async () =>
        (await admin.query<{ src: string; acl: string }>(`SELECT prosrc AS src, proacl::text AS acl FROM pg_proc WHERE proname = 'claim'`))
          .rows;
      expect((await body())[0]?.src).toContain('lock_claim(');

      const first = await terminal(fresh.pool({ max: 3 }), { terminalId: 'T1' });
      const sold = await first.begin(sale('tok-v3'));
      await sold.attempt?.approve();
      expect((await admin.query(`SELECT version FROM ${s}.schema_version ORDER BY 1`)).rows).toEqual([
        { version: 3 },
        { version: SCHEMA_VERSION },
      ]);
      const [claim] = await body();
      expect(claim?.src).not.toContain('lock_claim(');
      expect(claim?.src).not.toContain('write_row(');
      expect(claim?.acl).toContain('=X/');
      // Another terminal meets the approved sale through the new claim.
      const second = await terminal(fresh.pool({ max: 3 }), { terminalId: 'T2' });
      expect((await second.begin(sale('tok-v3'))).reasons.map((r) => r.code)).toEqual(['DUPLICATE_CHARGE']);
      await Promise.all([first.close(), second.close()]);
    } finally {
      await fresh.drop();
    }
  });
});

describe('version 5 on a database of version 4', () => {
  it('replaces claim() by one that probes for a new sale (nothing expected) without collecting rows, grants kept, and terminals go on on the history', async () => {
    const fresh = await freshDatabase('v4');
    try {
      const admin = fresh.pool({ max: 1 });
      const s = DEFAULT_SCHEMA;
      // The DDL version 4 shipped (test/stores/postgres/schema-v4.sql), and a sale reserved and approved on it.
      await admin.query(readFileSync(fileURLToPath(new URL('./schema-v4.sql', import.meta.url)), 'utf8'));
      await admin.query(`GRANT EXECUTE ON FUNCTION ${s}.claim(text, text, text[], text[], json, json) TO PUBLIC`);
      const body = async () =>
        (await admin.query<{ src: string; acl: string }>(`SELECT prosrc AS src, proacl::text AS acl FROM pg_proc WHERE proname = 'claim'`))
          .rows;
      expect((await body())[0]?.src).not.toContain('nothing_expected');
      // A version 4 claim's reservation, as a version 4 store sends it.
      const v4Claim = (id: string, token: string) =>
        admin.query(`SELECT * FROM ${s}.claim($1, $2, $3, $4, $5::json, $6::json)`, [
          'M1',
          'w_v4',
          [`"${token}"`],
          [id],
          '[]',
          JSON.stringify([
            { id, record: '{}', skew: 0, status: 'pending', kind: 'sale', dbUpdatedAt: 1, keys: [`"${token}"`], notify: false },
          ]),
        ]);
      expect((await v4Claim('v4-row', 'fp-v4')).rows).toMatchObject([{ written: true, row_id: 'v4-row' }]);

      const first = await terminal(fresh.pool({ max: 3 }), { terminalId: 'T1' });
      const sold = await first.begin(sale('tok-v4'));
      await sold.attempt?.approve();
      expect((await admin.query(`SELECT version FROM ${s}.schema_version ORDER BY 1`)).rows).toEqual([{ version: 4 }, { version: 5 }]);
      const [claim] = await body();
      expect(claim?.src).toContain('nothing_expected');
      expect(claim?.acl).toContain('=X/');
      // The row written through version 4's claim is met by the new one: a claim of its key writes nothing and answers it.
      const again = await admin.query(`SELECT * FROM ${s}.claim($1, $2, $3, $4, $5::json, $6::json)`, [
        'M1',
        'w_v5',
        ['"fp-v4"'],
        ['v5-row'],
        '[]',
        JSON.stringify([{ id: 'v5-row', record: '{}', skew: 0, status: 'pending', kind: 'sale', dbUpdatedAt: 1, keys: ['"fp-v4"'] }]),
      ]);
      expect(again.rows).toMatchObject([{ written: false, row_id: 'v4-row' }]);
      // Another terminal meets the approved sale through the new claim, and a new sale is still allowed.
      const second = await terminal(fresh.pool({ max: 3 }), { terminalId: 'T2' });
      expect((await second.begin(sale('tok-v4'))).reasons.map((r) => r.code)).toEqual(['DUPLICATE_CHARGE']);
      expect((await second.begin(sale('tok-v5'))).attempt).toBeDefined();
      await Promise.all([first.close(), second.close()]);
    } finally {
      await fresh.drop();
    }
  });
});
