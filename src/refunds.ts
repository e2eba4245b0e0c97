import { GuardStateError } from './errors.js';
import { randomId } from './fingerprint.js';
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
  return listRefund(original, refund.id, refund.amount, now);
}

/**
 * `sale` with the refund `id` of `amount` listed (a refund attempt, or one
 * made outside the guard: see EXTERNAL), or `undefined` when it is listed
 * already or the sale takes no refunds.
 */
export function listRefund(sale: AttemptRecord, id: string, amount: number, now: number): AttemptRecord | undefined {
  if (sale.kind !== 'sale' || sale.refunds?.some((r) => r.id === id)) return undefined;
  // A refund paid out on a sale voided meanwhile (its reversal went through
  // too): the whole refund is money to recover. Listed as over, the sale stays voided.
  if (sale.status === 'voided') {
    return withChanges(sale, { updatedAt: now, refunds: [...(sale.refunds ?? []), { id, amount, over: amount }] });
  }
  if (!refundable(sale)) return undefined;
  return listed(sale, id, amount, now);
}

/**
 * The start of the id a refund made outside the guard (`settle(id, {
 * status: 'refunded', amount })`) is listed under on its sale: listed like
 * a refund attempt, so that two rows of one sale (a lane cut off) are merged
 * entry by entry, nothing counted twice and nothing lost. No attempt has it.
 */
export const EXTERNAL = 'external:';

/**
 * The id a refund made outside the guard is listed under: with the
 * processor's reference of it (`refundKey`: that reference as given, keyed
 * under the secret), the one that reference always gets, so the same refund
 * recorded twice (a double tap, a call retried after a "system error", two
 * lanes recording it while one was cut off) is listed once; without one, an
 * id of its own.
 */
export function externalRefundId(refundKey: string | undefined): string {
  return refundKey === undefined ? randomId(EXTERNAL, 9) : EXTERNAL + refundKey;
}

/**
 * Whether `sale` already lists the refund made outside the guard that
 * `refundKey` names: recording it again changes nothing. The same
 * reference with another amount is no retry, and is refused.
 */
export function listsExternal(sale: AttemptRecord, refundKey: string | undefined, amount: number | undefined): boolean {
  if (refundKey === undefined) return false;
  const id = externalRefundId(refundKey);
  const listed = sale.refunds?.find((r) => r.id === id);
  if (!listed) return false;
  if (amount !== undefined && amount !== listed.amount) {
    throw new GuardStateError(
      'INVALID_TRANSITION',
      `attempt ${sale.id} already lists the refund with this \`processorRef\` (${id}), of ${listed.amount}, not ${amount}`,
      { field: 'amount' },
    );
  }
  return true;
}

/**
 * `sale` with `other`'s refunds it does not list (another row of it: a lane
 * cut off meanwhile), each counted as a refund of it is; `sale` when there
 * are none.
 */
export function withRefundsOf(sale: AttemptRecord, other: AttemptRecord, now: number): AttemptRecord {
  let merged = sale;
  for (const r of other.refunds ?? []) merged = listRefund(merged, r.id, r.amount, now) ?? merged;
  return merged;
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
  return over > 0 ? overReport(updated, original.status, refund.id, over, now) : undefined;
}

/**
 * The money to recover that `after` lists beyond what any of `before` (other
 * versions of the same sale) listed, refund by refund: what a merge of two
 * rows of a sale, or a recount of it, found over and nobody reported yet.
 */
export function overGrown(after: AttemptRecord, ...before: (AttemptRecord | undefined)[]): RefundEntry[] {
  const grown: RefundEntry[] = [];
  // Which refund a sum's over is listed on depends on the order two rows were merged in (the same 100 on
  // one refund in one merge, on another in the next): the over grown is no more than the sum's grew
  // beyond any one version known, and refund by refund no more than that refund's grew.
  let budget = totalOver(after.refunds) - Math.max(0, ...before.map((b) => totalOver(b?.refunds)));
  for (const entry of after.refunds ?? []) {
    const known = Math.max(0, ...before.map((b) => overOf(b?.refunds?.find((r) => r.id === entry.id) ?? { amount: 0 })));
    const more = Math.min(overOf(entry) - known, budget);
    if (more <= 0) continue;
    grown.push({ id: entry.id, amount: entry.amount, over: more });
    budget -= more;
  }
  return grown;
}

/** Each refund's over (`overOf`), by id. */
export function oversById(refunds: readonly RefundEntry[] | undefined): Map<string, number> {
  return new Map((refunds ?? []).map((r) => [r.id, overOf(r)]));
}

/** All the over a list of refunds holds (money to recover). */
export function totalOver(refunds: readonly RefundEntry[] | undefined): number {
  return (refunds ?? []).reduce((sum, r) => sum + overOf(r), 0);
}

/**
 * The money to recover that `written` (a version of a sale this terminal
 * wrote) lists beyond every version in `known`, as far as `final` (the sale
 * as it stands since, counted again) still lists it: a refund reversed since
 * is no money to recover, and what another terminal's write put there is
 * that terminal's to report.
 */
export function overAdded(final: AttemptRecord, written: AttemptRecord, known: readonly AttemptRecord[]): RefundEntry[] {
  const still = oversById(final.refunds);
  const refunds = (written.refunds ?? []).map((r) => ({ ...r, over: Math.min(overOf(r), still.get(r.id) ?? 0) }));
  return overGrown({ ...written, refunds }, ...known);
}

/** The journal entry and event of an over-refund of `over` by refund `refundId` on `sale` (as it stands after it). */
export function overReport(
  sale: AttemptRecord,
  from: AttemptRecord['status'],
  refundId: string,
  over: number,
  now: number,
): { entry: JournalEntry; event: GuardEvent } {
  return {
    entry: { at: now, type: 'settle', attemptId: sale.id, amount: over, detail: `over-refund by ${refundId}` },
    event: { type: 'settle', record: sale, from },
  };
}

/** The part of a listed refund beyond what remained when it was applied. A value a store mangled counts as none. */
export function overOf(entry: { amount: number }): number {
  const over = (entry as RefundEntry).over as number;
  return Number.isSafeInteger(over) && over > 0 ? Math.min(over, entry.amount) : 0;
}
