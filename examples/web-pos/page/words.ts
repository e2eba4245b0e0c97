/**
 * How the till words what the guard says, for a cashier: times on one line,
 * a sale number instead of an attempt ID, and UNKNOWN_OUTCOME without the
 * words "idempotency key" (the guard's own message names it; a cashier
 * needs only "retry safely", the button of that name).
 */
import { format } from 'date-fns/format';
import { formatAge, formatMoney, type AttemptRecord, type Locale, type Reason } from '../../../src/index.js';
import type { Strings } from './strings.js';

/**
 * 24-hour `09:41:07`, the same in both languages: short, never wrapped mid-time
 * (the page also keeps it `white-space: nowrap`), and read the same way on
 * a receipt. The seconds tell two quick taps apart.
 */
export function clockTime(epochMs: number): string {
  return format(epochMs, 'HH:mm:ss');
}

/**
 * The till's number for each attempt, by its place in this till's history
 * (oldest first, from 1), keyed by attempt ID and by idempotency key (the
 * processor ledger knows only the key). A demo's stand-in for a receipt
 * number: a real till prints its own and may pass it to the guard as
 * `orderId`.
 */
export function saleNumbers(history: readonly AttemptRecord[]): Map<string, number> {
  const numbers = new Map<string, number>();
  [...history]
    .sort((a, b) => a.createdAt - b.createdAt)
    .forEach((record, i) => {
      numbers.set(record.id, i + 1);
      numbers.set(record.idempotencyKey, i + 1);
    });
  return numbers;
}

/** "Sale 3"; for a request this till has no record of (another till's), the end of its ID. */
export function saleLabel(n: number | undefined, requestId: string, t: Strings): string {
  return n === undefined ? `…${requestId.slice(-6)}` : t.saleNumber(n);
}

/**
 * A reason as the cashier reads it: the guard's message, except for
 * UNKNOWN_OUTCOME, which is reworded from the earlier attempt's facts when
 * the till has that attempt (and left as the guard wrote it otherwise).
 */
export function reasonText(reason: Reason, earlier: AttemptRecord | undefined, t: Strings, locale: Locale): string {
  if (reason.code !== 'UNKNOWN_OUTCOME' || !earlier) return reason.message;
  const card = earlier.last4 ? t.cardEnding(earlier.last4) : t.thisCard;
  return t.unknownOutcome(formatMoney(earlier.amount, earlier.currency, locale), card, formatAge(reason.ageMs ?? 0, locale));
}
