/**
 * SPEC §12 on PostgreSQL: each terminal keeps its own journal chain in the
 * database, sealed by the terminal against the head it holds, and it
 * verifies (`verifyJournal`) after normal work from two terminals, a
 * cut-off with its outbox and catch-up, and a restart; an entry edited in
 * the database is caught at its seq.
 */
import { describe, expect, it } from 'vitest';
import { createGuard, verifyJournal, type Guard, type JournalEntry, type Sale } from '../../../src/index.js';
import { DEFAULT_SCHEMA, postgresStore, type PostgresStore } from '../../../src/postgres.js';
import { memoryStore } from '../../../src/stores/memory.js';
import { pgRemote } from '../../../src/stores/postgres/remote.js';
import type { GuardStore } from '../../../src/types.js';
import { databaseBehindProxy } from '../../helpers/postgres-fixture.js';

const SECRET = 'journal-chain-secret-0123456789';
const MERCHANT = 'M-JOURNAL';

const database = databaseBehindProxy('journal_chain');

const sale = (token: string): Sale => ({ amount: 1250, currency: 'CNY', card: { token } });

/** A terminal: T1 reaches the database through the proxy (so it can be cut off), with a local store to work on meanwhile. */
async function terminal(terminalId: string, local: GuardStore, viaProxy = false): Promise<{ guard: Guard; store: PostgresStore }> {
  const pool = database.db.pool({ max: 3, ...(viaProxy ? { port: database.proxy.port } : {}) });
  const store = postgresStore({ pool, local, timeout: '1s', retry: '100ms' });
  return { store, guard: await createGuard({ merchantId: MERCHANT, terminalId, secret: SECRET, store }) };
}

/** A sale approved, then begun again (a held decision: journaled), so each call adds two entries or more. */
async function charge(guard: Guard, token: string): Promise<void> {
  await (await guard.begin(sale(token))).attempt?.approve();
  expect((await guard.begin(sale(token))).verdict).toBe('prompt');
}

/** One terminal's journal as the database holds it, in the order written (the table's id). */
async function journal(terminalId: string): Promise<{ id: string; entry: JournalEntry }[]> {
  const { rows } = await database.db
    .pool({ max: 1 })
    .query<{ id: string; entry: string }>(
      `SELECT id, entry FROM ${DEFAULT_SCHEMA}.journal WHERE merchant_id = $1 AND terminal_id = $2 ORDER BY id`,
      [MERCHANT, terminalId],
    );
  return rows.map((r) => ({ id: r.id, entry: JSON.parse(r.entry) as JournalEntry }));
}

const verified = async (terminalId: string) =>
  verifyJournal(
    (await journal(terminalId)).map((r) => r.entry),
    { secret: SECRET },
  );

async function synced(store: PostgresStore): Promise<void> {
  for (let tries = 0; ; tries++) {
    try {
      await store.sync();
      return;
    } catch (error) {
      if (tries > 50) throw error;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

describe('postgresStore: each terminal its own journal chain', () => {
  it('verifies for both terminals after normal work, a cut-off with its catch-up, and a restart; an edited entry is caught', async () => {
    const local1 = memoryStore();
    let t1 = await terminal('T1', local1, true);
    const t2 = await terminal('T2', memoryStore());
    await charge(t1.guard, 'tok-j-1');
    await charge(t2.guard, 'tok-j-2');
    await charge(t1.guard, 'tok-j-3');

    // Cut off: T1 goes on with local (sales in its outbox, entries kept), then catches up.
    database.proxy.cut();
    await charge(t1.guard, 'tok-j-4');
    await charge(t1.guard, 'tok-j-5');
    expect(t1.store.cutOff?.()).toBe(true);
    // Its entries went to local (sealed already), not to the database.
    await t1.store.settled();
    expect(local1.journal().length).toBeGreaterThanOrEqual(4);
    await charge(t2.guard, 'tok-j-6');
    database.proxy.restore();
    await synced(t1.store);
    await charge(t1.guard, 'tok-j-7');

    // Restarted: its head is read back from the database.
    await t1.guard.close();
    t1 = await terminal('T1', local1, true);
    await charge(t1.guard, 'tok-j-8');
    await Promise.all([t1.store.settled(), t2.store.settled()]);

    for (const terminalId of ['T1', 'T2']) {
      const result = await verified(terminalId);
      expect(result).toMatchObject({ ok: true, unsealed: 0, from: 1 });
      // Every entry on the chain once: as many as the last seq.
      expect(result.ok && result.last?.seq).toBe(result.ok && result.entries);
    }
    const t1Entries = await journal('T1');
    expect(t1Entries.length).toBeGreaterThanOrEqual(12);
    // The Remote reads the same chain, and its last entry.
    const remote = pgRemote({ pool: database.db.pool({ max: 1 }), schema: DEFAULT_SCHEMA, timeoutMs: 5_000, retryMs: 1_000 });
    expect(await remote.journal(MERCHANT, 'T1')).toEqual(t1Entries.map((r) => r.entry));
    expect(await remote.lastJournal(MERCHANT, 'T1')).toEqual(t1Entries.at(-1)?.entry);
    expect(await remote.lastJournal(MERCHANT, 'T9')).toBeUndefined();

    // Tampered with in the database: one of T2's entries edited.
    const [, second] = await journal('T2');
    const edited = { ...(second as { entry: JournalEntry }).entry, amount: 1 };
    await database.db
      .pool({ max: 1 })
      .query(`UPDATE ${DEFAULT_SCHEMA}.journal SET entry = $1 WHERE id = $2`, [JSON.stringify(edited), second?.id]);
    expect(await verified('T2')).toEqual({ ok: false, seq: second?.entry.seq, problem: 'edited' });
    expect(await verified('T1')).toMatchObject({ ok: true });
    await Promise.all([t1.guard.close(), t2.guard.close()]);
  });
});
