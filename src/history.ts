import { GuardConfigError, fail } from './errors.js';
import { isOpen } from './lifecycle.js';
import type { AttemptRecord, GuardStore } from './types.js';

/**
 * The history seam: what the guard keeps in memory, and what it
 * leaves to a store that keeps history.
 *
 * A decision must see at once every record that can match a sale by its
 * fingerprint: open attempts and approvals inside `window`. Start-up also
 * re-counts approved refunds on their sale (a crash between the two writes).
 * Everything else is history: a store with `get`, `byOrder` and `prune`
 * keeps it, and the guard reads it by key when a rule needs it (an order's
 * approvals, a refund's original, a settle by id).
 */

/** Whether `record` is hot: kept in the guard's memory, and what `load({ since })` must return. */
export function isHot(record: AttemptRecord, since: number): boolean {
  // `!(a < b)`: a record without a usable time is handed over too, so the guard reports it.
  return hotAtAnyAge(record) || !(record.updatedAt < since);
}

/** Hot whatever its age: open (its outcome unknown), or an approved refund (start-up re-counts it on its sale). */
export function hotAtAnyAge({ status, kind }: Pick<AttemptRecord, 'status' | 'kind'>): boolean {
  return isOpen(status) || (kind === 'refund' && status === 'approved');
}

/** A store that keeps history: see `GuardStore.get`. */
export type HistoryStore = GuardStore & Required<Pick<GuardStore, 'get' | 'byOrder' | 'prune'>>;

/** Whether the store keeps history; half a history is a configuration error. */
export function hasHistory(store: GuardStore): store is HistoryStore {
  const present = (['get', 'byOrder', 'prune'] as const).filter((method) => typeof store[method] === 'function');
  if (present.length === 0) return false;
  if (present.length === 3) return true;
  return fail(
    GuardConfigError,
    'INVALID_OPTION',
    'store',
    `has ${present.join(' and ')} but not all of get, byOrder and prune: a store keeps history with all three or none`,
  );
}
