import { parseDuration } from '../duration.js';
import { GuardConfigError, invalidOption } from '../errors.js';
import { storeOptions } from '../snapshot.js';
import { sharedStore, type SharedStore } from '../shared/store.js';
import type { Duration, GuardStore, StoreOwner } from '../types.js';
import { pgRemote, storable, type PgPool } from './postgres/remote.js';
import { DEFAULT_SCHEMA, SCHEMA_NAME } from './postgres/schema.js';

export interface PostgresStoreOptions {
  /**
   * A `pg.Pool` the app owns (TLS, credentials, size). The store holds one
   * of its connections to LISTEN and to hold its terminal (one till per
   * `terminalId`: a session lock), and never ends the pool.
   */
  pool: PgPool;
  /**
   * Where the till keeps taking payments while the database cannot be
   * reached: a `fileStore` of its own. Without it, a write that cannot reach
   * the database is `STORAGE_UNAVAILABLE` under `onStorageError`.
   */
  local?: GuardStore;
  /** The schema the tables live in, created on first use. @default 'pos_duplicate_guard' */
  schema?: string;
  /** How long a statement may take before the database counts as unreachable ("cut off"). @default '3s' */
  timeout?: Duration;
  /** How often a cut-off store tries the database again. @default '2s' */
  retry?: Duration;
}

/**
 * A store several terminals share: a `GuardStore` with two more methods.
 * `settled()` resolves once the writes issued so far, and any catch-up in
 * progress, are done (for tests). `sync()` tries the database now and
 * resolves once what was written while cut off was sent and what was missed
 * was read; it rejects with `GuardStorageError` (`UNAVAILABLE`) while the
 * database still cannot be reached: a till's "Reconnect" button.
 */
export type PostgresStore = SharedStore;

/**
 * One history for several terminals, on PostgreSQL: every duplicate rule
 * holds across terminals as within one guard, each reservation one
 * transaction and (for a new sale) one round trip; other terminals' changes
 * arrive by LISTEN/NOTIFY; with `local`, a till cut off from the database
 * keeps taking payments and catches up when it is back. The guard's
 * `terminalId` is required, one live till per id (each keeps its own
 * journal chain: the audit journal is sealed per terminal).
 * @example
 * import pg from 'pg';
 * import { postgresStore } from 'pos-duplicate-guard/postgres';
 * const store = postgresStore({ pool: new pg.Pool({ connectionString: process.env.GUARD_DATABASE_URL }) });
 * const guard = await createGuard({ merchantId: 'M-0001', terminalId: 'T-03', secret, store });
 */
/* @__NO_SIDE_EFFECTS__ */
export function postgresStore(options: PostgresStoreOptions): PostgresStore {
  if (options === undefined) invalidOption('options', 'an object with at least `pool`', options);
  // Copied once: a getter or Proxy in the options is read here, never again.
  const copied = storeOptions(options, { pool: 'ref', local: 'ref', schema: 'value', timeout: 'value', retry: 'value' });
  const { pool, local, schema = DEFAULT_SCHEMA, timeout = '3s', retry = '2s' } = copied as Partial<PostgresStoreOptions>;
  if (typeof pool !== 'object' || pool === null || typeof pool.query !== 'function' || typeof pool.connect !== 'function') {
    invalidOption('pool', 'a pg.Pool (node-postgres): an object with query() and connect()', pool);
  }
  if (local !== undefined && (typeof local !== 'object' || local === null || typeof local.put !== 'function')) {
    invalidOption('local', 'a GuardStore (a fileStore)', local);
  }
  if (typeof schema !== 'string' || !SCHEMA_NAME.test(schema)) {
    invalidOption('schema', 'a lower-case SQL identifier (letters, digits, _; at most 63)', schema);
  }
  const timeoutMs = parseDuration(timeout, { field: 'timeout' });
  const retryMs = parseDuration(retry, { field: 'retry' });
  if (timeoutMs <= 0) invalidOption('timeout', 'a Duration above 0', timeout);
  if (retryMs <= 0) invalidOption('retry', 'a Duration above 0', retry);
  return sharedStore(pgRemote({ pool: pool, schema, timeoutMs, retryMs }), { local, timeoutMs, retryMs, checkOwner });
}

/**
 * The guard's own ids are stored in text columns as they are (merchant_id,
 * the journal's terminal_id), where PostgreSQL refuses a NUL and turns half
 * a surrogate pair into U+FFFD: two merchants could then share one history.
 * Such an id is refused when the guard starts. (A Sale's ids and free text
 * are kept inside the record's JSON, escaped: they round-trip.)
 *
 * And a `terminalId` is required (SPEC §12: on postgresStore each terminal
 * keeps its own chain, under its id): tills without one all sealed one
 * chain from as many heads, and broke it without a word.
 */
function checkOwner(owner: StoreOwner): void {
  if (owner.terminalId === undefined) {
    throw new GuardConfigError(
      'INVALID_OPTION',
      '`terminalId` is required with postgresStore: each terminal keeps its own journal chain in the database, under its id. Give every till sharing the database its own terminalId',
      { field: 'terminalId' },
    );
  }
  for (const field of ['merchantId', 'terminalId'] as const) {
    const value = owner[field];
    if (value !== undefined && !storable(value)) {
      throw new GuardConfigError(
        'INVALID_OPTION',
        `\`${field}\` must not contain a NUL character or half a surrogate pair with postgresStore: PostgreSQL text cannot hold them`,
        { field },
      );
    }
  }
}
