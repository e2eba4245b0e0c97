/**
 * The PostgreSQL test harness itself: the globalSetup's server, fresh
 * databases, the fault-injecting proxy, a private server that is crashed and
 * started again, and pg_dump.
 */
import { execFile } from 'node:child_process';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { freshDatabase, pgDumpText, privateServer, tcpProxy, testServer, type FreshDatabase, type TcpProxy } from './postgres.js';

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function database(name?: string): Promise<FreshDatabase> {
  const db = await freshDatabase(name);
  cleanups.push(() => db.drop());
  return db;
}

async function client(config: pg.ClientConfig): Promise<pg.Client> {
  const c = new pg.Client(config);
  c.on('error', () => {});
  cleanups.push(() => c.end().catch(() => {}));
  await c.connect();
  return c;
}

describe('the test server', () => {
  it('is PostgreSQL 15 on 127.0.0.1, also named by the PG* environment variables', async () => {
    const server = testServer();
    expect(server.host).toBe('127.0.0.1');
    expect(process.env.PGHOST).toBe(server.host);
    expect(process.env.PGPORT).toBe(String(server.port));
    expect(process.env.PGUSER).toBe(server.user);
    expect(process.env.POSTGRES_TEST_BIN).toBe(server.binDir);
    if (!server.external) expect(process.env.POSTGRES_TEST_DATADIR).toBe(server.dataDir);
    const db = await database();
    const { rows } = await db.pool().query<{ server_version: string }>('SHOW server_version');
    expect(rows[0]?.server_version).toMatch(/^15\./);
  });

  it('is reached by a child process through the inherited environment (no config at all)', async () => {
    const db = await database('child');
    const script = `const pg = require('pg'); const c = new pg.Client({ database: ${JSON.stringify(db.name)} });
      c.connect().then(() => c.query('SELECT current_database() AS db')).then((r) => { console.log(r.rows[0].db); return c.end(); })
        .catch((e) => { console.error(e); process.exit(1); });`;
    const stdout = await new Promise<string>((resolve, reject) =>
      execFile(process.execPath, ['-e', script], { timeout: 10_000 }, (error, out, err) => (error ? reject(new Error(err)) : resolve(out))),
    );
    expect(stdout.trim()).toBe(db.name);
  });
});

describe('freshDatabase', () => {
  it('creates an empty database that answers queries', async () => {
    const db = await database('query');
    expect(db.name).toMatch(/^query_\d+_\d+_[0-9a-f]{8}$/);
    expect(db.url).toContain(`/${db.name}`);
    const c = await client({ connectionString: db.url });
    const { rows } = await c.query<{ db: string; sum: number }>('SELECT current_database() AS db, 1 + 1 AS sum');
    expect(rows).toEqual([{ db: db.name, sum: 2 }]);
  });

  it('gives two databases that do not see each other', async () => {
    const [a, b] = await Promise.all([database('iso'), database('iso')]);
    expect(a.name).not.toBe(b.name);
    const poolA = a.pool();
    const poolB = b.pool();
    await poolA.query('CREATE TABLE attempts (id text PRIMARY KEY)');
    await poolA.query(`INSERT INTO attempts VALUES ('a-only')`);
    await poolB.query('CREATE TABLE attempts (id text PRIMARY KEY)');
    expect((await poolB.query('SELECT id FROM attempts')).rows).toEqual([]);
    expect((await poolA.query('SELECT id FROM attempts')).rows).toEqual([{ id: 'a-only' }]);
  });

  it('drop() ends its pools and removes the database, even with a client still checked out', async () => {
    const db = await freshDatabase('drop');
    const pool = db.pool();
    const held = await pool.connect();
    const heldErrors: Error[] = [];
    held.on('error', (error) => heldErrors.push(error)); // FORCE terminates it: a checked-out client needs its own listener
    await db.drop();
    const probe = await client({ ...db.config, database: 'postgres' });
    const { rows } = await probe.query('SELECT 1 FROM pg_database WHERE datname = $1', [db.name]);
    expect(rows).toEqual([]);
    held.release(true);
  });
});

describe('tcpProxy', () => {
  let db: FreshDatabase;
  let proxy: TcpProxy;
  beforeAll(async () => {
    db = await freshDatabase('proxy');
  });
  afterAll(() => db.drop());
  afterEach(() => proxy.close());

  const viaProxy = (extra: pg.PoolConfig = {}): pg.Pool => db.pool({ port: proxy.port, ...extra });

  it('forwards queries', async () => {
    proxy = await tcpProxy(testServer().port);
    const pool = viaProxy();
    expect((await pool.query('SELECT 42 AS answer')).rows).toEqual([{ answer: 42 }]);
    expect(proxy.connections).toBe(1);
  });

  it('cut() resets open connections and new ones at once; restore() lets a new connection through', async () => {
    proxy = await tcpProxy(testServer().port);
    const pool = viaProxy({ connectionTimeoutMillis: 5_000 });
    const held = await pool.connect();
    held.on('error', () => {});
    await held.query('SELECT 1');

    proxy.cut();
    const started = Date.now();
    await expect(held.query('SELECT 1')).rejects.toThrow();
    held.release(true);
    await expect(pool.query('SELECT 1')).rejects.toThrow(/ECONNRESET|terminated/); // "connect ECONNRESET"
    expect(Date.now() - started).toBeLessThan(2_000); // a reset, not the 5 s connection timeout
    expect(proxy.connections).toBe(0);

    proxy.restore();
    expect((await pool.query('SELECT 7 AS n')).rows).toEqual([{ n: 7 }]);
  });

  it('pause() makes queries and new connections hang (client-side timeouts fire) until restore()', async () => {
    proxy = await tcpProxy(testServer().port);
    const open = await client({ ...db.config, port: proxy.port, query_timeout: 300 });
    await open.query('SELECT 1');

    proxy.pause();
    const started = Date.now();
    await expect(open.query('SELECT 1')).rejects.toThrow(/Query read timeout/);
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    const fresh = new pg.Client({ ...db.config, port: proxy.port, connectionTimeoutMillis: 300 });
    fresh.on('error', () => {});
    await expect(fresh.connect()).rejects.toThrow(/timeout/i);
    expect(proxy.connections).toBeGreaterThanOrEqual(1); // accepted, not refused

    proxy.restore();
    const after = await client({ ...db.config, port: proxy.port, connectionTimeoutMillis: 5_000 });
    expect((await after.query('SELECT 3 AS n')).rows).toEqual([{ n: 3 }]);
  });
});

describe('privateServer', () => {
  it('fails queries once stopped with -m immediate, keeps committed rows, and serves again after start()', async () => {
    const server = await privateServer();
    cleanups.push(() => server.close());
    expect(server.port).not.toBe(testServer().port);
    const db = await server.freshDatabase('crash');
    const pool = db.pool({ connectionTimeoutMillis: 2_000 });
    await pool.query('CREATE TABLE attempts (id text PRIMARY KEY)');
    await pool.query(`INSERT INTO attempts VALUES ('committed')`);

    await server.stopImmediate();
    await expect(pool.query('SELECT 1')).rejects.toThrow();
    await expect(pool.query('SELECT 1')).rejects.toThrow(/ECONNREFUSED/);

    await server.start();
    expect((await pool.query('SELECT id FROM attempts')).rows).toEqual([{ id: 'committed' }]);

    await server.restart();
    expect((await pool.query('SELECT count(*)::int AS n FROM attempts')).rows).toEqual([{ n: 1 }]);
    await db.drop();
  });
});

describe('pgDumpText', () => {
  it('returns the plain-text dump with the rows inserted', async () => {
    const db = await database('dump');
    const pool = db.pool();
    await pool.query('CREATE TABLE attempts (id text PRIMARY KEY, last4 text)');
    await pool.query(`INSERT INTO attempts VALUES ('att-dump-1', '1111')`);
    const dump = await pgDumpText(db.url);
    expect(dump).toContain('PostgreSQL database dump');
    expect(dump).toContain('CREATE TABLE public.attempts');
    expect(dump).toMatch(/att-dump-1\t1111/);
  });
});
