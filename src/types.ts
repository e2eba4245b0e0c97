/**
 * Public types of pos-duplicate-guard. Their names are a stable contract:
 * outside tests and QA scenario files are written against them.
 */

import type { GuardInputError } from './errors.js';

/** Milliseconds, or `'90s'`, `'10m'`, `'9m59s'`, `'1d12h'` (units d, h, m, s, ms). */
export type Duration = number | string;

export type SaleKind = 'sale' | 'refund';

/** Exactly one kind of card: a PAN, a wallet/network token, or the masked digits a PIN pad reports. */
export type CardInput =
  | { pan: string; token?: never; last4?: never }
  | { token: string; pan?: never; last4?: never }
  | { last4: string; bin?: string; expiry?: string; pan?: never; token?: never };

/** What checkout code passes to `begin`, `peek` and `charge`. Amounts are integer minor units. */
export interface Sale {
  /** Safe integer minor units, 1..Number.MAX_SAFE_INTEGER (1250 = 12.50). */
  amount: number;
  /** ISO 4217 code, e.g. `'CNY'`. */
  currency: string;
  card: CardInput;
  /** @default 'sale' */
  kind?: SaleKind;
  /** @default the guard's `merchantId` */
  merchantId?: string;
  terminalId?: string;
  orderId?: string;
  /** Minor units; enables the overpay rule of `ORDER_ALREADY_PAID`. */
  orderTotal?: number;
  /** Attempt id of the approved sale being refunded. */
  refundOf?: string;
  operator?: string;
}

export type Verdict = 'allow' | 'prompt' | 'block';

export type ReasonCode =
  | 'IN_FLIGHT'
  | 'UNKNOWN_OUTCOME'
  | 'DUPLICATE_CHARGE'
  | 'ORDER_ALREADY_PAID'
  | 'ORDER_SAME_AMOUNT'
  | 'REFUND_EXCEEDS_CHARGE'
  | 'REFUND_ORIGINAL_NOT_FOUND'
  | 'STORAGE_UNAVAILABLE'
  | 'CLOCK_ANOMALY'
  | 'SHARED_UNAVAILABLE';

export interface Reason {
  code: ReasonCode;
  /** Human message in the guard's locale. */
  message: string;
  /** The earlier attempt that matched, when there is one. */
  attemptId?: string;
  /** How long ago that attempt became pending (approved, for approved matches). */
  ageMs?: number;
}

export type AttemptStatus = 'pending' | 'unknown' | 'approved' | 'declined' | 'cancelled' | 'voided' | 'refunded';

/** Plain, persisted data about one attempt. Holds no card data beyond BIN and last 4. */
export interface AttemptRecord {
  /** Record format version. */
  v: 1;
  id: string;
  idempotencyKey: string;
  /**
   * Keyed hash of (merchantId, kind, currency, amount, card key). The only
   * card-derived value kept: no key of the card alone is stored, so records
   * cannot link one customer's purchases across amounts.
   */
  fingerprint: string;
  merchantId: string;
  terminalId?: string;
  kind: SaleKind;
  amount: number;
  currency: string;
  orderId?: string;
  orderTotal?: number;
  refundOf?: string;
  operator?: string;
  /** First 6 digits, only when the card was given as a PAN or with a `bin`. */
  bin?: string;
  last4?: string;
  status: AttemptStatus;
  /** Epoch ms on the guard's clock (monotonic within a process). */
  createdAt: number;
  updatedAt: number;
  /** When it last became `pending` (begin, override, resume). */
  pendingSince: number;
  approvedAt?: number;
  /** Sum refunded so far, minor units. */
  refunded: number;
  /**
   * On a sale: the approved refund attempts of it, with the amount each paid
   * out; `over` is the part of it beyond what remained on the sale (an
   * over-refund: money to recover), which `refunded` does not count.
   */
  refunds?: { id: string; amount: number; over?: number }[];
  authCode?: string;
  processorRef?: string;
  code?: string;
  message?: string;
  override?: OverrideNote;
  /** Recovery of an `unknown` outcome: what `recover` was asked so far. */
  recovery?: RecoveryState;
}

/** Kept with an attempt while its outcome is recovered: survives restarts. */
export interface RecoveryState {
  /** `recover` calls made (scheduled and `recoverNow`). */
  tries: number;
  /** Wall-clock epoch ms until which a guard holds the lease for a try in progress (no other calls `recover`). */
  leaseUntil?: number;
  /** `recover` answered a status it may not settle: no more scheduled tries. */
  ended?: boolean;
  /** `recovery-exhausted` was reported (once per attempt). */
  exhausted?: boolean;
}

/** What `recover` answers: an outcome to settle with, or nothing (still unknown). */
export type RecoverAnswer = Outcome | undefined;

/** One try of `recoverNow`. */
export interface RecoverResult {
  attemptId: string;
  /** The attempt's status after the try. */
  status: AttemptStatus;
  /** What `recover` answered, when it answered. */
  outcome?: Outcome;
  /** What it threw, or why the answer was not applied. */
  error?: unknown;
}

export interface OverrideNote {
  operator: string;
  reason: string;
  supervisor?: string;
  /** Frozen, like the record that holds it. */
  lifted: readonly ReasonCode[];
}

/** A live handle on an attempt. Methods are sugar for `guard.settle(id, …)`. */
export interface Attempt {
  readonly id: string;
  /** Pass it to the processor. 16-255 URL-safe characters, persisted before `begin` resolves. */
  readonly idempotencyKey: string;
  /**
   * Current status, read live from the guard (a stale `pending` reads
   * `unknown`). Once a settled attempt has left the guard's memory (unchanged
   * for `window`, over a store that keeps history), the status this handle
   * last saw; `guard.get(id)` reads the store.
   */
  readonly status: AttemptStatus;
  readonly fingerprint: string;
  readonly amount: number;
  readonly currency: string;
  approve(details?: ApprovalDetails): Promise<AttemptRecord>;
  decline(details?: DeclineDetails): Promise<AttemptRecord>;
  markUnknown(details?: DeclineDetails): Promise<AttemptRecord>;
  cancel(details?: DeclineDetails): Promise<AttemptRecord>;
  void(details?: ApprovalDetails): Promise<AttemptRecord>;
}

export interface ApprovalDetails {
  authCode?: string;
  processorRef?: string;
}

export interface DeclineDetails {
  code?: string;
  message?: string;
}

export type Outcome =
  | ({ status: 'approved' | 'declined' | 'unknown' | 'cancelled' | 'voided' } & ApprovalDetails & DeclineDetails)
  /**
   * A refund made outside the guard: `amount` (without one, the rest), and
   * the processor's reference of it, which makes recording it again (a
   * double tap, a retried call) a no-op instead of a second refund.
   */
  | { status: 'refunded'; amount?: number; processorRef?: string };

export interface Decision {
  verdict: Verdict;
  reasons: Reason[];
  /** Only when `verdict === 'allow'`. */
  attempt?: Attempt;
  fingerprint: string;
}

export interface OverrideRequest {
  operator: string;
  reason: string;
  /** Who authorised a block (a supervisor id); passed to `authorize`. */
  supervisor?: string;
}

export interface AuthorizeRequest {
  decision: Decision;
  operator: string;
  reason: string;
  supervisor: string | undefined;
}

/**
 * Timers for the guard's own waiting (`charge`'s timeout, background work),
 * injected beside `Clock` so a virtual clock drives them in tests and scenarios.
 */
export interface Scheduler {
  /** Runs `task` once, `ms` (monotonic) milliseconds from now; returns a cancel. */
  after(ms: number, task: () => void): () => void;
}

export interface Clock {
  /** Wall clock, epoch ms. */
  now(): number;
  /** Monotonic ms from any origin (`performance.now()`). */
  monotonic(): number;
}

export type Locale = 'en' | 'zh-CN';
export type StorageErrorPolicy = 'prompt' | 'block' | 'allow';

/** What a decision made while a shared store is cut off becomes: `'allow'` leaves its verdict as it is. */
export type SharedUnavailablePolicy = 'allow' | 'prompt' | 'block';

export interface AttemptFilter {
  status?: AttemptStatus | AttemptStatus[];
  merchantId?: string;
  orderId?: string;
  kind?: SaleKind;
}

/**
 * Why `submit` gave `charge` no answer to settle with, so the attempt
 * settled `unknown` (the charge may have gone through): no answer within
 * the timeout, a throw or rejection (a network error), or an answer that is
 * not `{ approved: true | false, … }` (a bug in the app's `submit`).
 */
export type ChargeCause = 'timeout' | 'submit-threw' | 'submit-returned-invalid-result';

export interface ChargeResult {
  status: 'approved' | 'declined' | 'unknown' | 'blocked' | 'not-confirmed';
  decision: Decision;
  attempt?: AttemptRecord;
  /** Set only when `submit` gave no answer to settle with (see {@link ChargeCause}). */
  cause?: ChargeCause;
  /**
   * With `cause: 'submit-returned-invalid-result'` only: what `submit`
   * resolved instead (code `INVALID_SUBMIT_RESULT`, field `submit`), the
   * error also sent as an `invalid-submit-result` event. Not thrown: the
   * attempt is recorded, and `unknown` blocks a retry until it is settled.
   */
  error?: GuardInputError;
}

export type SubmitResult = ({ approved: true } & ApprovalDetails) | ({ approved: false } & DeclineDetails);

export interface ChargeOptions {
  /** Asked on a `prompt`: `true`, `{ operator, reason }`, or `false` to stop. */
  confirm?: (decision: Decision) => boolean | OverrideRequest | Promise<boolean | OverrideRequest>;
  /** Asked on an overridable `block`: a supervisor override, or `false`. */
  escalate?: (decision: Decision) => false | OverrideRequest | Promise<false | OverrideRequest>;
  /** @default the guard's `pendingTimeout` */
  timeout?: Duration;
}

/** One line of the audit journal. Never holds card data. */
export interface JournalEntry {
  at: number;
  /** `reconcile`: an attempt settled by `guard.applyReconciliation`; `detail` names the finding and the processor's transactions. */
  type:
    'decision' | 'override' | 'settle' | 'resume' | 'clock-anomaly' | 'start' | 'prune' | 'storage' | 'conflict' | 'recover' | 'reconcile';
  attemptId?: string;
  verdict?: Verdict;
  codes?: readonly ReasonCode[];
  from?: AttemptStatus;
  to?: AttemptStatus;
  amount?: number;
  operator?: string;
  reason?: string;
  supervisor?: string;
  detail?: string;
  /** A `conflict`: this terminal's attempt, then the other terminal's. */
  attempts?: readonly string[];
  /** Its place on the journal's chain: 1, 2, 3… without gaps. Absent in journals written before the chain. */
  seq?: number;
  /** HMAC-SHA-256 (unpadded base64url) linking it to the entry before, keyed by the guard's secret. Absent in journals written before the chain. */
  hash?: string;
}

/** The last entry of a journal's chain: what a store keeps in its metadata, and what the next entry links to. */
export interface JournalHead {
  readonly seq: number;
  readonly hash: string;
}

/** A journal entry on the chain. */
export type SealedJournalEntry = JournalEntry & { seq: number; hash: string };

/**
 * Puts `entry` on the chain after `previous` (the head of the entry appended
 * just before it; `undefined` for a journal's first): `seq` one past it, and
 * the `hash` linking the two. Synchronous and pure. See GuardStore.appendJournal.
 */
export type JournalSeal = (entry: JournalEntry, previous: JournalHead | undefined) => SealedJournalEntry;

/**
 * Where attempts live. Small on purpose: a store for your own database is
 * about 40 lines; check it with `storeContract` from
 * `pos-duplicate-guard/testing`.
 *
 * The guard issues writes without waiting for earlier ones to finish, so a
 * store must apply `put`, `claim` and `delete` calls in the order they were
 * made (a settle must never land before its begin). Appending to a log, a
 * queue of transactions, or a synchronous write inside each call all do.
 */
export interface GuardStore {
  /**
   * Records, in any order. Without `scope`: every record. With `scope`
   * (start-up, on a store with history): at least the hot records of
   * `isHot(record, scope.since)`; the guard reads the rest through
   * `get`/`byOrder` when a rule needs them. A store without history returns
   * every record either way, and the guard keeps them in memory.
   */
  load(scope?: LoadScope): Promise<AttemptRecord[]>;
  /** Insert or replace by `id`. The guard awaits it before `begin` resolves (write-ahead). */
  put(record: AttemptRecord): Promise<void>;
  delete(id: string): Promise<void>;
  getMeta(key: string): Promise<string | undefined>;
  setMeta(key: string, value: string): Promise<void>;
  /**
   * Optional: writes `value` under `key` only if the key holds none, in one
   * step no other writer can come between, and resolves with what the key
   * holds then: `value`, or what another writer put there first. A store
   * several terminals share implements it: two terminals of one merchant
   * started together on an empty history with different secrets must not
   * both start (each would miss the other's duplicates).
   */
  initMeta?(key: string, value: string): Promise<string>;
  /**
   * Appends an audit entry, in call order with the other writes. With
   * `seal` (the guard always passes one) the store keeps the journal's
   * chain: it appends `seal(entry, head)`, where `head` is the
   * `{ seq, hash }` of the entry it appended last, whichever process, tab or
   * earlier run appended it (`undefined` for a journal's first), and keeps
   * the head of what it appended in its metadata under `'journal-head'`, as
   * `JSON.stringify({ seq, hash })`. Two rules make an honest journal verify
   * after any crash: the head in the metadata never runs ahead of what is
   * durable in the journal (it may lag behind it), and after a restart the
   * chain goes on from the journal's true durable tail, never from a lagging
   * head (that would fork it). IndexedDB: entry and head in one transaction;
   * a file: the journal fsynced before the head is written, and a lagging
   * head caught up from the journal's last line at open. A store that
   * cannot keep a chain ignores `seal`: its entries stay unsealed.
   */
  appendJournal(entry: JournalEntry, seal?: JournalSeal): Promise<void>;
  /**
   * Optional cross-process reservation, for a store several tabs or
   * processes share. In one atomic step (a transaction): read the records
   * filed under `claim.keys` and those named by `claim.ids`, pass them to
   * `judge` synchronously, and write the records it returns (none:
   * `undefined`); resolve whether anything was written. A store may call
   * `judge` more than once in one claim (judging first on what it last saw,
   * then again on what the transaction found); only the last answer is written. Every record written,
   * here or by `put`, is filed under `claimOf(record).keys` while
   * `staysFiled(record)` holds, and unfiled once it does not or is deleted.
   */
  claim?(claim: Claim, judge: (related: AttemptRecord[], context?: ClaimContext) => readonly AttemptRecord[] | undefined): Promise<boolean>;
  /**
   * Optional: called once at start-up, before any other call, with what the
   * guard over it is. A store several terminals share scopes its reads to
   * `merchantId` and tells other terminals' records from this one's.
   */
  attach?(owner: StoreOwner): void | Promise<void>;
  /**
   * Optional, a shared store with a local fallback: `true` while it
   * is cut off from the others, so decisions see only this terminal's
   * knowledge and carry `SHARED_UNAVAILABLE`.
   */
  cutOff?(): boolean;
  /** Optional: what another process or tab changed (see StoreChange). Returns an unsubscribe. */
  subscribe?(listener: (change: StoreChange) => void): () => void;
  /**
   * Optional: `true` for a store that hands over other devices' times on
   * the wall clock of `StoreOwner.clock` as it reads at the time (a shared
   * store moves each row onto it by the database's clock). The guard then
   * reads each such time by that clock as it is now, never by an older
   * epoch the time happens to fit: after this till's clock was set back,
   * another till's approval 2 s old fits the hour before the step too.
   */
  readonly timesOnOwnerClock?: boolean;
  /**
   * Optional: tell the other processes sharing this store of a record this
   * one holds in memory only, because its write failed: they treat it as a
   * hold on its sale (an in-memory `pending` is still being charged).
   */
  announce?(record: AttemptRecord): void;
  /**
   * History (optional, all three or none): the store keeps every retained
   * record, so the guard keeps only hot ones in memory (open attempts,
   * approved refunds, and what changed inside `window`). `get` reads one
   * record by id (the guard's own stored version, settled or not).
   */
  get?(id: string): Promise<AttemptRecord | undefined>;
  /** History: the live records (`staysFiled`) on this merchant's order. */
  byOrder?(merchantId: string, orderId: string): Promise<AttemptRecord[]>;
  /**
   * History: deletes every record that is not open (`pending`, `unknown`)
   * and was last updated before `before` (wall-clock epoch ms): retention.
   * Open records are the guard's to delete. Resolves how many were deleted.
   */
  prune?(before: number): Promise<number>;
  /** Optional: a storage-level problem noticed while loading (torn line…), for the journal. */
  warnings?(): string[];
  /**
   * Optional: the store object of this process that this one took its
   * storage over from when it opened (a second `fileStore` on the same path:
   * a hot reload), or that last held it and was closed since, if any. The
   * guard over this store then sees what the guard over that one still has
   * out (a charge's submit, a `recover` call), and takes its answers in.
   */
  supersedes?(): GuardStore | undefined;
  close?(): Promise<void>;
}

/**
 * What a shared store tells a guard. A message between tabs is only a hint:
 * a `record` is what the store holds now (re-read from it, never taken from
 * the message), `unpersisted` is a record another process holds in memory
 * only (the guard lets it add a hold, never lift one), and `wiped` says the
 * storage was deleted under this process (site data cleared), so the guard
 * writes back what it holds.
 */
export type StoreChange =
  | { type: 'record'; record: AttemptRecord }
  | { type: 'unpersisted'; record: AttemptRecord }
  | { type: 'wiped'; detail: string }
  /** A shared store's catch-up after a cut-off found another terminal's approval of the same sale or order: see the `conflict` event. */
  | { type: 'conflict'; code: ConflictCode; attempts: readonly [own: string, other: string] }
  /**
   * A shared store's catch-up sent this record, written while cut off, to
   * the others: what it changes on its sale (an approved refund's share) is
   * counted again on their latest versions, which may have won over the one
   * written here. `known`: the versions of it known before (this terminal's,
   * and the database's it was merged with): money to recover its sale lists
   * beyond them (two refunds that each fitted on one side) is reported.
   * `reported`: the guard calls it once that report is journaled; until
   * then the store keeps what it needs to tell it again after a restart.
   */
  | { type: 'sent'; record: AttemptRecord; known?: readonly AttemptRecord[]; reported?: () => Promise<void> }
  /**
   * A value this store wrote with `initMeta` while cut off (kept here only)
   * is not what the others' database holds: another writer was first
   * (`held`). For the guard's key check: this terminal's secret is not the
   * merchant's.
   */
  | { type: 'meta-conflict'; key: string; held: string }
  /**
   * Something wrong with the store's records found after start-up (at
   * start-up it goes in `warnings()`): a shared store's catch-up found its
   * terminal's journal rows end before the head kept beside them. Journaled
   * (`storage`); the guard goes on.
   */
  | { type: 'problem'; detail: string };

/** What a catch-up after a cut-off can find: a probable double charge, to refund. */
export type ConflictCode = 'DUPLICATE_CHARGE' | 'ORDER_ALREADY_PAID';

/** What a shared store tells a claim's judge. */
export interface ClaimContext {
  /** The store could not reach the others and judged on this terminal's own records (`SHARED_UNAVAILABLE`). */
  readonly cutOff: boolean;
}

/** What `GuardStore.attach` is told of the guard over the store. */
export interface StoreOwner {
  readonly merchantId: string;
  readonly terminalId: string | undefined;
  /** `window`, in ms: what a catch-up's conflict check measures approvals against. */
  readonly windowMs: number;
  readonly pendingTimeoutMs: number;
  /** `retention`, in ms: a store several terminals share keeps history for the longest any of them asks. */
  readonly retentionMs?: number;
  /** The guard's clock and timers: a store's own timeouts and retries follow them (and the QA scenarios' virtual time). */
  readonly clock: Clock;
  readonly scheduler: Scheduler;
}

/** What start-up asks a store with history for: see `GuardStore.load` and `isHot`. */
export interface LoadScope {
  /** Wall-clock epoch ms: records updated at or after it are hot. */
  readonly since: number;
}

/** What a reservation reads in a shared store: see `GuardStore.claim`. */
export interface Claim {
  /** Keys the record is filed under while live: its fingerprint, its order, a refund's original. */
  readonly keys: readonly string[];
  /** Records handed back by id, live or not: a refund's original. */
  readonly ids: readonly string[];
}

export type GuardEvent =
  | { type: 'decision'; decision: Decision; peek: boolean }
  | { type: 'override'; decision: Decision; operator: string; reason: string; supervisor?: string; lifted: readonly ReasonCode[] }
  | { type: 'settle'; record: AttemptRecord; from: AttemptStatus }
  | { type: 'resume'; record: AttemptRecord }
  | { type: 'storage-error'; error: unknown; operation: string }
  | { type: 'clock-anomaly'; driftMs: number }
  | { type: 'prune'; attemptId: string; status: AttemptStatus }
  /**
   * A listener threw: `error` is what it threw, `event` the type of the event
   * it was given. Reported here, never rethrown, so a broken listener cannot
   * break a charge or end the process. Without a listener for this event the
   * error goes to `console.error`; a listener of this event that throws is ignored.
   */
  /** A processor answer that arrived after the attempt was settled otherwise: journaled, not applied. An approval here is a probable double charge. */
  | { type: 'late-answer'; attemptId: string; answer: AttemptStatus; status: AttemptStatus }
  /** A shared store's catch-up found this terminal's attempt and another's both charged for one sale or order: refund one. */
  | { type: 'conflict'; code: ConflictCode; attempts: readonly [own: string, other: string] }
  /** One `recover` call for an unknown attempt: its answer, or what it threw. */
  | { type: 'recover'; attemptId: string; try: number; outcome?: Outcome; error?: unknown }
  /** The last scheduled try left the attempt unknown: for a person to settle (once per attempt). */
  | { type: 'recovery-exhausted'; attemptId: string; tries: number }
  /**
   * `charge`'s `submit` resolved something that is not `{ approved: true |
   * false, … }`: a bug in the app, not a network failure. The attempt was
   * settled `unknown` (or, for a late answer, stays so); `error` says what was resolved.
   */
  | { type: 'invalid-submit-result'; attemptId: string; error: GuardInputError }
  | { type: 'listener-error'; error: unknown; event: Exclude<GuardEvent['type'], 'listener-error'> };

export type GuardEventType = GuardEvent['type'];
export type GuardEventOf<T extends GuardEventType> = Extract<GuardEvent, { type: T }>;

export interface GuardOptions {
  /** Required. */
  merchantId: string;
  terminalId?: string;
  /** Required: the HMAC key for fingerprints, at least 16 bytes. */
  secret: string | Uint8Array;
  /** @default memoryStore() */
  store?: GuardStore;
  /** How long an approved sale makes the same sale a `DUPLICATE_CHARGE`. @default '10m' */
  window?: Duration;
  /** A `pending` older than this reports as `unknown`. @default '2m' */
  pendingTimeout?: Duration;
  /** How long settled records are kept. @default '24h' */
  retention?: Duration;
  /** Answers a supervisor override of a `block`; only `true` authorises. */
  authorize?: (request: AuthorizeRequest) => boolean | Promise<boolean>;
  /** @default { now: Date.now, monotonic: performance.now } */
  clock?: Clock;
  /** @default real timers (`setTimeout`), driven by `clock` in tests */
  scheduler?: Scheduler;
  /** @default 'en' */
  locale?: Locale;
  /** @default 'prompt' */
  onStorageError?: StorageErrorPolicy;
  /**
   * What a decision becomes while a shared store (`postgresStore` with
   * `local`) is cut off from the other terminals: it always carries the
   * warning `SHARED_UNAVAILABLE`; `'prompt'` or `'block'` also hold the sale.
   * @default 'allow'
   */
  onSharedUnavailable?: SharedUnavailablePolicy;
  /**
   * Resolves an `unknown` attempt without a person: ask the
   * processor (a status inquiry first, then a reversal, 冲正) and answer an
   * outcome (`approved`, `declined`, `cancelled`, `voided`), or `undefined`
   * while it is still unknown. Called first `recoverAfter` after the attempt
   * became unknown, then with doubling delays, `recoverTries` times.
   */
  recover?: (attempt: AttemptRecord) => RecoverAnswer | Promise<RecoverAnswer>;
  /** @default '5s' */
  recoverAfter?: Duration;
  /** @default 3 */
  recoverTries?: number;
  /**
   * Start a new history when the store was written with another `secret`
   * (the old records are dropped). Without it, `createGuard` rejects with
   * `GuardConfigError` code `SECRET_CHANGED`. Never on a store several
   * terminals share (one with `attach`, e.g. postgresStore): its history is
   * every lane's, and it rejects `SECRET_CHANGED` either way.
   * @default false
   */
  resetOnSecretChange?: boolean;
}
