import { withChanges } from './record.js';
import type { AttemptRecord } from './types.js';

/**
 * How refund attempts move their original sale's refunded sum (SPEC §2).
 * The original lists each refund it counts, with the amount counted, so
 * applying one is idempotent — a retried settle, or start-up after a crash
 * between the refund's write and the original's, repairs rather than
 * double-counts — and voiding a refund takes back exactly what it added.
 */

/** The original after `refund` was approved, or `undefined` when nothing changes. */
export function applyRefund(original: AttemptRecord, refund: AttemptRecord, now: number): AttemptRecord | undefined {
  if (original.kind !== 'sale' || (original.status !== 'approved' && original.status !== 'refunded')) return undefined;
  if (original.refunds?.some((r) => r.id === refund.id)) return undefined;
  // An overridden REFUND_EXCEEDS_CHARGE cannot refund more than was charged.
  const amount = Math.min(refund.amount, original.amount - original.refunded);
  return refundedBy(original, amount, now, [...(original.refunds ?? []), { id: refund.id, amount }]);
}

/** The original after an approved `refund` was voided, or `undefined` when it never counted. */
export function revokeRefund(original: AttemptRecord, refund: AttemptRecord, now: number): AttemptRecord | undefined {
  const counted = original.refunds?.find((r) => r.id === refund.id);
  if (!counted) return undefined;
  return refundedBy(original, -counted.amount, now, (original.refunds ?? []).filter((r) => r !== counted));
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
