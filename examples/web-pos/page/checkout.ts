/**
 * The till's use of the guard, with no DOM in it: this is the part to read
 * when wiring pos-duplicate-guard into your own checkout. The view
 * (`main.ts`) supplies the dialogs through {@link CheckoutUi}.
 */
import {
  createGuard,
  type Attempt,
  type AttemptRecord,
  type Decision,
  type Guard,
  type Locale,
  type Sale,
  type SubmitResult,
} from '../../../src/index.js';
import { indexedDbStore } from '../../../src/idb.js';
import { findCharge, submitCharge } from './api.js';
import type { BlockChoice } from './dialogs.js';

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

/** What the checkout asks of the cashier. */
export interface CheckoutUi {
  confirmRepeat(decision: Decision, earlier: AttemptRecord[]): Promise<boolean>;
  chooseBlockAction(decision: Decision, earlier: AttemptRecord[]): Promise<BlockChoice>;
  /** Called by the guard's `authorize`: resolves whether the supervisor's PIN was right. */
  askSupervisorPin(supervisor: string, verify: (pin: string) => boolean): Promise<boolean>;
  /** The guard allowed the charge and it is on its way to the processor. */
  submitting(attempt: Attempt): void;
}

export type PayOutcome =
  | { kind: 'approved' | 'declined' | 'unknown'; record: AttemptRecord; resumed?: boolean }
  | { kind: 'reconciled'; record: AttemptRecord; foundAtProcessor: boolean }
  | { kind: 'in-flight'; decision: Decision; attemptId: string | undefined }
  | { kind: 'not-confirmed' | 'blocked' | 'override-refused'; decision: Decision };

export class Checkout {
  readonly guard: Guard;
  readonly locale: Locale;
  readonly #ui: CheckoutUi;
  readonly #timeoutMs: number;

  private constructor(guard: Guard, locale: Locale, ui: CheckoutUi, timeoutMs: number) {
    this.guard = guard;
    this.locale = locale;
    this.#ui = ui;
    this.#timeoutMs = timeoutMs;
  }

  /**
   * Opens the guard over this browser's IndexedDB. A reload opens the same
   * history: an attempt that was `pending` when the page went away comes back
   * `unknown`, because its charge may have gone through meanwhile.
   */
  static async open(locale: Locale, ui: CheckoutUi, timeoutMs: number): Promise<Checkout> {
    const guard = await createGuard({
      merchantId: MERCHANT_ID,
      terminalId: TERMINAL_ID,
      secret: SECRET,
      store: indexedDbStore({ name: DATABASE }),
      locale,
      // Longer than a charge may take (see `timeoutMs`): another tab's charge
      // reads `unknown` only once it can no longer be on its way.
      pendingTimeout: '30s',
      authorize: ({ supervisor }) => ui.askSupervisorPin(supervisor ?? SUPERVISOR, (pin) => pin === DEMO_PIN),
    });
    return new Checkout(guard, locale, ui, timeoutMs);
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
      timeout: this.#timeoutMs + 1000,
      confirm: async (decision) => this.#ui.confirmRepeat(decision, await this.#earlier(decision)),
      escalate: async (decision) => {
        const choice = await this.#ui.chooseBlockAction(decision, await this.#earlier(decision));
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
      if (next?.kind === 'check') return this.reconcile(next.attemptId);
      if (next?.kind === 'retry') return this.retryWithSameKey(next.attemptId);
      if (status === 'not-confirmed') return { kind: 'not-confirmed', decision };
      return { kind: escalated ? 'override-refused' : 'blocked', decision };
    });
  }

  /**
   * "Check with the processor": settle an unknown attempt from the
   * processor's record of its idempotency key.
   */
  async reconcile(attemptId: string): Promise<PayOutcome> {
    const record = await this.#require(attemptId);
    const charge = await findCharge(record.idempotencyKey);
    let settled: AttemptRecord;
    if (!charge) {
      // The request never reached the processor. (A real integration looks
      // this up only after the request's own timeout, so it cannot still arrive.)
      settled = await this.guard.settle(attemptId, {
        status: 'cancelled',
        code: 'NOT_AT_PROCESSOR',
        message: 'the processor has no charge with this idempotency key',
      });
    } else if (charge.answer.approved) {
      settled = await this.guard.settle(attemptId, {
        status: 'approved',
        authCode: charge.answer.authCode,
        processorRef: charge.answer.processorRef,
      });
    } else {
      settled = await this.guard.settle(attemptId, { status: 'declined', code: charge.answer.code, message: charge.answer.message });
    }
    return { kind: 'reconciled', record: settled, foundAtProcessor: charge !== undefined };
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
      this.#timeoutMs,
    );
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
