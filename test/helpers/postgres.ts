/**
 * PostgreSQL for tests, over the server test/setup/postgres.ts (a vitest
 * globalSetup) starts for the run:
 *
 * - freshDatabase(): a database of the test file's own (files run in parallel
 *   against the one server).
 * - privateServer(): a second server of the file's own, for tests that stop,
 *   crash or restart the server.
 * - serverControl(): stop/start the shared server. Every other file's
 *   connections die with it, so only for a run where nothing else uses the
 *   server (a file run alone); fault tests use privateServer().
 * - tcpProxy(): a loopback proxy in the test process whose network can be cut
 *   (connections reset) or paused (packets go nowhere, connections hang).
 * - pgDumpText(): the plain-text pg_dump of a database, to scan for card data.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import path from 'node:path';
import pg from 'pg';
import { inject } from 'vitest';
import {
  LocalPostgres,
  clientConfig,
  connectionUrl,
  type PostgresConnectionInfo,
  type PostgresTestServer,
  type StartOptions,
} from './postgres-server.js';

export { LocalPostgres, type PostgresConnectionInfo, type PostgresTestServer, type StartOptions } from './postgres-server.js';

/** The run's server, as the globalSetup provided it. */
export function testServer(): PostgresTestServer {
  const server = inject('postgres') as PostgresTestServer | undefined;
  if (!server) throw new Error('no test PostgreSQL server: vitest.config.ts must list test/setup/postgres.ts in test.globalSetup');
  return server;
}

export interface FreshDatabase {
  /** The database's name: `<name>_<random>`, lower case. */
  readonly name: string;
  /** `postgres://postgres@127.0.0.1:<port>/<name>` */
  readonly url: string;
  /** For `new pg.Client(config)` / `new pg.Pool(config)`: host, port, user, password, database. */
  readonly config: pg.ClientConfig;
  /**
   * A new pool on the database (`options` over `config`), ended by drop().
   * It has an 'error' listener (collecting into `poolErrors`): an idle client
   * whose server goes away would otherwise crash the test worker.
   */
  pool(options?: pg.PoolConfig): pg.Pool;
  /** Errors the pools emitted for idle clients. */
  readonly poolErrors: Error[];
  /** End the pools pool() made and DROP DATABASE … WITH (FORCE) (connections still open are terminated). */
  drop(): Promise<void>;
}

let sequence = 0;

/**
 * CREATE DATABASE a new, uniquely named database on the test server (or on
 * `server`, e.g. a privateServer()). Call drop() in afterAll; a database left
 * behind goes with the throwaway server (not with GUARD_TEST_DATABASE_URL).
 */
export async function freshDatabase(name = 'guard', server: PostgresConnectionInfo = testServer()): Promise<FreshDatabase> {
  const prefix =
    name
      .toLowerCase()
      .replace(/[^a-z0-9_]+/g, '_')
      .slice(0, 30) || 'guard';
  const dbName = `${prefix}_${process.pid}_${++sequence}_${randomBytes(4).toString('hex')}`;
  await adminQuery(server, `CREATE DATABASE ${quoteIdent(dbName)}`);
  const config = clientConfig(server, dbName);
  const pools = new Set<pg.Pool>();
  const poolErrors: Error[] = [];
  return {
    name: dbName,
    url: connectionUrl({ ...server, database: dbName }),
    config,
    poolErrors,
    pool(options = {}) {
      const pool = new pg.Pool({ ...config, ...options });
      pool.on('error', (error) => poolErrors.push(error));
      pools.add(pool);
      return pool;
    },
    async drop() {
      // Idle clients end at once; FORCE terminates the checked-out ones, which
      // their pool forgets only when released: wait a second at most for that.
      const ending = Promise.all([...pools].map((pool) => pool.end().catch(() => {})));
      pools.clear();
      await adminQuery(server, `DROP DATABASE IF EXISTS ${quoteIdent(dbName)} WITH (FORCE)`);
      await withTimeout(ending, 1_000).catch(() => {});
    },
  };
}

/** One statement on the maintenance database, on a connection of its own. */
export async function adminQuery(server: PostgresConnectionInfo, sql: string, values: unknown[] = []): Promise<pg.QueryResult> {
  const client = new pg.Client({ ...clientConfig(server), connectionTimeoutMillis: 10_000 });
  client.on('error', () => {});
  await client.connect();
  try {
    return await client.query(sql, values);
  } finally {
    await client.end().catch(() => {});
  }
}

export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

export interface ServerControl {
  /** `pg_ctl stop -m immediate`: every server process killed at once, as in a crash. */
  stopImmediate(): Promise<void>;
  /** `pg_ctl stop -m fast`. */
  stop(): Promise<void>;
  /** Start it again on the same port and data dir; resolves once it accepts connections. */
  start(): Promise<void>;
  /** stop (fast) then start. */
  restart(): Promise<void>;
}

/**
 * Stop and start the run's shared server. Every test file shares it and
 * files run in parallel: use this only when nothing else uses the server at
 * the same time (e.g. `npx vitest run <that file>`). Fault tests should use
 * privateServer(). Throws for a GUARD_TEST_DATABASE_URL server.
 */
export function serverControl(): ServerControl {
  const server = LocalPostgres.attach(testServer());
  return {
    stopImmediate: () => server.stopImmediate(),
    stop: () => server.stop('fast'),
    start: () => server.start(),
    restart: () => server.restart(),
  };
}

export interface PrivateServer extends ServerControl {
  readonly host: string;
  readonly port: number;
  /** Superuser URL of its `postgres` database. */
  readonly url: string;
  readonly config: pg.ClientConfig;
  readonly dataDir: string;
  readonly logFile: string;
  /** freshDatabase() on this server. */
  freshDatabase(name?: string): Promise<FreshDatabase>;
  /** Stop it (if running) and remove its temp dir. */
  close(): Promise<void>;
}

/**
 * A second throwaway server (own temp dir, own port, about 1 s to start) for
 * a test file that stops, crashes or restarts the server without disturbing
 * the other files. Call close() in afterAll (an exiting worker kills and
 * removes it anyway).
 */
export async function privateServer(options: StartOptions = {}): Promise<PrivateServer> {
  const server = await LocalPostgres.create(options);
  const info = server.info;
  return {
    host: info.host,
    port: info.port,
    url: info.url,
    config: clientConfig(info),
    dataDir: info.dataDir,
    logFile: info.logFile,
    freshDatabase: (name) => freshDatabase(name, info),
    stopImmediate: () => server.stopImmediate(),
    stop: () => server.stop('fast'),
    start: () => server.start(),
    restart: () => server.restart(),
    close: () => server.close(),
  };
}

export interface TcpProxy {
  readonly host: '127.0.0.1';
  readonly port: number;
  /** Open client connections. */
  readonly connections: number;
  /** Reset every open connection (both sides) and reset new ones on accept, until restore(). */
  cut(): void;
  /**
   * Hold all traffic: connections stay open (new ones are accepted) but
   * nothing is forwarded either way, like a network where packets vanish:
   * clients hang until their own timeouts. restore() delivers what was held.
   */
  pause(): void;
  /** Forward again after cut() or pause(). */
  restore(): void;
  /** Reset every connection and stop listening. */
  close(): Promise<void>;
}

/** A loopback TCP proxy to `targetHost:targetPort`, listening on a free 127.0.0.1 port. */
export async function tcpProxy(targetPort: number, targetHost = '127.0.0.1'): Promise<TcpProxy> {
  let state: 'open' | 'paused' | 'cut' | 'closed' = 'open';
  const pairs = new Set<[net.Socket, net.Socket]>();

  const reset = (socket: net.Socket) => {
    if (socket.destroyed) return;
    try {
      socket.resetAndDestroy();
    } catch {
      socket.destroy();
    }
  };
  const flow = (pair: [net.Socket, net.Socket]) => {
    for (const socket of pair) {
      if (state === 'open') socket.resume();
      else socket.pause();
    }
  };
  const forward = (from: net.Socket, to: net.Socket) => {
    from.on('data', (chunk) => {
      if (!to.write(chunk)) from.pause();
    });
    to.on('drain', () => {
      if (state === 'open') from.resume();
    });
    from.on('end', () => to.end());
    from.on('error', () => reset(to));
    from.on('close', (hadError) => (hadError ? reset(to) : to.end()));
  };

  const server = net.createServer({ pauseOnConnect: true }, (client) => {
    client.on('error', () => {});
    if (state === 'cut' || state === 'closed') {
      reset(client);
      return;
    }
    const upstream = net.connect({ port: targetPort, host: targetHost });
    upstream.on('error', () => {});
    const pair: [net.Socket, net.Socket] = [client, upstream];
    pairs.add(pair);
    client.once('close', () => pairs.delete(pair));
    forward(client, upstream);
    forward(upstream, client);
    flow(pair);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  if (address === null || typeof address !== 'object') throw new Error('proxy has no port');

  const resetAll = () => {
    for (const pair of pairs) pair.forEach(reset);
    pairs.clear();
  };
  return {
    host: '127.0.0.1',
    port: address.port,
    get connections() {
      return pairs.size;
    },
    cut() {
      state = 'cut';
      resetAll();
    },
    pause() {
      state = 'paused';
      pairs.forEach(flow);
    },
    restore() {
      state = 'open';
      pairs.forEach(flow);
    },
    async close() {
      state = 'closed';
      resetAll();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** `pg_dump` of the database at `url` as plain SQL text (schema and data). */
export function pgDumpText(url: string, args: readonly string[] = []): Promise<string> {
  const binDir = process.env.POSTGRES_TEST_BIN || testServer().binDir;
  return new Promise((resolve, reject) => {
    execFile(
      path.join(binDir, 'pg_dump'),
      ['--format=plain', '--no-password', ...args, `--dbname=${url}`],
      { maxBuffer: 256 * 1024 * 1024, timeout: 60_000 },
      (error, stdout, stderr) =>
        error ? reject(new Error(`pg_dump failed: ${error.message}\n${stderr}`, { cause: error })) : resolve(stdout),
    );
  });
}
