/**
 * The till's use of the guard, with no DOM in it: this is the part to read
 * when wiring pos-duplicate-guard into your own checkout. The view
 * (`main.ts`) supplies the dialogs through {@link CheckoutUi}.
 */
import {
  createGuard,
  type Attempt,
  type AttemptRecord,
  type AttemptStatus,
  type Decision,
  type Guard,
  type Locale,
  type RecoverAnswer,
  type RecoverResult,
  type Sale,
  type SubmitResult,
} from '../../../src/index.js';
import { indexedDbStore, type IndexedDbStore } from '../../../src/idb.js';
import { inquire, reverse, submitCharge } from './api.js';
import type { BlockActions, BlockChoice } from './dialogs.js';

export const MERCHANT_ID = 'M-0001';
export const TERMINAL_ID = 'T-01';
export const CURRENCY = 'USD';
export const OPERATOR = 'cashier-1';
export const SUPERVISOR = 'SUP-01';
/** Shown on screen: this is a demo. A real till checks the PIN with its back office. */
export const DEMO_PIN = '2468';
// A real till has its secret provisioned per merchant (and never in page
// source); the fingerprints in IndexedDB are only as private as this key.
const SECRET = 'web-pos-demo-secret-0123456789';
const DATABASE = 'web-pos-demo';

/** What the checkout asks of the cashier, and tells the screen. */
export interface CheckoutUi {
  confirmRepeat(decision: Decision, earlier: AttemptRecord[]): Promise<boolean>;
  /** `actions` lets the dialog check with the processor without closing, and close itself once the attempt is settled. */
  chooseBlockAction(decision: Decision, earlier: AttemptRecord[], actions: BlockActions): Promise<BlockChoice>;
  /** Called by the guard's `authorize`: resolves whether the supervisor's PIN was right. */
  askSupervisorPin(supervisor: string, verify: (pin: string) => boolean): Promise<boolean>;
  /** The guard allowed the charge and it is on its way to the processor. */
  submitting(attempt: Attempt): void;
  /** A check with the processor started (`true`) or ended for this attempt: scheduled, or "Check with the processor". */
  checking(attemptId: string, busy: boolean): void;
  /** What each check found (the guard's `recover` event), and when the guard gave up (`recovery-exhausted`). */
  recovery(note: RecoveryNote): void;
}

export type RecoveryNote =
  | {
      kind: 'try';
      /** The attempt after the try. */
      record: AttemptRecord;
      try: number;
      /** Started by "Check with the processor" (its caller shows the result), not by the schedule. */
      manual: boolean;
      /** What `recover` threw (no answer from the processor), when it did. */
      error?: unknown;
      /** Scheduled checks left. */
      triesLeft: number;
    }
  | { kind: 'exhausted'; record: AttemptRecord; tries: number };

/** How the till talks to the processor and resolves unknown outcomes. */
export interface TillSettings {
  /** How long a request to the processor may take before the till gives up on it. */
  timeoutMs: number;
  /** The first automatic check this long after an attempt became unknown (then doubling delays). */
  recoverAfterMs: number;
  /** Automatic checks before an unknown attempt is left for a person; 0: only "Check with the processor". */
  recoverTries: number;
}

export type PayOutcome =
  | { kind: 'approved' | 'declined' | 'unknown'; record: AttemptRecord; resumed?: boolean }
  /** "Check with the processor" ran: `record` is the attempt after it (maybe still unknown, with `error`). */
  | { kind: 'reconciled'; record: AttemptRecord; error?: unknown; triesLeft: number }
  | { kind: 'in-flight'; decision: Decision; attemptId: string | undefined }
  | { kind: 'not-confirmed' | 'blocked' | 'override-refused'; decision: Decision };

/**
 * The guard's `recover` (SPEC §10): status inquiry first, reversal (冲正)
 * second. Each request gives up after `timeoutMs`, and a rejection means
 * "still unknown": the guard asks again on its schedule.
 */
export async function askProcessor(attempt: AttemptRecord, timeoutMs: number): Promise<RecoverAnswer> {
  const found = await inquire(attempt.idempotencyKey, timeoutMs);
  if (!found.found) {
    // Never received. Trustworthy because the till asks only after its own
    // request has been given up on (and `recoverAfter` later): it cannot still arrive.
    return { status: 'cancelled', code: 'NOT_AT_PROCESSOR', message: 'the processor has no charge with this idempotency key' };
  }
  if (found.captured) return { status: 'approved', authCode: found.authCode, processorRef: found.processorRef };
  if (found.state === 'declined') {
    return { status: 'declined', ...(found.code ? { code: found.code } : {}), ...(found.message ? { message: found.message } : {}) };
  }
  // Found but not captured: a hold on the card. Release it (冲正); until acknowledged it stays unknown.
  const reversal = await reverse(attempt.idempotencyKey, timeoutMs);
  return reversal.acknowledged ? { status: 'voided', code: 'REVERSED', message: 'reversed at the processor (冲正)' } : undefined;
}

export class Checkout {
  readonly guard: Guard;
  readonly locale: Locale;
  readonly settings: TillSettings;
  readonly #ui: CheckoutUi;
  readonly #store: IndexedDbStore;
  /** Attempts with a check in progress in this tab. */
  readonly #busy = new Set<string>();
  /** Attempts whose check was started by "Check with the processor". */
  readonly #manual = new Set<string>();

  private constructor(guard: Guard, store: IndexedDbStore, locale: Locale, ui: CheckoutUi, settings: TillSettings) {
    this.guard = guard;
    this.#store = store;
    this.locale = locale;
    this.#ui = ui;
    this.settings = settings;
    guard.on('recover', (event) => {
      const manual = this.#manual.has(event.attemptId);
      // The try is over (its answer applied): the buttons come back, and the screen says what it found.
      this.#setBusy(event.attemptId, false);
      void this.guard.get(event.attemptId).then((record) => {
        if (!record) return;
        const triesLeft = Math.max(0, settings.recoverTries - (record.recovery?.tries ?? 0));
        this.#ui.recovery({
          kind: 'try',
          record,
          try: event.try,
          manual,
          ...(event.error !== undefined ? { error: event.error } : {}),
          triesLeft,
        });
      });
    });
    guard.on('recovery-exhausted', (event) => {
      void this.guard.get(event.attemptId).then((record) => record && this.#ui.recovery({ kind: 'exhausted', record, tries: event.tries }));
    });
  }

  /**
   * Opens the guard over this browser's IndexedDB. A reload opens the same
   * history: an attempt that was `pending` when the page went away comes back
   * `unknown`, because its charge may have gone through meanwhile, and the
   * guard's `recover` asks the processor about it `recoverAfterMs` later.
   */
  static async open(locale: Locale, ui: CheckoutUi, settings: TillSettings): Promise<Checkout> {
    // `recover` is first called `recoverAfter` after start-up at the earliest, by when this is set.
    const opened: { checkout?: Checkout } = {};
    const store = indexedDbStore({ name: DATABASE });
    const guard = await createGuard({
      merchantId: MERCHANT_ID,
      terminalId: TERMINAL_ID,
      secret: SECRET,
      store,
      locale,
      // Longer than a charge may take (see `timeoutMs`): another tab's charge
      // reads `unknown` only once it can no longer be on its way.
      pendingTimeout: '30s',
      authorize: ({ supervisor }) => ui.askSupervisorPin(supervisor ?? SUPERVISOR, (pin) => pin === DEMO_PIN),
      // Unknown outcomes resolved without a person: the guard calls this for
      // every unknown attempt, never twice at once for one (not across tabs either).
      recover: (attempt) => (opened.checkout ? opened.checkout.#recover(attempt) : askProcessor(attempt, settings.timeoutMs)),
      recoverAfter: settings.recoverAfterMs,
      recoverTries: settings.recoverTries,
    });
    opened.checkout = new Checkout(guard, store, locale, ui, settings);
    return opened.checkout;
  }

  /**
   * The guard's audit journal as JSON lines, one entry a line: it lives in
   * this browser's IndexedDB, so this is how the back office gets it, for
   * `pos-duplicate-guard journal report --journal <file>`.
   */
  async journalLines(): Promise<string> {
    return (await this.#store.journal()).map((entry) => `${JSON.stringify(entry)}\n`).join('');
  }

  /**
   * Press Pay. `guard.charge` is called before this function's first await,
   * so the attempt is reserved synchronously inside the click handler: a
   * second tap, even in the same event-loop turn, finds it and gets IN_FLIGHT.
   */
  pay(sale: Sale, last4: string | undefined): Promise<PayOutcome> {
    let followUp: BlockChoice | undefined;
    let escalated = false;
    const result = this.guard.charge(sale, (attempt) => this.#submit(attempt, last4), {
      // The request aborts after `timeoutMs` and that settles the attempt as
      // `unknown`; this is only the backstop.
      timeout: this.settings.timeoutMs + 1000,
      confirm: async (decision) => this.#ui.confirmRepeat(decision, await this.#earlier(decision)),
      escalate: async (decision) => {
        const choice = await this.#ui.chooseBlockAction(decision, await this.#earlier(decision), {
          check: (attemptId) => this.checkNow(attemptId),
          watch: (attemptId, changed) => this.#watch(attemptId, changed),
        });
        if (choice.kind === 'override') {
          escalated = true;
          return { operator: sale.operator ?? OPERATOR, reason: choice.reason, supervisor: SUPERVISOR };
        }
        followUp = choice;
        return false;
      },
    });
    return result.then(async ({ status, decision, attempt }): Promise<PayOutcome> => {
      if (attempt && (status === 'approved' || status === 'declined' || status === 'unknown')) return { kind: status, record: attempt };
      const inFlight = decision.reasons.find((reason) => reason.code === 'IN_FLIGHT');
      if (inFlight) return { kind: 'in-flight', decision, attemptId: inFlight.attemptId };
      // Read inside this callback, `followUp` has its declared type: the assignment above is seen.
      const next = followUp;
      if (next?.kind === 'checked') return this.#reconciled(next.attemptId, next.error);
      if (next?.kind === 'retry') return this.retryWithSameKey(next.attemptId);
      if (status === 'not-confirmed') return { kind: 'not-confirmed', decision };
      return { kind: escalated ? 'override-refused' : 'blocked', decision };
    });
  }

  /**
   * "Check with the processor" (the attempts list's "Reconcile" button):
   * one try of `recover` now, which counts as one of its tries.
   */
  async check(attemptId: string): Promise<PayOutcome> {
    const result = await this.checkNow(attemptId);
    return this.#reconciled(attemptId, result.error);
  }

  /**
   * `guard.recoverNow(attemptId)`, called before any await: a second tap in
   * the same turn joins this try instead of sending a second inquiry (the
   * guard runs one try at a time per attempt; the buttons are disabled too).
   */
  checkNow(attemptId: string): Promise<RecoverResult> {
    this.#manual.add(attemptId);
    this.#setBusy(attemptId, true);
    return this.guard
      .recoverNow(attemptId)
      .then(([result]) => result ?? { attemptId, status: 'unknown' as const })
      .finally(() => {
        this.#manual.delete(attemptId);
        this.#setBusy(attemptId, false);
      });
  }

  /**
   * "Retry with the same key": `resume` puts the attempt back to `pending`
   * with its original idempotency key, so the processor answers with the
   * first request's result instead of charging again.
   */
  async retryWithSameKey(attemptId: string): Promise<PayOutcome> {
    const { last4 } = await this.#require(attemptId);
    const attempt = await this.guard.resume(attemptId);
    let answer: SubmitResult;
    try {
      answer = await this.#submit(attempt, last4);
    } catch (error) {
      return {
        kind: 'unknown',
        record: await attempt.markUnknown({ message: error instanceof Error ? error.message : String(error) }),
        resumed: true,
      };
    }
    const record = answer.approved
      ? await attempt.approve({
          ...(answer.authCode ? { authCode: answer.authCode } : {}),
          ...(answer.processorRef ? { processorRef: answer.processorRef } : {}),
        })
      : await attempt.decline({ ...(answer.code ? { code: answer.code } : {}), ...(answer.message ? { message: answer.message } : {}) });
    return { kind: answer.approved ? 'approved' : 'declined', record, resumed: true };
  }

  close(): Promise<void> {
    return this.guard.close();
  }

  #submit(attempt: Attempt, last4: string | undefined): Promise<SubmitResult> {
    this.#ui.submitting(attempt);
    return submitCharge(
      { idempotencyKey: attempt.idempotencyKey, amount: attempt.amount, currency: attempt.currency, ...(last4 ? { last4 } : {}) },
      this.settings.timeoutMs,
    );
  }

  /** The scheduled and the manual tries both come through here: the screen shows the check as running. */
  #recover(attempt: AttemptRecord): Promise<RecoverAnswer> {
    this.#setBusy(attempt.id, true);
    // Cleared by the `recover` event, which comes once the answer is applied.
    return askProcessor(attempt, this.settings.timeoutMs);
  }

  #setBusy(attemptId: string, busy: boolean): void {
    if (busy === this.#busy.has(attemptId)) return;
    if (busy) this.#busy.add(attemptId);
    else this.#busy.delete(attemptId);
    this.#ui.checking(attemptId, busy);
  }

  /** Calls back with the attempt's new status whenever this guard settles or resumes it. */
  #watch(attemptId: string, changed: (status: AttemptStatus) => void): () => void {
    const stops = [
      this.guard.on('settle', (event) => event.record.id === attemptId && changed(event.record.status)),
      this.guard.on('resume', (event) => event.record.id === attemptId && changed(event.record.status)),
    ];
    return () => stops.forEach((stop) => stop());
  }

  async #reconciled(attemptId: string, error: unknown): Promise<PayOutcome> {
    const record = await this.#require(attemptId);
    const triesLeft = Math.max(0, this.settings.recoverTries - (record.recovery?.tries ?? 0));
    return { kind: 'reconciled', record, triesLeft, ...(error !== undefined ? { error } : {}) };
  }

  /** The earlier attempts a decision points at, for the cashier to see. */
  async #earlier(decision: Decision): Promise<AttemptRecord[]> {
    const ids = [...new Set(decision.reasons.flatMap((reason) => (reason.attemptId ? [reason.attemptId] : [])))];
    const records = await Promise.all(ids.map((id) => this.guard.get(id)));
    return records.filter((record): record is AttemptRecord => record !== undefined);
  }

  async #require(attemptId: string): Promise<AttemptRecord> {
    const record = await this.guard.get(attemptId);
    if (!record) throw new Error(`attempt ${attemptId} is not in this till's history`);
    return record;
  }
}
