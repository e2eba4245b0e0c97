/**
 * The seam between a store several terminals share (SPEC §9) and the
 * database behind it. `sharedStore` (./store.ts) holds everything a terminal
 * does about the others: translating their clocks, falling back to a local
 * store while cut off, catching up, reporting conflicts. A `Remote` only
 * stores rows and answers in single transactions. PostgreSQL implements it
 * (src/stores/postgres/remote.ts), and so does an in-memory database for the
 * QA scenarios and tests (./memory-remote.ts), so both run the same client.
 *
 * Times: a record keeps the wall-clock times of the terminal that wrote it;
 * each row also carries `skew`, the database's clock minus that terminal's
 * when it wrote, so that every comparison across terminals is made on one
 * clock, the database's.
 */
import { JOURNAL_HEAD } from '../journal/chain.js';
import type { AttemptRecord, JournalEntry } from '../types.js';

/** A record as the database holds it. */
export interface SharedRow {
  /** As its terminal wrote it: times on that terminal's wall clock. */
  readonly record: AttemptRecord;
  /** The database's clock minus the writer's, in ms, when it wrote the row. */
  readonly skew: number;
  /** Grows with every write of the row: what an optimistic claim compares. */
  readonly version: number;
  /** The database's clock when the row was last written (epoch ms): what a catch-up of missed changes reads from. */
  readonly changedAt: number;
}

/**
 * How the other terminals hear of a write (SPEC §9: settles, resumes,
 * overrides and refunds reach them within 1 s; no rule waits for a notice).
 *
 * - `with-write`: notified inside the write's own transaction.
 * - `after`: announced after the commit, several together (a NOTIFY holds a
 *   cluster-wide lock through its commit, so inside the claim it would put
 *   every terminal's begins in one line).
 * - `none`: not announced at all. A new sale's reservation: another terminal
 *   meets it in the database when it claims the same sale, card or order, and
 *   hears of it when it is settled. Announced, every begin woke every other
 *   terminal and its listening backend to read it back: with 8 tills ringing
 *   up together, that cost more than the begins themselves.
 */
export type Notice = 'with-write' | 'after' | 'none';

/** A row to write: the record, the writer's skew, the claim keys it is filed under while live (none once settled for good), and how the others hear of it. */
export interface RowWrite {
  readonly record: AttemptRecord;
  readonly skew: number;
  readonly keys: readonly string[];
  readonly notice: Notice;
}

/** What `Remote.claim` found: the writes made, or the rows that differ from what the client judged on. */
export type ClaimAnswer =
  { readonly written: true; readonly rows: readonly SharedRow[] } | { readonly written: false; readonly related: readonly SharedRow[] };

/**
 * What a notice names: rows to read back, never rows to take. NOTIFY and
 * LISTEN need no privilege in PostgreSQL: any role that can connect may send
 * on the channel (so a notice is no proof) and hear it (so it carries no
 * data of a row, not even its id).
 */
export interface NoticeNames {
  /** Versions written (`SharedRow.version`): read back with `Remote.noticed`. */
  readonly versions: readonly number[];
  /** Ids, as an older store's notices named rows. */
  readonly ids: readonly string[];
}

/** A catch-up's notice of other terminals' changes. */
export interface RemoteListener {
  /** Rows other writers changed, named only: read them back (`Remote.noticed`). */
  changed(names: NoticeNames): void;
  /**
   * The notice channel dropped (`false`) or came back (`true`): what was
   * missed meanwhile must be read with `changes`. A listen that holds a
   * terminal (`ListenOptions.terminalId`) lost that hold with the channel,
   * and has it again when it comes back.
   */
  connected(up: boolean): void;
  /** Back, but another connection holds this terminal now (a till with the same `terminalId`): the hold is tried again. */
  taken?(error: TerminalTaken): void;
}

export interface ListenOptions {
  /**
   * The terminal whose journal chain this store seals (SPEC §12): held by
   * the listening connection for as long as it lives, so a second till
   * with the same id is refused (`TerminalTaken`) instead of sealing one
   * chain from two heads.
   */
  readonly terminalId?: string | undefined;
}

export interface Remote {
  /** The database's clock now (epoch ms). */
  clock(): Promise<number>;
  /**
   * One transaction: lock `keys` (in a fixed order), read the live rows filed
   * under them and the rows named by `ids`; when they are exactly `expected`
   * (id → version; no other row, none missing), write `writes` and answer
   * the rows written; otherwise write nothing and answer what was found.
   */
  claim(
    merchantId: string,
    keys: readonly string[],
    ids: readonly string[],
    expected: ReadonlyMap<string, number>,
    writes: readonly RowWrite[],
  ): Promise<ClaimAnswer>;
  /** Insert or replace one row, whatever version it has. */
  put(merchantId: string, write: RowWrite): Promise<SharedRow>;
  /**
   * A write made while cut off, sent once the database is back (SPEC §9):
   * under the same locks as a claim of its keys, it replaces the stored row
   * only when its database time (`updatedAt + skew`) is later, and answers
   * the other live rows filed under its keys (what it may conflict with).
   */
  upload(merchantId: string, write: RowWrite): Promise<readonly SharedRow[]>;
  delete(merchantId: string, id: string): Promise<void>;
  get(merchantId: string, ids: readonly string[]): Promise<readonly SharedRow[]>;
  /** The rows notices named: those still at a version named, and those of an id named. */
  noticed(merchantId: string, names: NoticeNames): Promise<readonly SharedRow[]>;
  byOrder(merchantId: string, orderKey: string): Promise<readonly SharedRow[]>;
  /** Without `since`: every row of the merchant. With it: open rows, approved refunds, and rows whose database time is at or after `since`. */
  load(merchantId: string, since: number | undefined): Promise<readonly SharedRow[]>;
  /** Rows written at or after `since` on the database's clock (`changedAt`). */
  changes(merchantId: string, since: number): Promise<readonly SharedRow[]>;
  /**
   * Deletes rows that are not open and whose database time is before
   * `before`, and older than `keepMs` by the database's clock now (whatever
   * clock `before` was taken on).
   */
  prune(merchantId: string, before: number, keepMs: number): Promise<number>;
  getMeta(merchantId: string, key: string): Promise<string | undefined>;
  setMeta(merchantId: string, key: string, value: string): Promise<void>;
  /** Writes `value` only if `key` holds none; resolves with what it holds then (GuardStore.initMeta). */
  initMeta(merchantId: string, key: string, value: string): Promise<string>;
  /**
   * Appends journal entries, in order. `replay`: entries sent before, whose
   * write may have landed although it failed here (a timeout: the database
   * may have committed it after the connection stopped answering): those
   * the terminal's journal holds already (same time, same entry) are not
   * written again. An entry whose seq the terminal's chain holds already
   * (another entry, sealed from an older head) is refused: `SeqTaken`, and
   * nothing of the batch is written. With a terminal held by `listen`,
   * nothing is written unless the database still sees that hold: else
   * `TerminalTaken` (another connection holds the terminal) or
   * `TerminalNotHeld` (nobody does), and the listening connection is given
   * up, so that the hold is taken again (SPEC §12: one sealer per chain; a
   * till that slept through the loss of its connection never heard of it).
   * With the entries, in the same transaction, it keeps the terminal's head
   * (the highest seq written, never moved back) in the merchant's metadata
   * under `journalHeadKey(terminalId)`: beside the rows, so that a tail
   * deleted from them is noticed, not sealed over (SPEC §12).
   */
  appendJournal(
    merchantId: string,
    terminalId: string | undefined,
    entries: readonly JournalEntry[],
    options?: { readonly replay?: boolean },
  ): Promise<void>;
  /**
   * One terminal's journal, in the order it was written (SPEC §12: each
   * terminal keeps its own chain): what `verifyJournal` checks.
   */
  journal(merchantId: string, terminalId: string | undefined): Promise<readonly JournalEntry[]>;
  /** The last entry of one terminal's journal: the durable tail its chain goes on from after a restart (with the head kept, above). */
  lastJournal(merchantId: string, terminalId: string | undefined): Promise<JournalEntry | undefined>;
  /**
   * Notices of rows other writers change for this merchant. Resolves an
   * unsubscribe once listening (and holding `options.terminalId`: rejects
   * with `TerminalTaken` if another connection holds it).
   */
  listen(merchantId: string, listener: RemoteListener, options?: ListenOptions): Promise<() => Promise<void>>;
}

/**
 * A failure that means the database cannot be reached (SPEC §9: a failure to
 * connect, a timeout), as opposed to one it answered with. Remotes throw it
 * for those, so the client falls back to `local` and reconnects.
 */
/** Where a terminal's journal head is kept, in its merchant's metadata (see Remote.appendJournal). */
export const journalHeadKey = (terminalId: string | undefined): string => `${JOURNAL_HEAD}:${terminalId ?? ''}`;

export class RemoteUnreachable extends Error {
  override readonly name = 'RemoteUnreachable';
  /**
   * The call was sent and went unanswered (a timeout): on a network that
   * holds packets it may still reach the database, and commit, later. A
   * connection refused or lost is not late: what it carried arrived before
   * the failure (and is found there now) or never will.
   */
  readonly late: boolean;

  constructor(message: string, options: ErrorOptions & { late?: boolean } = {}) {
    super(message, options);
    this.late = options.late ?? false;
  }
}

/**
 * A journal batch met a seq its terminal's chain already holds (SPEC §12):
 * an entry sealed from a head that was not the last one (a till restarted
 * while its previous run's last batch was still on its way). Nothing of the
 * batch was written: the store seals it again on the database's head.
 */
export class SeqTaken extends Error {
  override readonly name = 'SeqTaken';
}

/** Another connection holds this terminal (`ListenOptions.terminalId`): a second till with the same `terminalId`. */
export class TerminalTaken extends Error {
  override readonly name = 'TerminalTaken';
}

/**
 * A journal batch was not written: the database no longer sees this store's
 * hold on its terminal (its listening connection died unnoticed), and no
 * other connection holds it either. The hold is being taken again.
 */
export class TerminalNotHeld extends Error {
  override readonly name = 'TerminalNotHeld';
}
