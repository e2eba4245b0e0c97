/**
 * postgresStore passes the GuardStore conformance suite (SPEC §6) against a
 * real PostgreSQL server: records, write order, reopen, history, claims
 * raced by two handles, and LISTEN/NOTIFY delivery between handles.
 *
 * The store is a shared one (SPEC §9): it serves one merchant, named when a
 * guard attaches to it (createGuard calls `attach`). The suite calls stores
 * directly, so every handle is attached here before it is handed over, as
 * createGuard would. Each check gets a schema of its own in one database
 * (the `schema` option): fresh, empty storage without a CREATE DATABASE per
 * check.
 */
import { afterAll, beforeAll } from 'vitest';
import { storeContract } from '../../../src/testing.js';
import { postgresStore, schemaSql } from '../../../src/postgres.js';
import type { Scheduler, StoreOwner } from '../../../src/types.js';
import { freshDatabase, type FreshDatabase } from '../../helpers/postgres.js';

let db: FreshDatabase;
let pool: ReturnType<FreshDatabase['pool']>;
beforeAll(async () => {
  db = await freshDatabase('contract');
  pool = db.pool({ max: 20 });
  // The schemas of the checks, made in one go (one CREATE each would cost a round of DDL per check);
  // a check beyond them has its schema created by the store on first use, as usual.
  await pool.query(Array.from({ length: 32 }, (_, i) => schemaSql(`contract_${i + 1}`)).join('\n'));
});
afterAll(() => db.drop());

const scheduler: Scheduler = {
  after(ms, task) {
    const timer = setTimeout(task, ms);
    return () => clearTimeout(timer);
  },
};

/** What createGuard tells the store: the suite's records are of merchant M-CONTRACT. */
function owner(terminalId: string): StoreOwner {
  return {
    merchantId: 'M-CONTRACT',
    terminalId,
    windowMs: 600_000,
    pendingTimeoutMs: 120_000,
    clock: { now: () => Date.now(), monotonic: () => performance.now() },
    scheduler,
  };
}

let checks = 0;

storeContract(
  async () => {
    const schema = `contract_${++checks}`;
    let handles = 0;
    const open = async () => {
      // A short retry: a record announced as unpersisted lands on the next one.
      const store = postgresStore({ pool, schema, retry: '100ms' });
      await store.attach?.(owner(`T-${++handles}`));
      return store;
    };
    return { store: await open(), reopen: open, twin: open };
  },
  { name: 'postgresStore', capabilities: ['claim', 'subscribe', 'history', 'initMeta'] },
);
