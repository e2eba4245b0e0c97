/**
 * `pos-duplicate-guard reconcile` (SPEC §11): a store's attempts against a
 * processor's settlement file, as a table a store manager reads or one JSON
 * document; `--apply` settles the unknown attempts the file proves.
 */
import { parseArgs } from 'node:util';
import { parseDuration } from '../duration.js';
import { GuardInputError, errorText, isGuardError } from '../errors.js';
import { randomId } from '../fingerprint.js';
import { createGuard } from '../guard.js';
import { reconcile } from '../reconcile/match.js';
import { TRANSACTION_FORMATS, type TransactionFormat } from '../reconcile/presets.js';
import { readTransactions } from '../reconcile/read.js';
import type { AppliedFinding, ProcessorTransaction, ReconcileReport } from '../reconcile/types.js';
import { redact } from '../redact.js';
import { fileStore } from '../stores/file.js';
import type { AttemptRecord, GuardStore, Locale, StoreOwner } from '../types.js';
import { printable, printableJson } from './printable.js';
import { formatReport, shownTransactionId } from './reconcile-table.js';
import { asSeenAt, readStoreRecords } from './store-records.js';

/** 0: nothing needs action; 1: something does; 2: the input could not be used. */
export const RECONCILE_EXIT = { clean: 0, findings: 1, unusable: 2 } as const;

export interface ReconcileIo {
  stdout(text: string): void;
  stderr(text: string): void;
  /** @default process.env (GUARD_SECRET) */
  env?: Readonly<Record<string, string | undefined>>;
  /** Progress lines go to stderr only when it is a terminal. @default process.stderr.isTTY */
  stderrIsTTY?: boolean;
  /** Wall clock, for how old a stored `pending` is. @default Date.now */
  now?: () => number;
}

export const RECONCILE_HELP = `Usage: pos-duplicate-guard reconcile --store FILE --transactions FILE [options]
       pos-duplicate-guard reconcile --database URL --merchant ID --transactions FILE [options]

Matches the guard's attempts against the processor's settlement file (对账)
and says what is wrong and what to do: unknown outcomes that were charged or
not, double charges, approvals without a charge, amounts that differ, charges
the till never saw, refunds beyond the charge.

Options:
  --store FILE           The till's fileStore data file. Read as it is on disk,
                         without the secret and without its lock.
  --database URL         A postgresStore's database instead (needs --merchant
                         and the pg package).
  --transactions FILE    The settlement file: CSV, or JSON (an array of
                         ProcessorTransaction, amounts in minor units).
  --format NAME          The file's layout: ${TRANSACTION_FORMATS.join(', ')}
                         (default generic: columns named like ProcessorTransaction).
  --time-zone ZONE       The zone of date-times the file writes without an
                         offset: an IANA name (Asia/Shanghai) or +08:00
                         (default: the format's; UTC for generic, stripe and
                         adyen, Asia/Shanghai for wechat, alipay, unionpay).
  --currency CODE        The currency of a file without a currency column
                         (alipay, unionpay; default CNY).
  --tolerance DURATION   Probable matches: a charge this close to the attempt;
                         and how old an unknown attempt must be before no
                         charge means it was not charged (default 2m).
  --window DURATION      Two charges of one sale this close together are a
                         double charge (default 10m).
  --now TIME             When the file ends (ISO 8601 with offset, or epoch ms;
                         default: its latest transaction).
  --pending-timeout DURATION
                         A stored pending attempt older than this counts as
                         unknown (default 2m).
  --merchant ID          Only this merchant's attempts (required with --apply
                         and --database).
  --locale en|zh-CN      The table's language (default en).
  --json                 Print the report as one JSON document:
                         { findings, totals } (and "applied" with --apply).
  --apply                Settle the unknown attempts the file proves (approved,
                         cancelled, voided), journaled as reconciliation. Opens
                         a guard over the store: the till must not hold it.
                         The secret is read from GUARD_SECRET.
  -h, --help             Show this help.

Exit codes:
  0  nothing needs action
  1  something does (after --apply: something a person must look into)
  2  bad arguments, an unreadable store or settlement file, a missing secret

Examples:
  pos-duplicate-guard reconcile --store /var/lib/till/guard.jsonl --transactions wechat-20260301.csv --format wechat --locale zh-CN
  GUARD_SECRET=… pos-duplicate-guard reconcile --store guard.jsonl --transactions settlement.csv --apply --merchant M-0001
  pos-duplicate-guard reconcile --store guard.jsonl --transactions stripe.csv --format stripe --json > report.json`;

interface Args {
  store?: string;
  database?: string;
  transactions: string;
  format: TransactionFormat;
  timeZone?: string;
  currency?: string;
  tolerance: string;
  window: string;
  now?: string;
  pendingTimeoutMs: number;
  merchant?: string;
  locale: Locale;
  json: boolean;
  apply: boolean;
  help: boolean;
}

class UsageError extends Error {}

function parse(args: readonly string[]): Args {
  const { values, positionals } = parseArgs({
    args: [...args],
    options: {
      store: { type: 'string' },
      database: { type: 'string' },
      transactions: { type: 'string' },
      format: { type: 'string' },
      'time-zone': { type: 'string' },
      currency: { type: 'string' },
      tolerance: { type: 'string' },
      window: { type: 'string' },
      now: { type: 'string' },
      'pending-timeout': { type: 'string' },
      merchant: { type: 'string' },
      locale: { type: 'string' },
      json: { type: 'boolean' },
      apply: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    allowPositionals: true,
    strict: true,
  });
  const help = values.help === true;
  if (help) {
    return {
      help,
      transactions: '',
      format: 'generic',
      tolerance: '2m',
      window: '10m',
      pendingTimeoutMs: 0,
      locale: 'en',
      json: false,
      apply: false,
    };
  }
  if (positionals.length > 0) {
    throw new UsageError(`unexpected argument "${positionals[0]}": every input is named (--store, --transactions…)`);
  }
  if (values.transactions === undefined) throw new UsageError('--transactions FILE is required: the processor’s settlement file');
  if ((values.store === undefined) === (values.database === undefined)) {
    throw new UsageError('give exactly one of --store FILE or --database URL');
  }
  if (values.database !== undefined && values.merchant === undefined) {
    throw new UsageError('--database needs --merchant ID: one database holds many merchants');
  }
  if (values.apply && values.merchant === undefined) {
    throw new UsageError('--apply needs --merchant ID: the guard it opens is that merchant’s');
  }
  const format = (values.format ?? 'generic') as TransactionFormat;
  if (!TRANSACTION_FORMATS.includes(format)) {
    throw new UsageError(`--format must be one of ${TRANSACTION_FORMATS.join(', ')}, got "${values.format}"`);
  }
  const locale = (values.locale ?? 'en') as Locale;
  if (locale !== 'en' && locale !== 'zh-CN') throw new UsageError(`--locale must be en or zh-CN, got "${values.locale}"`);
  for (const [flag, value] of [
    ['--tolerance', values.tolerance],
    ['--window', values.window],
    ['--pending-timeout', values['pending-timeout']],
  ] as const) {
    if (value !== undefined && !/^(\d+(ms|d|h|m|s))+$|^\d+$/.test(value)) {
      throw new UsageError(`${flag} must be a Duration like 90s, 2m or 1h30m, got "${value}"`);
    }
  }
  const now = values.now;
  return {
    ...(values.store !== undefined ? { store: values.store } : {}),
    ...(values.database !== undefined ? { database: values.database } : {}),
    ...(values.merchant !== undefined ? { merchant: values.merchant } : {}),
    ...(now !== undefined ? { now } : {}),
    ...(values['time-zone'] !== undefined ? { timeZone: values['time-zone'] } : {}),
    ...(values.currency !== undefined ? { currency: values.currency } : {}),
    transactions: values.transactions,
    format,
    tolerance: values.tolerance ?? '2m',
    window: values.window ?? '10m',
    pendingTimeoutMs: parseDuration(values['pending-timeout'] ?? '2m', { field: 'pending-timeout' }),
    locale,
    json: values.json === true,
    apply: values.apply === true,
    help,
  };
}

/** `pos-duplicate-guard reconcile …`. Resolves the exit code; never throws for a user error. */
export async function reconcileCommand(args: readonly string[], io: ReconcileIo): Promise<number> {
  let a: Args;
  try {
    a = parse(args);
  } catch (error) {
    // parseArgs's own errors name the option ("Unknown option '--jsn'").
    return unusable(io, (error as Error).message);
  }
  if (a.help) {
    io.stdout(`${RECONCILE_HELP}\n`);
    return RECONCILE_EXIT.clean;
  }
  const env = io.env ?? process.env;
  const secret = env.GUARD_SECRET;
  if (a.apply && !secret) return unusable(io, '--apply needs the guard’s secret in the GUARD_SECRET environment variable');
  try {
    const transactions = await read(a, io);
    const nowMs = a.now === undefined ? undefined : /^\d+$/.test(a.now) ? Number(a.now) : a.now;
    const options = { tolerance: a.tolerance, window: a.window, ...(nowMs !== undefined ? { now: nowMs } : {}) };
    let report: ReconcileReport;
    let attempts: AttemptRecord[];
    let applied: AppliedFinding[] | undefined;
    if (a.apply) {
      const { store, release } = await openStore(a);
      try {
        // On postgresStore the command journals as a terminal of its own (one chain per terminal, SPEC §12): two runs at once are refused.
        const terminal = a.database === undefined ? {} : { terminalId: RECONCILE_TERMINAL };
        const guard = await createGuard({
          merchantId: a.merchant!,
          ...terminal,
          secret: secret!,
          store,
          pendingTimeout: a.pendingTimeoutMs,
        });
        try {
          attempts = inFilePeriod(await guard.attempts({ merchantId: a.merchant! }), transactions, a, io);
          report = reconcile(attempts, transactions, options);
          applied = await guard.applyReconciliation(report);
        } finally {
          await guard.close();
        }
      } finally {
        await release();
      }
    } else {
      attempts = inFilePeriod(await readAttempts(a, io), transactions, a, io);
      report = reconcile(attempts, transactions, options);
    }
    if (a.json) {
      const shown = { ...report, findings: report.findings.map((f) => ({ ...f, transactions: f.transactions.map(shownTransactionId) })) };
      io.stdout(`${printableJson(applied ? { ...shown, applied } : shown)}\n`);
    } else {
      io.stdout(
        formatReport({
          report,
          attempts: attempts.length,
          transactions: transactions.length,
          file: a.transactions,
          locale: a.locale,
          ...(applied ? { applied } : {}),
        }),
      );
    }
    return report.findings.length > (applied?.length ?? 0) ? RECONCILE_EXIT.findings : RECONCILE_EXIT.clean;
  } catch (error) {
    // The guard's own errors are the user's input (a bad row, a locked store, a wrong secret); anything else is a bug.
    if (isGuardError(error) || error instanceof UsageError) return unusable(io, error.message);
    throw error;
  }
}

async function read(a: Args, io: ReconcileIo): Promise<ProcessorTransaction[]> {
  const tty = io.stderrIsTTY ?? process.stderr.isTTY === true;
  const progress = tty ? (rows: number) => io.stderr(`\rreading ${a.transactions}: ${rows.toLocaleString('en-US')} rows`) : undefined;
  // The zone and currency are checked by readTransactions: a bad one is its GuardConfigError naming the option.
  const transactions = await readTransactions(a.transactions, {
    format: a.format,
    ...(a.timeZone !== undefined ? { timeZone: a.timeZone } : {}),
    ...(a.currency !== undefined ? { currency: a.currency } : {}),
    ...(progress ? { onProgress: progress } : {}),
  });
  if (transactions.length === 0) {
    // Not "nothing to do": every unknown attempt would read as not charged. An empty export is a failed one.
    throw new GuardInputError(
      'INVALID_TRANSACTION',
      `${a.transactions} holds no transactions: nothing to reconcile against (did the export fail, or cover the wrong day?)`,
      {
        field: 'transactions',
      },
    );
  }
  if (tty && transactions.length >= 10_000) {
    io.stderr(`\rreading ${a.transactions}: ${transactions.length.toLocaleString('en-US')} transactions\n`);
  }
  return transactions;
}

/**
 * The attempts a settlement file can speak for: those that began no earlier
 * than its first transaction, less `--tolerance`. The store holds every day;
 * the file one. Yesterday's unknown attempt has no charge in today's file,
 * and reconciled against it would be `UNKNOWN_NOT_CHARGED` (exact), and
 * `--apply` would cancel it though its charge may be in yesterday's file:
 * a retry would then charge the customer again. Said on stderr, not hidden.
 */
function inFilePeriod(attempts: AttemptRecord[], transactions: readonly ProcessorTransaction[], a: Args, io: ReconcileIo): AttemptRecord[] {
  const first = transactions.reduce((min, tx) => Math.min(min, Number(tx.at)), Number.POSITIVE_INFINITY);
  const from = first - parseDuration(a.tolerance, { field: 'tolerance' });
  const kept = attempts.filter((attempt) => attempt.pendingSince >= from);
  const before = attempts.length - kept.length;
  if (before > 0) {
    io.stderr(
      `${before} attempt(s) began before the file's first transaction (${new Date(first).toISOString()}): left out, their charges are in an earlier file\n`,
    );
  }
  return kept;
}

/** The terminal `reconcile --database --apply` journals as (postgresStore needs one). */
const RECONCILE_TERMINAL = 'reconcile';

/** The attempts as `guard.attempts()` would list them, read without the secret. */
async function readAttempts(a: Args, io: ReconcileIo): Promise<AttemptRecord[]> {
  const now = (io.now ?? Date.now)();
  let records: AttemptRecord[];
  if (a.store !== undefined) {
    const read = await readStoreRecords(a.store);
    for (const warning of read.warnings) io.stderr(`${printable(redact(warning))}\n`);
    records = read.records;
  } else {
    const { store, release } = await openStore(a);
    const owner: StoreOwner = {
      merchantId: a.merchant!,
      // postgresStore needs one (each terminal holds its own): the command reads as a terminal of its own, and journals nothing.
      terminalId: `reconcile-${randomId('', 9)}`,
      windowMs: parseDuration(a.window, { field: 'window' }),
      pendingTimeoutMs: a.pendingTimeoutMs,
      clock: { now: Date.now, monotonic: () => performance.now() },
      scheduler: { after: (ms, task) => clearTimeout.bind(null, setTimeout(task, ms)) },
    };
    try {
      await store.attach?.(owner);
      records = await store.load();
    } finally {
      await store.close?.();
      await release();
    }
  }
  return records.filter((r) => a.merchant === undefined || r.merchantId === a.merchant).map((r) => asSeenAt(r, now, a.pendingTimeoutMs));
}

/** The store `--store` or `--database` names; `release` ends what the command opened for it (the pg pool), after the store is closed. */
async function openStore(a: Args): Promise<{ store: GuardStore; release: () => Promise<void> }> {
  if (a.store !== undefined) return { store: fileStore(a.store), release: async () => undefined };
  // Imported only here: pg is a peer dependency of the postgres entry, needed by nobody else.
  let pg: typeof import('pg');
  try {
    pg = await import('pg');
  } catch (error) {
    throw new UsageError(`--database needs the pg package (npm install pg): ${errorText(error)}`);
  }
  const { postgresStore } = await import('../postgres.js');
  // A database that stops answering fails the command in seconds rather than hanging it: connecting and
  // each query are bounded, and ending the pool does not wait on a connection that went silent.
  const pool = new (pg.default?.Pool ?? pg.Pool)({
    connectionString: a.database,
    max: 2,
    connectionTimeoutMillis: 5_000,
    query_timeout: 10_000,
  });
  const release = () => Promise.race([pool.end(), new Promise<void>((resolve) => setTimeout(resolve, 1_000).unref())]);
  return { store: postgresStore({ pool }), release };
}

function unusable(io: ReconcileIo, message: string): number {
  io.stderr(`pos-duplicate-guard reconcile: ${printable(redact(message))}\nRun "pos-duplicate-guard reconcile --help" for usage.\n`);
  return RECONCILE_EXIT.unusable;
}
