/**
 * `guard.applyReconciliation(report)` (SPEC §11): settles the `unknown`
 * attempts the processor's records prove, through the ordinary settle path,
 * and nothing else. In the core bundle, so kept to a few lines: the
 * matching itself lives in the `reconcile` entry.
 */
import { GuardInputError, GuardStateError } from '../errors.js';
import type { AppliedFinding, Finding, ReconcileReport } from '../reconcile/types.js';
import { assertOpen, guardNow, heldRecord, statusOf, type GuardContext } from './context.js';
import { settle } from './settle.js';
import { journal } from './writes.js';

const SETTLES: Record<string, 'approved' | 'cancelled' | 'voided'> = {
  UNKNOWN_WAS_CHARGED: 'approved',
  UNKNOWN_NOT_CHARGED: 'cancelled',
  UNKNOWN_WAS_REVERSED: 'voided',
};

/**
 * Applies the `UNKNOWN_*` findings: exact ones, and probable
 * `UNKNOWN_WAS_CHARGED` (settling approved only blocks a retry, the safe
 * direction). A finding applies only while its attempt is still `unknown`
 * (a stale `pending` included), so a report applied twice, or after a
 * person or `recover` settled the attempt, changes nothing more.
 */
export async function applyReconciliation(ctx: GuardContext, report: ReconcileReport): Promise<AppliedFinding[]> {
  assertOpen(ctx);
  const findings = report?.findings;
  if (!Array.isArray(findings)) {
    throw new GuardInputError('INVALID_REPORT', '`report.findings` must be an array: pass what reconcile() returned', {
      field: 'report.findings',
    });
  }
  const applied: AppliedFinding[] = [];
  for (const finding of findings) {
    // A hand-made or damaged finding is skipped or refused with the guard's own errors, never a TypeError.
    const { code = '', match, attempts = [], transactions = [] } = (finding ?? {}) as Partial<Finding>;
    const to = SETTLES[code];
    if (!to || (match !== 'exact' && to !== 'approved')) continue;
    // Open attempts are all in memory: one not held was settled (or pruned) already. heldRecord checks the id.
    const attemptId = attempts[0] as string;
    const held = heldRecord(ctx, attemptId);
    if (!held || statusOf(ctx, held, guardNow(ctx)) !== 'unknown') continue;
    const ref = to === 'approved' ? transactions[0] : undefined;
    // Settled otherwise while this one was on its way (another tab, a late answer): the settle throws and theirs stands.
    const settled = await settle(ctx, attemptId, ref ? { status: to, processorRef: ref } : { status: to }, false).catch(
      (error: unknown) => {
        if (error instanceof GuardStateError) return undefined;
        throw error;
      },
    );
    if (!settled) continue;
    const detail = `${code} (${match}): ${transactions.join(', ') || 'no charge at the processor'}`;
    journal(ctx, { at: guardNow(ctx), type: 'reconcile', attemptId, from: 'unknown', to, detail });
    applied.push({ attemptId, code: code as Finding['code'], from: 'unknown', to });
  }
  return applied;
}
