/**
 * Throwaway PostgreSQL servers for tests: `initdb` in a fresh temp dir, start
 * on a free loopback port, stop (fast or immediate), start again, remove.
 *
 * No vitest import on purpose: vitest's main process loads this through the
 * globalSetup (test/setup/postgres.ts), test workers through
 * test/helpers/postgres.ts (privateServer, serverControl).
 *
 * The server refuses to run as root, so when we are root every server binary
 * runs as the `postgres` OS user (`runuser -u postgres`), and the temp dir is
 * chowned to it. As any other user the binaries run as that user.
 */
import { execFile, execFileSync } from 'node:child_process';
import {
  appendFileSync,
  chownSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';

/** Where Debian's postgresql-15 package puts the server binaries. `POSTGRES_TEST_BIN` overrides it. */
export const DEFAULT_PG_BIN = '/usr/lib/postgresql/15/bin';

export function pgBinDir(): string {
  return process.env.POSTGRES_TEST_BIN || DEFAULT_PG_BIN;
}

/** How to reach a server as its superuser. Plain data: vitest's `provide` sends it to the workers. */
export interface PostgresConnectionInfo {
  host: string;
  port: number;
  user: string;
  password: string | null;
  /** The maintenance database (`postgres`): where CREATE/DROP DATABASE run. */
  database: string;
  /** `postgres://user@host:port/database` */
  url: string;
}

/** The server the globalSetup started (or was given through GUARD_TEST_DATABASE_URL). */
export interface PostgresTestServer extends PostgresConnectionInfo {
  /** True when GUARD_TEST_DATABASE_URL named the server: nothing below is ours to control. */
  external: boolean;
  /** The data directory (`<tempDir>/data`); null for an external server. */
  dataDir: string | null;
  /** The unix socket directory (`<tempDir>/socket`); null for an external server. */
  socketDir: string | null;
  /** The server log (`<tempDir>/postgres.log`); null for an external server. */
  logFile: string | null;
  binDir: string;
}

/** Settings written to postgresql.conf, so a later `pg_ctl start` needs nothing but the data dir. */
export type ServerSettings = Readonly<Record<string, string | number>>;

export const TEST_SETTINGS: ServerSettings = {
  max_connections: 200,
  shared_buffers: '64MB',
  fsync: 'on',
};

export function connectionUrl(c: Omit<PostgresConnectionInfo, 'url'>): string {
  const auth = encodeURIComponent(c.user) + (c.password === null ? '' : `:${encodeURIComponent(c.password)}`);
  return `postgres://${auth}@${c.host}:${c.port}/${encodeURIComponent(c.database)}`;
}

/** Connection info from a `postgres://user:password@host:port/database` URL (GUARD_TEST_DATABASE_URL). */
export function connectionFromUrl(url: string): PostgresConnectionInfo {
  const u = new URL(url);
  if (u.protocol !== 'postgres:' && u.protocol !== 'postgresql:') {
    throw new Error(`not a postgres:// URL: ${u.protocol}//${u.host}`);
  }
  const info = {
    host: decodeURIComponent(u.hostname) || '127.0.0.1',
    port: u.port ? Number(u.port) : 5432,
    user: decodeURIComponent(u.username) || 'postgres',
    password: u.password ? decodeURIComponent(u.password) : null,
    database: decodeURIComponent(u.pathname.slice(1)) || 'postgres',
  };
  return { ...info, url: connectionUrl(info) };
}

export function clientConfig(c: PostgresConnectionInfo, database = c.database): pg.ClientConfig {
  return { host: c.host, port: c.port, user: c.user, ...(c.password === null ? {} : { password: c.password }), database };
}

/** A TCP port free on 127.0.0.1 right now (bind port 0, read it, release it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.unref();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      probe.close(() => (address !== null && typeof address === 'object' ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Resolves once the server answers `SELECT 1`; rejects with the last connection error after `timeoutMs`. */
export async function waitUntilReady(c: PostgresConnectionInfo, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const client = new pg.Client({ ...clientConfig(c), connectionTimeoutMillis: 2_000 });
    client.on('error', () => {});
    try {
      await client.connect();
      await client.query('SELECT 1');
      return;
    } catch (error) {
      if (Date.now() > deadline) {
        throw new Error(`PostgreSQL at ${c.host}:${c.port} did not accept connections within ${timeoutMs} ms`, { cause: error });
      }
      await sleep(50);
    } finally {
      await client.end().catch(() => {});
    }
  }
}

const asRoot = () => process.getuid?.() === 0;

/** The environment for server binaries: ours, minus the PG* variables the globalSetup exports (they would point initdb or pg_ctl elsewhere). */
function binaryEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('PG')));
}

function commandLine(binDir: string, binary: string, args: readonly string[]): [string, string[]] {
  const file = path.join(binDir, binary);
  return asRoot() ? ['runuser', ['-u', 'postgres', '--', file, ...args]] : [file, [...args]];
}

/** Runs a server binary (initdb, pg_ctl) as the postgres user; rejects with its output on a non-zero exit. */
export function runServerBinary(binDir: string, binary: string, args: readonly string[], cwd: string): Promise<string> {
  const [file, argv] = commandLine(binDir, binary, args);
  return new Promise((resolve, reject) => {
    execFile(file, argv, { cwd, env: binaryEnv(), timeout: 60_000, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${binary} ${args.join(' ')} failed: ${error.message}\n${stdout}${stderr}`, { cause: error }));
      else resolve(stdout);
    });
  });
}

function tail(file: string | null, lines = 20): string {
  if (file === null || !existsSync(file)) return '';
  return `\n--- last lines of ${file} ---\n${readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n')}`;
}

const TEMP_PREFIX = 'pos-guard-pg-';
/** The pid of the process that made the temp dir: sweepStaleServers() removes a dir whose owner is gone. */
const OWNER_FILE = 'owner.pid';

/** A unix socket path must fit in 107 bytes: a long TMPDIR falls back to /tmp. */
function tempBase(): string {
  return os.tmpdir().length > 60 ? '/tmp' : os.tmpdir();
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Stops and removes the servers and temp dirs of test runs that died without
 * their teardown (Ctrl-C during initdb, a killed worker): every
 * `pos-guard-pg-*` dir whose owner process is gone. Dirs of live runs are
 * left alone. Returns the dirs removed.
 */
export function sweepStaleServers(binDir = pgBinDir()): string[] {
  const removed: string[] = [];
  for (const entry of readdirSync(tempBase())) {
    if (!entry.startsWith(TEMP_PREFIX)) continue;
    const dir = path.join(tempBase(), entry);
    try {
      const ownerFile = path.join(dir, OWNER_FILE);
      const owner = existsSync(ownerFile) ? Number(readFileSync(ownerFile, 'utf8')) : NaN;
      // No owner file yet: a dir being set up right now, unless it is old.
      if (Number.isNaN(owner) ? Date.now() - statSync(dir).mtimeMs < 60_000 : alive(owner)) continue;
      stopSync(binDir, path.join(dir, 'data'), dir);
      rmSync(dir, { recursive: true, force: true });
      removed.push(dir);
    } catch {
      // Someone else's, or gone meanwhile: not ours to fight over.
    }
  }
  return removed;
}

/** `pg_ctl stop -m immediate` if a postmaster.pid says a server runs there; synchronous, best effort. */
function stopSync(binDir: string, dataDir: string, cwd: string): void {
  if (!existsSync(path.join(dataDir, 'postmaster.pid'))) return;
  const [file, argv] = commandLine(binDir, 'pg_ctl', ['stop', '-D', dataDir, '-m', 'immediate', '-s']);
  try {
    execFileSync(file, argv, { cwd, env: binaryEnv(), stdio: 'ignore', timeout: 10_000 });
  } catch {
    // Already gone, or cannot be stopped: nothing more to do.
  }
}

/** Servers this process started and has not closed: stopped (immediate) and removed if the process exits first. */
const running = new Set<LocalPostgres>();
let exitHookInstalled = false;
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const server of running) server.killSync();
  });
}

export interface StartOptions {
  /** Extra postgresql.conf settings, over TEST_SETTINGS. */
  settings?: ServerSettings;
  binDir?: string;
  /** Addresses to listen on besides 127.0.0.1 (a test's network namespace link), each trusted from its /30. */
  alsoListenOn?: readonly string[];
}

/**
 * A server in a temp dir of its own: `<tempDir>/data`, `<tempDir>/socket`,
 * `<tempDir>/postgres.log`, listening on 127.0.0.1 (and `alsoListenOn`).
 */
export class LocalPostgres {
  private owned: boolean;

  private constructor(
    readonly info: PostgresTestServer & { dataDir: string; logFile: string },
    private readonly tempDir: string | null,
  ) {
    this.owned = tempDir !== null;
  }

  /** initdb in a fresh temp dir and start the server on a free port; about 1 s. */
  static async create(options: StartOptions = {}): Promise<LocalPostgres> {
    const binDir = options.binDir ?? pgBinDir();
    if (!existsSync(path.join(binDir, 'initdb'))) {
      throw new Error(
        `PostgreSQL server binaries not found in ${binDir} (apt-get install postgresql-15, ` +
          `or set POSTGRES_TEST_BIN, or GUARD_TEST_DATABASE_URL to use a running server)`,
      );
    }
    const tempDir = mkdtempSync(path.join(tempBase(), TEMP_PREFIX));
    writeFileSync(path.join(tempDir, OWNER_FILE), String(process.pid));
    const dataDir = path.join(tempDir, 'data');
    const socketDir = path.join(tempDir, 'socket');
    const logFile = path.join(tempDir, 'postgres.log');
    mkdirSync(socketDir);
    if (asRoot()) {
      const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }));
      const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }));
      chownSync(tempDir, uid, gid);
      chownSync(socketDir, uid, gid);
    }
    const info = {
      host: '127.0.0.1',
      port: 0,
      user: 'postgres',
      password: null,
      database: 'postgres',
      url: '',
      external: false,
      dataDir,
      socketDir,
      logFile,
      binDir,
    };
    const server = new LocalPostgres(info, tempDir);
    running.add(server);
    installExitHook();
    try {
      await runServerBinary(
        binDir,
        'initdb',
        ['-D', dataDir, '-A', 'trust', '-U', 'postgres', '--no-sync', '-E', 'UTF8', '--locale=C', '--no-instructions'],
        tempDir,
      );
      const also = options.alsoListenOn ?? [];
      const fixed: ServerSettings = { listen_addresses: ['127.0.0.1', ...also].join(','), unix_socket_directories: socketDir };
      for (const address of also) appendFileSync(path.join(dataDir, 'pg_hba.conf'), `host all all ${address}/30 trust\n`);
      appendFileSync(
        path.join(dataDir, 'postgresql.conf'),
        `\n# pos-duplicate-guard test server\n${conf({ ...TEST_SETTINGS, ...options.settings, ...fixed })}`,
      );
      // The free port can be taken between the probe and the server's bind: try another.
      for (let attempt = 1; ; attempt++) {
        info.port = await freePort();
        info.url = connectionUrl(info);
        appendFileSync(path.join(dataDir, 'postgresql.conf'), conf({ port: info.port }));
        try {
          await server.start();
          return server;
        } catch (error) {
          if (attempt >= 3 || !/could not bind|address already in use/i.test(tail(logFile, 50))) throw error;
        }
      }
    } catch (error) {
      await server.close();
      throw error;
    }
  }

  /** Control over a server someone else started (the globalSetup's): no close(), it is not ours to remove. */
  static attach(info: PostgresTestServer): LocalPostgres {
    if (info.external || info.dataDir === null || info.logFile === null) {
      throw new Error('the test server came from GUARD_TEST_DATABASE_URL: it cannot be stopped or started from the tests');
    }
    return new LocalPostgres({ ...info, dataDir: info.dataDir, logFile: info.logFile }, null);
  }

  get url(): string {
    return this.info.url;
  }

  get port(): number {
    return this.info.port;
  }

  /** Start (again) on the same port and data dir, and wait until it accepts connections. */
  async start(): Promise<void> {
    const { binDir, dataDir, logFile } = this.info;
    try {
      await runServerBinary(binDir, 'pg_ctl', ['start', '-D', dataDir, '-l', logFile, '-w', '-t', '30', '-s'], path.dirname(dataDir));
      await waitUntilReady(this.info);
    } catch (error) {
      throw new Error(`could not start PostgreSQL in ${dataDir}${tail(logFile)}`, { cause: error });
    }
  }

  /** `pg_ctl stop -m <mode>`: fast ends sessions cleanly; immediate kills every server process (a crash: recovery on the next start). */
  async stop(mode: 'smart' | 'fast' | 'immediate' = 'fast'): Promise<void> {
    const { binDir, dataDir } = this.info;
    await runServerBinary(binDir, 'pg_ctl', ['stop', '-D', dataDir, '-m', mode, '-w', '-t', '30', '-s'], path.dirname(dataDir));
  }

  stopImmediate(): Promise<void> {
    return this.stop('immediate');
  }

  async restart(): Promise<void> {
    await this.stop('fast');
    await this.start();
  }

  /** Stop the server (if running) and remove its temp dir. Only for servers this process created. */
  async close(): Promise<void> {
    if (!this.owned || this.tempDir === null) throw new Error('close() is only for a server this process created');
    if (existsSync(path.join(this.info.dataDir, 'postmaster.pid'))) {
      await this.stop('fast').catch(() => this.stop('immediate').catch(() => {}));
    }
    rmSync(this.tempDir, { recursive: true, force: true });
    this.owned = false;
    running.delete(this);
  }

  /** For the process 'exit' hook: synchronous, best effort. */
  killSync(): void {
    if (!this.owned || this.tempDir === null) return;
    stopSync(this.info.binDir, this.info.dataDir, this.tempDir);
    rmSync(this.tempDir, { recursive: true, force: true });
    this.owned = false;
    running.delete(this);
  }
}

function conf(settings: ServerSettings): string {
  return Object.entries(settings)
    .map(([name, value]) => `${name} = ${typeof value === 'number' ? value : `'${value.replace(/'/g, "''")}'`}\n`)
    .join('');
}
