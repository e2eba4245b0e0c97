import { excluding } from './claims.js';
import { VERDICT_OF, evaluate, type Finding, type IndexView, type RuleSettings, type SaleFacts } from './rules.js';
import type { AttemptRecord } from './types.js';

/**
 * What stands against resuming an `unknown` attempt (SPEC §4 `resume`): the
 * rules, as for a new begin of the same sale with the same idempotency key.
 *
 * The codes its own begin's override lifted stay lifted, but only for what
 * was there when it began: a later attempt of the same sale or order (a
 * supervisor overrode its UNKNOWN_OUTCOME and charged again), or a later
 * approval (an earlier attempt found approved since), means resuming would
 * be a second charge under another key, which the processor cannot
 * deduplicate.
 */
export function resumeFindings(record: AttemptRecord, index: IndexView, now: number, settings: RuleSettings): Finding[] {
  const view = excluding(index, record.id);
  const lifted = record.override?.lifted ?? [];
  const since = record.createdAt;
  const newer = (other: AttemptRecord | undefined) =>
    other !== undefined && (other.createdAt > since || (other.approvedAt ?? Number.NEGATIVE_INFINITY) > since);
  return evaluate(factsOf(record), view, now, settings).filter((finding) => {
    if (VERDICT_OF[finding.code] === undefined) return false;
    if (!lifted.includes(finding.code)) return true;
    if (finding.attemptId !== undefined) return newer(view.get(finding.attemptId));
    // A finding on an order's sum (orderTotal) rests on every approved payment of the order.
    return record.orderId !== undefined && view.byOrder(record.merchantId, record.orderId).some(newer);
  });
}

/** The sale an attempt was begun for, as the rules see it. */
function factsOf(record: AttemptRecord): SaleFacts {
  const facts: SaleFacts = {
    fingerprint: record.fingerprint,
    merchantId: record.merchantId,
    kind: record.kind,
    amount: record.amount,
    currency: record.currency,
  };
  if (record.terminalId !== undefined) facts.terminalId = record.terminalId;
  if (record.orderId !== undefined) facts.orderId = record.orderId;
  if (record.orderTotal !== undefined) facts.orderTotal = record.orderTotal;
  if (record.refundOf !== undefined) facts.refundOf = record.refundOf;
  return facts;
}
