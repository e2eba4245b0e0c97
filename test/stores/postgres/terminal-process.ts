/**
 * One POS terminal as a process of its own, for the postgresStore tests
 * (races.test.ts, faults.test.ts): a guard over postgresStore on its own
 * pg.Pool, driven by JSON lines. Run as
 * `node --import tsx terminal-process.ts ['<config JSON>']` (see terminals.ts).
 *
 * stdin: the config as the first line when argv has none (a process booted
 * ahead of time, on standby); then one command a line,
 * `{ "n": 1, "op": "begin", "sale": {…} }`: begin, peek, override, settle,
 * resume, get, attempts, sync, settled, cutOff, clock (`{ offsetMs }`: the
 * wall clock jumps), close.
 * stdout, one JSON line each:
 * - `{ "booted": true }` once the modules are loaded;
 * - `{ "ready": true, "pid": … }` once createGuard resolved (or `{ "fatal": … }`);
 * - `{ "n": 1, "ok": true, "result": …, "ms": … }` or `{ "n": 1, "ok": false, "error": { name, code, message } }`;
 * - `{ "event": { "type": "conflict" | "storage-error" | "settle", … } }` as the guard emits them;
 * - `{ "change": { "id", "status", "at" } }` for every change the store hands
 *   the guard (another terminal's record, heard by LISTEN/NOTIFY or a catch-up):
 *   when it reached this terminal's index, by this process's clock.
 *
 * Lines go out with a synchronous write to fd 1, so a SIGKILL cannot take
 * back one that was written, and none is written before its step resolved.
 */
import { writeSync } from 'node:fs';
import pg from 'pg';
import { createGuard, type Decision, type Guard, type Sale } from '../../../src/index.js';
import { fileStore } from '../../../src/node.js';
import { postgresStore, type PgPool } from '../../../src/postgres.js';
import type { Outcome, StoreChange } from '../../../src/types.js';

export interface TerminalConfig {
  /** Where its queries go (host, port, database, user). */
  db: pg.PoolConfig;
  /** Where its LISTEN connection goes, when not `db`: a proxy that cuts the notices alone. */
  listenDb?: pg.PoolConfig;
  merchantId: string;
  terminalId: string;
  secret: string;
  pendingTimeout?: string;
  window?: string;
  /** Added to this terminal's wall clock: a till whose clock is wrong. */
  clockOffsetMs?: number;
  /** A fileStore path: the till keeps working while the database is unreachable. */
  local?: string;
  timeout?: string;
  retry?: string;
  schema?: string;
  onStorageError?: 'prompt' | 'block' | 'allow';
  poolMax?: number;
}

interface Command {
  n: number;
  op: string;
  [key: string]: unknown;
}

const say = (line: unknown) => writeSync(1, `${JSON.stringify(line)}\n`);

// stdin, line by line: the first line is the config when argv has none (a process booted
// ahead of time, on standby: loading the modules is most of a terminal's start), then commands.
let buffer = '';
let onLine: (line: string) => void = () => undefined;
process.stdin.setEncoding('utf8');
process.stdin.on('data', (chunk: string) => {
  buffer += chunk;
  let newline: number;
  while ((newline = buffer.indexOf('\n')) >= 0) {
    const line = buffer.slice(0, newline);
    buffer = buffer.slice(newline + 1);
    onLine(line);
  }
});
// The test process went away: so does this terminal.
process.stdin.on('end', () => process.exit(0));

say({ booted: true });
const config = JSON.parse(process.argv[2] ?? (await new Promise<string>((resolve) => (onLine = resolve)))) as TerminalConfig;
onLine = () => undefined;

// The pools: errors on idle clients (a server stopped, a connection cut) are the store's to notice, not a crash.
const queries = new pg.Pool({ ...config.db, max: config.poolMax ?? 6 });
queries.on('error', () => undefined);
const listens = config.listenDb ? new pg.Pool({ ...config.listenDb, max: 2 }) : queries;
if (listens !== queries) listens.on('error', () => undefined);
// Only the LISTEN connection (and the schema's creation) is taken with connect().
const pool: PgPool = {
  query: (query) => (queries as unknown as PgPool).query(query),
  connect: () => (listens as unknown as PgPool).connect(),
};

/** This till's wall clock minus the true time: set at start, moved by the `clock` command (NTP, a cashier changing the date). */
let offset = config.clockOffsetMs ?? 0;
const store = postgresStore({
  pool,
  ...(config.local === undefined ? {} : { local: fileStore(config.local) }),
  ...(config.timeout === undefined ? {} : { timeout: config.timeout }),
  ...(config.retry === undefined ? {} : { retry: config.retry }),
  ...(config.schema === undefined ? {} : { schema: config.schema }),
});

// Every change the store hands the guard, reported as it reaches the guard's index.
const subscribe = (store.subscribe as NonNullable<typeof store.subscribe>).bind(store);
store.subscribe = (listener: (change: StoreChange) => void) =>
  subscribe((change) => {
    if (change.type === 'record') say({ change: { id: change.record.id, status: change.record.status, at: Date.now() } });
    listener(change);
  });

const errorOf = (error: unknown) => {
  const e = error as { name?: unknown; code?: unknown; message?: unknown };
  return { name: String(e?.name), code: e?.code === undefined ? undefined : String(e.code), message: String(e?.message ?? error) };
};

let guard: Guard;
try {
  guard = await createGuard({
    merchantId: config.merchantId,
    terminalId: config.terminalId,
    secret: config.secret,
    store,
    ...(config.pendingTimeout === undefined ? {} : { pendingTimeout: config.pendingTimeout }),
    ...(config.window === undefined ? {} : { window: config.window }),
    ...(config.onStorageError === undefined ? {} : { onStorageError: config.onStorageError }),
    clock: { now: () => Date.now() + offset, monotonic: () => performance.now() },
    authorize: () => true,
  });
} catch (error) {
  say({ fatal: errorOf(error) });
  process.exit(1);
}
for (const type of ['conflict', 'storage-error', 'settle'] as const) {
  guard.on(type, (event) => {
    const { error, ...rest } = event as { error?: unknown };
    say({ event: error === undefined ? rest : { ...rest, error: errorOf(error) } });
  });
}
say({ ready: true, pid: process.pid });

/** Decisions this terminal returned, by number: what an override names. */
const decisions = new Map<number, Decision>();
let decided = 0;
const decision = (d: Decision) => {
  const key = ++decided;
  decisions.set(key, d);
  return {
    key,
    verdict: d.verdict,
    codes: d.reasons.map((r) => r.code),
    reasons: d.reasons,
    ...(d.attempt ? { attemptId: d.attempt.id, idempotencyKey: d.attempt.idempotencyKey } : {}),
  };
};

async function run(command: Command): Promise<unknown> {
  switch (command.op) {
    case 'begin':
      return decision(await guard.begin(command.sale as Sale));
    case 'peek':
      return decision(await guard.peek(command.sale as Sale));
    case 'override': {
      const given = decisions.get(command.key as number);
      if (!given) throw new Error(`no decision ${String(command.key)}`);
      return decision(await guard.override(given, { operator: command.operator as string, reason: command.reason as string }));
    }
    case 'settle':
      return guard.settle(command.id as string, command.outcome as Outcome);
    case 'resume': {
      const attempt = await guard.resume(command.id as string);
      return { id: attempt.id, status: attempt.status, idempotencyKey: attempt.idempotencyKey };
    }
    case 'get':
      return (await guard.get(command.id as string)) ?? null;
    case 'attempts':
      return guard.attempts((command.filter as object | undefined) ?? {});
    case 'sync':
      return store.sync();
    case 'settled':
      return store.settled();
    case 'clock':
      offset = command.offsetMs as number;
      return offset;
    case 'cutOff':
      return store.cutOff?.() ?? false;
    case 'close':
      await guard.close();
      await Promise.all([queries.end(), listens === queries ? undefined : listens.end()]);
      setImmediate(() => process.exit(0));
      return null;
    default:
      throw new Error(`unknown op ${command.op}`);
  }
}

onLine = (line) => {
  const command = JSON.parse(line) as Command;
  const started = performance.now();
  run(command).then(
    (result) => say({ n: command.n, ok: true, result: result ?? null, ms: performance.now() - started }),
    (error: unknown) => say({ n: command.n, ok: false, error: errorOf(error), ms: performance.now() - started }),
  );
};
