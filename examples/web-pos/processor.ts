/**
 * A simulated card processor that deduplicates by idempotency key, the way
 * Stripe, Adyen and Square do: the first request with a key decides the
 * outcome and moves the money; a repeat of that key gets the original answer
 * back and charges nothing.
 *
 * It also answers what a till asks about a charge whose answer it never got
 * (SPEC §10): a status inquiry by idempotency key ({@link SimulatedProcessor.status})
 * and a reversal, 冲正 ({@link SimulatedProcessor.reverse}), which releases an
 * authorisation that was never captured.
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
  | 'slow'
  /**
   * Authorise (a hold on the card) without capturing, and lose the answer:
   * the till hears nothing, and the hold stays until a reversal releases it
   * or a retry with the same key completes the sale.
   */
  | 'hold'
  /**
   * The network is down: no request reaches the processor (charges, status
   * inquiries, reversals), nothing is charged, and the till hears nothing.
   */
  | 'unreachable';

export const PROCESSOR_MODES: readonly ProcessorMode[] = ['approve', 'decline', 'timeout', 'slow', 'hold', 'unreachable'];

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

/**
 * Where a charge stands: `approved` is captured (the money moved), `authorized`
 * a hold that was never captured, `reversed` a hold released by a reversal.
 */
export type LedgerStatus = 'approved' | 'declined' | 'authorized' | 'reversed';

export const LEDGER_STATUSES: readonly LedgerStatus[] = ['approved', 'declined', 'authorized', 'reversed'];

/** One line of the processor's ledger: a key it has seen, and what it decided. */
export interface LedgerEntry {
  idempotencyKey: string;
  amount: number;
  currency: string;
  last4?: string;
  status: LedgerStatus;
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

/**
 * A status inquiry's answer (by idempotency key): captured, with its auth
 * code; found but not captured (declined, a hold, or a hold already
 * reversed); or never seen.
 */
export type StatusAnswer =
  | { found: false }
  | { found: true; captured: true; authCode: string; processorRef: string }
  | { found: true; captured: false; state: 'declined' | 'authorized' | 'reversed'; code?: string; message?: string };

/**
 * A reversal's answer (冲正). Acknowledged: nothing of that charge is on the
 * card any more (a hold released, or nothing was ever taken). Not
 * acknowledged: the charge was captured, and only a refund can give the
 * money back.
 */
export type ReversalAnswer = { acknowledged: true; reversed: boolean } | { acknowledged: false; code: string; message: string };

/** A request that reached the processor, in arrival order (tests count them). */
export interface ProcessorRequest {
  type: 'charge' | 'status' | 'reversal';
  idempotencyKey: string;
  /** Epoch ms. */
  at: number;
}

export class IdempotencyMismatchError extends Error {
  override readonly name = 'IdempotencyMismatchError';
}

/** Thrown by every request while the mode is `unreachable`: a caller that ignores {@link SimulatedProcessor.reachable} learns it. */
export class ProcessorUnreachableError extends Error {
  override readonly name = 'ProcessorUnreachableError';
}

export class SimulatedProcessor {
  #mode: ProcessorMode = 'approve';
  readonly #ledger = new Map<string, LedgerEntry>();
  readonly #requests: ProcessorRequest[] = [];
  #sequence = 0;

  get mode(): ProcessorMode {
    return this.#mode;
  }

  set mode(mode: ProcessorMode) {
    if (!PROCESSOR_MODES.includes(mode)) throw new TypeError(`unknown processor mode ${JSON.stringify(mode)}`);
    this.#mode = mode;
  }

  /** Whether a request can reach the processor now (not in mode `unreachable`): the server drops it otherwise. */
  get reachable(): boolean {
    return this.#mode !== 'unreachable';
  }

  /**
   * Handle one charge request. A known key returns its original answer and
   * moves no money; the same key with another amount or currency is refused,
   * as real gateways refuse a key reused for a different request.
   */
  charge(request: ChargeRequest, now = Date.now()): Handled {
    this.#arrive('charge', request.idempotencyKey, now);
    const seen = this.#ledger.get(request.idempotencyKey);
    if (seen) {
      if (seen.amount !== request.amount || seen.currency !== request.currency) {
        throw new IdempotencyMismatchError(`idempotency key ${request.idempotencyKey} was first used for another amount or currency`);
      }
      // A retry with the key of a hold completes the sale: the hold is captured, still one charge.
      const captured = seen.status === 'authorized' && this.#mode !== 'hold';
      // A reversed key is spent: the sale needs a new attempt (a new key).
      const answer: ChargeAnswer =
        seen.status === 'reversed' ? { approved: false, code: 'reversed', message: 'This charge was reversed' } : seen.answer;
      this.#ledger.set(seen.idempotencyKey, { ...seen, ...(captured ? { status: 'approved' } : {}), requests: seen.requests + 1 });
      return { answer, delivery: this.#delivery(), charged: captured };
    }
    const answer = this.#decide();
    this.#ledger.set(request.idempotencyKey, {
      idempotencyKey: request.idempotencyKey,
      amount: request.amount,
      currency: request.currency,
      ...(request.last4 === undefined ? {} : { last4: request.last4 }),
      status: !answer.approved ? 'declined' : this.#mode === 'hold' ? 'authorized' : 'approved',
      answer,
      at: now,
      requests: 1,
    });
    return { answer, delivery: this.#delivery(), charged: answer.approved && this.#mode !== 'hold' };
  }

  /**
   * A status inquiry (Adyen TransactionStatus, Stripe "retrieve the
   * PaymentIntent"): what became of the charge with this key. Answered at
   * once in every mode but `unreachable`: it is the charge's answer that
   * `timeout` and `hold` lose.
   */
  status(idempotencyKey: string, now = Date.now()): StatusAnswer {
    this.#arrive('status', idempotencyKey, now);
    const entry = this.#ledger.get(idempotencyKey);
    if (!entry) return { found: false };
    const { answer } = entry;
    if (entry.status === 'approved' && answer.approved) {
      return { found: true, captured: true, authCode: answer.authCode, processorRef: answer.processorRef };
    }
    if (entry.status === 'declined' && !answer.approved) {
      return { found: true, captured: false, state: 'declined', code: answer.code, message: answer.message };
    }
    return { found: true, captured: false, state: entry.status === 'reversed' ? 'reversed' : 'authorized' };
  }

  /**
   * A reversal (ISO 8583 0400, 银联 冲正) of the charge with this key:
   * releases a hold that was never captured. Acknowledged too when there is
   * nothing on the card (never seen, declined, already reversed); refused
   * for a captured charge, which only a refund undoes.
   */
  reverse(idempotencyKey: string, now = Date.now()): ReversalAnswer {
    this.#arrive('reversal', idempotencyKey, now);
    const entry = this.#ledger.get(idempotencyKey);
    if (entry?.status === 'approved') {
      return { acknowledged: false, code: 'already_captured', message: 'The charge was captured: refund it instead' };
    }
    if (entry?.status === 'authorized') this.#ledger.set(idempotencyKey, { ...entry, status: 'reversed' });
    return { acknowledged: true, reversed: entry?.status === 'authorized' || entry?.status === 'reversed' };
  }

  /** The ledger entry for a key: what "check with the processor" looks up. */
  find(idempotencyKey: string): LedgerEntry | undefined {
    return this.#ledger.get(idempotencyKey);
  }

  /** Every key seen, oldest first. */
  ledger(): LedgerEntry[] {
    return [...this.#ledger.values()];
  }

  /** The requests that reached the processor, oldest first: of one type, for one key, or all. */
  requests(filter: { type?: ProcessorRequest['type']; idempotencyKey?: string } = {}): ProcessorRequest[] {
    return this.#requests.filter(
      (request) =>
        (filter.type === undefined || request.type === filter.type) &&
        (filter.idempotencyKey === undefined || request.idempotencyKey === filter.idempotencyKey),
    );
  }

  reset(): void {
    this.#ledger.clear();
    this.#requests.length = 0;
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

  /** Every request passes here first: none reaches a processor behind a network that is down. */
  #arrive(type: ProcessorRequest['type'], idempotencyKey: string, at: number): void {
    if (!this.reachable) throw new ProcessorUnreachableError(`the processor is unreachable: the ${type} request never arrives`);
    this.#requests.push({ type, idempotencyKey, at });
  }

  #delivery(): Handled['delivery'] {
    if (this.#mode === 'timeout' || this.#mode === 'hold') return 'lost';
    return { afterMs: this.#mode === 'slow' ? SLOW_MS : 0 };
  }
}
