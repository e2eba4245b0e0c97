/**
 * `pos-duplicate-guard/postgres`: one history for several terminals on
 * PostgreSQL. Its own entry point: `pg` is a peer dependency of
 * this entry only (the app passes its own `pg.Pool`), and nothing here is in
 * the core bundle.
 *
 * @example
 * import pg from 'pg';
 * import { createGuard } from 'pos-duplicate-guard';
 * import { fileStore } from 'pos-duplicate-guard/node';
 * import { postgresStore } from 'pos-duplicate-guard/postgres';
 *
 * const store = postgresStore({
 *   pool: new pg.Pool({ connectionString: process.env.GUARD_DATABASE_URL }),
 *   local: fileStore('/var/lib/till/guard.jsonl'),
 * });
 * const guard = await createGuard({ merchantId: 'M-0001', terminalId: 'T-03', secret, store });
 *
 * @module pos-duplicate-guard/postgres
 */
export { postgresStore } from './stores/postgres.js';
export type { PostgresStore, PostgresStoreOptions } from './stores/postgres.js';
export type { PgClient, PgPool } from './stores/postgres/remote.js';
export { schemaSql, DEFAULT_SCHEMA } from './stores/postgres/schema.js';
