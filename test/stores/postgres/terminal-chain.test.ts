/**
 * From the adversarial review of postgresStore's per-terminal journal chain
 * (SPEC §12, docs/journal.md "Several terminals"): the head is read at
 * attach from the database's last entry of the terminal, and each terminal
 * seals alone. A till restarted while its previous run's last batch was on
 * its way sealed that batch's seqs again. Now a seq is taken once per
 * terminal (journal_seq: the loser seals again on the database's head).
 */
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGuard, verifyJournal, type Guard, type JournalEntry, type Sale } from '../../../src/index.js';
import { DEFAULT_SCHEMA, postgresStore, type PostgresStore } from '../../../src/postgres.js';
import { memoryStore } from '../../../src/stores/memory.js';
import { freshDatabase, type FreshDatabase } from '../../helpers/postgres.js';

const SECRET = 'attack-journal-secret-0123456789';
const MERCHANT = 'M-ATTACK-J';

let db: FreshDatabase;
beforeAll(async () => {
  db = await freshDatabase('terminal_chain');
});
afterAll(async () => {
  await db?.drop();
});

const sale = (token: string): Sale => ({ amount: 1250, currency: 'CNY', card: { token } });

async function terminal(
  terminalId: string | undefined,
  pool: pg.Pool = db.pool({ max: 3 }),
): Promise<{ guard: Guard; store: PostgresStore; pool: pg.Pool }> {
  const store = postgresStore({ pool, local: memoryStore(), timeout: '1s', retry: '100ms' });
  const guard = await createGuard({ merchantId: MERCHANT, ...(terminalId === undefined ? {} : { terminalId }), secret: SECRET, store });
  return { store, guard, pool };
}

async function charge(guard: Guard, token: string): Promise<void> {
  await (await guard.begin(sale(token))).attempt?.approve();
  expect((await guard.begin(sale(token))).verdict).toBe('prompt');
}

async function chain(terminalId: string | null): Promise<JournalEntry[]> {
  const { rows } = await db
    .pool({ max: 1 })
    .query<{ entry: string }>(
      `SELECT entry FROM ${DEFAULT_SCHEMA}.journal WHERE merchant_id = $1 AND terminal_id IS NOT DISTINCT FROM $2 ORDER BY id`,
      [MERCHANT, terminalId],
    );
  return rows.map((r) => JSON.parse(r.entry) as JournalEntry);
}

describe('postgresStore: one seq once per terminal chain', () => {
  it('a terminal restarted while its last journal batch is still in flight seals its entries after that batch: nothing lost, the chain verifies', async () => {
    const first = await terminal('TR');
    await charge(first.guard, 'tok-jr-1');
    await first.store.settled();
    // Something holds the journal for a moment (a VACUUM FULL, a DBA's LOCK, a slow disk): inserts wait, reads do not.
    const locker = await db.pool({ max: 1 }).connect();
    await locker.query('BEGIN');
    await locker.query(`LOCK TABLE ${DEFAULT_SCHEMA}.journal IN SHARE MODE`);
    // The till's last sale: its journal batch is sent and waits on the lock.
    void charge(first.guard, 'tok-jr-2').catch(() => undefined);
    await new Promise((resolve) => setTimeout(resolve, 300));
    // The till dies (power cut): the server still runs the INSERT it was sent, and commits it once the lock goes.
    // Its process is gone: its sockets are cut and it never reaches the database again.
    const dead = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
    const pool = first.pool as unknown as { connect: unknown; query: unknown; _clients: { connection: { stream: { destroy(): void } } }[] };
    pool.connect = () => Promise.reject(dead);
    pool.query = () => Promise.reject(dead);
    for (const client of pool._clients) client.connection.stream.destroy();
    // The till restarts and reads its head meanwhile.
    const restarted = await terminal('TR');
    await locker.query('COMMIT');
    locker.release();
    await charge(restarted.guard, 'tok-jr-3');
    await restarted.store.settled().catch(() => undefined);
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    await restarted.store.settled().catch(() => undefined);
    const entries = await chain('TR');
    const seqs = entries.map((e) => e.seq);
    expect({ seqs, verified: verifyJournal(entries, { secret: SECRET }) }).toMatchObject({ verified: { ok: true } });
    // Both runs' start-ups and the restarted till's own sale are on the chain, after the batch that landed late: nothing lost.
    expect(entries.filter((e) => e.type === 'start')).toHaveLength(2);
    expect(entries.at(-1)).toMatchObject({ type: 'decision', verdict: 'prompt' });
    await Promise.all([restarted.guard.close(), first.guard.close().catch(() => undefined)]);
  });
});
