/**
 * The types of reconciliation, type-only: the core imports them
 * (`guard.applyReconciliation`) with `import type`, so none of the matching
 * or file reading reaches the core bundle.
 */
import type { AttemptStatus } from '../types.js';

/** One line of the processor's records, amounts in minor units. */
export interface ProcessorTransaction {
  /** The processor's own id of this transaction (PSP reference, 微信订单号, charge id). */
  id: string;
  type: 'charge' | 'refund' | 'reversal';
  status: 'succeeded' | 'failed';
  /** Minor units (1250 = 12.50). */
  amount: number;
  /** ISO 4217, e.g. `'CNY'`. */
  currency: string;
  /** When it happened: an ISO 8601 string with an offset, or epoch ms. */
  at: string | number;
  /** What the till sent as merchant reference: the attempt's `idempotencyKey` or `id`. */
  reference?: string;
  authCode?: string;
  /** The card's last 4 digits, never more. */
  last4?: string;
  terminalId?: string;
  /** For a refund or reversal: the charge's processor id or reference. */
  original?: string;
}

export type FindingCode =
  | 'UNKNOWN_WAS_CHARGED'
  | 'UNKNOWN_NOT_CHARGED'
  | 'UNKNOWN_WAS_REVERSED'
  | 'CHARGED_TWICE'
  | 'APPROVED_NOT_CHARGED'
  | 'AMOUNT_MISMATCH'
  | 'UNMATCHED_CHARGE'
  | 'REFUNDED_TWICE';

/** What to do about a finding: the `settle-*` ones are what `guard.applyReconciliation` does. */
export type FindingAction = 'settle-approved' | 'settle-cancelled' | 'settle-voided' | 'refund-one' | 'look-into-it' | 'recover-excess';

/** One problem found. */
export interface Finding {
  code: FindingCode;
  /** Attempt ids, oldest first. */
  attempts: string[];
  /** Processor transaction ids. */
  transactions: string[];
  /** The money at stake, minor units: the extra charge, the excess refund, the charge in doubt. */
  amount: number;
  currency: string;
  action: FindingAction;
  /** `exact`: by reference, auth code or processor reference; `probable`: by amount, currency, card, terminal and time. A finding that pairs nothing is `exact`, but an `UNKNOWN_NOT_CHARGED` with a charge of its amount and currency near its time (its card under another terminal name, or taken by another attempt's probable match). */
  match: 'exact' | 'probable';
}

/** Findings of one code in one currency: how many, and how much money they put at stake. */
export interface FindingTotal {
  code: FindingCode;
  currency: string;
  count: number;
  amount: number;
}

/** What `reconcile` returns: plain data, JSON as it is. */
export interface ReconcileReport {
  findings: Finding[];
  /** Per code and currency, in the order of `FINDING_CODES`. */
  totals: FindingTotal[];
}

/** One finding `guard.applyReconciliation` settled. */
export interface AppliedFinding {
  attemptId: string;
  code: FindingCode;
  from: AttemptStatus;
  to: AttemptStatus;
}
