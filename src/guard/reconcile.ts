/**
 * `guard.applyReconciliation(report)` (SPEC §11): settles the `unknown`
 * attempts the processor's records prove, through the ordinary settle path,
 * and nothing else. In the core bundle, so kept to a few lines: the
 * matching itself lives in the `reconcile` entry.
 */
import { GuardInputError, GuardStateError, describeValue } from '../errors.js';
import type { AppliedFinding, Finding, ReconcileReport } from '../reconcile/types.js';
import type { AttemptRecord, AttemptStatus } from '../types.js';
import { RECONCILED_BY, judgedResume, resumedAfter } from '../reconcile/shared.js';
import { DETAIL_MAX } from '../outcome.js';
import { NO_CARD_NUMBER, containsCardNumber } from '../pan.js';
import { redactProcessorRef } from '../redact.js';
import { assertOpen, guardNow, heldRecord, statusOf, type GuardContext } from './context.js';
import { settleChanging } from './settle.js';
import { journal } from './writes.js';

// A Map, not an object literal: a hand-made code such as `__proto__` or `toString` must not find a settle in the prototype.
const SETTLES = new Map<string, 'approved' | 'cancelled' | 'voided'>([
  ['UNKNOWN_WAS_CHARGED', 'approved'],
  ['UNKNOWN_NOT_CHARGED', 'cancelled'],
  ['UNKNOWN_WAS_REVERSED', 'voided'],
]);

/** A settling finding, checked: one attempt id, the processor's ids as strings. */
interface Settling {
  code: Finding['code'];
  match: Finding['match'];
  attemptId: string;
  transactions: string[];
  to: 'approved' | 'cancelled' | 'voided';
  /** How long after its creation the attempt last became pending, as `reconcile` saw it (reconcile/shared.ts); unknown for a report read back from JSON. */
  judged: number | undefined;
}

/**
 * Applies the `UNKNOWN_*` findings: exact ones, and probable
 * `UNKNOWN_WAS_CHARGED` (settling approved only blocks a retry, the safe
 * direction). A finding applies only while its attempt is still `unknown`
 * (a stale `pending` included), so a report applied twice, or after a
 * person or `recover` settled the attempt, changes nothing more.
 */
export async function applyReconciliation(ctx: GuardContext, report: ReconcileReport): Promise<AppliedFinding[]> {
  assertOpen(ctx);
  // Every finding is checked before any is applied: a damaged report changes nothing, rather than half of it.
  const settling = settlingFindings(report);
  const applied: AppliedFinding[] = [];
  for (const { code, match, attemptId, transactions, to, judged } of settling) {
    // Open attempts are all in memory: one not held was settled (or pruned) already.
    const held = heldRecord(ctx, attemptId);
    // Still unknown, and not resumed since the report was made (and unknown again): a resumed charge is a new
    // one the processor's records may not show yet. A report that does not say (read back from JSON, passed
    // through structuredClone) settles only an attempt never resumed. Checked again on the attempt as the
    // settle finds it (another lane may have resumed it).
    const asJudged = (current: AttemptRecord, status: AttemptStatus) =>
      status === 'unknown' && resumedAfter(ctx.time.toWall(current)) === (judged ?? 0);
    if (!held || !asJudged(held, statusOf(ctx, held, guardNow(ctx)))) continue;
    const ref = to === 'approved' ? transactions[0] : undefined;
    const detail = `${code} (${match}): ${transactions.join(', ') || 'no charge at the processor'}`;
    // Settled otherwise while this one was on its way (another tab, a late answer): the settle throws and theirs
    // stands. Settled so by another call that landed first (the report applied twice at once, here or on another
    // lane): that call reports it, not this one.
    const outcome = ref ? { status: to, processorRef: ref } : { status: to };
    const on = { by: `${RECONCILED_BY} ${detail}`, onlyIf: asJudged };
    const settled = await settleChanging(ctx, attemptId, outcome, false, on).catch((error: unknown) => {
      if (error instanceof GuardStateError) return undefined;
      throw error;
    });
    if (!settled?.changed) continue;
    journal(ctx, { at: guardNow(ctx), type: 'reconcile', attemptId, from: 'unknown', to, detail });
    applied.push({ attemptId, code, from: 'unknown', to });
  }
  return applied;
}

/**
 * The findings that may settle, in report order. Others (`CHARGED_TWICE`,
 * unknown codes, a probable `UNKNOWN_NOT_CHARGED`) are skipped; a settling
 * one that is not as `reconcile` makes it is a `GuardInputError`
 * `INVALID_REPORT` naming `report.findings[i].field`, never a TypeError or a
 * settle with a made-up processor reference.
 */
function settlingFindings(report: ReconcileReport): Settling[] {
  const findings: unknown = (report as Partial<ReconcileReport> | null | undefined)?.findings;
  if (!Array.isArray(findings)) invalid('report.findings', 'must be an array: pass what reconcile() returned');
  const out: Settling[] = [];
  findings.forEach((finding: unknown, i) => {
    const at = `report.findings[${i}]`;
    if (typeof finding !== 'object' || finding === null) invalid(at, `must be a finding, got ${describeValue(finding)}`);
    const { code, match, attempts, transactions = [] } = finding as Partial<Record<keyof Finding, unknown>>;
    const to = typeof code === 'string' ? SETTLES.get(code) : undefined;
    if (!to || (match !== 'exact' && (match !== 'probable' || to !== 'approved'))) return;
    if (!Array.isArray(attempts) || attempts.length !== 1 || typeof attempts[0] !== 'string') {
      invalid(`${at}.attempts`, `must name the one attempt an ${String(code)} finding settles, got ${describeValue(attempts)}`);
    }
    // Checked here as settle and heldRecord would check them, so that no finding fails half-way through the report.
    if (containsCardNumber(attempts[0])) invalid(`${at}.attempts`, NO_CARD_NUMBER);
    if (!Array.isArray(transactions) || !transactions.every((id) => typeof id === 'string' && id !== '' && id.length <= DETAIL_MAX)) {
      invalid(
        `${at}.transactions`,
        `must be the processor's transaction ids (strings of 1-${DETAIL_MAX} characters), got ${describeValue(transactions)}`,
      );
    }
    // The processor's ids are outside text bound for the journal: masked by the rule processorRef is kept by
    // (a card number in a shifted column, or sent as the reference, is never persisted).
    const ids = (transactions as string[]).map(redactProcessorRef);
    const judged = judgedResume.get(finding);
    out.push({ code: code as Finding['code'], match, attemptId: attempts[0], transactions: ids, to, judged });
  });
  return out;
}

function invalid(field: string, rule: string): never {
  throw new GuardInputError('INVALID_REPORT', `\`${field}\` ${rule}`, { field });
}
