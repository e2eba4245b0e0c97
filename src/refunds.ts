import { GuardStateError } from './errors.js';
import { withChanges } from './record.js';
import type { AttemptRecord, GuardEvent, JournalEntry } from './types.js';

/**
 * How refund attempts move their original sale's refunded sum (SPEC §2).
 * The original lists each refund it counts, so applying one is idempotent —
 * a retried settle, or start-up after a crash between the refund's write and
 * the original's, repairs rather than double-counts — and voiding a refund
 * takes back exactly what it added.
 *
 * No refund is ever recorded as zero. The refunded sum stops at the sale's
 * amount (it is what the rules compare against), but a refund that paid out
 * beyond what remained (an overridden REFUND_EXCEEDS_CHARGE, or two refunds
 * that both came back approved) is listed with its real `amount` and the part
 * of it the sum could not hold as `over`: money to recover from the customer,
 * which the guard journals and emits (see `overRefund`).
 */

/**
 * One refund in an original's `refunds` list: `amount` is what the refund
 * paid out, `over` (when present) the part of it beyond what remained on the
 * sale, not counted in `refunded`. Lists written before `over` existed hold
 * what was counted as `amount`, which reads the same way.
 */
export interface RefundEntry {
  id: string;
  amount: number;
  over?: number;
}

/**
 * Whether refunds move `original`'s sum: an approved (or fully refunded)
 * sale. A voided one is released for good, whatever its refunds do later.
 */
const refundable = (original: AttemptRecord): boolean =>
  original.kind === 'sale' && (original.status === 'approved' || original.status === 'refunded');

/** The original after `refund` was approved, or `undefined` when nothing changes. */
export function applyRefund(original: AttemptRecord, refund: AttemptRecord, now: number): AttemptRecord | undefined {
  if (original.kind !== 'sale' || original.refunds?.some((r) => r.id === refund.id)) return undefined;
  // A refund paid out on a sale voided meanwhile (its reversal went through
  // too): the whole refund is money to recover. Listed as over, the sale stays voided.
  if (original.status === 'voided') {
    return withChanges(original, {
      updatedAt: now,
      refunds: [...(original.refunds ?? []), { id: refund.id, amount: refund.amount, over: refund.amount }],
    });
  }
  if (!refundable(original)) return undefined;
  return listed(original, refund.id, refund.amount, now);
}

/**
 * `sale` voided on a terminal cut off while refunds were paid out on it
 * elsewhere: the reversal returned the whole amount, so each refund listed
 * is money to recover, all of it over, and nothing counts as refunded.
 */
export function voidedOver(sale: AttemptRecord, now: number): AttemptRecord {
  const refunds = sale.refunds?.map(({ id, amount }) => ({ id, amount, over: amount }));
  return withChanges(sale, { status: 'voided', refunded: 0, updatedAt: now, refunds });
}

/**
 * The original after an approved `refund` was voided, or `undefined` when it
 * never counted. The others are listed again, in order, on what the sale
 * had without any of them: an over-refund then counts in the room the voided
 * one frees, since its money did go back to the customer.
 */
export function revokeRefund(original: AttemptRecord, refund: AttemptRecord, now: number): AttemptRecord | undefined {
  const refunds = original.refunds ?? [];
  if (original.kind !== 'sale' || !refunds.some((r) => r.id === refund.id)) return undefined;
  // On a voided sale every listed refund is money to recover (see applyRefund): one reversed since is not.
  if (original.status === 'voided') return withChanges(original, { updatedAt: now, refunds: refunds.filter((r) => r.id !== refund.id) });
  if (!refundable(original)) return undefined;
  let record = refundedBy(original, -refunds.reduce((sum, r) => sum + r.amount - overOf(r), 0), now, []);
  for (const r of refunds) if (r.id !== refund.id) record = listed(record, r.id, r.amount, now);
  return record;
}

/** `record` with refund `id` of `amount` listed: counted up to what remains, the rest as `over`. */
function listed(record: AttemptRecord, id: string, amount: number, now: number): AttemptRecord {
  const over = Math.max(0, amount - Math.max(0, record.amount - record.refunded));
  const entry: RefundEntry = over > 0 ? { id, amount, over } : { id, amount };
  return refundedBy(record, amount - over, now, [...(record.refunds ?? []), entry]);
}

/** `record` with `amount` more refunded (or less, when negative): fully refunded is `refunded`, anything less `approved`. */
export function refundedBy(record: AttemptRecord, amount: number, now: number, refunds = record.refunds): AttemptRecord {
  const refunded = record.refunded + amount;
  // An undefined `refunds` (a sale never refunded by an attempt) stays out of the record: makeRecord adds only the rare fields present.
  return withChanges(record, { refunded, status: refunded >= record.amount ? 'refunded' : 'approved', updatedAt: now, refunds });
}

/**
 * What a refund made outside the guard (`settle(id, { status: 'refunded',
 * amount })`) adds to `original`: `amount`, or without one the rest. A
 * refund attempt of it whose outcome is open (`open`: the index's
 * `openRefundsOf`) may have paid out, so it counts as refunded here too
 * (SPEC §3): an amount above what remains after those, or no rest at all,
 * is a `GuardStateError` that names them — settle them first — never a
 * refund of 0 nor a sum beyond the sale.
 */
export function externalRefund(original: AttemptRecord, amount: number | undefined, open: readonly AttemptRecord[]): number {
  const inDoubt = open.reduce((sum, r) => sum + r.amount, 0);
  const remaining = Math.max(0, original.amount - original.refunded - inDoubt);
  const refund = amount ?? remaining;
  if (refund > remaining || refund === 0) {
    // Names the open refunds, if any: settling them is the way forward.
    throw new GuardStateError(
      'REFUND_EXCEEDS_CHARGE',
      `\`amount\` ${amount ?? 'the rest'} exceeds what remains unrefunded on attempt ${original.id} (${remaining}; open refunds: [${open.map((r) => r.id).join(',')}])`,
      { field: 'amount' },
    );
  }
  return refund;
}

/**
 * The journal entry and event for `refund` having paid out more than
 * remained on `original` (now `updated`), or `undefined` when it fit. The
 * event is a `settle` of the original, whose `refunds` list shows the excess.
 */
export function overRefund(
  original: AttemptRecord,
  updated: AttemptRecord,
  refund: AttemptRecord,
  now: number,
): { entry: JournalEntry; event: GuardEvent } | undefined {
  // What applyRefund did not count of it.
  const over = refund.amount - updated.refunded + original.refunded;
  if (over <= 0) return undefined;
  return {
    entry: { at: now, type: 'settle', attemptId: original.id, amount: over, detail: `over-refund by ${refund.id}` },
    event: { type: 'settle', record: updated, from: original.status },
  };
}

/** The part of a listed refund beyond what remained when it was applied. A value a store mangled counts as none. */
function overOf(entry: { amount: number }): number {
  const over = (entry as RefundEntry).over as number;
  return Number.isSafeInteger(over) && over > 0 ? Math.min(over, entry.amount) : 0;
}
