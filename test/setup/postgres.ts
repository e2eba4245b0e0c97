/**
 * vitest globalSetup: one throwaway PostgreSQL 15 server for the whole run
 * (about 1 s: initdb --no-sync, then pg_ctl start on a free 127.0.0.1 port).
 *
 * Tests reach it through `inject('postgres')` (see test/helpers/postgres.ts:
 * freshDatabase gives each test file a database of its own) and, so that
 * child processes a test spawns reach it too, through the environment:
 * PGHOST, PGPORT, PGUSER, PGDATABASE (plain `new pg.Client()` connects to it),
 * POSTGRES_TEST_DATADIR and POSTGRES_TEST_BIN. Test workers are spawned after
 * the globalSetup, with its process.env.
 *
 * With GUARD_TEST_DATABASE_URL=postgres://user:password@host:port/database
 * set, that server is used and none is started (POSTGRES_TEST_DATADIR is then
 * unset: the tests cannot stop or restart it).
 *
 * Before starting, servers and temp dirs left by runs that died without
 * their teardown (Ctrl-C while a worker ran initdb) are removed.
 */
import type { TestProject } from 'vitest/node';
import {
  LocalPostgres,
  connectionFromUrl,
  pgBinDir,
  sweepStaleServers,
  waitUntilReady,
  type PostgresTestServer,
} from '../helpers/postgres-server.js';

declare module 'vitest' {
  export interface ProvidedContext {
    postgres: PostgresTestServer;
  }
}

const EXPORTED = [
  'PGHOST',
  'PGPORT',
  'PGUSER',
  'PGPASSWORD',
  'PGDATABASE',
  'PGSSLMODE',
  'POSTGRES_TEST_DATADIR',
  'POSTGRES_TEST_BIN',
] as const;

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const previous = Object.fromEntries(EXPORTED.map((name) => [name, process.env[name]]));
  let server: PostgresTestServer;
  let local: LocalPostgres | null = null;
  const external = process.env.GUARD_TEST_DATABASE_URL;
  if (external) {
    server = { ...connectionFromUrl(external), external: true, dataDir: null, socketDir: null, logFile: null, binDir: pgBinDir() };
    await waitUntilReady(server, 10_000);
  } else {
    sweepStaleServers();
    local = await LocalPostgres.create();
    server = local.info;
  }

  for (const name of EXPORTED) delete process.env[name];
  process.env.PGHOST = server.host;
  process.env.PGPORT = String(server.port);
  process.env.PGUSER = server.user;
  process.env.PGDATABASE = server.database;
  if (server.password !== null) process.env.PGPASSWORD = server.password;
  if (!server.external) process.env.PGSSLMODE = 'disable';
  if (server.dataDir !== null) process.env.POSTGRES_TEST_DATADIR = server.dataDir;
  process.env.POSTGRES_TEST_BIN = server.binDir;
  project.provide('postgres', server);

  return async () => {
    for (const name of EXPORTED) {
      const value = previous[name];
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
    await local?.close();
  };
}
