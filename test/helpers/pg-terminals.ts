/**
 * Terminals of one merchant over `postgresStore`, on a fresh database of
 * their own (the vitest globalSetup's server): for attacks on what a
 * terminal keeps in PostgreSQL. Call inside a `describe`: the database is
 * made before its tests and dropped after them, every guard closed first.
 */
import type pg from 'pg';
import { afterAll, beforeAll } from 'vitest';
import { createGuard, memoryStore, type Guard, type JournalEntry } from '../../src/index.js';
import { DEFAULT_SCHEMA, postgresStore } from '../../src/postgres.js';
import { freshDatabase, type FreshDatabase } from './postgres.js';

export function pgTerminals(name: string, merchantId: string, secret: string) {
  let db: FreshDatabase;
  const guards: Guard[] = [];
  const state = { pool: undefined as pg.Pool | undefined };
  beforeAll(async () => {
    db = await freshDatabase(name);
    state.pool = db.pool({ max: 6 });
  });
  afterAll(async () => {
    await Promise.all(guards.map((guard) => guard.close().catch(() => undefined)));
    await db.drop();
  });
  const pool = (): pg.Pool => state.pool as pg.Pool;
  /** A guard of `terminalId` over a new postgresStore on the pool, with a `local` of its own. */
  const open = async (terminalId: string) => {
    const store = postgresStore({ pool: pool(), local: memoryStore() });
    const guard = await createGuard({ merchantId, terminalId, secret, store });
    guards.push(guard);
    return { guard, store };
  };
  /** `terminalId`'s journal as the database holds it, in the order written. */
  const rows = async (terminalId: string): Promise<JournalEntry[]> => {
    const { rows: found } = await pool().query<{ entry: string }>(
      `SELECT entry FROM ${DEFAULT_SCHEMA}.journal WHERE merchant_id = $1 AND terminal_id = $2 ORDER BY id`,
      [merchantId, terminalId],
    );
    return found.map((r) => JSON.parse(r.entry) as JournalEntry);
  };
  return { pool, open, rows };
}
