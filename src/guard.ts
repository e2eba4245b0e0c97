import type { Listener } from './events.js';
import { createHasher, type Hasher } from './fingerprint.js';
import { resolveOptions, type ResolvedOptions } from './options.js';
import type {
  Attempt,
  AttemptFilter,
  AttemptRecord,
  ChargeOptions,
  ChargeResult,
  Decision,
  GuardEventType,
  GuardOptions,
  Outcome,
  OverrideRequest,
  RecoverResult,
  Sale,
  SubmitResult,
} from './types.js';
import { charge } from './guard/charge.js';
import { createContext, type GuardContext } from './guard/context.js';
import { begin, override, peek } from './guard/decide.js';
import { attempts, get } from './guard/query.js';
import { resume, settle } from './guard/settle.js';
import { close, hydrate } from './guard/start.js';
import { recoverNow } from './guard/recover.js';
import { applyReconciliation } from './guard/reconcile.js';
import type { AppliedFinding, ReconcileReport } from './reconcile/types.js';

// The guard's parts live under src/guard/, one concern a module, sharing one
// GuardContext; this class is their public face.

/**
 * Create a guard: resolves and validates options, checks the secret against
 * the store, and hydrates the index from it.
 *
 * @example
 * const guard = await createGuard({ merchantId: 'M-0001', secret: process.env.GUARD_SECRET! });
 */
export async function createGuard(options: GuardOptions): Promise<Guard> {
  const resolved = resolveOptions(options);
  return Guard[CREATE](resolved, createHasher(resolved.secret));
}

/** Keys the factory `createGuard` uses: module-private, so a guard exists only hydrated. */
const CREATE = Symbol('create');

export class Guard {
  readonly #c: GuardContext;

  /** @internal */
  static async [CREATE](options: ResolvedOptions, hasher: Hasher): Promise<Guard> {
    const guard = new Guard(options, hasher);
    await hydrate(guard.#c);
    // What start-up emitted reaches listeners attached right after `await createGuard(…)`, up to the next turn.
    guard.#c.events.opened((end) => options.scheduler.after(0, end));
    return guard;
  }

  // Private: a guard that was never hydrated would answer from an empty index (use createGuard).
  private constructor(options: ResolvedOptions, hasher: Hasher) {
    this.#c = createContext(this, options, hasher);
  }

  // ── evaluation (guard/decide.ts) ──────────────────────────────────────

  /**
   * Evaluate a sale before submitting it. On `allow`, reserves a `pending`
   * attempt synchronously (so a concurrent `begin` of the same sale sees it)
   * and persists it before resolving: pass `attempt.idempotencyKey` to the processor.
   */
  begin(sale: Sale): Promise<Decision> {
    return begin(this.#c, sale);
  }

  /** The same evaluation as `begin`, without reserving or recording anything. */
  peek(sale: Sale): Promise<Decision> {
    return peek(this.#c, sale);
  }

  /**
   * Proceed despite a `prompt` (operator + reason) or an overridable `block`
   * (the guard's `authorize` must answer `true`). The sale is re-evaluated:
   * the override lifts only the reason codes it was shown.
   */
  override(decision: Decision, request: OverrideRequest): Promise<Decision> {
    return override(this.#c, decision, request);
  }

  // ── lifecycle (guard/settle.ts) ───────────────────────────────────────

  /**
   * Record what happened to an attempt. Illegal transitions throw
   * `GuardStateError` and change nothing; settling to the current status is a
   * no-op (a retried call). Works after a restart, by id.
   */
  async settle(attemptId: string, outcome: Outcome): Promise<AttemptRecord> {
    // Async, as it always was: it adds the same microtask turns before a settle resolves.
    return settle(this.#c, attemptId, outcome, false);
  }

  /**
   * Put an `unknown` attempt back to `pending` with the same idempotency key:
   * the safe retry after a timeout, deduplicated by the processor.
   */
  resume(attemptId: string): Promise<Attempt> {
    return resume(this.#c, attemptId);
  }

  // ── unknown outcomes (guard/recover.ts) ───────────────────────────────

  /**
   * One `recover` try now (a till's "Check with the processor" button), for
   * one attempt or for every unknown one, exhausted ones included. Counts as
   * a try, never resets the count, and does nothing to an attempt that is not
   * `unknown`. Resolves with each attempt's status after its try.
   */
  recoverNow(attemptId?: string): Promise<RecoverResult[]> {
    return recoverNow(this.#c, attemptId);
  }

  // ── reconciliation (guard/reconcile.ts) ───────────────────────────────

  /**
   * Settles what a `reconcile` report (from `pos-duplicate-guard/reconcile`)
   * proves about `unknown` attempts: `UNKNOWN_WAS_CHARGED` → approved (with
   * the charge's id as `processorRef`), `UNKNOWN_NOT_CHARGED` → cancelled,
   * `UNKNOWN_WAS_REVERSED` → voided; exact findings, and probable
   * `UNKNOWN_WAS_CHARGED` (the safe direction). Each is journaled as a
   * `reconcile` entry. Only an attempt still `unknown` is touched, so
   * applying a report twice equals once. Resolves with what it settled.
   */
  applyReconciliation(report: ReconcileReport): Promise<AppliedFinding[]> {
    return applyReconciliation(this.#c, report);
  }

  // ── queries (guard/query.ts) ──────────────────────────────────────────

  /** A snapshot of one attempt, or `undefined`. A stale `pending` reads `unknown`. */
  get(attemptId: string): Promise<AttemptRecord | undefined> {
    return get(this.#c, attemptId);
  }

  /** Attempts matching a filter, oldest first; `{ status: 'unknown' }` lists what needs reconciling. */
  attempts(filter: AttemptFilter = {}): Promise<AttemptRecord[]> {
    return attempts(this.#c, filter);
  }

  // ── one-call path (guard/charge.ts) ───────────────────────────────────

  /**
   * begin → confirm a prompt / escalate a block → submit → settle. A throw or
   * a timeout in `submit` settles as `unknown`: the charge may have gone
   * through. If a timed-out submit answers later, its answer is recorded.
   */
  charge(sale: Sale, submit: (attempt: Attempt) => Promise<SubmitResult>, options: ChargeOptions = {}): Promise<ChargeResult> {
    return charge(this.#c, sale, submit, options);
  }

  // ── events, shutdown ──────────────────────────────────────────────────

  /** Observe the guard: `decision`, `override`, `settle`, `resume`, `storage-error`, `clock-anomaly`, `prune`, `late-answer`, `conflict`, `recover`, `recovery-exhausted`, `invalid-submit-result`, `listener-error`. Returns an unsubscribe. */
  on<T extends GuardEventType>(type: T, listener: Listener<T>): () => void {
    return this.#c.events.on(type, listener);
  }

  /** Stops the `recover` schedule (waiting for a try in progress), waits for pending writes and closes the store. Further calls throw `GuardStateError`. */
  close(): Promise<void> {
    return close(this.#c);
  }
}
