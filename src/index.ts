/**
 * pos-duplicate-guard: stops a POS terminal from charging a customer twice.
 * The public API at a glance; stores and tools live in their own entry points
 * (`pos-duplicate-guard/node`, `/idb`, `/postgres`, `/reconcile`, `/testing`).
 *
 * @module pos-duplicate-guard
 */
export { createGuard, Guard } from './guard.js';
export { memoryStore } from './stores/memory.js';
export type { MemoryStore, MemoryStoreOptions } from './stores/memory.js';
export {
  GuardError,
  GuardInputError,
  GuardConfigError,
  GuardStateError,
  GuardOverrideError,
  GuardStorageError,
  isGuardError,
} from './errors.js';
export type {
  GuardErrorName,
  GuardErrorOptions,
  GuardIssue,
  GuardErrorCode,
  GuardInputErrorCode,
  GuardConfigErrorCode,
  GuardStateErrorCode,
  GuardOverrideErrorCode,
  GuardStorageErrorCode,
} from './errors.js';
export type { Listener } from './events.js';
// What `guard.applyReconciliation` takes and returns; `reconcile` itself is in `pos-duplicate-guard/reconcile`.
export type { AppliedFinding, Finding, FindingAction, FindingCode, FindingTotal, ReconcileReport } from './reconcile/types.js';
export type { DurationRules } from './duration.js';
export { parseDuration } from './duration.js';
export { formatAge, formatMoney } from './messages.js';
export { claimOf, orderKey, staysFiled } from './claims.js';
export { isHot } from './history.js';
export { verifyJournal } from './journal/verify.js';
export type { JournalProblem, JournalVerification, VerifyJournalOptions } from './journal/verify.js';
export { JOURNAL_FROM, JOURNAL_HEAD, parseJournalFrom, parseJournalHead } from './journal/chain.js';
export type {
  Attempt,
  AttemptFilter,
  AttemptRecord,
  AttemptStatus,
  ApprovalDetails,
  AuthorizeRequest,
  CardInput,
  ChargeOptions,
  ChargeCause,
  ChargeResult,
  Claim,
  LoadScope,
  Clock,
  Scheduler,
  Decision,
  DeclineDetails,
  Duration,
  GuardEvent,
  GuardEventOf,
  GuardEventType,
  GuardOptions,
  GuardStore,
  JournalEntry,
  JournalHead,
  JournalSeal,
  SealedJournalEntry,
  Locale,
  Outcome,
  OverrideNote,
  OverrideRequest,
  Reason,
  ReasonCode,
  RecoverAnswer,
  RecoverResult,
  RecoveryState,
  Sale,
  SaleKind,
  StorageErrorPolicy,
  SharedUnavailablePolicy,
  ClaimContext,
  ConflictCode,
  StoreOwner,
  StoreChange,
  SubmitResult,
  Verdict,
} from './types.js';
