import { GuardStateError } from './errors.js';
import { withChanges } from './record.js';
import type { AttemptRecord, AttemptStatus, GuardEvent, JournalEntry } from './types.js';

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

/** The original after `refund` was approved, or `undefined` when nothing changes. */
export function applyRefund(original: AttemptRecord, refund: AttemptRecord, now: number): AttemptRecord | undefined {
  if (original.kind !== 'sale' || (original.status !== 'approved' && original.status !== 'refunded')) return undefined;
  if (original.refunds?.some((r) => r.id === refund.id)) return undefined;
  const room = Math.max(0, original.amount - original.refunded);
  const entry = listed(refund.id, refund.amount, Math.max(0, refund.amount - room));
  return refundedBy(original, refund.amount - (entry.over ?? 0), now, [...(original.refunds ?? []), entry]);
}

/**
 * The original after an approved `refund` was voided, or `undefined` when it
 * never counted. What it counted is taken back; an over-refund of the same
 * sale then counts in the room that frees (in the order they were listed):
 * its money did go back to the customer, so the sale is as refunded as
 * before if it covers the voided one.
 */
export function revokeRefund(original: AttemptRecord, refund: AttemptRecord, now: number): AttemptRecord | undefined {
  const counted = original.refunds?.find((r) => r.id === refund.id);
  if (!counted) return undefined;
  let refunded = original.refunded - countedOf(counted);
  const refunds: RefundEntry[] = [];
  for (const entry of original.refunds ?? []) {
    if (entry === counted) continue;
    const over = overOf(entry);
    const taken = Math.min(over, Math.max(0, original.amount - refunded));
    refunded += taken;
    refunds.push(taken === 0 ? entry : listed(entry.id, entry.amount, over - taken));
  }
  return refundedBy(original, refunded - original.refunded, now, refunds);
}

/** `record` with `amount` more refunded (or less, when negative): fully refunded is `refunded`, anything less `approved`. */
export function refundedBy(record: AttemptRecord, amount: number, now: number, refunds = record.refunds): AttemptRecord {
  const refunded = record.refunded + amount;
  return withChanges(record, {
    refunded,
    status: refunded >= record.amount ? 'refunded' : 'approved',
    updatedAt: now,
    ...(refunds === undefined ? {} : { refunds }),
  });
}

/**
 * What a refund made outside the guard (`settle(id, { status: 'refunded',
 * amount })`) adds to `original`: `amount`, or without one the rest. A
 * refund attempt of it whose outcome is open (`open`, see `openRefunds` in
 * rules.ts) may have paid out, so it counts as refunded here too (SPEC §3):
 * an amount above what remains after those, or no rest at all, is a
 * `GuardStateError` that names them — settle them first — never a refund
 * of 0 nor a sum beyond the sale.
 */
export function externalRefund(original: AttemptRecord, amount: number | undefined, open: readonly AttemptRecord[]): number {
  const inDoubt = open.reduce((sum, r) => sum + r.amount, 0);
  const remaining = Math.max(0, original.amount - original.refunded - inDoubt);
  const refund = amount ?? remaining;
  if (refund > remaining || refund === 0) {
    const held = open.length === 0 ? '' : `, counting ${inDoubt} in refund attempts whose outcome is open (${open.map((r) => r.id).join(', ')}): settle those first`;
    const asked = amount === undefined ? 'nothing remains to refund' : `\`amount\` ${amount} exceeds what remains unrefunded`;
    throw new GuardStateError('REFUND_EXCEEDS_CHARGE', `${asked} on attempt ${original.id} (${remaining}${held})`, { field: 'amount' });
  }
  return refund;
}

/**
 * The journal entry and event for `refund` having paid out more than
 * remained on `original` (now `updated`), or `undefined` when it fit. The
 * event is a `settle` of the original, whose `refunds` list shows the excess.
 */
export function overRefund(original: AttemptRecord, updated: AttemptRecord, refund: AttemptRecord, now: number): { entry: JournalEntry; event: GuardEvent } | undefined {
  const entry = updated.refunds?.find((r) => r.id === refund.id);
  const over = entry ? overOf(entry) : 0;
  if (over === 0) return undefined;
  const from: AttemptStatus = original.status;
  return {
    entry: {
      at: now,
      type: 'settle',
      attemptId: original.id,
      from,
      to: updated.status,
      amount: over,
      detail: `over-refund: refund ${refund.id} paid out ${refund.amount}, ${over} more than remained on sale ${original.id} (${refund.amount - over}); recover the excess`,
    },
    event: { type: 'settle', record: updated, from },
  };
}

/** The part of a listed refund beyond what remained when it was applied. A value a store mangled counts as none. */
function overOf(entry: { amount: number }): number {
  const over = (entry as RefundEntry).over;
  return typeof over === 'number' && Number.isSafeInteger(over) && over > 0 ? Math.min(over, entry.amount) : 0;
}

function countedOf(entry: { amount: number }): number {
  return entry.amount - overOf(entry);
}

function listed(id: string, amount: number, over: number): RefundEntry {
  return over > 0 ? { id, amount, over } : { id, amount };
}
