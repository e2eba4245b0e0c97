/**
 * The state a guard's parts share. `Guard` (src/guard.ts) is a facade over one
 * `GuardContext`; each module under src/guard/ holds one concern, as
 * functions taking the context. Internal: not exported from src/index.ts.
 */
import { AttemptIndex } from '../attempt-index.js';
import { describeValue, GuardConfigError, GuardInputError, GuardStateError, quote } from '../errors.js';
import { Emitter } from '../events.js';
import type { Hasher } from '../fingerprint.js';
import { journalSeal } from '../journal/chain.js';
import type { Guard } from '../guard.js';
import type { ClockStep } from '../clock-steps.js';
import { within } from './deadline.js';
import { GuardTime } from '../guard-time.js';
import { hasHistory, type HistoryStore } from '../history.js';
import type { ResolvedOptions } from '../options.js';
import { Owners } from '../ownership.js';
import { NO_CARD_NUMBER, containsCardNumber } from '../pan.js';
import { withChanges } from '../record.js';
import { statusAt, type SaleFacts } from '../rules.js';
import type {
  AttemptRecord,
  AttemptStatus,
  Decision,
  GuardStore,
  JournalEntry,
  JournalSeal,
  ReasonCode,
  RecoverResult,
  StoreChange,
  Verdict,
} from '../types.js';

export const KEY_CHECK = 'keyCheck';

/** A terminal whose secret is not the one its merchant's terminals write their shared store with. */
export function notTheMerchantsSecret(): GuardConfigError {
  return new GuardConfigError(
    'SECRET_CHANGED',
    "`secret` differs from the one this merchant's terminals write the shared store with: every terminal of a merchant uses one secret. A shared store is never reset by one terminal (resetOnSecretChange): give this one the merchant's secret.",
    { field: 'secret' },
  );
}

/** How often a running guard asks a store with history to prune what retention let go. */
export const HISTORY_PRUNE_EVERY_MS = 60_000;

/** What the guard remembers about a decision it returned, so `override` can trust it. */
export interface DecisionContext {
  sale: SaleFacts;
  /** The verdict as issued: the caller's copy of the decision is not trusted for it. */
  verdict: Verdict;
  /** The blocking/prompting codes shown: what an override lifts. */
  codes: ReasonCode[];
}

export interface GuardContext {
  /** The facade these parts serve: what owns the store, and what an attempt's handle settles through. */
  readonly guard: Guard;
  /** The resolved options. */
  readonly o: ResolvedOptions;
  readonly hasher: Hasher;
  /** Puts journal entries on the chain (SPEC §12): handed to the store, which seals each against the head it holds. */
  readonly seal: JournalSeal;
  readonly index: AttemptIndex;
  readonly events: Emitter;
  readonly decisions: WeakMap<Decision, DecisionContext>;
  // Ages are measured on guard time; what leaves the guard is wall time (see GuardTime).
  readonly time: GuardTime;
  lastWall: number;
  lastMono: number;
  // Writes not yet finished, so close() can wait for them.
  readonly inflight: Set<Promise<void>>;
  readonly unpersisted: Set<string>;
  /**
   * Attempts this guard reserved and has not settled: its own processor
   * answer for them always stands. The value is what another tab settled one
   * as meanwhile (taking it for a dead tab's), for the journal.
   */
  readonly charging: Map<string, AttemptStatus | undefined>;
  /** Pending records start-up reports as unknown, as stored (pending): what a resume compares the store with. */
  readonly recovered: Map<string, AttemptRecord>;
  /** Records other tabs announced from memory only (their writes failed): holds, never more. */
  readonly announced: Set<string>;
  unsubscribe: (() => void) | undefined;
  closed: boolean;
  /**
   * While start-up runs, its journal entries (attempts found in flight, the
   * start): written once it succeeds. A start that fails (another guard
   * still runs over the store) must leave no trail of what it never did.
   */
  starting: JournalEntry[] | undefined;
  /**
   * The guard this one fenced when it took the store over, kept while its
   * start runs and after it failed: a failed start hands the store back to
   * the newest guard still open along these (a take-over that failed in turn
   * is passed over), and a successful one silences them all.
   */
  fenced: GuardContext | undefined;
  /** Set by the first close(): every later call waits for the same close, and nothing is scheduled again. */
  closing: Promise<void> | undefined;
  /**
   * Set when the store refused a call as taken over (TAKEN_OVER: another
   * store object opened the same file, as a hot reload does): fenced as by
   * another guard over this store object, never a storage failure that
   * `onStorageError` could let a sale through.
   */
  storeFenced: boolean;
  /**
   * What the guard this one fenced heard while this one started and must be
   * acted on once (a conflict to report, a recount, a key check): applied
   * here once started, or handed back with the store if the start fails.
   */
  readonly heard: StoreChange[];
  /** Set when a shared store found this terminal's secret is not the merchant's (a start while cut off): no more decisions. */
  misconfigured: GuardConfigError | undefined;
  /** The store, when it keeps history: memory holds hot records only (see history.ts). */
  readonly history: HistoryStore | undefined;
  /** Guard time at which the store's history is next pruned (retention). */
  nextHistoryPrune: number;
  /**
   * Operations reading the store's history right now: while any is, no
   * record leaves memory, so what a read brings back can never replace a
   * newer version that memory let go of meanwhile (see `holdingMemory`).
   */
  reads: number;
  /** The handles issued for attempts in memory: told the status an attempt left memory with. */
  readonly handles: Map<string, HandleStatus[]>;
  /** Unknown outcomes on the `recover` schedule (see recover.ts). */
  readonly recovery: Recovery;
  /** Steps of the wall clock this guard noticed and has not written to the store yet (see clock-steps.ts). */
  clockSteps: ClockStep[];
  /** The last write of steps in progress: the next one reads what it wrote (see saveClockSteps). */
  stepsSaved: Promise<void>;
  /** The steps the store kept when this guard started: noticed by an earlier process or another tab. */
  stepsBeforeStart: readonly ClockStep[];
  /** Guard time when start-up read the store: a step of the clock since, this guard noticed itself. */
  startedAt: number;
  /**
   * In a store tabs share, guard time from which the open records the index
   * keeps whatever their age (`index.keepsOpen`) are held by the stored clock
   * steps instead: a live tab has written a step it noticed by then (see
   * refreshClockSteps).
   */
  openKeptUntil: number;
  /** A read of the stored steps for `openKeptUntil` is out. */
  refreshingSteps: boolean;
  /** While a charge is out, the clock is read every few seconds until `until`; then, while open attempts are held, every 15 minutes (see watchClock). */
  readonly clockWatch: { until: number; every: number; cancel?: () => void; timer?: object };
}

/**
 * Whether the store is shared by tabs (or processes) of one terminal: it has
 * `claim` but no `attach`, as the IndexedDB store. A pending found at
 * start-up there may be a live tab's charge, not a dead process's.
 */
export function sharedByTabs(ctx: GuardContext): boolean {
  return ctx.o.store.claim !== undefined && ctx.o.store.attach === undefined;
}

/** An attempt on the schedule: when it became unknown (guard time), and the tries it had then. */
export interface Watch {
  base: number;
  triesAtBase: number;
  /** The version it was put on the schedule for: another version of the same state (a lease taken, another guard's try) keeps the schedule. */
  status: AttemptStatus;
  pendingSince: number;
  /** Not before this (guard time): a try whose lease, or a report that, could not be written (a failing store, cut off, another guard's try) waits `recoverAfter`. */
  retryAt?: number;
}

/** The schedule of one guard: what it watches, the tries in progress, and its one timer. */
export interface Recovery {
  readonly watched: Map<string, Watch>;
  readonly running: Map<string, Promise<RecoverResult>>;
  /** Leases read as stamped ahead (a clock set back since), by attempt: the lease, and when this guard first saw it (see leaseFreeAt). */
  readonly leasesSeen: Map<string, readonly [leaseUntil: number, seen: number]>;
  cancel: (() => void) | undefined;
  due: number;
  stopped: boolean;
}

export function newRecovery(): Recovery {
  return {
    watched: new Map(),
    running: new Map(),
    leasesSeen: new Map(),
    cancel: undefined,
    due: Number.POSITIVE_INFINITY,
    stopped: false,
  };
}

/** What an `Attempt` handle is told when its attempt leaves memory. */
export interface HandleStatus {
  remember(status: AttemptStatus): void;
}

/**
 * Runs `work`, which reads the store's history and uses what it read, with
 * memory held: nothing leaves it until the work is done (`GuardContext.reads`).
 */
export async function holdingMemory<T>(ctx: GuardContext, work: Promise<T>): Promise<T> {
  ctx.reads++;
  try {
    return await work;
  } finally {
    ctx.reads--;
  }
}

// One live guard per store in a process: a second `createGuard` over the same
// store takes over, as after a crash (SPEC §6), and fences the first.
export const owners = Owners.weak<GuardStore, Guard>();

const contexts = new WeakMap<Guard, GuardContext>();

/** The context of `guard` (another guard over the same store: the one it fenced, or the one that took over). */
export function contextOf(guard: Guard): GuardContext {
  return contexts.get(guard) as GuardContext;
}

export function createContext(guard: Guard, options: ResolvedOptions, hasher: Hasher): GuardContext {
  const history = hasHistory(options.store) ? options.store : undefined;
  const ctx: GuardContext = {
    guard,
    o: options,
    hasher,
    seal: journalSeal(options.secret),
    // Start-up emits into it before anyone can listen: kept for the listeners attached right after (SPEC §4).
    events: new Emitter(true),
    decisions: new WeakMap(),
    inflight: new Set(),
    unpersisted: new Set(),
    charging: new Map(),
    recovered: new Map(),
    announced: new Set(),
    unsubscribe: undefined,
    closed: false,
    starting: undefined,
    fenced: undefined,
    closing: undefined,
    storeFenced: false,
    heard: [],
    misconfigured: undefined,
    nextHistoryPrune: Number.NEGATIVE_INFINITY,
    reads: 0,
    handles: new Map(),
    recovery: newRecovery(),
    clockSteps: [],
    stepsSaved: Promise.resolve(),
    stepsBeforeStart: [],
    startedAt: Number.POSITIVE_INFINITY,
    openKeptUntil: 0,
    refreshingSteps: false,
    clockWatch: { until: Number.NEGATIVE_INFINITY, every: Number.POSITIVE_INFINITY },
    history,
    index: new AttemptIndex(options.retentionMs, options.windowMs, history !== undefined),
    // Read in this order: the time first, then the clock check's starting point.
    time: new GuardTime(options.clock, options.store.timesOnOwnerClock === true),
    lastWall: options.clock.now(),
    lastMono: options.clock.monotonic(),
  };
  ctx.time.holding((mark) => markHeld(ctx, mark));
  ctx.index.nowIfAhead = (stamp) => ctx.time.nowIfAhead(stamp);
  contexts.set(guard, ctx);
  return ctx;
}

/** The guard-time stamps of every record this guard holds: their pins are kept (see GuardTime.holding). */
function markHeld(ctx: GuardContext, mark: (stamp: number) => void): void {
  const stamps = (record: AttemptRecord) => {
    mark(record.createdAt);
    mark(record.updatedAt);
    mark(record.pendingSince);
    if (record.approvedAt !== undefined) mark(record.approvedAt);
  };
  for (const record of ctx.index.values()) stamps(record);
  for (const record of ctx.recovered.values()) stamps(record);
  for (const watch of ctx.recovery.watched.values()) {
    mark(watch.base);
    mark(watch.pendingSince);
  }
}

/** The status a record reports now: a stale `pending` reads `unknown`. */
export function statusOf(ctx: GuardContext, record: AttemptRecord, now: number): AttemptStatus {
  return statusAt(record, now, ctx.o.pendingTimeoutMs, ctx.index);
}

/** When a `pending` record reads `unknown` (statusOf): `pendingTimeout` after its age starts counting. */
export function staleAt(ctx: GuardContext, record: AttemptRecord): number {
  return ctx.index.pendingFrom(record) + ctx.o.pendingTimeoutMs;
}

export function guardNow(ctx: GuardContext): number {
  // Whole milliseconds: records and ages stay integers, in storage and in messages.
  return ctx.time.now();
}

/** Whether a shared store found this terminal's secret is not the merchant's (see `misconfigured`), as it stands now. */
export function misconfiguration(ctx: GuardContext): GuardConfigError | undefined {
  return ctx.misconfigured;
}

/** How many store objects a chain of take-overs is followed through (hot reloads in a row; a cycle stops sooner). */
const MAX_LINEAGE = 16;

/**
 * `store`, then each store object of this process it took its storage over
 * from (GuardStore.supersedes: a second fileStore on one path), newest first.
 */
export function lineage(store: GuardStore): GuardStore[] {
  const chain = [store];
  for (let older = store.supersedes?.(); older && chain.length < MAX_LINEAGE && !chain.includes(older); older = older.supersedes?.()) {
    chain.push(older);
  }
  return chain;
}

/** For each store that was superseded in this process, the store that took its storage over. */
const successors = new WeakMap<GuardStore, GuardStore>();

/** Start-up over `store`: the stores it superseded hand their guards' answers on to it. */
export function noteSuccession(store: GuardStore): void {
  for (const older of lineage(store).slice(1)) successors.set(older, store);
}

/** The start-ups of guards in progress in this process (see `successorOf`). */
export const startsInProgress = new Set<Promise<unknown>>();

/**
 * Where an answer in hand goes (`ownerOf`), once the guard that would take
 * it no longer holds its store: a take-over still starting (its store has
 * fenced this one's, its guard is not registered yet) is waited for, at
 * most SUCCESSOR_WAIT_MS. Each start-up that ends is a reason to look again.
 * A guard that still holds its store is answered at once: a start-up of
 * another guard in the process, over a store that hangs, must not hold its
 * answers (atk30-successor-wait). `untried`: no write has told this guard
 * yet whether its store was fenced (a write that met the fence would have),
 * so every start in progress is waited for, even while it seems to hold its
 * store; still at most SUCCESSOR_WAIT_MS.
 */
export async function successorOf(ctx: GuardContext, untried = false): Promise<GuardContext> {
  const deadline = guardNow(ctx) + SUCCESSOR_WAIT_MS;
  for (;;) {
    const owner = ownerOf(ctx);
    const left = deadline - guardNow(ctx);
    if ((holdsStore(owner) && !untried) || startsInProgress.size === 0 || left <= 0) return owner;
    const ended = Promise.race(
      [...startsInProgress].map((start) =>
        start.then(
          () => true,
          () => true,
        ),
      ),
    );
    // Not for ever: a start over a store that never answers must not hold the answer that waits.
    if (!(await within(ctx.o.scheduler, left, ended, () => false))) return ownerOf(ctx);
  }
}

/** How long an answer in hand waits for a take-over still starting (a file store's start takes well under a second). */
const SUCCESSOR_WAIT_MS = 30_000;

/**
 * This guard, or the one that took its store (or the store's storage) over
 * since: where an answer in hand goes. A closed guard's answers go to a
 * guard over a store that superseded its own (a new fileStore on its file
 * after close()), or nowhere (itself, closed).
 */
export function ownerOf(ctx: GuardContext): GuardContext {
  let store = ctx.o.store;
  for (let hops = 0, next = successors.get(store); next && hops < MAX_LINEAGE; hops++, next = successors.get(store)) store = next;
  const owner = owners.owner(store);
  if (owner === undefined || (ctx.closed && store === ctx.o.store)) return ctx;
  return contextOf(owner);
}

/** Stops the recovery schedule: no try is scheduled again (one in progress runs to its end). */
export function haltRecovery(ctx: GuardContext): void {
  const recovery = ctx.recovery;
  recovery.stopped = true;
  recovery.cancel?.();
  recovery.cancel = undefined;
}

/** Whether `ctx` still owns its store: not fenced by another guard over it, nor by the store itself. */
export function holdsStore(ctx: GuardContext): boolean {
  return !ctx.storeFenced && owners.holds(ctx.o.store, ctx.guard);
}

export function assertOpen(ctx: GuardContext): void {
  if (ctx.closed) throw new GuardStateError('CLOSED', 'this guard was closed (guard.close()): use a guard from a new createGuard call');
  if (!holdsStore(ctx)) {
    throw new GuardStateError(
      'TAKEN_OVER',
      'another guard was created over this store and took it over, as after a crash: use that guard; this one no longer reads or writes',
    );
  }
}

/** The attempt `attemptId` if memory holds it; a bad id throws. */
export function heldRecord(ctx: GuardContext, attemptId: string): AttemptRecord | undefined {
  if (typeof attemptId !== 'string') {
    throw new GuardInputError('INVALID_ATTEMPT_ID', `\`attemptId\` must be a string, got ${describeValue(attemptId)}`, {
      field: 'attemptId',
    });
  }
  // Attempt ids are the guard's own: one holding a card number was never issued, and is not quoted back.
  if (containsCardNumber(attemptId)) {
    throw new GuardInputError('INVALID_ATTEMPT_ID', `\`attemptId\` ${NO_CARD_NUMBER}`, { field: 'attemptId' });
  }
  return ctx.index.get(attemptId);
}

/** The attempt `attemptId`, from memory or else the store's history; throws if there is none. */
export function requireRecord(ctx: GuardContext, attemptId: string): AttemptRecord {
  const record = heldRecord(ctx, attemptId);
  if (!record) {
    throw new GuardStateError('UNKNOWN_ATTEMPT', `no attempt ${quote(attemptId)}: never begun here, or pruned after retention`, {
      field: 'attemptId',
    });
  }
  return record;
}

/** What callers see: a stale `pending` reads `unknown`, times are wall-clock times. */
export function view(ctx: GuardContext, record: AttemptRecord, now: number): AttemptRecord {
  const status = statusOf(ctx, record, now);
  return ctx.time.toWall(status === record.status ? record : withChanges(record, { status }));
}
