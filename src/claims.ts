import { isLive } from './lifecycle.js';
import type { IndexView } from './rules.js';
import type { AttemptRecord, Claim } from './types.js';

/**
 * The cross-process reservation contract, defined once beside
 * the rules so that every shared store (IndexedDB tabs today) only stores and
 * hands back records, and never decides who holds a sale.
 *
 * A record is filed under its claim keys while it is live: its fingerprint
 * (IN_FLIGHT, UNKNOWN_OUTCOME, DUPLICATE_CHARGE), its merchant + order (the
 * order rules) and, for a refund, its original (two refunds of one sale
 * together). A reservation is one atomic step in the store: read what is filed
 * under the keys and the records named by `ids`, let the guard's rules judge
 * the sale against them, and write the record only if they admit it. So what
 * another tab approved a second ago is seen even where no BroadcastChannel
 * told this tab about it, and which codes a supervisor may lift comes from
 * the rule table, not from the store.
 */

/** What a reservation of `record` reads in the store, and the keys it is filed under while live. */
export function claimOf(record: AttemptRecord): Claim {
  // The fingerprint key is the bare fingerprint and the order key keeps its
  // format, as releases before 0.2 filed them: claims made before an upgrade still count.
  const keys = [record.fingerprint];
  if (record.orderId !== undefined) keys.push(orderKey(record.merchantId, record.orderId));
  if (record.refundOf !== undefined) keys.push(refundKey(record.refundOf));
  // The record's own stored version too: another tab may have resumed or settled it.
  return { keys, ids: record.refundOf === undefined ? [record.id] : [record.id, record.refundOf] };
}

/** The key a merchant's order's live records are filed under: what `GuardStore.byOrder` reads. */
export function orderKey(merchantId: string, orderId: string): string {
  return `order\u0000${merchantId}\u0000${orderId}`;
}

/** The key a sale's live refunds are filed under. */
export function refundKey(saleId: string): string {
  return `refund\u0000${saleId}`;
}

/** Whether a stored record stays filed under its claim keys: only a live one can hold back a sale. */
export function staysFiled(record: AttemptRecord): boolean {
  return isLive(record.status);
}

/** `view` without the record `id`: a reservation is judged against everything but itself. */
export function excluding(view: IndexView, id: string): IndexView {
  const others = (records: readonly AttemptRecord[]) => (records.some((r) => r.id === id) ? records.filter((r) => r.id !== id) : records);
  return {
    get: (other) => (other === id ? undefined : view.get(other)),
    byFingerprint: (fingerprint) => others(view.byFingerprint(fingerprint)),
    byOrder: (merchantId, orderId) => others(view.byOrder(merchantId, orderId)),
    openRefundsOf: (saleId) => others(view.openRefundsOf(saleId)),
    openUntil: (record) => view.openUntil(record),
    pendingFrom: (record) => view.pendingFrom(record),
  };
}

/**
 * Two versions of one record are the same version: nobody wrote it in between.
 * Times count from the attempt's `createdAt`, which no version changes: a
 * shared store moves all of a row's times when this terminal's clock moved
 * against the database's (SPEC §9), while the guard keeps its own stamps on
 * the clock they were taken by, so one version can be read shifted whole,
 * and was then taken for another (a lease refused at every try, for good).
 */
export function sameVersion(a: AttemptRecord, b: AttemptRecord): boolean {
  return (
    a.status === b.status &&
    a.refunded === b.refunded &&
    a.updatedAt - a.createdAt === b.updatedAt - b.createdAt &&
    a.pendingSince - a.createdAt === b.pendingSince - b.createdAt
  );
}
