/**
 * A `GuardStore` several terminals share (SPEC §9), over any `Remote`
 * (PostgreSQL, or the in-memory database of the QA scenarios).
 *
 * - Claims are optimistic: the client judges on the rows it last saw for
 *   the claim's keys, and the database writes only if it still holds exactly
 *   those (one round trip for a new sale); otherwise it answers what it holds
 *   and the guard judges again on that. No rule depends on a notice.
 * - Other terminals' times are moved onto this one's wall clock through the
 *   database's clock (each row's skew), so a till whose clock is wrong can
 *   neither free another's sale early nor hold it forever.
 * - Cut off (a failure to connect, a timeout): with `local`, writes go to it,
 *   durably, with their ids in an outbox kept in its metadata; every 2 s the
 *   store tries the database again, sends the outbox in order (each row
 *   replacing only an older one: nothing applied twice), reports conflicts,
 *   and reads what it missed. Without `local`, writes fail (the guard's
 *   `STORAGE_UNAVAILABLE`) and are retried in memory until they land.
 */
import { GuardConfigError, GuardStorageError, errorText } from '../errors.js';
import { claimOf, orderKey, staysFiled } from '../claims.js';
import { withChanges } from '../record.js';
import { voidedOver, withRefundsOf } from '../refunds.js';
import { JOURNAL_HEAD, headOf, headText, parseJournalHead } from '../journal/chain.js';
import type {
  AttemptRecord,
  Claim,
  ClaimContext,
  GuardStore,
  JournalEntry,
  JournalHead,
  JournalSeal,
  StoreChange,
  StoreOwner,
} from '../types.js';
import { conflictsOf } from './conflicts.js';
import { HeldTimes } from './held-times.js';
import { OVERS_DUE, OversDue } from './overs-due.js';
import {
  journalHeadKey,
  RemoteUnreachable,
  SeqTaken,
  TerminalNotHeld,
  TerminalTaken,
  type Notice,
  type NoticeNames,
  type Remote,
  type RowWrite,
  type SharedRow,
} from './remote.js';

export interface SharedStoreOptions {
  /** Where the till keeps working while the database cannot be reached (a `fileStore`, with history). */
  local?: GuardStore | undefined;
  /** How long a call waits for the database before it counts as cut off. @default 3000 */
  timeoutMs?: number | undefined;
  /** How often a cut-off store tries the database again. @default 2000 */
  retryMs?: number | undefined;
  /** Refuses (throws) a guard whose ids the database cannot keep, before anything is read or written. */
  checkOwner?: ((owner: StoreOwner) => void) | undefined;
}

export interface SharedStore extends GuardStore {
  /** Resolves once the writes issued so far and any catch-up in progress are done: for tests and the QA scenarios. */
  settled(): Promise<void>;
  /**
   * Tries the database now, without waiting for the next retry, and
   * resolves once everything written while cut off was sent and what was
   * missed was read; rejects with `GuardStorageError` (`UNAVAILABLE`) while
   * it still cannot be reached. A till's "Reconnect" button, or a test's.
   */
  sync(): Promise<void>;
}

/**
 * The outbox of writes made while cut off, in `local`'s metadata: ids in the
 * order they were first written, each as `[id, skew]` when the skew its
 * times were stamped with was known then (a bare id: not known, or written
 * by an older release).
 */
const OUTBOX = 'shared-outbox';

/**
 * Values `initMeta` wrote while cut off (in `local` only), in `local`'s
 * metadata: the catch-up asks the database for each, and a value another
 * writer put there first is told to the guard (StoreChange `meta-conflict`).
 */
const UNCHECKED_META = 'shared-unchecked-meta';

/** How often a catch-up merges a sale again when another lane's merge landed over its own (see #sendOutbox). */
const MERGE_ROUNDS = 4;

/** In the database's metadata: the longest `retention` or `window` (ms) any terminal of the merchant asked for. */
const SHARED_KEEP = 'shared-history-keep';
/**
 * Journal entries written while cut off, in `local`'s metadata too, so that
 * a till restarted before the database came back still sends them: one key
 * each (`shared-journal-<n>`), and under this key the range not sent yet.
 */
const JOURNAL_KEPT = 'shared-journal';
/** The write lane of the kept journal's range. */
const JOURNAL_LANE = 'journal\u0000kept';
/** The lane journal batches go out on: one after another, so the terminal's chain lands in seq order. */
const JOURNAL_SEND = 'journal\u0000send';
/** How many claim rounds meet other terminals' changes before giving up (each round reads what they wrote). */
const CLAIM_ROUNDS = 8;
/** Clocks closer than this are one clock: own rows are not moved by the noise of measuring the skew. */
const SAME_CLOCK_MS = 1_000;
/** Readings of the database's clock the skew is taken from (the one with the shortest round trip). */
const SKEW_SAMPLES = 3;
/** Readings at most, when every one met a step of the wall clock. */
const SKEW_TRIES = 6;
/** A reading whose wall-clock trip and monotonic trip differ by more than this met a step of the wall clock. */
const STEPPED_MS = 100;
/** How far back a catch-up of missed changes reads, for writes that committed out of clock order. */
const CATCH_UP_MARGIN_MS = 10_000;
/** How many times one journal batch is sealed again on the database's head before the store gives up (and keeps it for the next try). */
const RESEAL_ROUNDS = 5;
/** Rows remembered for optimistic claims; beyond this the oldest are forgotten (a claim then takes a second round trip). */
const KNOWN_LIMIT = 50_000;

/** The write lane of a claim key (apart from record ids, which are lanes too). */
const keyLane = (key: string): string => `key\u0000${key}`;

export function sharedStore(remote: Remote, options: SharedStoreOptions = {}): SharedStore {
  return new SharedStoreImpl(remote, options);
}

class SharedStoreImpl implements SharedStore {
  /** Rows are read with the skew measured against the owner's clock as it reads now (#freshSkew before every read). */
  readonly timesOnOwnerClock = true;
  readonly #remote: Remote;
  readonly #local: GuardStore | undefined;
  readonly #timeoutMs: number;
  readonly #retryMs: number;
  readonly #checkOwner: ((owner: StoreOwner) => void) | undefined;
  #owner: StoreOwner | undefined;
  /** The database's clock minus this terminal's wall clock, ms. */
  #skew = 0;
  /** This terminal's wall clock minus its monotonic clock when the skew was read: when it moves, the wall clock jumped (or the process slept). */
  #wallOffset: number | undefined;
  #down = false;
  #closed = false;
  /** Ids written while cut off, in order; with `local` also in its metadata. */
  #outbox: string[] = [];
  /**
   * Of the outbox, the skew each record's last write was stamped with, where
   * it was known: the one measured last, while the wall clock has not moved
   * since. Sent with it rather than the skew measured on reconnecting: a
   * clock set right meanwhile (NTP after a sleep, at a reboot) would move
   * every time written while cut off by the step, on every lane.
   */
  readonly #outboxSkews = new Map<string, number>();
  /** Without `local`: the records whose writes failed, retried until they land. */
  readonly #unsent = new Map<string, AttemptRecord>();
  /**
   * Records of claims that failed for want of an answer (a timeout: sent,
   * and perhaps committed after all once the network delivers it). One the
   * guard did not go on with (in neither the outbox nor the retry list at
   * the catch-up) is retracted then: see #retract.
   */
  readonly #uncertain = new Map<string, { record: AttemptRecord; late: boolean }>();
  /** Journal entries written while cut off: sent with the catch-up. */
  #journalBacklog: JournalEntry[] = [];
  /** Where the backlog is kept in `local`'s metadata: keys `from` up to (not including) `to`. */
  #journalKept = { from: 0, to: 0 };
  #journalQueue: JournalEntry[] = [];
  #journalFlush: Promise<void> | undefined;
  /**
   * The head of this terminal's journal chain (SPEC §12): the last entry
   * sealed. A terminal is the only writer of its chain, so it is held here
   * and sealing needs no round trip; it starts from the durable tail (the
   * database's last entry, or the last one kept in `local` while cut off).
   */
  #head: JournalHead | undefined;
  /**
   * Whether this store holds its terminal (the listening connection's lock,
   * SPEC §12: one sealer per chain). Journal entries go to the database only
   * while it does; otherwise they wait in the backlog, and go once it holds
   * the terminal again (sealed again on the database's head if another
   * sealer wrote meanwhile: see #sendJournal).
   */
  #held = false;
  /** Another connection took this terminal while this store was away: journal appends fail (LOCKED) until it is held again. */
  #taken: TerminalTaken | undefined;
  /** Whether #head was read yet. Until then (cut off since start-up) entries wait unsealed, and are sealed once it is. */
  #headKnown = false;
  /** The guard's seal, for entries that waited for the head. */
  #seal: JournalSeal | undefined;
  /** Unsealed entries wait in the backlog (kept before the head or the seal was known): sealed by #sealWaiting. */
  #waiting = false;
  /** The last version seen of each row, and the live ids filed under each key: what an optimistic claim expects. */
  readonly #known = new Map<string, SharedRow>();
  /** Each attempt's times as the guard holds them and on the database's clock: a clock set right moves none of them. */
  readonly #heldTimes = new HeldTimes(KNOWN_LIMIT);
  readonly #filed = new Map<string, Set<string>>();
  /** Writes per lane (a record id, a claim key, a metadata key), in call order (GuardStore: a settle never lands before its begin). */
  readonly #chains = new Map<string, Promise<void>>();
  /**
   * Where a catch-up of missed changes reads from: the latest `changedAt`
   * of a row read from the database (#remember), only ever moved forward.
   * Never from a notice: a notice names rows and carries nothing else, as
   * anyone may send one (a forged changedAt in the future skipped every
   * change made while the channel was down).
   */
  #lastChange = 0;
  #listeners = new Set<(change: StoreChange) => void>();
  /** Changes found before anyone subscribed (a conflict found by the catch-up at start-up). */
  #early: StoreChange[] = [];
  /** Records the catch-up sent, told to the guard once it is done (StoreChange `sent`). */
  #sent: { record: AttemptRecord; known: AttemptRecord[] }[] = [];
  /** Values initMeta kept while cut off, not yet checked with the database (UNCHECKED_META). */
  #uncheckedMeta = new Map<string, string>();
  /** Money to recover the catch-up's merges found, kept in `local` until the guard reported it (overs-due.ts). */
  readonly #oversDue: OversDue;
  /** What was found wrong with the database's records of this terminal (a cut journal tail): the start journals them. */
  readonly #problems = new Set<string>();
  /** The catch-up stopped at a conflict before the guard listened: it runs again once the guard subscribes. */
  #catchUpOnSubscribe = false;
  #unlisten: (() => Promise<void>) | undefined;
  /** Listens still connecting, each settled once it landed and (if given up on, or closed meanwhile) stopped again. */
  readonly #listening = new Set<Promise<void>>();
  #retry: (() => void) | undefined;
  #catchingUp: Promise<void> | undefined;
  #fetching: { versions: Set<number>; ids: Set<string> } | undefined;

  constructor(remote: Remote, options: SharedStoreOptions) {
    this.#remote = remote;
    this.#local = options.local;
    this.#oversDue = new OversDue(options.local);
    this.#timeoutMs = options.timeoutMs ?? 3_000;
    this.#retryMs = options.retryMs ?? 2_000;
    this.#checkOwner = options.checkOwner;
  }

  // ── start-up ────────────────────────────────────────────────────────────

  async attach(owner: StoreOwner): Promise<void> {
    // Closed: by its guard, or by a createGuard that did not start over it (it gave the terminal back).
    if (this.#closed) {
      throw new GuardStorageError('CLOSED', 'the shared store is closed: create a new one (postgresStore) for the next guard');
    }
    this.#checkOwner?.(owner);
    const previous = this.#owner;
    if (previous && previous.merchantId !== owner.merchantId) {
      throw new GuardConfigError(
        'INVALID_OPTION',
        `\`store\` serves merchant ${previous.merchantId}: one shared store per merchant (create another postgresStore on the same pool)`,
        { field: 'store' },
      );
    }
    if (previous && previous.terminalId !== owner.terminalId) {
      // The store holds its terminal and seals that terminal's chain: another id would continue it under the wrong name.
      throw new GuardConfigError(
        'INVALID_OPTION',
        `\`store\` serves terminal ${String(previous.terminalId)}: one shared store per terminal (create another postgresStore on the same pool)`,
        { field: 'store' },
      );
    }
    this.#owner = owner;
    if (this.#local) {
      await this.#local.attach?.(owner);
      this.#readOutbox(await this.#local.getMeta(OUTBOX));
      if (!previous) {
        this.#oversDue.read(await this.#local.getMeta(OVERS_DUE));
        this.#uncheckedMeta = readUnchecked(await this.#local.getMeta(UNCHECKED_META));
        await this.#loadKeptJournal(this.#local);
      }
    }
    if (previous) return; // a guard re-created over the same store (a restart in one process)
    try {
      await this.#measureSkew();
      // Listening holds the terminal: its head is read once no other till can seal on it.
      await this.#listen();
      await this.#readHead();
      // Before this terminal's first prune, and before another's: its retention and window are kept for the others too.
      await this.#sharedKeep();
      if (this.#outbox.length > 0 || this.#journalBacklog.length > 0 || this.#oversDue.earlier || this.#uncheckedMeta.size > 0) {
        await this.#catchUp();
      }
    } catch (error) {
      if (error instanceof TerminalTaken) {
        // Refused before anything was sealed or sent: the store is as if never attached, so the
        // same store can be given to createGuard again once the other till let the id go.
        this.#owner = undefined;
        this.#outbox = [];
        this.#outboxSkews.clear();
        this.#journalBacklog = [];
        this.#journalKept = { from: 0, to: 0 };
        this.#waiting = false;
        throw this.#terminalTaken(error);
      }
      if (!(error instanceof RemoteUnreachable)) throw this.#failure('attach', error);
      if (!this.#headKnown) this.#headFromKept(undefined, false);
      this.#cutOff();
    }
  }

  cutOff(): boolean {
    return this.#down && this.#local !== undefined;
  }

  async settled(): Promise<void> {
    while (this.#catchingUp) await this.#catchingUp;
    await Promise.all(this.#chains.values());
  }

  // ── reads ───────────────────────────────────────────────────────────────

  async load(scope?: { since: number }): Promise<AttemptRecord[]> {
    const { merchantId } = this.#attached();
    const local = this.#local;
    await this.#freshSkew();
    const rows = await this.#read('load', () => this.#remote.load(merchantId, scope === undefined ? undefined : scope.since + this.#skew));
    if (rows === undefined) return local ? this.#copies(await local.load(scope)) : this.#unreachable('load');
    return rows.map((row) => this.#seen(row));
  }

  async get(id: string): Promise<AttemptRecord | undefined> {
    const { merchantId } = this.#attached();
    await this.#freshSkew();
    const rows = await this.#read('get', () => this.#remote.get(merchantId, [id]));
    if (rows === undefined) return this.#local?.get ? this.#copies([await this.#local.get(id)])[0] : this.#unreachable('get');
    return this.#readBack(rows)[0];
  }

  async byOrder(merchantId: string, orderId: string): Promise<AttemptRecord[]> {
    // Rows live under the attached merchant, whatever merchant a sale named
    // (a Sale may carry its own `merchantId`); the order key names the sale's.
    await this.#freshSkew();
    const rows = await this.#read('byOrder', () => this.#remote.byOrder(this.#attached().merchantId, orderKey(merchantId, orderId)));
    if (rows === undefined) {
      return this.#local?.byOrder ? this.#copies(await this.#local.byOrder(merchantId, orderId)) : this.#unreachable('byOrder');
    }
    // The joined key of ('M', 'a\0b') is that of ('M\0a', 'b'): only this merchant's order.
    return this.#readBack(rows).filter((record) => record.merchantId === merchantId && record.orderId === orderId);
  }

  getMeta(key: string): Promise<string | undefined> {
    const { merchantId, terminalId } = this.#attached();
    const local = this.#local;
    // This store's journal is its terminal's chain: its head is the one the database keeps beside that chain's rows.
    if (key === JOURNAL_HEAD) {
      return this.#read('getMeta', () => this.#remote.getMeta(merchantId, journalHeadKey(terminalId)).then((v) => [v])).then((value) =>
        value ? value[0] : this.#head && headText(this.#head),
      );
    }
    // In the key's line with its writes: what is copied to `local` below is never older than a write called before.
    return this.#inOrder([`meta\u0000${key}`], async () => {
      const value = await this.#read('getMeta', () => this.#remote.getMeta(merchantId, key).then((v) => [v]));
      if (value === undefined) return local ? local.getMeta(key) : this.#unreachable('getMeta');
      const [held] = value;
      // What the database holds, `local` keeps: a start cut off later reads it there (a till restarted
      // during an outage with a changed secret is refused, not let loose on its own history: SPEC §5).
      if (held !== undefined && local && (await local.getMeta(key)) !== held) await local.setMeta(key, held);
      return held;
    });
  }

  // ── writes ──────────────────────────────────────────────────────────────

  claim(claim: Claim, judge: (related: AttemptRecord[], context?: ClaimContext) => readonly AttemptRecord[] | undefined): Promise<boolean> {
    const { merchantId } = this.#attached();
    return this.#inOrder([...claim.ids, ...claim.keys.map(keyLane)], async () => {
      await this.#freshSkew();
      let related = this.#expected(claim);
      for (let round = 0; round < CLAIM_ROUNDS && !this.#down; round++) {
        const records =
          judge(
            related.map((row) => this.#seen(row)),
            { cutOff: false },
          ) ?? [];
        const expected = new Map(related.map((row) => [row.record.id, row.version]));
        // The rows judged on are asked for by id too: one settled meanwhile for good (declined,
        // cancelled, voided) is filed under no key any more, and asked for by key only it would
        // just be missing, its stale pending judged on until a notice came (SPEC §9: none need come).
        const ids = [...new Set([...claim.ids, ...expected.keys()])];
        let answer;
        try {
          answer = await this.#timed(
            this.#remote.claim(
              merchantId,
              claim.keys,
              ids,
              expected,
              // A row the database holds already (a resume: its claim asks for its id, and the check
              // above has it) is no new reservation, whatever its times say.
              records.map((r) => this.#write(r, true, expected.has(r.id))),
            ),
          );
        } catch (error) {
          if (!(error instanceof RemoteUnreachable)) throw this.#failure('claim', error);
          // A new reservation only: one over a row the database holds (a lease on an unknown) is no sale to call off.
          for (const record of records) if (!expected.has(record.id)) this.#uncertain.set(record.id, { record, late: error.late });
          this.#cutOff();
          break;
        }
        if (answer.written) {
          for (const row of answer.rows) this.#landed(row, records);
          this.#mirror(records);
          return records.length > 0;
        }
        related = [...answer.related];
        for (const row of related) this.#remember(row);
      }
      if (!this.#down) {
        throw new GuardStorageError('BUSY', `other terminals changed this sale's records ${CLAIM_ROUNDS} times during one claim`);
      }
      // Cut off: this terminal's knowledge is all there is (SPEC §9).
      const records = judge([], { cutOff: true }) ?? [];
      await this.#writeWhileCutOff('claim', records);
      return records.length > 0;
    });
  }

  put(record: AttemptRecord): Promise<void> {
    const { merchantId } = this.#attached();
    return this.#inOrder([record.id, ...claimOf(record).keys.map(keyLane)], async () => {
      await this.#freshSkew();
      if (!this.#down) {
        try {
          this.#landed(await this.#timed(this.#remote.put(merchantId, this.#write(record))), [record]);
          this.#mirror([record]);
          return;
        } catch (error) {
          if (!(error instanceof RemoteUnreachable)) throw this.#failure('put', error);
          this.#cutOff();
        }
      }
      await this.#writeWhileCutOff('put', [record]);
    });
  }

  /** A record the guard holds in memory only (its write failed): retried until it lands. */
  announce(record: AttemptRecord): void {
    if (this.#local) return; // written to `local` already, or `local` failed too: the guard retries it
    this.#unsent.set(record.id, record);
    this.#toOutbox([record]);
    this.#scheduleRetry();
  }

  delete(id: string): Promise<void> {
    const { merchantId } = this.#attached();
    return this.#inOrder([id], async () => {
      await this.#local?.delete(id);
      this.#forget(id);
      this.#heldTimes.drop(id);
      if (!this.#down) await this.#orCutOff('delete', () => this.#remote.delete(merchantId, id));
    });
  }

  /**
   * Deletes, here and in `local`, what is settled and was last changed
   * before `before`. On the database, never what is younger, by its own
   * clock, than the longest `retention` or `window` any terminal of the
   * merchant asked for (kept in its metadata): a till whose clock jumped a
   * month either way, read with a skew measured before or after the jump,
   * cannot delete the others' approvals, and one till's short retention
   * cannot take another's out of its window.
   */
  async prune(before: number): Promise<number> {
    const { merchantId } = this.#attached();
    const local = this.#local?.prune ? await this.#local.prune(before) : 0;
    if (this.#down) return local;
    const remote = await this.#orCutOff('prune', async () => this.#remote.prune(merchantId, before + this.#skew, await this.#sharedKeep()));
    return remote ?? local;
  }

  /** The merchant's kept age (SHARED_KEEP), raised to this terminal's `retention` and `window` first if they are longer. */
  async #sharedKeep(): Promise<number> {
    const { merchantId, windowMs, retentionMs = 0 } = this.#attached();
    const own = Math.max(retentionMs, windowMs);
    const stored = Number((await this.#remote.getMeta(merchantId, SHARED_KEEP)) ?? 0);
    const kept = Number.isFinite(stored) ? stored : 0;
    if (kept < own) await this.#remote.setMeta(merchantId, SHARED_KEEP, String(own));
    return Math.max(own, kept);
  }

  setMeta(key: string, value: string): Promise<void> {
    const { merchantId } = this.#attached();
    // In call order per key, like records: two values written without awaiting each other land as called.
    return this.#inOrder([`meta\u0000${key}`], async () => {
      await this.#local?.setMeta(key, value);
      if (!this.#down) {
        const done = await this.#orCutOff('setMeta', () => this.#remote.setMeta(merchantId, key, value).then(() => true));
        if (done) return;
      }
      if (!this.#local) this.#unreachable('setMeta');
    });
  }

  initMeta(key: string, value: string): Promise<string> {
    const { merchantId } = this.#attached();
    return this.#inOrder([`meta\u0000${key}`], async () => {
      const held = this.#down ? undefined : await this.#orCutOff('initMeta', () => this.#remote.initMeta(merchantId, key, value));
      if (held === undefined && !this.#local) this.#unreachable('initMeta');
      if (held === undefined) {
        // Cut off, there is no other writer to ask: kept here, and asked once the database answers again.
        this.#uncheckedMeta.set(key, value);
        await this.#keepUnchecked();
      }
      await this.#local?.setMeta(key, held ?? value);
      return held ?? value;
    });
  }

  async appendJournal(entry: JournalEntry, seal?: JournalSeal): Promise<void> {
    // Sealed here, in call order and before anything is sent: an entry kept while cut off is
    // already on the chain, and its replay is the same entry (de-duplicated as such).
    if (seal) this.#seal = seal;
    // Those that waited for the head or the seal go first.
    const resealing = this.#sealWaiting();
    if (seal && this.#headKnown) this.#head = headOf((entry = seal(entry, this.#head)));
    else if (seal) this.#waiting = true;
    this.#journalQueue.push(entry);
    // Entries written together go in one statement, in order; one batch after another.
    this.#journalFlush ??= this.#inOrder([JOURNAL_SEND], () => Promise.resolve().then(() => this.#flushJournal()));
    await Promise.all([this.#journalFlush, resealing]);
    // Kept in the backlog, and sent once this store holds its terminal again: but not silently.
    if (this.#taken) throw this.#terminalTaken(this.#taken);
  }

  subscribe(listener: (change: StoreChange) => void): () => void {
    this.#listeners.add(listener);
    const early = this.#early;
    this.#early = [];
    for (const change of early) listener(change);
    if (this.#catchUpOnSubscribe) {
      this.#catchUpOnSubscribe = false;
      void this.#reconnect().catch(() => this.#scheduleRetry());
    }
    return () => this.#listeners.delete(listener);
  }

  warnings(): string[] {
    const down = this.#down ? ['the shared database could not be reached at start-up: deciding on this terminal’s records'] : [];
    return [...down, ...this.#problems];
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#retry?.();
    await this.settled().catch(() => undefined);
    await this.#journalFlush?.catch(() => undefined);
    await this.#unlisten?.().catch(() => undefined);
    // A listen still connecting stops itself once it lands (#listen): its connection goes back before close() resolves.
    await Promise.all(this.#listening);
    await this.#local?.close?.();
  }

  // ── cut off, and catching up ────────────────────────────────────────────

  async #writeWhileCutOff(operation: string, records: readonly AttemptRecord[]): Promise<void> {
    const local = this.#local;
    // Without `local` the write fails, and nothing of it is kept here: the guard decides what it
    // goes on with in memory (onStorageError) and announces that, which is then retried until it
    // lands. A reservation the cashier was only prompted for must never reach the database.
    if (!local) this.#unreachable(operation);
    const changed = this.#toOutbox(records);
    // The outbox and the record in one group of writes, both durable before the call resolves.
    await Promise.all([changed ? this.#keepOutbox() : undefined, ...records.map((record) => local.put(record))]);
  }

  /** Puts `records` in the outbox, with the skew they were stamped with if it is known; whether the outbox changed. */
  #toOutbox(records: readonly AttemptRecord[]): boolean {
    const skew = this.#skewKnown() ? this.#skew : undefined;
    let changed = false;
    for (const { id } of records) {
      if (!this.#outbox.includes(id)) {
        this.#outbox.push(id);
        changed = true;
      }
      if (this.#outboxSkews.get(id) !== skew) {
        if (skew === undefined) this.#outboxSkews.delete(id);
        else this.#outboxSkews.set(id, skew);
        changed = true;
      }
    }
    return changed;
  }

  /**
   * Whether the skew measured last holds for a time stamped now: the wall
   * clock has not moved against the monotonic one since. After a move, a
   * sleep (the skew holds) cannot be told from a clock set right (it does
   * not) until the database answers again.
   */
  #skewKnown(): boolean {
    const clock = this.#owner?.clock;
    return (
      clock !== undefined &&
      this.#wallOffset !== undefined &&
      Math.abs(clock.now() - clock.monotonic() - this.#wallOffset) < SAME_CLOCK_MS / 2
    );
  }

  #readOutbox(saved: string | undefined): void {
    this.#outbox = [];
    this.#outboxSkews.clear();
    for (const item of saved ? (JSON.parse(saved) as (string | [string, unknown])[]) : []) {
      if (typeof item === 'string') this.#outbox.push(item);
      else {
        this.#outbox.push(item[0]);
        // A skew that is no whole number of ms (a damaged value) is as good as none: the one measured then.
        if (Number.isSafeInteger(item[1])) this.#outboxSkews.set(item[0], item[1] as number);
      }
    }
  }

  #keepOutbox(): Promise<void> | undefined {
    const items = this.#outbox.map((id) => {
      const skew = this.#outboxSkews.get(id);
      return skew === undefined ? id : [id, skew];
    });
    return this.#local?.setMeta(OUTBOX, JSON.stringify(items));
  }

  #cutOff(): void {
    if (this.#closed) return;
    this.#down = true;
    this.#scheduleRetry();
  }

  #scheduleRetry(): void {
    if (this.#retry || this.#closed || !this.#owner) return;
    this.#retry = this.#owner.scheduler.after(this.#retryMs, () => {
      this.#retry = undefined;
      // Still cut off, or the database refused a row: tried again on the next round.
      this.#reconnect().catch(() => this.#scheduleRetry());
    });
  }

  async sync(): Promise<void> {
    this.#attached();
    this.#retry?.();
    this.#retry = undefined;
    try {
      await this.#reconnect();
    } catch (error) {
      this.#scheduleRetry();
      if (error instanceof RemoteUnreachable) {
        throw new GuardStorageError('UNAVAILABLE', `the shared database cannot be reached: ${error.message}`, { cause: error });
      }
      throw this.#failure('sync', error);
    }
  }

  async #reconnect(): Promise<void> {
    if (this.#catchingUp) return this.#catchingUp;
    await this.#measureSkew();
    if (!this.#unlisten) await this.#listen();
    await this.#catchUp();
  }

  /** Sends the outbox in order, then reads what other terminals wrote meanwhile. */
  #catchUp(): Promise<void> {
    this.#catchingUp ??= this.#sendOutbox().finally(() => (this.#catchingUp = undefined));
    return this.#catchingUp;
  }

  async #sendOutbox(): Promise<void> {
    const { merchantId } = this.#attached();
    await this.#retract();
    await this.#checkMeta();
    while (this.#outbox.length > 0) {
      const id = this.#outbox[0] as string;
      // In the id's line of writes: a write of it still on its way to `local` (a put whose fsync has not
      // answered: a file store shows it once durable) lands before it is read and sent, and one called
      // after finds the id out of the outbox and puts it back, to be sent in its turn.
      if (!(await this.#inOrder([id], () => this.#sendOne(id)))) return;
    }
    if (!this.#headKnown) await this.#readHead();
    // Entries kept unsealed wait for the guard's seal (its first entry after a restart): until then
    // this store stays cut off, and tries again.
    const waiting = (): boolean => this.#waiting && this.#seal === undefined;
    if (this.#journalBacklog.length > 0 && !waiting() && this.#held) await this.#sendBacklog();
    const missed = await this.#timed(this.#remote.changes(merchantId, this.#lastChange - CATCH_UP_MARGIN_MS));
    // Written while the changes were read: send those too before leaving the outbox.
    if (this.#outbox.length > 0 || (this.#journalBacklog.length > 0 && !waiting() && this.#held)) return this.#sendOutbox();
    if (waiting()) {
      this.#scheduleRetry();
      return;
    }
    // Nothing more to send, and nothing awaited since the check: back on the database from here.
    this.#down = false;
    for (const row of missed) this.#emit({ type: 'record', record: this.#seen(row) });
    // Once the others' latest versions are in: what the records sent change beyond themselves is counted again on those.
    const sent = this.#sent.splice(0);
    sent.push(...this.#oversDue.takeEarlier(new Set(sent.map(({ record }) => record.id))));
    const reported = (record: AttemptRecord) => async () => {
      // The guard's journal entries of it are queued: kept (sent, or in the backlog) before it is let go.
      await this.#journalFlush?.catch(() => undefined);
      await this.#oversDue.reported(record);
    };
    for (const { record, known } of sent) this.#emit({ type: 'sent', record, known, reported: reported(record) });
  }

  /** Sends the outbox's `id` (see #sendOutbox); false if the catch-up stops here until the guard listens. */
  async #sendOne(id: string): Promise<boolean> {
    const { merchantId, windowMs } = this.#attached();
    const kept = this.#local?.get ? await this.#local.get(id) : this.#unsent.get(id);
    if (kept) {
      // A lease another lane took meanwhile, and its count of tries, stay: a write made cut off knew
      // nothing of them, and without them a second inquiry starts under a try count already used.
      let [row] = await this.#timed(this.#remote.get(merchantId, [id]));
      let stored = row && this.#seen(row);
      const theirs = stored?.recovery;
      const leased = theirs && theirs.tries > (kept.recovery?.tries ?? 0) ? withChanges(kept, { recovery: theirs }) : kept;
      const skew = this.#outboxSkews.get(id) ?? this.#skew;
      // The versions of it known before this upload: money to recover its sale lists beyond them is
      // reported (sent). With a merge of it kept unreported (its upload's answer lost), that merge's
      // baseline, and the database's row only beyond that merge (landed, perhaps merged over since).
      const baseline = this.#oversDue.baseline(id);
      const known: AttemptRecord[] = baseline ? [leased, baseline] : [leased];
      let record: AttemptRecord;
      let write: RowWrite;
      let others: readonly SharedRow[];
      for (let round = 1; ; round++) {
        if (stored) known.push(this.#oversDue.asKnown(stored));
        // Later than the stored row on the database's clock, whatever this one's skew since.
        const later = row ? row.record.updatedAt + row.skew - skew + 1 : leased.updatedAt;
        record = row && stored ? keptRefunds(leased, stored, await this.#reversedHere(leased, stored), later) : leased;
        write = this.#write(record, false, false, skew);
        if (record !== leased) await this.#oversDue.keep(record, known);
        others = await this.#timed(this.#remote.upload(merchantId, write));
        for (const other of others) this.#remember(other);
        if (record === leased || !record.refunds?.length || round >= MERGE_ROUNDS) break;
        // A sale merged with the stored row: another lane's catch-up may have merged the same row and
        // landed over this one. Read back; if this one's refunds are not all there, merged again.
        [row] = await this.#timed(this.#remote.get(merchantId, [id]));
        const landed = new Set((row?.record.refunds ?? []).map((r) => r.id));
        if (!row || record.refunds.every((r) => landed.has(r.id))) break;
        stored = this.#seen(row);
      }
      this.#sent.push({ record, known });
      const found = conflictsOf(write.record, write.skew, others, windowMs);
      if (found.length > 0) {
        // A probable double charge is let go of only once its report is durable: the id stays in
        // the outbox until the guard's journal entry of it is kept, and a till that dies before
        // uploads it again on restarting (upload() writes nothing twice) and finds it again.
        // Before the guard listens (start-up), the catch-up waits for it, and starts again then.
        if (this.#listeners.size === 0) {
          this.#catchUpOnSubscribe = true;
          return false;
        }
        for (const { code, other } of found) this.#emit({ type: 'conflict', code, attempts: [record.id, other] });
        await this.#journalFlush?.catch(() => undefined);
      }
    }
    this.#outbox.splice(this.#outbox.indexOf(id), 1);
    this.#outboxSkews.delete(id);
    this.#unsent.delete(id);
    await this.#keepOutbox();
    return true;
  }

  #keepUnchecked(): Promise<void> | undefined {
    return this.#local?.setMeta(UNCHECKED_META, JSON.stringify([...this.#uncheckedMeta]));
  }

  /** The values initMeta kept while cut off, asked of the database now: one another writer was first with is told. */
  async #checkMeta(): Promise<void> {
    const { merchantId } = this.#attached();
    for (const [key, value] of this.#uncheckedMeta) {
      const held = await this.#timed(this.#remote.initMeta(merchantId, key, value));
      this.#uncheckedMeta.delete(key);
      if (held !== value) await this.#local?.setMeta(key, held);
      await this.#keepUnchecked();
      if (held !== value) this.#emit({ type: 'meta-conflict', key, held });
    }
  }

  /**
   * A reservation whose claim timed out may still reach the database (a
   * network that held its packets delivers them later) and become a pending
   * there, holding its sale IN_FLIGHT and then UNKNOWN_OUTCOME on every
   * terminal: for a sale this till never charged, when the guard did not go
   * on with it (onStorageError, onSharedUnavailable, the cashier gave up).
   * Such a record is written back as `cancelled`, later than the pending,
   * if the database holds it; and after a timeout (the claim may still be
   * on its way) whether it holds it or not, so that it stands in the way of
   * a claim that lands after this one (which finds its id taken and writes
   * nothing). A claim whose connection was refused or lost landed before, or
   * never will: nothing is written for it unless it is there.
   */
  async #retract(): Promise<void> {
    const { merchantId, clock } = this.#attached();
    for (const [id, { record, late }] of this.#uncertain) {
      if (!this.#outbox.includes(id) && !this.#unsent.has(id)) {
        const landed = late || (await this.#timed(this.#remote.get(merchantId, [id]))).length > 0;
        const retracted = withChanges(record, {
          status: 'cancelled',
          updatedAt: Math.max(Math.floor(clock.now()), record.updatedAt + 1),
          message: 'reservation not gone on with: its write failed unanswered, and may have reached the database',
        });
        if (landed) await this.#timed(this.#remote.upload(merchantId, this.#write(retracted)));
      }
      this.#uncertain.delete(id);
    }
  }

  async #listen(): Promise<void> {
    const { merchantId, terminalId } = this.#attached();
    const listening = this.#remote.listen(
      merchantId,
      {
        changed: (names) => this.#fetchChanged(names),
        connected: (up) => {
          // The terminal's hold goes and comes back with the channel.
          this.#held = up;
          if (!up) return;
          this.#taken = undefined;
          // Notices sent while the channel was down are lost: read the changes instead. And the journal kept meanwhile goes now.
          void this.#readMissed();
          if (this.#journalBacklog.length > 0 && !this.#down) void this.#catchUp().catch(() => this.#scheduleRetry());
        },
        taken: (error) => {
          this.#held = false;
          this.#taken = error;
        },
      },
      { terminalId },
    );
    // close() waits for it: a listen that lands after close() must not keep its connection (and the terminal) for good.
    let finish: () => void = () => undefined;
    const done = new Promise<void>((resolve) => (finish = resolve));
    this.#listening.add(done);
    void done.then(() => this.#listening.delete(done));
    try {
      const unlisten = await this.#timed(listening);
      if (this.#closed) {
        // Closed while it was connecting (a retry, or a slow network): the terminal is let go at once.
        await unlisten().catch(() => undefined);
        finish();
        throw new GuardStorageError('CLOSED', 'the shared store is closed');
      }
      this.#unlisten = unlisten;
      this.#held = true;
      this.#taken = undefined;
      finish();
    } catch (error) {
      if (error instanceof GuardStorageError) throw error;
      if (error instanceof TerminalTaken) this.#taken = error;
      // Given up on: if it listens after all, it stops (its connection goes back to the app's pool).
      void listening
        .then(
          (unlisten) => unlisten(),
          () => undefined,
        )
        .finally(finish);
      throw error;
    }
  }

  /**
   * Rows notices named (by version, or an older store's by id), read back:
   * a notice carries nothing of a row, and nothing it carries is taken as
   * fact. PostgreSQL puts no privilege on NOTIFY: a forged "declined" taken
   * as fact let the same card be charged again, and a forged version or
   * `changedAt` made a terminal deaf to the real row or skip its catch-up.
   * The catch-up's cursor (#lastChange) moves only with rows read from the
   * database (#remember). Notices arriving together are read in one query.
   */
  #fetchChanged(names: NoticeNames): void {
    if (this.#fetching) {
      for (const version of names.versions) this.#fetching.versions.add(version);
      for (const id of names.ids) this.#fetching.ids.add(id);
      return;
    }
    const batch = { versions: new Set(names.versions), ids: new Set(names.ids) };
    this.#fetching = batch;
    void Promise.resolve()
      .then(async () => {
        this.#fetching = undefined;
        await this.#freshSkew();
        return this.#timed(this.#remote.noticed(this.#attached().merchantId, { versions: [...batch.versions], ids: [...batch.ids] }));
      })
      .then(
        (rows) => {
          for (const row of rows) this.#emit({ type: 'record', record: this.#seen(row) });
        },
        () => undefined, // the next claim or catch-up reads it anyway
      );
  }

  /**
   * The refunds `stored` (the database's row of a sale) lists that `kept`
   * (this terminal's, written while cut off) does not, because they were
   * reversed here meanwhile: left out when the two are merged (keptRefunds).
   */
  async #reversedHere(kept: AttemptRecord, stored: AttemptRecord): Promise<Set<string>> {
    const reversed = new Set<string>();
    if (kept.kind !== 'sale') return reversed;
    const listed = new Set((kept.refunds ?? []).map((r) => r.id));
    for (const { id } of stored.refunds ?? []) {
      if (listed.has(id)) continue;
      const refund = this.#local?.get ? await this.#local.get(id) : this.#unsent.get(id);
      if (refund?.status === 'voided') reversed.add(id);
    }
    return reversed;
  }

  async #readMissed(): Promise<void> {
    if (this.#down) return; // the catch-up reads them
    try {
      await this.#freshSkew();
      const rows = await this.#timed(this.#remote.changes(this.#attached().merchantId, this.#lastChange - CATCH_UP_MARGIN_MS));
      for (const row of rows) this.#emit({ type: 'record', record: this.#seen(row) });
    } catch {
      // Read on the next reconnect.
    }
  }

  async #flushJournal(): Promise<void> {
    let entries = this.#journalQueue;
    this.#journalQueue = [];
    this.#journalFlush = undefined;
    // Never ahead of entries kept while cut off: the chain lands in seq order. And only while this
    // store holds its terminal: otherwise kept, and sent once it holds it again.
    if (!this.#down && this.#held && this.#journalBacklog.length === 0) {
      try {
        await this.#sendJournal(entries);
        return;
      } catch (error) {
        // Sealed again on the database's head, perhaps: the entries as they are now go to the backlog.
        entries = error instanceof JournalNotSent ? [...error.entries] : entries;
        const cause = error instanceof JournalNotSent ? error.cause : error;
        // The database no longer sees this store's hold (its listening connection died unnoticed): kept, and sent once
        // it holds the terminal again; reported (LOCKED) if another till holds it.
        if (cause instanceof TerminalTaken || cause instanceof TerminalNotHeld) this.#lostHold(cause);
        else if (!(cause instanceof RemoteUnreachable)) throw this.#failure('appendJournal', cause);
        else this.#cutOff();
      }
    }
    this.#journalBacklog.push(...entries);
    // `local` keeps them as they are (no seal): they are this terminal's chain, not local's.
    await Promise.all([
      this.#keepJournal(entries),
      (async () => {
        for (const entry of entries) await this.#local?.appendJournal(entry);
      })(),
    ]);
  }

  /**
   * Sends one batch of the chain. A batch meeting a seq the database holds
   * already (SeqTaken: a till restarted while its previous run's last batch
   * was still on its way, which landed after the head was read) is sealed
   * again on the database's head, with every entry sealed after it, and sent
   * again: nothing is lost and the chain stays whole. Throws JournalNotSent
   * with the entries as they stand when it fails.
   */
  async #sendJournal(batch: readonly JournalEntry[]): Promise<void> {
    const { merchantId, terminalId } = this.#attached();
    let entries = batch;
    for (let round = 0; ; round++) {
      try {
        await this.#timed(this.#remote.appendJournal(merchantId, terminalId, entries));
        return;
      } catch (error) {
        if (!(error instanceof SeqTaken) || round >= RESEAL_ROUNDS) throw new JournalNotSent(entries, error);
        try {
          entries = await this.#resealOnDatabase(entries);
        } catch (reading) {
          throw new JournalNotSent(entries, reading);
        }
      }
    }
  }

  /**
   * The backlog (entries kept while cut off, or while another connection
   * held the terminal), sent as a replay: a batch whose write timed out may
   * have landed after all (a paused network), and those that did are left
   * out. One that meets a seq held by another entry is sealed again, like
   * #sendJournal, after the entries that did land are taken out of it.
   */
  async #sendBacklog(): Promise<void> {
    const { merchantId, terminalId } = this.#attached();
    for (let round = 0; ; round++) {
      // Each entry kept (or kept again, sealed) in `local` before it is sent.
      await this.#inOrder([JOURNAL_LANE], () => Promise.resolve());
      // A copy: entries kept while it is sent are not counted as sent.
      const backlog = [...this.#journalBacklog];
      try {
        await this.#timed(this.#remote.appendJournal(merchantId, terminalId, backlog, { replay: true }));
        this.#journalBacklog = this.#journalBacklog.slice(backlog.length);
        await this.#journalSent(backlog.length);
        return;
      } catch (error) {
        if (error instanceof TerminalTaken || error instanceof TerminalNotHeld) {
          // Kept: sent once this store holds its terminal again (the remote is taking it again).
          this.#lostHold(error);
          return;
        }
        if (!(error instanceof SeqTaken) || round >= RESEAL_ROUNDS) throw error;
        const landed = new Set((await this.#timed(this.#remote.journal(merchantId, terminalId))).map((entry) => JSON.stringify(entry)));
        const unsent = this.#journalBacklog.filter((entry) => !landed.has(JSON.stringify(entry)));
        this.#journalBacklog = await this.#resealOnDatabase(unsent);
        await this.#keepBacklogAgain();
      }
    }
  }

  /**
   * `entries` and every entry queued after them, sealed again, in order, on
   * the database's last entry of this terminal; the head follows. Entries
   * still unsealed (waiting for the seal) stay so. Synchronous once the
   * head is read: no entry is sealed in between.
   */
  async #resealOnDatabase(entries: readonly JournalEntry[]): Promise<JournalEntry[]> {
    const { merchantId, terminalId } = this.#attached();
    const last = await this.#timed(this.#remote.lastJournal(merchantId, terminalId));
    const seal = this.#seal;
    let head = last === undefined ? undefined : headOf(last);
    const onHead = (entry: JournalEntry): JournalEntry => {
      if (!seal || !headOf(entry)) return entry;
      const sealed = seal(entry, head);
      head = headOf(sealed);
      return sealed;
    };
    const resealed = entries.map(onHead);
    this.#journalQueue = this.#journalQueue.map(onHead);
    this.#head = head;
    return resealed;
  }

  /** The backlog kept in `local` again as it now stands (its entries sealed again, some of them sent). */
  #keepBacklogAgain(): Promise<void> {
    const local = this.#local;
    if (!local) return Promise.resolve();
    return this.#inOrder([JOURNAL_LANE], async () => {
      const from = this.#journalKept.from;
      const backlog = [...this.#journalBacklog];
      await Promise.all(backlog.map((entry, i) => local.setMeta(`${JOURNAL_KEPT}-${from + i}`, JSON.stringify(entry))));
      this.#journalKept = backlog.length === 0 ? { from: 0, to: 0 } : { from, to: from + backlog.length };
      await local.setMeta(JOURNAL_KEPT, JSON.stringify(this.#journalKept));
    });
  }

  /**
   * Starts the chain's head from the durable tail: the higher of the
   * database's last entry of this terminal and the last one kept in `local`
   * while cut off. Never from memory of entries that were not durable: one
   * lost in a crash never landed, and its seq is used again. Then seals, in
   * order, the entries that waited for it (cut off since start-up).
   */
  async #readHead(): Promise<void> {
    const { merchantId, terminalId } = this.#attached();
    const [last, kept] = await this.#timed(
      Promise.all([this.#remote.lastJournal(merchantId, terminalId), this.#remote.getMeta(merchantId, journalHeadKey(terminalId))]),
    );
    const [tail, head] = [last && headOf(last), parseJournalHead(kept)];
    // The rows end before the head kept beside them: their tail was deleted (or the database restored from an
    // older backup). The chain goes on from the head, never over the gap: sealing on the last row would reuse
    // the missing seqs and make the cut read as a whole chain for good (SPEC §12).
    const cut = head !== undefined && head.seq > (tail?.seq ?? 0);
    if (cut) {
      const detail = `the database's journal of this terminal ends at seq ${tail?.seq ?? 0}, before the head kept beside it (seq ${head.seq}): entries were deleted, or the database restored from an older backup`;
      // Found at start-up, the start entry says it (warnings); found by a catch-up later, the guard journals it.
      if (this.#listeners.size === 0) this.#problems.add(detail);
      else this.#emit({ type: 'problem', detail });
    }
    // From here on synchronous up to the sealing: no entry is sealed in between.
    this.#headFromKept(cut ? head : tail);
    await this.#sealWaiting();
  }

  /**
   * The head, from the entries kept while cut off and `durable` (the
   * database's last entry, when it could be read). Kept entries are the
   * terminal's unsent tail: the database holds none after them, so without
   * the database they are the head; with neither, it stays unknown.
   */
  #headFromKept(durable: JournalHead | undefined, fromDatabase = true): void {
    let head = durable;
    for (const entry of this.#journalBacklog) {
      const kept = headOf(entry);
      if (kept && (!head || kept.seq > head.seq)) head = kept;
    }
    if (!fromDatabase && head === undefined) return;
    this.#head = head;
    this.#headKnown = true;
  }

  /** Seals, in order and before any later entry, the entries that waited unsealed (for the head, or for the seal). */
  #sealWaiting(): Promise<void> {
    const seal = this.#seal;
    if (!this.#waiting || !seal || !this.#headKnown) return Promise.resolve();
    this.#waiting = false;
    const resealed: number[] = [];
    const onChain = (entry: JournalEntry, i?: number): JournalEntry => {
      if (headOf(entry)) return entry;
      if (i !== undefined) resealed.push(i);
      const done = seal(entry, this.#head);
      this.#head = headOf(done);
      return done;
    };
    this.#journalBacklog = this.#journalBacklog.map(onChain);
    this.#journalQueue = this.#journalQueue.map((entry) => onChain(entry));
    return this.#keepSealed(resealed);
  }

  /** Kept entries sealed after they were kept (they waited for the head): kept again as sealed, before any is sent. */
  #keepSealed(indexes: readonly number[]): Promise<void> {
    const local = this.#local;
    if (!local || indexes.length === 0) return Promise.resolve();
    const entries = indexes.map((i) => [i, this.#journalBacklog[i] as JournalEntry] as const);
    // After the keeps queued before it: backlog[i] is then kept under key `from + i`.
    return this.#inOrder([JOURNAL_LANE], async () => {
      const { from } = this.#journalKept;
      await Promise.all(entries.map(([i, entry]) => local.setMeta(`${JOURNAL_KEPT}-${from + i}`, JSON.stringify(entry))));
    });
  }

  /** The journal backlog a till that was cut off kept in `local` before it restarted. */
  async #loadKeptJournal(local: GuardStore): Promise<void> {
    const saved = await local.getMeta(JOURNAL_KEPT);
    if (!saved) return;
    const kept = JSON.parse(saved) as { from: number; to: number };
    const entries: JournalEntry[] = [];
    for (let i = kept.from; i < kept.to; i++) {
      const entry = await local.getMeta(`${JOURNAL_KEPT}-${i}`);
      if (entry) entries.push(JSON.parse(entry) as JournalEntry);
    }
    this.#journalKept = kept;
    this.#journalBacklog = [...entries, ...this.#journalBacklog];
    if (entries.some((entry) => !headOf(entry))) this.#waiting = true;
  }

  /** Keeps journal entries added to the backlog in `local`, after those kept before them. */
  #keepJournal(entries: readonly JournalEntry[]): Promise<void> {
    const local = this.#local;
    if (!local || entries.length === 0) return Promise.resolve();
    return this.#inOrder([JOURNAL_LANE], async () => {
      const start = this.#journalKept.to;
      await Promise.all(entries.map((entry, i) => local.setMeta(`${JOURNAL_KEPT}-${start + i}`, JSON.stringify(entry))));
      this.#journalKept = { from: this.#journalKept.from, to: start + entries.length };
      await local.setMeta(JOURNAL_KEPT, JSON.stringify(this.#journalKept));
    });
  }

  /** The first `count` kept entries reached the database: no longer kept (keys are used again from 0 once all were sent). */
  #journalSent(count: number): Promise<void> {
    const local = this.#local;
    if (!local) return Promise.resolve();
    return this.#inOrder([JOURNAL_LANE], async () => {
      const from = this.#journalKept.from + count;
      this.#journalKept = from >= this.#journalKept.to ? { from: 0, to: 0 } : { from, to: this.#journalKept.to };
      await local.setMeta(JOURNAL_KEPT, JSON.stringify(this.#journalKept));
    });
  }

  // ── rows, versions and clocks ───────────────────────────────────────────

  /**
   * Rows a rule or a settle read by key (`get`, `byOrder`), as this terminal
   * sees them. One newer than the version this store last handed the guard
   * (another terminal settled it a moment ago, and the notice is still on
   * its way) is also told as a change, before the read resolves: the guard
   * keeps the version its memory holds over what a read brings back, so
   * without it a refund of a sale approved a moment ago elsewhere was
   * judged on the sale still pending ("original not found").
   */
  #readBack(rows: readonly SharedRow[]): AttemptRecord[] {
    const newer = rows.filter((row) => {
      const held = this.#known.get(row.record.id);
      return held !== undefined && row.version > held.version;
    });
    const records = rows.map((row) => this.#seen(row));
    for (const row of newer) this.#emit({ type: 'record', record: records[rows.indexOf(row)] as AttemptRecord });
    return records;
  }

  /**
   * Records read from `local` while cut off, told to HeldTimes as copies (see
   * HeldTimes.copied): the rows read once back are never older, except those
   * of the outbox (written while cut off), which are left out.
   */
  #copies<T extends AttemptRecord | undefined>(records: T[]): T[] {
    const outbox = new Set(this.#outbox);
    for (const record of records) if (record && !outbox.has(record.id)) this.#heldTimes.copied(record);
    return records;
  }

  /**
   * A row as this terminal sees it: another terminal's times moved onto this
   * one's clock, and this guard's own as it holds them (see HeldTimes).
   */
  #seen(row: SharedRow): AttemptRecord {
    this.#remember(row);
    return this.#heldTimes.read(row.record, row.skew, this.#skew, SAME_CLOCK_MS, row.version);
  }

  /**
   * `record` as a row to write; `claimed`: written by a claim, which the others' claims meet;
   * `replacing`: over a version of it the database holds.
   */
  #write(record: AttemptRecord, claimed = false, replacing = false, skew = this.#skew): RowWrite {
    const notice = noticeOf(record, claimed, replacing);
    const row = this.#heldTimes.write(record, skew);
    return { record: row, skew, keys: staysFiled(record) ? claimOf(record).keys : [], notice };
  }

  /** The rows this store last saw for a claim's keys and ids: what the database must still hold for a one-trip claim. */
  #expected(claim: Claim): SharedRow[] {
    const ids = new Set(claim.ids);
    for (const key of claim.keys) for (const id of this.#filed.get(key) ?? []) ids.add(id);
    return [...ids].map((id) => this.#known.get(id)).filter((row): row is SharedRow => row !== undefined);
  }

  /** A row this store wrote for the guard: `written` holds its record as the guard holds it. */
  #landed(row: SharedRow, written: readonly AttemptRecord[]): void {
    this.#remember(row);
    const record = written.find((r) => r.id === row.record.id);
    if (record) this.#heldTimes.landed(record, row.version);
  }

  #remember(row: SharedRow): void {
    if (row.changedAt > this.#lastChange) this.#lastChange = row.changedAt;
    const id = row.record.id;
    const held = this.#known.get(id);
    if (held && held.version > row.version) return;
    this.#forget(id);
    if (this.#known.size >= KNOWN_LIMIT) {
      const oldest = this.#known.keys().next().value;
      if (oldest !== undefined) this.#forget(oldest);
    }
    this.#known.set(id, row);
    if (!staysFiled(row.record)) return;
    for (const key of claimOf(row.record).keys) {
      let ids = this.#filed.get(key);
      if (!ids) this.#filed.set(key, (ids = new Set()));
      ids.add(id);
    }
  }

  #forget(id: string): void {
    const held = this.#known.get(id);
    if (!held) return;
    this.#known.delete(id);
    for (const key of claimOf(held.record).keys) {
      const ids = this.#filed.get(key);
      ids?.delete(id);
      if (ids?.size === 0) this.#filed.delete(key);
    }
  }

  /**
   * The database's clock minus this terminal's, read over a round trip and
   * so exact to half of it: of {@link SKEW_SAMPLES} readings, the one with
   * the shortest round trip. The first one is often the slowest by far (a
   * new connection, the schema checked or created) and lopsided, which would
   * move another till's pending by a good part of it: its hold then ends
   * early or late here by as much.
   */
  async #measureSkew(): Promise<void> {
    const clock = this.#attached().clock;
    let best: { trip: number; skew: number; offset: number } | undefined;
    /** Of the readings that met a step, the one whose step was smallest: its skew is off by half of it at most. */
    let least: { step: number; skew: number } | undefined;
    for (let i = 0; i < SKEW_SAMPLES || (!best && i < SKEW_TRIES); i++) {
      const before = clock.now();
      const mono = clock.monotonic();
      const database = await this.#timed(this.#remote.clock());
      const after = clock.now();
      const trip = after - before;
      const skew = Math.round(database - (before + after) / 2);
      // The wall clock stepped between the two readings (NTP setting it right, likely just after a
      // sleep, when this runs): stepped back, the trip is the shortest of all and the skew half the
      // step off. The readings before the step are of the clock before it: only those after count.
      const step = Math.abs(trip - (clock.monotonic() - mono));
      if (step > STEPPED_MS) {
        best = undefined;
        if (!least || step <= least.step) least = { step, skew };
        continue;
      }
      const sample = { trip, skew, offset: before - mono };
      if (!best || sample.trip < best.trip) best = sample;
    }
    if (!best) {
      // Every reading met a step: the clock is being moved. The database answered every one, so this
      // is no cut-off (a claim would be judged on this lane's memory alone), and the skew it had may
      // be a whole step off: the reading least off is taken, and the wall offset is left as it was,
      // so that the next call measures again.
      this.#skew = (least as { skew: number }).skew;
      return;
    }
    const { skew, offset } = best;
    this.#wallOffset = offset;
    // Kept as it is unless it really moved: own rows must not shift with each measurement.
    if (Math.abs(skew - this.#skew) >= SAME_CLOCK_MS / 2) this.#skew = skew;
  }

  /**
   * Reads the skew again when this terminal's wall clock moved against its
   * monotonic clock since it was read (NTP stepping it, a cashier changing
   * the date, the device asleep): after a jump, records written with the old
   * skew would reach the others minutes off, and a pending of this till be
   * freed early there or held on. One round trip, only after a move.
   */
  async #freshSkew(): Promise<void> {
    if (this.#down || this.#wallOffset === undefined) return;
    const { clock } = this.#attached();
    if (Math.abs(clock.now() - clock.monotonic() - this.#wallOffset) < SAME_CLOCK_MS / 2) return;
    try {
      await this.#measureSkew();
    } catch (error) {
      if (!(error instanceof RemoteUnreachable)) throw this.#failure('clock', error);
      this.#cutOff();
    }
  }

  // ── plumbing ────────────────────────────────────────────────────────────

  #attached(): StoreOwner {
    if (this.#closed) throw new GuardStorageError('CLOSED', 'the shared store is closed');
    if (!this.#owner) {
      throw new GuardStorageError('STORE_FAILED', 'the shared store is used before a guard attached to it (createGuard does)');
    }
    return this.#owner;
  }

  /** A read from the database; `undefined` when it cannot be reached (the caller falls back). */
  async #read<T>(operation: string, call: () => Promise<T>): Promise<T | undefined> {
    if (this.#down) return undefined;
    return this.#orCutOff(operation, call);
  }

  async #orCutOff<T>(operation: string, call: () => Promise<T>): Promise<T | undefined> {
    try {
      return await this.#timed(call());
    } catch (error) {
      if (!(error instanceof RemoteUnreachable)) throw this.#failure(operation, error);
      this.#cutOff();
      return undefined;
    }
  }

  #timed<T>(promise: Promise<T>): Promise<T> {
    const scheduler = this.#attached().scheduler;
    return new Promise<T>((resolve, reject) => {
      const cancel = scheduler.after(this.#timeoutMs, () =>
        reject(new RemoteUnreachable(`the shared database did not answer within ${this.#timeoutMs} ms`, { late: true })),
      );
      promise.then(
        (value) => {
          cancel();
          resolve(value);
        },
        (error: unknown) => {
          cancel();
          reject(error);
        },
      );
    });
  }

  /**
   * Runs `call` after every write issued before it on any of `lanes` (record
   * ids, claim keys: {@link keyLane}, metadata keys) finished: writes of one
   * record, or of one sale's keys, land in call order (a claim meets the put
   * issued before it), while unrelated sales go to the database in parallel.
   */
  #inOrder<T>(ids: readonly string[], call: () => Promise<T>): Promise<T> {
    const before = ids.map((id) => this.#chains.get(id)).filter((p): p is Promise<void> => p !== undefined);
    const run = before.length === 0 ? call() : Promise.all(before).then(call);
    const done = run.then(
      () => undefined,
      () => undefined,
    );
    for (const id of ids) this.#chains.set(id, done);
    void done.then(() => {
      for (const id of ids) if (this.#chains.get(id) === done) this.#chains.delete(id);
    });
    return run;
  }

  /** What was written to the database, copied to `local` (not awaited): the history a restart while cut off starts from. */
  #mirror(records: readonly AttemptRecord[]): void {
    const local = this.#local;
    if (!local) return;
    for (const record of records) void local.put(record).catch(() => undefined);
  }

  #emit(change: StoreChange): void {
    if (this.#listeners.size === 0) {
      this.#early.push(change);
      return;
    }
    for (const listener of this.#listeners) listener(change);
  }

  #unreachable(operation: string): never {
    throw new GuardStorageError(
      'UNAVAILABLE',
      `the shared database cannot be reached (${operation}), and this store has no \`local\` to fall back on`,
    );
  }

  /** A journal write found this store's hold on its terminal gone: not held until the listening connection takes it again. */
  #lostHold(error: TerminalTaken | TerminalNotHeld): void {
    this.#held = false;
    if (error instanceof TerminalTaken) this.#taken = error;
  }

  /** A second till with this store's terminalId (SPEC §12: one sealer per chain). */
  #terminalTaken(error: TerminalTaken): GuardStorageError {
    return new GuardStorageError('LOCKED', error.message, { cause: error, field: 'terminalId' });
  }

  #failure(operation: string, error: unknown): GuardStorageError {
    return new GuardStorageError('STORE_FAILED', `the shared database failed in ${operation}: ${errorText(error)}`, { cause: error });
  }
}

/**
 * A sale written here while cut off, and the version the database holds
 * (written by another lane meanwhile): what is sent lists both sides'
 * refunds, each counted once (a refund attempt, or one made outside the
 * guard), but those reversed here (`reversed`), and is later than the
 * stored row, which it replaces. The upload keeps the later row only: a
 * refund listed on the other would be lost (a further refund past what was
 * paid back allowed), or one reversed here kept (a refund that fits
 * refused). The guard then counts the sale again against its refund
 * attempts (recountSent), for what was reversed on the other side.
 *
 * A void is for good (the processor reversed the whole charge), whichever
 * side made it: what is sent is then voided, with both sides' refunds
 * listed, all of it over (money to recover).
 */
function keptRefunds(record: AttemptRecord, stored: AttemptRecord, reversed: ReadonlySet<string>, dbLater: number): AttemptRecord {
  if (record.kind !== 'sale' || stored.kind !== 'sale') return record;
  const later = Math.max(record.updatedAt, stored.updatedAt + 1, dbLater);
  const theirs = reversed.size === 0 ? stored : withChanges(stored, { refunds: stored.refunds?.filter((r) => !reversed.has(r.id)) });
  if (record.status !== 'voided' && stored.status !== 'voided') {
    const merged = withRefundsOf(record, theirs, later);
    if (merged !== record) return merged;
    // Nothing to add from the stored row, but a refund only this one lists (made here, outside the guard too)
    // or one reversed here: this row must land, not lose to a later stored one.
    const listed = new Set((stored.refunds ?? []).map((r) => r.id));
    const differs = reversed.size > 0 || (record.refunds ?? []).some((r) => !listed.has(r.id));
    return differs ? withChanges(record, { updatedAt: later }) : record;
  }
  // Voided on both sides: each side's refunds are listed (a refund paid out on the sale voided on the other lane).
  const [base, other] = record.status === 'voided' && stored.status !== 'voided' ? [theirs, record] : [record, theirs];
  const listed = new Set((base.refunds ?? []).map((r) => r.id));
  const refunds = [...(base.refunds ?? []), ...(other.refunds ?? []).filter((r) => !listed.has(r.id))];
  const merged = refunds.length > 0 ? withChanges(base, { refunds }) : base;
  return voidedOver(merged, later);
}

/**
 * How the others hear of a write of `record` (see {@link Notice}): a new
 * sale's reservation made by a claim is not announced (the others' claims of
 * its keys meet it); another new reservation (a refund's: SPEC §9 has
 * refunds reach the others within 1 s; one written by `put`) after its
 * commit; everything else (a settle, a resume, an override's reservation)
 * inside its own transaction.
 */
export function noticeOf(record: AttemptRecord, claimed: boolean, replacing = false): Notice {
  // Times alone cannot tell a resume in the millisecond of its begin (a clock that stands still) from a begin.
  const reserved = !replacing && record.status === 'pending' && record.override === undefined && record.createdAt === record.updatedAt;
  if (!reserved) return 'with-write';
  return claimed && record.kind === 'sale' ? 'none' : 'after';
}

/** A journal batch that could not be sent, as it stands then (sealed again, perhaps): it goes to the backlog so. */
class JournalNotSent extends Error {
  override readonly name = 'JournalNotSent';
  readonly entries: readonly JournalEntry[];
  override readonly cause: unknown;

  constructor(entries: readonly JournalEntry[], cause: unknown) {
    super(errorText(cause), { cause });
    this.entries = entries;
    this.cause = cause;
  }
}

/** What UNCHECKED_META holds: [key, value] pairs (a damaged value is dropped). */
function readUnchecked(saved: string | undefined): Map<string, string> {
  try {
    const pairs = JSON.parse(saved ?? '[]') as unknown;
    if (!Array.isArray(pairs)) return new Map();
    return new Map(pairs.filter((p): p is [string, string] => Array.isArray(p) && typeof p[0] === 'string' && typeof p[1] === 'string'));
  } catch {
    return new Map();
  }
}
