/**
 * `Remote` on PostgreSQL through node-postgres (`pg`): each call one
 * statement, one round trip, on the app's pool. Only the pool's shape is
 * used here (no import of `pg`), so the app's own `pg` version serves.
 */
import { randomId } from '../../fingerprint.js';
import { headOf, headText } from '../../journal/chain.js';
import type { AttemptRecord, JournalEntry, JournalHead } from '../../types.js';
import {
  journalHeadKey,
  RemoteUnreachable,
  SeqTaken,
  TerminalNotHeld,
  TerminalTaken,
  type ClaimAnswer,
  type ListenOptions,
  type NoticeNames,
  type Remote,
  type RemoteListener,
  type RowWrite,
  type SharedRow,
} from '../../shared/remote.js';
import { SCHEMA_VERSION, schemaSql } from './schema.js';

/** What the store needs of a `pg.Pool` (node-postgres 8). */
export interface PgPool {
  query(config: { text: string; values?: unknown[]; name?: string; query_timeout?: number }): Promise<{ rows: Record<string, unknown>[] }>;
  connect(): Promise<PgClient>;
}

/** What the store needs of a `pg.PoolClient`: the one connection it LISTENs on (and holds its terminal on). */
export interface PgClient {
  query(text: string): Promise<unknown>;
  on(event: 'notification', listener: (message: { channel: string; payload?: string }) => void): unknown;
  on(event: 'error', listener: (error: Error) => void): unknown;
  on(event: 'end', listener: () => void): unknown;
  removeAllListeners(event?: string): unknown;
  release(error?: Error | boolean): void;
}

export interface PgRemoteOptions {
  pool: PgPool;
  schema: string;
  /** How long one statement may take before the connection counts as dead. */
  timeoutMs: number;
  /** How often a dropped notification connection is tried again. */
  retryMs: number;
}

/** SQLSTATE classes and codes that mean the database cannot be reached now, not that it refused the statement. */
const UNREACHABLE_STATES = /^(08|57P0[1-3]|53300)/;
/** Serialization failures and deadlocks: tried again, never taken for an outage (SPEC §9). */
const RETRIED_STATES = new Set(['40001', '40P01']);
const RETRIES = 5;

export function pgRemote(options: PgRemoteOptions): Remote & { ensureSchema(): Promise<void> } {
  const { pool, schema: s, timeoutMs, retryMs } = options;
  const writer = randomId('w_', 9);
  let ready: Promise<void> | undefined;
  /** The session holding this store's terminal, as taken by listen(); undefined while not held. */
  let holding: Holding | undefined;

  async function run(name: string | undefined, text: string, values: unknown[]): Promise<Record<string, unknown>[]> {
    await (ready ??= ensureSchema().catch((error: unknown) => {
      ready = undefined;
      throw error;
    }));
    return query(name, text, values);
  }

  async function query(name: string | undefined, text: string, values: unknown[]): Promise<Record<string, unknown>[]> {
    for (let attempt = 0; ; attempt++) {
      try {
        const config = { text, values, query_timeout: timeoutMs, ...(name === undefined ? {} : { name: `${s}_${name}` }) };
        return (await pool.query(config)).rows;
      } catch (error) {
        const state = (error as { code?: unknown }).code;
        if (typeof state === 'string' && RETRIED_STATES.has(state) && attempt < RETRIES) continue;
        // node-postgres' query_timeout: the query was sent, and may still be delivered and committed.
        const late = /Query read timeout/.test(message(error));
        throw unreachable(error) ? new RemoteUnreachable(message(error), { cause: error, late }) : error;
      }
    }
  }

  /**
   * Creates the schema once per database, under a lock: ten terminals
   * starting together create it once. The lock is a session lock taken
   * before the transaction: a transaction that began before another one
   * created the schema keeps seeing it absent (PostgreSQL reads its catalog
   * caches' invalidations at transaction start, not when an advisory lock is
   * granted), so the check under the lock runs in a transaction of its own.
   */
  async function ensureSchema(): Promise<void> {
    if (await current((text, values) => query(undefined, text, values))) return;
    const client = await pool.connect().catch((error: unknown) => {
      throw unreachable(error) ? new RemoteUnreachable(message(error), { cause: error }) : error;
    });
    const on = (text: string, values: unknown[]) => (client as unknown as PgPool).query({ text, values }).then((r) => r.rows);
    try {
      await on(`SELECT pg_advisory_lock(hashtextextended('pos-duplicate-guard schema ' || $1, 0))`, [s]);
      // Asked again under the lock: a terminal that waited for it finds the schema the first one created.
      if (!(await current(on))) {
        await client.query('BEGIN');
        await client.query(schemaSql(s));
        await client.query('COMMIT');
      }
      await on(`SELECT pg_advisory_unlock(hashtextextended('pos-duplicate-guard schema ' || $1, 0))`, [s]);
      client.release();
    } catch (error) {
      // Destroyed, not returned to the pool: the session lock goes with the connection.
      client.release(true);
      throw unreachable(error) ? new RemoteUnreachable(message(error), { cause: error }) : error;
    }
  }

  /** Whether the schema is there, at this version or a later one. */
  async function current(on: (text: string, values: unknown[]) => Promise<Record<string, unknown>[]>): Promise<boolean> {
    const found = await on(`SELECT to_regclass($1) IS NOT NULL AS present`, [`${s}.schema_version`]);
    if (found[0]?.present !== true) return false;
    const rows = await on(`SELECT max(version) AS version FROM ${s}.schema_version`, []);
    return Number(rows[0]?.version) >= SCHEMA_VERSION;
  }

  /**
   * New reservations are announced after their commit, a batch at a time, in
   * a transaction of their own that does not wait for the disk: a NOTIFY
   * holds a cluster-wide lock through its commit, and inside the claim it
   * would put every terminal's begins in one line (SPEC §8: no store-wide lock).
   * Each notice names the versions written, nothing else (see write_row in schema.ts).
   */
  const unannounced = new Map<string, string[]>();
  let announcing: ReturnType<typeof setTimeout> | undefined;
  const announceLater = (merchantId: string, item: string) => {
    const items = unannounced.get(merchantId) ?? [];
    items.push(item);
    unannounced.set(merchantId, items);
    if (announcing) return;
    announcing = setTimeout(() => {
      announcing = undefined;
      const batches = [...unannounced];
      unannounced.clear();
      for (const [merchant, all] of batches) {
        for (const payload of payloads(merchant, all, writer)) {
          void query('announce', `SELECT set_config('synchronous_commit', 'off', true), pg_notify($1, $2)`, [s, payload]).catch(
            () => undefined, // a notice is a hint: the others meet the reservation in their own claims
          );
        }
      }
    }, ANNOUNCE_EVERY_MS);
    (announcing as { unref?: () => void }).unref?.();
  };

  /** A row the database answered; `sent`: the record this terminal wrote to it, taken as it is rather than parsed back. */
  const rowOf = (r: Record<string, unknown>, sent?: AttemptRecord): SharedRow => ({
    record: sent ?? (JSON.parse(r.row_record as string) as AttemptRecord),
    skew: Number(r.row_skew),
    version: Number(r.row_version),
    changedAt: Number(r.row_changed_at),
  });
  /** A row the database answered, as a notice's item: its version, nothing of the row (any role may LISTEN). */
  const noticeItem = (r: Record<string, unknown>): string => String(Number(r.row_version));
  const ROW = `id AS row_id, version AS row_version, record AS row_record, skew AS row_skew, changed_at AS row_changed_at`;
  const select = (where: string, values: unknown[], name?: string) =>
    run(name, `SELECT ${ROW} FROM ${s}.attempts WHERE merchant_id = $1 AND ${where}`, values).then((rows) => rows.map((r) => rowOf(r)));

  const remote: Remote & { ensureSchema(): Promise<void> } = {
    ensureSchema,
    clock: async () => {
      const rows = await run('clock', `SELECT floor(extract(epoch FROM clock_timestamp()) * 1000)::float8 AS now`, []);
      return Number(rows[0]?.now);
    },
    claim: async (merchantId, keys, ids, expected, writes): Promise<ClaimAnswer> => {
      const rows = await run('claim', `SELECT * FROM ${s}.claim($1, $2, $3, $4, $5::json, $6::json)`, [
        merchantId,
        writer,
        keys.map(keyText),
        ids,
        JSON.stringify([...expected]),
        JSON.stringify(writes.map(rowJson)),
      ]);
      if (rows[0]?.written === false) return { written: false, related: rows.filter((r) => r.row_id !== null).map((r) => rowOf(r)) };
      const written = rows.filter((r) => r.row_id !== null);
      for (const write of writes) {
        if (write.notice !== 'after') continue;
        const row = written.find((r) => r.row_id === write.record.id);
        if (row) announceLater(merchantId, noticeItem(row));
      }
      const sent = new Map(writes.map((write) => [write.record.id, write.record]));
      return { written: true, rows: written.map((r) => rowOf(r, sent.get(r.row_id as string))) };
    },
    put: async (merchantId, write) => {
      const rows = await run('put', `SELECT ${ROW} FROM ${s}.put_row($1, $2, $3::json)`, [
        merchantId,
        writer,
        JSON.stringify(rowJson(write)),
      ]);
      const row = rows[0] as Record<string, unknown>;
      if (write.notice === 'after') announceLater(merchantId, noticeItem(row));
      return rowOf(row, write.record);
    },
    upload: async (merchantId, write) => {
      // upload() announces what it writes itself: it answers the other rows, not the version it wrote.
      const rows = await run('upload', `SELECT * FROM ${s}.upload($1, $2, $3::json)`, [merchantId, writer, JSON.stringify(rowJson(write))]);
      return rows.map((r) => rowOf(r));
    },
    delete: async (merchantId, id) => {
      // An id PostgreSQL text cannot hold was never stored: nothing to delete.
      if (!storable(id)) return;
      await run('delete', `DELETE FROM ${s}.attempts WHERE merchant_id = $1 AND id = $2`, [merchantId, id]);
    },
    // Ids PostgreSQL text cannot hold (a NUL, a lone surrogate: an id nobody issued) were never stored.
    get: (merchantId, ids) => select('id = ANY ($2)', [merchantId, ids.filter(storable)], 'get'),
    // By version through attempts_version, by id through the primary key: a row written again since
    // is not at the version named, and its own notice names the new one.
    noticed: (merchantId, { versions, ids }) =>
      select('(version = ANY ($2) OR id = ANY ($3))', [merchantId, versions, ids.filter(storable)], 'noticed'),
    byOrder: (merchantId, orderKey) =>
      run('by_order', `SELECT ${ROW} FROM ${s}.filed_under($1, $2)`, [merchantId, keyText(orderKey)]).then((rows) =>
        rows.map((r) => rowOf(r)),
      ),
    load: (merchantId, since) =>
      since === undefined
        ? select('true', [merchantId])
        : select(
            `(status IN ('pending', 'unknown') OR (kind = 'refund' AND status = 'approved') OR db_updated_at >= $2)`,
            [merchantId, since],
            'load',
          ),
    changes: (merchantId, since) => select('changed_at >= $2', [merchantId, since], 'changes'),
    prune: async (merchantId, before, keepMs) => {
      const rows = await run(
        'prune',
        `WITH gone AS (DELETE FROM ${s}.attempts WHERE merchant_id = $1 AND status NOT IN ('pending', 'unknown')
                         AND db_updated_at < least($2::bigint, floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint - $3::bigint)
                       RETURNING 1)
         SELECT count(*)::int AS n FROM gone`,
        [merchantId, Math.floor(before), Math.ceil(keepMs)],
      );
      return Number(rows[0]?.n ?? 0);
    },
    getMeta: async (merchantId, key) => {
      const rows = await run('get_meta', `SELECT value FROM ${s}.meta WHERE merchant_id = $1 AND key = $2`, [merchantId, key]);
      return rows[0]?.value as string | undefined;
    },
    setMeta: async (merchantId, key, value) => {
      await run(
        'set_meta',
        `INSERT INTO ${s}.meta (merchant_id, key, value) VALUES ($1, $2, $3) ON CONFLICT (merchant_id, key) DO UPDATE SET value = excluded.value`,
        [merchantId, key, value],
      );
    },
    initMeta: async (merchantId, key, value) => {
      // Two statements: the read sees a row another connection committed while the insert waited on it.
      await run(
        'init_meta',
        `INSERT INTO ${s}.meta (merchant_id, key, value) VALUES ($1, $2, $3) ON CONFLICT (merchant_id, key) DO NOTHING`,
        [merchantId, key, value],
      );
      const rows = await run('get_meta', `SELECT value FROM ${s}.meta WHERE merchant_id = $1 AND key = $2`, [merchantId, key]);
      return rows[0]?.value as string;
    },
    appendJournal: async (merchantId, terminalId, entries, options) => {
      if (entries.length === 0) return;
      // A terminal held by listen() is written to only while the database sees that very session alive (holding its
      // lock): a connection that died unnoticed (a till asleep) lost its lock, and another till may have taken it.
      const hold = terminalId === undefined ? undefined : holdOf(s, merchantId, { terminalId });
      const session = holding;
      if (hold && session?.key !== hold.key) throw new TerminalNotHeld(`terminal ${JSON.stringify(terminalId)} is not held`);
      const values = [
        merchantId,
        terminalId ?? null,
        entries.map((e: JournalEntry) => e.at),
        entries.map((e) => JSON.stringify(e)),
        entries.map((e) => e.seq ?? null),
        ...(hold && session ? [session.pid, session.start] : []),
      ];
      // The head beside the rows (Remote.appendJournal): the batch's last sealed entry, if the batch wrote any.
      const sealed = entries.map(headOf).filter((h): h is JournalHead => h !== undefined);
      const head = sealed.length > 0 ? values.push(journalHeadKey(terminalId), headText(sealed.at(-1) as JournalHead)) : 0;
      // Written only if: (replay) entries that may have landed already are left out, each one the terminal's journal
      // holds (one statement: those of the batch that did not land all go in, in order, however alike); (hold) this
      // store's session still holds the terminal.
      const only = [
        ...(options?.replay
          ? [
              `NOT EXISTS (SELECT 1 FROM ${s}.journal AS j WHERE j.merchant_id = $1 AND j.terminal_id IS NOT DISTINCT FROM $2::text
                                                   AND j.at = e.at AND j.entry = e.entry)`,
            ]
          : []),
        ...(hold ? ['(SELECT mine FROM hold)'] : []),
      ];
      let rows: Record<string, unknown>[];
      try {
        rows = await run(
          `journal${options?.replay ? '_replay' : ''}${hold ? '_held' : ''}`,
          `WITH ${hold ? HOLD_CHECK : ''} written AS (INSERT INTO ${s}.journal (merchant_id, terminal_id, at, entry, seq)
           SELECT $1, $2, e.at, e.entry, e.seq FROM unnest($3::bigint[], $4::text[], $5::bigint[]) WITH ORDINALITY AS e(at, entry, seq, n)
           ${only.length > 0 ? `WHERE ${only.join(' AND ')}` : ''}
           ORDER BY e.n
           RETURNING 1)${head > 0 ? keepHead(s, head) : ''} ${hold ? 'SELECT mine FROM hold' : 'SELECT true AS mine'}`,
          values,
        );
      } catch (error) {
        const { code, constraint } = error as { code?: unknown; constraint?: unknown };
        if (code === '23505' && constraint === 'journal_seq') throw new SeqTaken(message(error), { cause: error });
        throw error;
      }
      if (rows[0]?.mine === true || !session) return;
      // Checked against a session given up on meanwhile, and the terminal is held again by a new one: nothing was written.
      if (holding !== undefined && holding !== session) return remote.appendJournal(merchantId, terminalId, entries, options);
      // Only now, off the hot path, pg_locks: whether another till holds the terminal already (told LOCKED at once).
      const taken = await run('held_by_other', `SELECT EXISTS (SELECT 1 FROM ${HELD_BY}) AS other`, [
        hexOf((hold as TerminalHold).key),
      ]).then(
        (r) => r[0]?.other === true,
        () => false,
      );
      const lost = taken
        ? new TerminalTaken(takenMessage(terminalId as string))
        : new TerminalNotHeld(`terminal ${JSON.stringify(terminalId)}: the database no longer sees this store's hold on it`);
      // The listening connection is dead though nothing said so: given up, and the terminal taken again (or reported taken).
      session.lose(lost);
      throw lost;
    },
    journal: async (merchantId, terminalId) => {
      const rows = await run(undefined, `SELECT entry FROM ${s}.journal WHERE merchant_id = $1 AND ${terminalIs(terminalId)} ORDER BY id`, [
        merchantId,
        ...(terminalId === undefined ? [] : [terminalId]),
      ]);
      return rows.map((r) => JSON.parse(r.entry as string) as JournalEntry);
    },
    lastJournal: async (merchantId, terminalId) => {
      const rows = await run(
        undefined,
        `SELECT entry FROM ${s}.journal WHERE merchant_id = $1 AND ${terminalIs(terminalId)} ORDER BY id DESC LIMIT 1`,
        [merchantId, ...(terminalId === undefined ? [] : [terminalId])],
      );
      return rows[0] === undefined ? undefined : (JSON.parse(rows[0].entry as string) as JournalEntry);
    },
    listen: (merchantId, listener, listenOptions) =>
      listen({
        pool,
        channel: s,
        writer,
        merchantId,
        listener,
        retryMs,
        timeoutMs,
        hold: holdOf(s, merchantId, listenOptions),
        holding: {
          set: (session) => (holding = session),
          clear: (session) => {
            if (holding === session) holding = undefined;
          },
        },
      }),
  };
  return remote;
}

/** A session's start time as an integer of microseconds (text of a timestamptz would follow the session's TimeZone). */
function backendStart(column: string): string {
  return `(extract(epoch FROM ${column}) * 1000000)::bigint`;
}

/**
 * The session lock a store holds on its listening connection for its
 * terminal (SPEC §12: one sealer per chain). Its key is text hashed by the
 * database, named like the schema lock: schema, merchant and terminal.
 */
interface TerminalHold {
  readonly key: string;
  readonly terminalId: string;
}

/**
 * The session that holds a store's terminal, as the database names it: its
 * process id and start time (microseconds; a pid alone may be reused by a
 * later session). `lose` gives up the listening connection.
 */
interface Holding {
  readonly key: string;
  readonly pid: number;
  readonly start: string | null;
  lose(error: Error): void;
}

/**
 * Part of a journal write's WITH: whether the session that took the terminal
 * ($6 pid, $7 start) is still alive. A session lock goes only with its
 * session (nothing here unlocks it), so a live session still holds it, and
 * no other can. Asked of that one backend's status, not of pg_locks: reading
 * pg_locks copies the whole lock table under every lock partition, which
 * stalls every other terminal's claim locks meanwhile (with 8 tills ringing
 * up together, the journal's check cost more throughput than the claims).
 * A session that is gone (or a pid reused by a later one) is not this one:
 * the store gives it up, asks pg_locks whether another holds it (HELD_BY),
 * and takes the terminal again or says it is taken.
 */
const HOLD_CHECK = `hold AS (
  SELECT coalesce(bool_or(${backendStart('s.backend_start')} IS NOT DISTINCT FROM $7::bigint), false) AS mine
    FROM pg_stat_get_activity($6::int) AS s
),`;

/**
 * The sessions holding the terminal's lock ($1, its key in hex). pg_locks
 * shows an advisory lock on a bigint key as its high and low 32 bits, in
 * the database it was taken in. Asked only once this store lost its hold.
 */
const HELD_BY = `(SELECT hashtextextended(convert_from(decode($1::text, 'hex'), 'UTF8'), 0) AS k) AS key
    JOIN pg_locks AS l
      ON l.locktype = 'advisory' AND l.granted AND l.objsubid = 1
     AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
     AND l.classid = ((key.k >> 32) & 4294967295)::oid AND l.objid = (key.k & 4294967295)::oid`;

function holdOf(schema: string, merchantId: string, options: ListenOptions | undefined): TerminalHold | undefined {
  const terminalId = options?.terminalId;
  if (terminalId === undefined) return undefined;
  return { key: `pos-duplicate-guard terminal\u0001${schema}\u0001${merchantId}\u0001${terminalId}`, terminalId };
}

/**
 * How long a starting till waits for its terminal's lock before it is
 * refused: a till restarted at once after a crash finds its previous
 * session still closing for a moment.
 */
const HOLD_POLL_MS = 100;

/**
 * TCP keepalives of the listening connection, on the server's side: a till
 * that lost power leaves a connection the server holds open (and its
 * terminal lock with it) until keepalives give up, two hours by the usual
 * system defaults; with these, within about 20 s. Keepalives are not sent
 * while data waits to be acknowledged, and a listening connection gets data
 * whenever another terminal writes (its notices): then the retransmissions
 * decide (tcp_retries2, some 15 minutes), so the same 20 s bound is put on
 * unacknowledged data (`tcp_user_timeout`, PostgreSQL 12 and later).
 */
const KEEPALIVES =
  'SET tcp_keepalives_idle = 10; SET tcp_keepalives_interval = 5; SET tcp_keepalives_count = 2; ' +
  `SELECT set_config('tcp_user_timeout', '20000', false) WHERE current_setting('server_version_num')::int >= 120000`;

interface ListenSetup {
  readonly pool: PgPool;
  readonly channel: string;
  readonly writer: string;
  readonly merchantId: string;
  readonly listener: RemoteListener;
  readonly retryMs: number;
  readonly timeoutMs: number;
  /** The terminal this connection holds, if any: taken at each connect, lost with the connection. */
  readonly hold: TerminalHold | undefined;
  /** Told the session that holds the terminal once it is taken, and when it is lost (journal writes check it). */
  readonly holding: { set(session: Holding): void; clear(session: Holding): void };
}

/**
 * LISTENs on one connection of the pool, for as long as the store lives: a
 * dropped connection is reported (`connected(false)`), tried again every
 * `retryMs`, and reported back (`connected(true)`) once listening again, so
 * the store reads what it missed (NOTIFY is not replayed).
 *
 * With `hold`, the same connection holds the terminal's session lock: the
 * one connection the store keeps for its whole life, so the lock is lost
 * exactly when the notices are (sleep and wake, a server restart), and taken
 * again with them. A second till with the same id is refused at start-up
 * (`TerminalTaken`, after waiting half of `timeoutMs` for a crashed run's session to
 * go); one that takes the id while this one is away is reported (`taken`),
 * and the lock is tried again at each retry.
 *
 * The connection is the app's, checked out of its pool: every one this
 * takes goes back, or the app's `pool.end()` never returns. So a connection
 * that arrives after it was given up on (stopped meanwhile, or slower than
 * `timeoutMs`: a network that drops packets) is handed back when it does
 * arrive, and one that does not answer UNLISTEN is destroyed (as is one that
 * holds a terminal: its lock goes with it).
 */
async function listen(setup: ListenSetup): Promise<() => Promise<void>> {
  const { pool, channel, writer, merchantId, listener, retryMs, timeoutMs, hold, holding } = setup;
  let client: PgClient | undefined;
  let session: Holding | undefined;
  let stopped = false;
  let timer: ReturnType<typeof setTimeout> | undefined;

  const onNotice = ({ channel: heard, payload }: { channel: string; payload?: string }) => {
    if (heard !== channel || payload === undefined) return;
    let names: NoticeNames | undefined;
    try {
      names = parseNotice(payload, merchantId, writer);
    } catch {
      // Not ours: someone else's NOTIFY on the channel.
    }
    if (names && (names.versions.length > 0 || names.ids.length > 0)) listener.changed(names);
  };
  const dropped = (error?: Error) => {
    const lost = client;
    if (!lost) return;
    client = undefined;
    if (session) holding.clear(session);
    session = undefined;
    lost.removeAllListeners('notification');
    lost.removeAllListeners('end');
    lost.release(error ?? true);
    if (stopped) return;
    listener.connected(false);
    retry();
  };
  const retry = () => {
    if (stopped || timer) return;
    timer = setTimeout(() => {
      timer = undefined;
      connect(0).then(
        () => {
          if (!stopped) listener.connected(true);
        },
        (error: unknown) => {
          if (error instanceof TerminalTaken && !stopped) listener.taken?.(error);
          retry();
        },
      );
    }, retryMs);
    // A till shutting down does not wait for this.
    (timer as { unref?: () => void }).unref?.();
  };
  /** Connects, listens and (with `hold`) takes the terminal, waiting up to `patienceMs` for another session to let it go. */
  const connect = async (patienceMs: number) => {
    const next = await within(pool.connect(), timeoutMs, (late) => late.release(true));
    if (stopped) {
      next.release();
      return;
    }
    // An error on an idle connection would otherwise be thrown from the pool's client.
    next.on('error', (error) => dropped(error));
    next.on('end', () => dropped());
    next.on('notification', onNotice);
    client = next;
    try {
      if (hold) {
        const { pid, start } = await take(next, channel, hold, patienceMs, timeoutMs);
        if (client === next) {
          session = {
            key: hold.key,
            pid,
            start,
            lose: (error) => {
              if (client === next) dropped(error);
            },
          };
          holding.set(session);
        }
      } else await within(next.query(`LISTEN ${channel}`), timeoutMs);
    } catch (error) {
      // Destroyed (dropped releases with the error): a lock it may have been granted goes with it.
      dropped(error as Error);
      throw error;
    }
  };

  try {
    // Half the timeout for a crashed run's session to go: the rest for connecting, within the store's own wait.
    await connect(timeoutMs / 2);
  } catch (error) {
    // Not tried again from here: the store listens again when it reconnects.
    stopped = true;
    if (timer) clearTimeout(timer);
    if (error instanceof TerminalTaken) throw error;
    throw unreachable(error) ? new RemoteUnreachable(message(error), { cause: error }) : error;
  }
  return async () => {
    stopped = true;
    if (timer) clearTimeout(timer);
    const held = client;
    client = undefined;
    if (session) holding.clear(session);
    session = undefined;
    if (!held) return;
    held.removeAllListeners();
    held.on('error', () => undefined);
    // A connection holding a terminal is not handed back: its lock goes with it.
    const unlistened =
      !hold &&
      (await within(held.query(`UNLISTEN ${channel}`), timeoutMs).then(
        () => true,
        () => false,
      ));
    // A connection that did not answer is not handed back to be used again.
    held.release(unlistened ? undefined : true);
  };
}

/**
 * Listens on `client` and takes the terminal's session lock, in one round
 * trip (one text: the key goes in hex, so no id can break out of it),
 * trying again every HOLD_POLL_MS for `patienceMs`; else `TerminalTaken`.
 */
async function take(
  client: PgClient,
  channel: string,
  hold: TerminalHold,
  patienceMs: number,
  timeoutMs: number,
): Promise<{ pid: number; start: string | null }> {
  const key = `convert_from(decode('${hexOf(hold.key)}', 'hex'), 'UTF8')`;
  const text =
    `LISTEN ${channel}; ${KEEPALIVES}; SELECT pg_try_advisory_lock(hashtextextended(${key}, 0)) AS held, pg_backend_pid() AS pid, ` +
    `(SELECT ${backendStart('s.backend_start')} FROM pg_stat_get_activity(pg_backend_pid()) AS s)::text AS start`;
  const until = Date.now() + patienceMs;
  for (;;) {
    const results = await within(client.query(text), timeoutMs);
    const last = (Array.isArray(results) ? results.at(-1) : results) as
      { rows?: { held?: unknown; pid?: unknown; start?: unknown }[] } | undefined;
    const row = last?.rows?.[0];
    if (row?.held === true) return { pid: Number(row.pid), start: typeof row.start === 'string' ? row.start : null };
    if (Date.now() >= until) throw new TerminalTaken(takenMessage(hold.terminalId));
    await new Promise((resolve) => setTimeout(resolve, HOLD_POLL_MS));
  }
}

function takenMessage(terminalId: string): string {
  return (
    `terminal ${JSON.stringify(terminalId)} is in use by another connection to the database: two tills with one ` +
    `terminalId would seal one journal chain from two heads. Give each till its own terminalId; a till ` +
    `restarted after a crash or power cut is let in once the database drops its previous connection (within about 20 s)`
  );
}

/** `text` as UTF-8 in hex: how a text goes into a statement's own text (no id can break out of it). */
function hexOf(text: string): string {
  return Array.from(encoder.encode(text), (byte) => byte.toString(16).padStart(2, '0')).join('');
}

/**
 * A notice is `[merchant, items, writer]`; an item is a version written
 * (schema version 3). An older store's items, an id or a row
 * `[id, version, skew, changedAt, record]`, are taken as the id alone (and
 * so is `[merchant, id, writer]`): every row a notice names is read back,
 * nothing it carries is taken as fact (any role may NOTIFY). Undefined for
 * another merchant's notice or this writer's own.
 */
export function parseNotice(payload: string, merchantId: string, writer: string): NoticeNames | undefined {
  const [merchant, items, from] = JSON.parse(payload) as [unknown, unknown, unknown];
  if (merchant !== merchantId || from === writer) return undefined;
  const versions: number[] = [];
  const ids: string[] = [];
  for (const item of Array.isArray(items) ? (items as unknown[]) : [items]) {
    if (typeof item === 'number' && Number.isSafeInteger(item) && item > 0) versions.push(item);
    else if (typeof item === 'string' && item !== '') ids.push(item);
    else if (Array.isArray(item) && typeof item[0] === 'string') ids.push(item[0]);
  }
  return { versions, ids };
}

/** The notices that carry `items` (each a JSON text): as many items in each as its 8000 bytes hold. */
function payloads(merchant: string, items: readonly string[], writer: string): string[] {
  const head = `[${JSON.stringify(merchant)},[`;
  const tail = `],${JSON.stringify(writer)}]`;
  const found: string[] = [];
  let batch: string[] = [];
  let bytes = byteLength(head) + byteLength(tail);
  for (const item of items) {
    const size = byteLength(item) + 1;
    if (batch.length > 0 && bytes + size > NOTICE_BYTES) {
      found.push(`${head}${batch.join(',')}${tail}`);
      batch = [];
      bytes = byteLength(head) + byteLength(tail);
    }
    batch.push(item);
    bytes += size;
  }
  if (batch.length > 0) found.push(`${head}${batch.join(',')}${tail}`);
  return found;
}

const encoder = new TextEncoder();
const byteLength = (text: string): number => encoder.encode(text).length;

/** What one notice may hold: PostgreSQL refuses a payload of 8000 bytes or more. */
const NOTICE_BYTES = 7_900;
/** `promise`, or a timeout error after `ms`; what it resolves after that goes to `late`. */
function within<T>(promise: Promise<T>, ms: number, late?: (value: T) => void): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let done = false;
    const timer = setTimeout(() => {
      done = true;
      reject(new RemoteUnreachable(`the database did not answer within ${ms} ms`, { late: true }));
    }, ms);
    promise.then(
      (value) => {
        if (done) return late?.(value);
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        if (!done) reject(error);
      },
    );
  });
}

/** Half a surrogate pair: PostgreSQL's UTF-8 cannot hold it (node-postgres sends U+FFFD instead). */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Whether `text` is stored in a text column as it is: no NUL (PostgreSQL refuses it), no lone surrogate. */
export function storable(text: string): boolean {
  return !text.includes('\u0000') && !LONE_SURROGATE.test(text);
}

/** One terminal's journal rows, by equality so that journal_merchant (merchant_id, terminal_id, id) serves (IS NOT DISTINCT FROM cannot). */
function terminalIs(terminalId: string | undefined): string {
  return terminalId === undefined ? 'terminal_id IS NULL' : 'terminal_id = $2';
}

/** A claim key as text: JSON-quoted, so the NUL separators of SPEC's keys (which PostgreSQL text cannot hold) stay apart. */
function keyText(key: string): string {
  return JSON.stringify(key);
}

function rowJson(write: RowWrite) {
  const { record, skew, keys } = write;
  return {
    id: record.id,
    record: JSON.stringify(record),
    skew,
    status: record.status,
    kind: record.kind,
    dbUpdatedAt: record.updatedAt + skew,
    keys: keys.map(keyText),
    // In the write's transaction, or after its commit (announceLater), or not at all: see Notice.
    notify: write.notice === 'with-write',
  };
}

/**
 * How long new refund reservations (Notice `after`) wait to be announced
 * together: every notice wakes every terminal's listening backend and every
 * terminal. No rule waits for it (a claim meets the reservation in the
 * database), and SPEC §9 gives a refund 1 s to reach the others.
 */
const ANNOUNCE_EVERY_MS = 100;

/**
 * The journal statement's step that keeps the terminal's head, in its own
 * transaction, if the batch wrote anything (not a replay that had landed, nor
 * a write refused for the hold), and never lower than the head kept.
 * `$n - 1`, `$n`: the meta key and the head (`head` is `$n`'s number).
 */
const keepHead = (s: string, head: number): string => `, head AS (
           INSERT INTO ${s}.meta (merchant_id, key, value) SELECT $1, $${head - 1}, $${head} WHERE EXISTS (SELECT 1 FROM written)
           ON CONFLICT (merchant_id, key) DO UPDATE SET value = EXCLUDED.value
           WHERE coalesce(${seqOf(`${s}.meta.value`)}, 0) < ${seqOf('EXCLUDED.value')})`;

/** The seq of a head as headText writes it (`{"seq":N,…}`); NULL for any other text, which a head then replaces. */
const seqOf = (column: string): string => `substring(${column} from '^[{]"seq":([0-9]{1,15}),')::bigint`;

function unreachable(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string') return UNREACHABLE_STATES.test(code) || /^E[A-Z]+$/.test(code);
  const text = message(error);
  return /Connection terminated|timeout|ECONNREFUSED|ECONNRESET|not queryable|Client has encountered a connection error/i.test(text);
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
