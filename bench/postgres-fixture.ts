import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import type { Guard, Sale } from '../src/index.js';
import { LocalPostgres, clientConfig, connectionFromUrl, type PostgresConnectionInfo } from '../test/helpers/postgres-server.js';
import { BENCH_SECRET, loadCore, progress } from './harness.js';

/**
 * PostgreSQL for the shared-store benches (SPEC §8, §9): a server, a
 * database of the run's own, the sales terminals ring up, and a history
 * written the way terminals write it (through `createGuard` +
 * `postgresStore`), so the tables and indexes a `begin` meets are not empty.
 *
 * The server is a throwaway PostgreSQL started for the run (the test
 * harness's `LocalPostgres`: initdb in a temp dir, loopback, fsync on), or
 * the one `GUARD_BENCH_DATABASE_URL` names; either way the bench works in a
 * database it creates and drops.
 */

export type PostgresEntry = typeof import('../src/postgres.js');

/** The postgres entry matching `loadCore`'s choice: dist by default, src under `--src`. */
export async function loadPostgres(): Promise<PostgresEntry> {
  const target = process.env.BENCH_TARGET === 'src' ? '../src/postgres.ts' : '../dist/postgres.js';
  const url = new URL(target, import.meta.url);
  if (!existsSync(fileURLToPath(url))) throw new Error(`${fileURLToPath(url)} is missing: run \`npm run build\` first, or pass --src`);
  return (await import(url.href)) as PostgresEntry;
}

export interface BenchDatabase {
  /** `postgres://…/<database>` of the run's own database. */
  url: string;
  config: pg.ClientConfig;
  /** Where it runs: `throwaway PostgreSQL 15.x` or `GUARD_BENCH_DATABASE_URL (PostgreSQL …)`. */
  server: string;
  /** True for the server the bench started: its processes are on this machine, and ours. */
  local: boolean;
  /** A pool on the database; ended by `close()`. */
  pool(options?: pg.PoolConfig): pg.Pool;
  /** Ends the pools, drops the database, stops a server the bench started. */
  close(): Promise<void>;
}

/** A server (started here, or `GUARD_BENCH_DATABASE_URL`) and a fresh database on it. */
export async function benchDatabase(): Promise<BenchDatabase> {
  const external = process.env.GUARD_BENCH_DATABASE_URL;
  let local: LocalPostgres | undefined;
  let info: PostgresConnectionInfo;
  if (external) info = connectionFromUrl(external);
  else {
    progress('postgres: starting a throwaway PostgreSQL server (initdb, loopback, fsync on)');
    local = await LocalPostgres.create();
    info = local.info;
  }
  const name = `pdg_bench_${process.pid}_${randomBytes(3).toString('hex')}`;
  const pools = new Set<pg.Pool>();
  try {
    const admin = new pg.Client(clientConfig(info));
    await admin.connect();
    let version: string;
    try {
      version = String(((await admin.query('SHOW server_version')).rows[0] as { server_version: string }).server_version);
      await admin.query(`CREATE DATABASE ${name}`);
    } finally {
      await admin.end();
    }
    const config = clientConfig(info, name);
    return {
      url: `${info.url.slice(0, info.url.lastIndexOf('/'))}/${name}`,
      config,
      server: external ? `GUARD_BENCH_DATABASE_URL (PostgreSQL ${version})` : `throwaway PostgreSQL ${version} on this machine`,
      local: local !== undefined,
      pool(options = {}) {
        const pool = new pg.Pool({ ...config, ...options });
        // An idle client's error would otherwise crash the bench.
        pool.on('error', () => undefined);
        pools.add(pool);
        return pool;
      },
      async close() {
        for (const pool of pools) await pool.end().catch(() => undefined);
        pools.clear();
        try {
          const admin = new pg.Client(clientConfig(info));
          await admin.connect();
          await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).finally(() => admin.end());
        } finally {
          await local?.close();
        }
      },
    };
  } catch (error) {
    await local?.close();
    throw error;
  }
}

export const MERCHANT = 'M-BENCH';

/**
 * The `i`-th sale of a terminal: a card of its own and a distinct amount (so
 * every `begin` is an `allow`), operators on two thirds, a third on orders,
 * as in bench/file-fixture.ts.
 */
export function saleOf(terminal: string, i: number): Sale {
  const sale: Sale = { amount: 100 + i, currency: 'CNY', card: { token: `tok_${terminal}_${i % 20_000}` } };
  if (i % 3 !== 0) sale.operator = `op-${i % 7}`;
  if (i % 3 === 1) sale.orderId = `ORD-${terminal}-${i}`;
  return sale;
}

export const secret = BENCH_SECRET;

export interface History {
  attempts: number;
  approved: number;
  declined: number;
  voided: number;
  unknown: number;
  refunds: number;
}

/**
 * `sales` sales written by `terminals` other terminals at once, each through
 * its own `createGuard` + `postgresStore` on one pool: a `begin`, then a
 * settle (three in four approved with an auth code and a processor
 * reference, one in twenty of those voided, the rest declined; one in 500
 * left unknown), and a partial refund (begin + approve) of one approved sale
 * in 25. The guards are closed afterwards.
 */
export async function writeHistory(db: BenchDatabase, sales: number, terminals = 4): Promise<History> {
  const core = await loadCore();
  const { postgresStore } = await loadPostgres();
  const pool = db.pool({ max: terminals * 2 });
  const history: History = { attempts: 0, approved: 0, declined: 0, voided: 0, unknown: 0, refunds: 0 };
  const guards: Guard[] = [];
  try {
    for (let t = 0; t < terminals; t++) {
      guards.push(await core.createGuard({ merchantId: MERCHANT, terminalId: `T-${t + 2}`, secret, store: postgresStore({ pool }) }));
    }
    const perTerminal = Math.ceil(sales / terminals);
    await Promise.all(
      guards.map(async (guard, t) => {
        const terminal = `H${t + 2}`;
        for (let i = 0; i < perTerminal; i++) {
          if (t === 0 && i % 1000 === 0) progress(`postgres history: ${i * terminals} of ${sales} sales by ${terminals} terminals`);
          const sale = saleOf(terminal, i);
          const { attempt, verdict } = await guard.begin(sale);
          if (!attempt) throw new Error(`history sale ${terminal}/${i} was not allowed: ${verdict}`);
          history.attempts++;
          const slot = i % 20;
          if (i % 500 === 499) {
            await attempt.markUnknown({ code: 'TIMEOUT' });
            history.unknown++;
          } else if (slot < 15) {
            await attempt.approve({ authCode: `A${i}`, processorRef: `ch_${terminal}_${i}` });
            history.approved++;
            if (slot === 14) {
              await attempt.void();
              history.voided++;
            } else if (i % 25 === 0) {
              const refund = await guard.begin({ ...sale, kind: 'refund', refundOf: attempt.id, amount: 50 });
              if (!refund.attempt) throw new Error(`history refund ${terminal}/${i} was not allowed: ${refund.verdict}`);
              await refund.attempt.approve({ processorRef: `re_${terminal}_${i}` });
              history.attempts++;
              history.refunds++;
            }
          } else {
            await attempt.decline({ code: '05', message: 'Do not honor' });
            history.declined++;
          }
        }
      }),
    );
  } finally {
    for (const guard of guards) await guard.close();
    await pool.end();
  }
  return history;
}

/** The floor's table: a record-sized row under a text primary key, nothing else. */
export const FLOOR_TABLE = 'floor_rows';

export async function createFloorTable(pool: pg.Pool, rows: number, recordBytes: number): Promise<void> {
  await pool.query(`CREATE TABLE IF NOT EXISTS ${FLOOR_TABLE} (id text PRIMARY KEY, merchant_id text NOT NULL, record text NOT NULL)`);
  // As many rows as the attempts table holds, so neither insert meets an empty index.
  await pool.query({
    text: `INSERT INTO ${FLOOR_TABLE} (id, merchant_id, record) SELECT 'fill_' || g, $1, repeat('x', $2) FROM generate_series(1, $3) AS g`,
    values: [MERCHANT, recordBytes, rows],
  });
  await pool.query(`VACUUM ANALYZE ${FLOOR_TABLE}`);
}

/** The floor: one bare insert of a record-sized row, one round trip (a named statement, as the store's are). */
export function floorInsert(pool: pg.Pool, id: string, record: string): Promise<pg.QueryResult> {
  return pool.query({
    name: 'bench_floor',
    text: `INSERT INTO ${FLOOR_TABLE} (id, merchant_id, record) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING RETURNING id`,
    values: [id, MERCHANT, record],
  });
}
