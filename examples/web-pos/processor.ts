/**
 * A simulated card processor that deduplicates by idempotency key, the way
 * Stripe, Adyen and Square do: the first request with a key decides the
 * outcome and moves the money; a repeat of that key gets the original answer
 * back and charges nothing.
 *
 * Plain logic, no I/O: the web example puts it behind HTTP (`server.ts`), the
 * Node example calls it in-process (`../node-checkout.ts`). It only ever sees
 * what a real gateway request from this till would carry: an idempotency key,
 * the amount and the card's last 4 — never a card number.
 */

/** How the simulated processor and the network in front of it behave. */
export type ProcessorMode =
  /** Approve at once. */
  | 'approve'
  /** Decline with insufficient funds (no money moves). */
  | 'decline'
  /** The charge goes through, but its answer is lost: the till hears nothing. */
  | 'timeout'
  /** Approve, answering after {@link SLOW_MS}. */
  | 'slow';

export const PROCESSOR_MODES: readonly ProcessorMode[] = ['approve', 'decline', 'timeout', 'slow'];

/** How long a `slow` answer takes. */
export const SLOW_MS = 3000;

export interface ChargeRequest {
  idempotencyKey: string;
  /** Minor units. */
  amount: number;
  currency: string;
  /** For the ledger only; `undefined` for wallet tokens. */
  last4?: string;
}

/** What the processor answers. Mirrors the guard's `SubmitResult`. */
export type ChargeAnswer = { approved: true; authCode: string; processorRef: string } | { approved: false; code: string; message: string };

/** One line of the processor's ledger: a key it has seen, and what it decided. */
export interface LedgerEntry {
  idempotencyKey: string;
  amount: number;
  currency: string;
  last4?: string;
  status: 'approved' | 'declined';
  answer: ChargeAnswer;
  /** Epoch ms of the first request with this key. */
  at: number;
  /** Requests seen with this key: above 1 means retries were deduplicated. */
  requests: number;
}

/** What to do with one request: the answer, and how the network delivers it. */
export interface Handled {
  answer: ChargeAnswer;
  /** `'lost'`: the till never hears back (the money may still have moved). */
  delivery: { afterMs: number } | 'lost';
  /** Whether this request moved money (false for a deduplicated repeat). */
  charged: boolean;
}

export class IdempotencyMismatchError extends Error {
  override readonly name = 'IdempotencyMismatchError';
}

export class SimulatedProcessor {
  #mode: ProcessorMode = 'approve';
  readonly #ledger = new Map<string, LedgerEntry>();
  #sequence = 0;

  get mode(): ProcessorMode {
    return this.#mode;
  }

  set mode(mode: ProcessorMode) {
    if (!PROCESSOR_MODES.includes(mode)) throw new TypeError(`unknown processor mode ${JSON.stringify(mode)}`);
    this.#mode = mode;
  }

  /**
   * Handle one charge request. A known key returns its original answer and
   * moves no money; the same key with another amount or currency is refused,
   * as real gateways refuse a key reused for a different request.
   */
  charge(request: ChargeRequest, now = Date.now()): Handled {
    const seen = this.#ledger.get(request.idempotencyKey);
    if (seen) {
      if (seen.amount !== request.amount || seen.currency !== request.currency) {
        throw new IdempotencyMismatchError(`idempotency key ${request.idempotencyKey} was first used for another amount or currency`);
      }
      this.#ledger.set(seen.idempotencyKey, { ...seen, requests: seen.requests + 1 });
      return { answer: seen.answer, delivery: this.#delivery(), charged: false };
    }
    const answer = this.#decide();
    this.#ledger.set(request.idempotencyKey, {
      idempotencyKey: request.idempotencyKey,
      amount: request.amount,
      currency: request.currency,
      ...(request.last4 === undefined ? {} : { last4: request.last4 }),
      status: answer.approved ? 'approved' : 'declined',
      answer,
      at: now,
      requests: 1,
    });
    return { answer, delivery: this.#delivery(), charged: answer.approved };
  }

  /** The ledger entry for a key: what "check with the processor" looks up. */
  find(idempotencyKey: string): LedgerEntry | undefined {
    return this.#ledger.get(idempotencyKey);
  }

  /** Every key seen, oldest first. */
  ledger(): LedgerEntry[] {
    return [...this.#ledger.values()];
  }

  reset(): void {
    this.#ledger.clear();
    this.#mode = 'approve';
    this.#sequence = 0;
  }

  #decide(): ChargeAnswer {
    const n = ++this.#sequence;
    if (this.#mode === 'decline') return { approved: false, code: 'insufficient_funds', message: 'Insufficient funds' };
    return {
      approved: true,
      authCode: `A${String(n).padStart(5, '0')}`,
      processorRef: `ch_${n.toString(36)}${Math.random().toString(36).slice(2, 8)}`,
    };
  }

  #delivery(): Handled['delivery'] {
    if (this.#mode === 'timeout') return 'lost';
    return { afterMs: this.#mode === 'slow' ? SLOW_MS : 0 };
  }
}
