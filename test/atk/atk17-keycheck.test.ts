/**
 * atk17: the key check written after the load (src/guard/start.ts: initMeta once load() is done).
 *
 * Pins (P = passes on the current code; guarantees nobody had tested):
 *
 * P1 (PostgreSQL) two terminals with different secrets starting together on an empty database, six rounds: exactly
 *    one starts; the database holds its key check; the loser left no journal row, no attempt row, no head; the
 *    loser's terminal, given the merchant's secret, starts at once (its hold was given back).
 * P2 (memory lanes) the same race, the winner taking a sale at once: the loser's start leaves nothing, and the
 *    winner's sale is there for the corrected loser to block.
 * P3 (memory lanes) a till cut off at its first start (wrong secret), back while the right till started: the wrong
 *    one refuses decisions once back, and nothing it wrote was fingerprinted into the right till's sales.
 */
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGuard, memoryStore, type Guard } from '../../src/index.js';
import { DEFAULT_SCHEMA, postgresStore } from '../../src/postgres.js';
import { freshDatabase, type FreshDatabase } from '../helpers/postgres.js';
import { flush, lanes } from '../helpers/lanes.js';

const RIGHT = 'shared-lanes-test-secret-0123456789ab';
const WRONG = 'atk17-a-typo-in-the-secret-0123456789';
const sale = { amount: 1_000, currency: 'CNY', card: { token: 'tok_atk17_keycheck' } };

describe('atk17: two secrets, one empty PostgreSQL database (pin)', () => {
  let db: FreshDatabase;
  let pool: pg.Pool;
  const guards: Guard[] = [];
  beforeAll(async () => {
    db = await freshDatabase('atk17_keycheck');
    pool = db.pool({ max: 10 });
  });
  afterAll(async () => {
    await Promise.all(guards.map((guard) => guard.close().catch(() => undefined)));
    await db.drop();
  });

  it('P1: exactly one starts, the loser leaves nothing, and its terminal starts with the right secret', async () => {
    for (let round = 0; round < 6; round++) {
      const merchantId = `M-KC${round}`;
      const open = (terminalId: string, secret: string) =>
        createGuard({ merchantId, terminalId, secret, store: postgresStore({ pool, local: memoryStore() }) });
      // Alternate who is asked first.
      const pair = round % 2 === 0 ? [open('T1', RIGHT), open('T2', WRONG)] : [open('T2', WRONG), open('T1', RIGHT)];
      const settled = await Promise.allSettled(pair);
      const started = settled.filter((s): s is PromiseFulfilledResult<Guard> => s.status === 'fulfilled').map((s) => s.value);
      guards.push(...started);
      expect(started, `round ${round}: ${JSON.stringify(settled.map((s) => s.status))}`).toHaveLength(1);
      const refused = settled.find((s) => s.status === 'rejected');
      expect(refused?.reason).toMatchObject({ code: 'SECRET_CHANGED' });
      const winner = settled[0]!.status === 'fulfilled' ? (round % 2 === 0 ? 'T1' : 'T2') : round % 2 === 0 ? 'T2' : 'T1';
      const loser = winner === 'T1' ? 'T2' : 'T1';
      await started[0]!.begin({ ...sale, amount: 1_000 + round }).then((d) => d.attempt?.approve());
      const journal = await pool.query(
        `SELECT count(*)::int AS n FROM ${DEFAULT_SCHEMA}.journal WHERE merchant_id = $1 AND terminal_id = $2`,
        [merchantId, loser],
      );
      expect(journal.rows[0]).toEqual({ n: 0 });
      const attempts = await pool.query(`SELECT record FROM ${DEFAULT_SCHEMA}.attempts WHERE merchant_id = $1`, [merchantId]);
      expect(attempts.rows.map((r: { record: string }) => (JSON.parse(r.record) as { terminalId: string }).terminalId)).toEqual([winner]);
      const meta = await pool.query(`SELECT key FROM ${DEFAULT_SCHEMA}.meta WHERE merchant_id = $1 ORDER BY key`, [merchantId]);
      expect(meta.rows.map((r: { key: string }) => r.key)).not.toContain(`journal-head:${loser}`);
      // The loser's terminal, corrected to the winner's secret, starts (not LOCKED by the failed start's hold).
      const winnerSecret = winner === 'T1' ? RIGHT : WRONG;
      const corrected = await open(loser, winnerSecret);
      guards.push(corrected);
      const again = await corrected.begin({ ...sale, amount: 1_000 + round });
      expect(again.verdict).not.toBe('allow');
      // Each round's guards hold connections (LISTEN): closed, so the pool never runs dry (a dry pool reads as cut off).
      await Promise.all([...started, corrected].map((g) => g.close()));
    }
  });
});

describe('atk17: two secrets on the memory lanes (pins)', () => {
  it('P2: the loser of the race leaves nothing, and the winner’s sale blocks the corrected loser', async () => {
    const { time, db, open } = lanes();
    const [t1, t2] = [time.terminal(), time.terminal()];
    const [a, b] = await Promise.allSettled([open(t1, 'T1'), open(t2, 'T2', { secret: WRONG })]);
    expect(a.status).toBe('fulfilled');
    expect(b).toMatchObject({ status: 'rejected', reason: { code: 'SECRET_CHANGED' } });
    const g1 = (a as PromiseFulfilledResult<Guard>).value;
    await (await g1.begin(sale)).attempt!.approve();
    await flush();
    expect(db.journal('M1').filter((l) => l.terminalId === 'T2')).toEqual([]);
    const g2 = await open(t2, 'T2');
    expect((await g2.begin(sale)).verdict).not.toBe('allow');
    await g1.close();
    await g2.close();
  });

  it('P3: a till cut off at its first start with the wrong secret refuses decisions once back', async () => {
    const { time, db, open } = lanes();
    const [t1, t2] = [time.terminal(), time.terminal()];
    db.disconnect('T2');
    const wrong = await open(t2, 'T2', { secret: WRONG });
    const right = await open(t1, 'T1');
    await (await right.begin(sale)).attempt!.approve();
    db.reconnect('T2');
    await time.advance(60_000);
    await flush();
    const after = await wrong.begin({ ...sale, amount: 2_000 }).catch((e: unknown) => e);
    expect(after).toMatchObject({ code: 'SECRET_CHANGED' });
    await right.close();
    await wrong.close().catch(() => undefined);
  });
});
