/**
 * What a catch-up after a cut-off reports (SPEC §9): this terminal's
 * approval, made while it could not see the others, and another terminal's
 * approval of the same sale inside `window`, or of the same order. Both were
 * charged: a probable double charge for a person to refund. Compared on the
 * database's clock (each row's time plus its writer's skew).
 */
import { paidOn } from '../rules.js';
import type { AttemptRecord, ConflictCode } from '../types.js';
import type { SharedRow } from './remote.js';

export interface Conflict {
  readonly code: ConflictCode;
  readonly other: string;
}

/** The conflicts of `own` (as uploaded, with its writer's `skew`) with the other live rows filed under its keys. */
export function conflictsOf(own: AttemptRecord, skew: number, others: readonly SharedRow[], windowMs: number): Conflict[] {
  if (own.status !== 'approved' || own.approvedAt === undefined) return [];
  const approvedAt = own.approvedAt + skew;
  const approved = others.filter(({ record }) => record.id !== own.id && record.status === 'approved' && record.approvedAt !== undefined);
  const found: Conflict[] = [];
  for (const { record, skew: theirs } of approved) {
    if (record.fingerprint === own.fingerprint && Math.abs((record.approvedAt as number) + theirs - approvedAt) < windowMs) {
      found.push({ code: 'DUPLICATE_CHARGE', other: record.id });
    }
  }
  if (own.kind !== 'sale' || own.orderId === undefined) return found;
  const onOrder = approved.filter(
    ({ record }) => record.kind === 'sale' && record.merchantId === own.merchantId && record.orderId === own.orderId,
  );
  // With a total, only an overpayment is a conflict (split tender across devices is fine);
  // without one, another approval of the same amount in the same currency paid the order
  // already (as the rules compare them: 1 250 JPY does not pay an order of 1 250 CNY).
  const paid = onOrder.reduce((sum, { record }) => sum + paidOn(record), 0);
  for (const { record } of onOrder) {
    if (found.some((c) => c.other === record.id)) continue;
    const over =
      own.orderTotal === undefined ? record.amount === own.amount && record.currency === own.currency : paid + own.amount > own.orderTotal;
    if (over) found.push({ code: 'ORDER_ALREADY_PAID', other: record.id });
  }
  return found;
}
