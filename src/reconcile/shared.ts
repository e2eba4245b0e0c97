/**
 * What the `reconcile` entry and the core's `applyReconciliation` share: a
 * few bytes in the core, none of the matching.
 */

/**
 * What `reconcile` saw of the attempt a settling finding names: how long
 * after it was created it last became `pending` (ms; 0 until it is resumed),
 * by `resumedAfter`. Kept beside the report, not in it (a finding's shape is
 * SPEC §11's, plain JSON), so that `applyReconciliation` can tell a finding
 * about the attempt as it is from one made before the attempt was resumed: a
 * new charge under the same key, which may go through after the processor's
 * records were read. A difference of two of the attempt's own times, so the
 * same on every lane whatever its clock says. A report read back from JSON
 * (or passed through structuredClone) has none: it settles only an attempt
 * never resumed.
 */
export const judgedResume = new WeakMap<object, number>();

/** `pendingSince - createdAt`: 0 for an attempt never resumed, more after each resume. */
export const resumedAfter = (record: { pendingSince: number; createdAt: number }): number => record.pendingSince - record.createdAt;

/** How the settle entry of a finding applied begins: the journal report counts it as reconciliation's. */
export const RECONCILED_BY = 'reconciliation:';
