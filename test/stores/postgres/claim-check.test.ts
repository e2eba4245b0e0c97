/**
 * claim() (SPEC §9), called directly on two connections: what its check sees
 * when another transaction held the claim's locks, and what it answers when a
 * row it met is deleted (prune and delete take no claim lock) between the
 * INSERT whose condition is the check and the check run again to answer.
 */
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { schemaSql } from '../../../src/postgres.js';
import { freshDatabase, type FreshDatabase } from '../../helpers/postgres.js';

let db: FreshDatabase;
let pool: pg.Pool;
const s = 'claim_check';
beforeAll(async () => {
  db = await freshDatabase('claim_check');
  pool = db.pool({ max: 4 });
  await pool.query(schemaSql(s));
});
afterAll(async () => {
  await db.drop();
});

const write = (id: string, keys: string[], notify?: boolean) => ({
  id,
  record: JSON.stringify({ id }),
  skew: 0,
  status: 'pending',
  kind: 'sale',
  dbUpdatedAt: 1,
  keys,
  ...(notify === undefined ? {} : { notify }),
});
type Row = { written: boolean; row_id: string | null; row_version: string | null };
const claim = (
  q: pg.Pool | pg.PoolClient,
  keys: string[],
  ids: string[],
  expected: [string, number | string][],
  writes: unknown[],
  merchant = 'M1',
) =>
  q
    .query<Row>(`SELECT * FROM ${s}.claim($1, 'w', $2, $3, $4::json, $5::json)`, [
      merchant,
      keys,
      ids,
      JSON.stringify(expected),
      JSON.stringify(writes),
    ])
    .then((r) => r.rows);

/** Until `pid` waits for a lock (advisory or row). */
const waitsForLock = (pid: number) =>
  vi.waitFor(
    async () => {
      const { rows } = await pool.query(`SELECT 1 FROM pg_locks WHERE pid = $1 AND NOT granted`, [pid]);
      expect(rows).toHaveLength(1);
    },
    { timeout: 5_000, interval: 10 },
  );
const pidOf = async (c: pg.PoolClient) => Number((await c.query<{ p: number }>('SELECT pg_backend_pid() AS p')).rows[0]?.p);

describe('claim(): the check sees what committed while it waited for the locks', () => {
  it('a claim blocked on a key another uncommitted claim holds meets that claim’s row once it commits, and writes nothing', async () => {
    const a = await pool.connect();
    const b = await pool.connect();
    try {
      await a.query('BEGIN');
      expect(await claim(a, ['vis'], [], [], [write('vis-a', ['vis'])])).toMatchObject([{ written: true, row_id: 'vis-a' }]);
      const bPid = await pidOf(b);
      const second = claim(b, ['vis'], [], [], [write('vis-b', ['vis'])]);
      await waitsForLock(bPid);
      await a.query('COMMIT');
      const answer = await second;
      expect(answer).toMatchObject([{ written: false, row_id: 'vis-a' }]);
      const { rows } = await pool.query(`SELECT id FROM ${s}.attempts WHERE claim_keys && ARRAY['vis']`);
      expect(rows).toEqual([{ id: 'vis-a' }]);
    } finally {
      a.release();
      b.release();
    }
  });
});

describe('claim(): a row deleted between its INSERT and the check that answers', () => {
  it('is no "belongs to another merchant" error: the claim answers or writes', async () => {
    // Fault injection: after claim()'s INSERT statement (which wrote nothing: the check failed on
    // the old row), the claimer waits on advisory lock 4242 that this test holds, while the old
    // row is deleted (as prune/delete do, without the claim's locks).
    await pool.query(`
      CREATE FUNCTION ${s}.pause() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF current_setting('claim_check.pause', true) = 'on' THEN
          PERFORM pg_advisory_lock(4242);
          PERFORM pg_advisory_unlock(4242);
        END IF;
        RETURN NULL;
      END $$;
      CREATE TRIGGER pause AFTER INSERT ON ${s}.attempts FOR EACH STATEMENT EXECUTE FUNCTION ${s}.pause();`);
    const holder = await pool.connect();
    const claimer = await pool.connect();
    try {
      await claim(pool, ['gone'], [], [], [write('gone-old', ['gone'])]);
      await holder.query('SELECT pg_advisory_lock(4242)');
      await claimer.query(`SET claim_check.pause = 'on'`);
      const pid = await pidOf(claimer);
      // The claimer has not seen gone-old: it expects nothing under the key.
      const answer = claim(claimer, ['gone'], [], [], [write('gone-new', ['gone'])]).then(
        (rows) => ({ rows }),
        (error: { code?: string; message?: string }) => ({ error: `${error.code} ${error.message}` }),
      );
      // (A body that runs no INSERT when its check fails never pauses: it answers at once.)
      await Promise.race([waitsForLock(pid), answer]);
      await holder.query(`DELETE FROM ${s}.attempts WHERE id = 'gone-old'`);
      await holder.query('SELECT pg_advisory_unlock(4242)');
      const result = await answer;
      expect(result).not.toHaveProperty('error');
      const rows = (result as { rows: Row[] }).rows;
      // Either answer is one the check could give: the old row met, or (it is gone) the write made.
      if (rows[0]?.written) expect(rows.map((r) => r.row_id)).toEqual(['gone-new']);
      else expect(rows.map((r) => r.row_id)).toEqual(['gone-old']);
    } finally {
      await claimer.query(`RESET claim_check.pause`).catch(() => undefined);
      await pool.query(`DROP TRIGGER IF EXISTS pause ON ${s}.attempts`);
      holder.release();
      claimer.release();
    }
  });
});

describe('claim(): answers at the edges', () => {
  it('nothing to write, nothing expected, nothing there: written with one NULL row', async () => {
    expect(await claim(pool, [], [], [], [])).toMatchObject([{ written: true, row_id: null }]);
    expect(await claim(pool, ['edge-none'], ['edge-none-id'], [], [])).toMatchObject([{ written: true, row_id: null }]);
  });

  it('expected names a row since deleted: not written, one NULL row, nothing written', async () => {
    await claim(pool, ['edge-del'], [], [], [write('edge-del-1', ['edge-del'])]);
    const v = (await pool.query(`SELECT version FROM ${s}.attempts WHERE id = 'edge-del-1'`)).rows[0].version;
    await pool.query(`DELETE FROM ${s}.attempts WHERE id = 'edge-del-1'`);
    expect(await claim(pool, ['edge-del'], ['edge-del-1'], [['edge-del-1', v]], [write('edge-del-2', ['edge-del'])])).toMatchObject([
      { written: false, row_id: null },
    ]);
    expect(await claim(pool, ['edge-del'], ['edge-del-1'], [['edge-del-1', v]], [])).toMatchObject([{ written: false, row_id: null }]);
    expect((await pool.query(`SELECT id FROM ${s}.attempts WHERE id LIKE 'edge-del-%'`)).rows).toEqual([]);
  });

  it('expected names a row written again since: not written, the new version answered', async () => {
    const first = await claim(pool, ['edge-chg'], [], [], [write('edge-chg-1', ['edge-chg'])]);
    const v1 = first[0]?.row_version as string;
    const second = await claim(pool, ['edge-chg'], ['edge-chg-1'], [['edge-chg-1', v1]], [write('edge-chg-1', ['edge-chg'])]);
    const v2 = second[0]?.row_version as string;
    expect(await claim(pool, ['edge-chg'], ['edge-chg-1'], [['edge-chg-1', v1]], [write('edge-chg-2', ['edge-chg'])])).toMatchObject([
      { written: false, row_id: 'edge-chg-1', row_version: v2 },
    ]);
  });

  it('two writes (a refund and its sale) land together, and only the notify ones are announced', async () => {
    const listener = await pool.connect();
    const heard: string[] = [];
    listener.on('notification', (n) => heard.push(n.payload ?? ''));
    await listener.query(`LISTEN ${s}`);
    try {
      const rows = await claim(pool, ['two-k'], [], [], [write('two-sale', ['two-k'], false), write('two-refund', ['two-k'])]);
      expect(rows.map((r) => [r.written, r.row_id]).sort()).toEqual([
        [true, 'two-refund'],
        [true, 'two-sale'],
      ]);
      const refund = rows.find((r) => r.row_id === 'two-refund')?.row_version;
      await claim(pool, ['one-k'], [], [], [write('one-quiet', ['one-k'], false)]);
      await claim(pool, ['one-k2'], [], [], [write('one-loud', ['one-k2'])]);
      await vi.waitFor(() => expect(heard).toHaveLength(2));
      expect(JSON.parse(heard[0] as string)[1]).toEqual([Number(refund)]);
    } finally {
      listener.release();
    }
  });
});

describe("claim() and another merchant's attempt", () => {
  it('a claim of two writes, the second an id another merchant holds, raises and writes neither (and notifies nothing)', async () => {
    const mine = write('mine', ['k-mine'], true);
    await claim(pool, ['k-theirs'], [], [], [write('theirs', ['k-theirs'], true)], 'M2');
    const listener = await pool.connect();
    const heard: string[] = [];
    listener.on('notification', (n) => heard.push(n.payload ?? ''));
    await listener.query(`LISTEN ${s}`);
    try {
      await expect(claim(pool, ['k-mine', 'k-theirs'], [], [], [mine, write('theirs', ['k-theirs'], true)])).rejects.toMatchObject({
        code: '23505',
      });
      const rows = await pool.query<{ id: string; merchant_id: string }>(
        `SELECT id, merchant_id FROM ${s}.attempts WHERE id IN ('mine', 'theirs')`,
      );
      expect(rows.rows).toEqual([{ id: 'theirs', merchant_id: 'M2' }]);
      // A notice from a claim that wrote (to see that one would have arrived), and none from the refused one.
      await claim(pool, ['k-mine'], [], [], [mine]);
      await vi.waitFor(() => expect(heard).toHaveLength(1));
      expect(JSON.parse(heard[0] as string)[0]).toBe('M1');
    } finally {
      listener.release();
    }
  });
});
