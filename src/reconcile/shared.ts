/**
 * What the `reconcile` entry and the core's `applyReconciliation` share: a
 * few bytes in the core, none of the matching.
 */

/**
 * What `reconcile` saw of the attempt a settling finding names: when it last
 * became `pending` (wall-clock epoch ms). Kept beside the report, not in it
 * (a finding's shape is SPEC §11's, plain JSON), so that
 * `applyReconciliation` can tell a finding about the attempt as it is from
 * one made before the attempt was resumed: a new charge under the same key,
 * which may go through after the processor's records were read. A report
 * read back from JSON has none, and is applied as it says.
 */
export const judgedPendingSince = new WeakMap<object, number>();

/** How the settle entry of a finding applied begins: the journal report counts it as reconciliation's. */
export const RECONCILED_BY = 'reconciliation:';
