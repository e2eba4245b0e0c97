import { isOpen } from './lifecycle.js';
import type { MessageFacts } from './messages.js';
import type { AttemptRecord, AttemptStatus, ReasonCode, SaleKind, Verdict } from './types.js';

/**
 * The rules of SPEC §3, as pure functions of a sale, an index view and a
 * time. No I/O, no clock reads: the guard passes `now` in, which is what lets
 * the QA scenarios and property tests drive them deterministically.
 */

/** What the rules need of a sale: hashed, so no card data. */
export interface SaleFacts {
  fingerprint: string;
  merchantId: string;
  terminalId?: string;
  kind: SaleKind;
  amount: number;
  currency: string;
  orderId?: string;
  orderTotal?: number;
  refundOf?: string;
  operator?: string;
  bin?: string;
  last4?: string;
}

export interface IndexView {
  get(id: string): AttemptRecord | undefined;
  byFingerprint(fingerprint: string): readonly AttemptRecord[];
  byOrder(merchantId: string, orderId: string): readonly AttemptRecord[];
  /** Open (pending or unknown) refund attempts of the sale with this id. */
  openRefundsOf(originalId: string): readonly AttemptRecord[];
  /** Until when an open attempt holds its sale: 7 days after it last became pending, or longer (AttemptIndex.openUntil). */
  openUntil(record: AttemptRecord): number;
  /** Since when a pending attempt's age counts: its `pendingSince`, or later (AttemptIndex.pendingFrom). */
  pendingFrom(record: AttemptRecord): number;
}

export interface RuleSettings {
  windowMs: number;
  pendingTimeoutMs: number;
}

export interface Finding {
  code: ReasonCode;
  attemptId?: string;
  ageMs?: number;
  facts: MessageFacts;
}

/**
 * The rule table of SPEC §3: each code's severity (`undefined`: a warning
 * that never changes the verdict) and whether an override may lift it. A
 * prompt is lifted by the operator's confirmation, a block by a supervisor
 * (`authorize`); IN_FLIGHT never: the same sale is being charged right now.
 * The guard, `charge` and every store read this table, never their own list.
 */
const RULES: Readonly<Record<ReasonCode, readonly [verdict: Verdict | undefined, liftable: boolean]>> = {
  IN_FLIGHT: ['block', false],
  UNKNOWN_OUTCOME: ['block', true],
  DUPLICATE_CHARGE: ['prompt', true],
  ORDER_ALREADY_PAID: ['block', true],
  ORDER_SAME_AMOUNT: ['prompt', true],
  REFUND_EXCEEDS_CHARGE: ['block', true],
  REFUND_ORIGINAL_NOT_FOUND: ['prompt', true],
  STORAGE_UNAVAILABLE: [undefined, true], // its verdict is `onStorageError`'s, see guard
  CLOCK_ANOMALY: [undefined, true],
  SHARED_UNAVAILABLE: [undefined, true], // its verdict is `onSharedUnavailable`'s, see guard
};

/** Every reason code, in SPEC §3 order (the rule table's keys: the compiler keeps it complete). */
export const REASON_CODES = Object.keys(RULES) as [ReasonCode, ...ReasonCode[]];

/** Severity of each code; `undefined` is a warning that never changes the verdict. */
export const VERDICT_OF: Readonly<Record<ReasonCode, Verdict | undefined>> = Object.fromEntries(
  REASON_CODES.map((code) => [code, RULES[code][0]]),
) as Record<ReasonCode, Verdict | undefined>;

/** Whether an override may lift `code` (see the rule table). */
export function isLiftable(code: ReasonCode): boolean {
  return RULES[code][1];
}

const RANK: Record<Verdict, number> = { allow: 0, prompt: 1, block: 2 };

export function strictest(verdicts: Iterable<Verdict | undefined>): Verdict {
  let result: Verdict = 'allow';
  for (const v of verdicts) if (v !== undefined && RANK[v] > RANK[result]) result = v;
  return result;
}

/**
 * The status an attempt reports at `now`: a `pending` older than
 * `pendingTimeout` since it last became pending (from when its age counts:
 * `index.pendingFrom`) reads `unknown` everywhere.
 */
export function statusAt(
  record: AttemptRecord,
  now: number,
  pendingTimeoutMs: number,
  index: Pick<IndexView, 'pendingFrom'>,
): AttemptStatus {
  return record.status === 'pending' && now - index.pendingFrom(record) > pendingTimeoutMs ? 'unknown' : record.status;
}

/** Every reason the sale matches, at most one per code (the most recent match). */
export function evaluate(sale: SaleFacts, index: IndexView, now: number, settings: RuleSettings): Finding[] {
  const found = new Map<ReasonCode, Finding>();
  const note = (code: ReasonCode, record: AttemptRecord | undefined, since: number | undefined, facts: MessageFacts) => {
    const ageMs = since === undefined ? undefined : Math.max(0, now - since);
    const previous = found.get(code);
    if (previous?.ageMs !== undefined && ageMs !== undefined && previous.ageMs <= ageMs) return;
    const finding: Finding = { code, facts: ageMs === undefined ? facts : { ...facts, ageMs } };
    if (record) finding.attemptId = record.id;
    if (ageMs !== undefined) finding.ageMs = ageMs;
    found.set(code, finding);
  };
  const describe = (r: AttemptRecord): MessageFacts => ({ amount: r.amount, currency: r.currency, ...(r.last4 ? { last4: r.last4 } : {}) });

  // An open attempt (pending or unknown) on the same fingerprint or order may
  // already have moved money: it holds every sale that could repeat it.
  const open = (r: AttemptRecord) => {
    const status = statusAt(r, now, settings.pendingTimeoutMs, index);
    if (status === 'pending') note('IN_FLIGHT', r, index.pendingFrom(r), describe(r));
    else if (status === 'unknown' && now <= index.openUntil(r)) note('UNKNOWN_OUTCOME', r, index.pendingFrom(r), describe(r));
    return status;
  };

  for (const r of index.byFingerprint(sale.fingerprint)) {
    const status = open(r);
    if (status === 'approved' && r.approvedAt !== undefined && now - r.approvedAt < settings.windowMs) {
      note('DUPLICATE_CHARGE', r, r.approvedAt, describe(r));
    }
  }

  if (sale.orderId !== undefined) orderRules(sale, sale.orderId, index, open, note, describe);
  if (sale.kind === 'refund' && sale.refundOf !== undefined) refundRules(sale, sale.refundOf, index, now, open, note);
  return [...found.values()];
}

type Note = (code: ReasonCode, record: AttemptRecord | undefined, since: number | undefined, facts: MessageFacts) => void;

/**
 * What an approved sale pays towards its order (SPEC §3's "approved sum"):
 * its amount less what was refunded of it. Paying again what a partial
 * refund gave back (the rest of the order on another card) is no overpayment.
 */
export function paidOn(record: Pick<AttemptRecord, 'amount' | 'refunded'>): number {
  return record.amount - (record.refunded ?? 0);
}

function orderRules(
  sale: SaleFacts,
  orderId: string,
  index: IndexView,
  open: (r: AttemptRecord) => AttemptStatus,
  note: Note,
  describe: (r: AttemptRecord) => MessageFacts,
): void {
  let paid = 0;
  for (const r of index.byOrder(sale.merchantId, orderId)) {
    const status = open(r);
    // Order rules compare a sale with approved sales only; refunds on the
    // order are held by IN_FLIGHT / UNKNOWN_OUTCOME above and nothing else.
    if (status !== 'approved' || r.kind !== 'sale' || sale.kind !== 'sale') continue;
    paid += paidOn(r);
    if (sale.orderTotal !== undefined || r.amount !== sale.amount || r.currency !== sale.currency) continue;
    const facts = { ...describe(r), orderId, paid: r.amount };
    // Same merchant, kind, currency and amount: the fingerprints can differ
    // only by card. So no card key needs keeping to tell "same card" apart.
    if (r.fingerprint === sale.fingerprint) note('ORDER_ALREADY_PAID', r, r.approvedAt, facts);
    else note('ORDER_SAME_AMOUNT', r, r.approvedAt, facts);
  }
  if (sale.orderTotal !== undefined && sale.kind === 'sale' && paid + sale.amount > sale.orderTotal) {
    note('ORDER_ALREADY_PAID', undefined, undefined, { orderId, paid, currency: sale.currency });
  }
}

function refundRules(
  sale: SaleFacts,
  refundOf: string,
  index: IndexView,
  now: number,
  open: (r: AttemptRecord) => AttemptStatus,
  note: Note,
): void {
  // A refund of the same sale whose outcome is open may have paid out,
  // whatever its card or amount: a retry after a "system error" keyed with
  // another card is the same refund again (field failure 5). It holds this
  // one as IN_FLIGHT / UNKNOWN_OUTCOME, as the same fingerprint would, and
  // counts against what remains refundable, so that lifting the hold (an
  // UNKNOWN_OUTCOME override) still never lets refunds exceed the sale.
  // It counts while it holds: an unknown one stops 7 days after it last
  // became pending (SPEC §2), as UNKNOWN_OUTCOME does.
  let inDoubt = 0;
  for (const r of index.openRefundsOf(refundOf)) {
    if (isOpen(open(r)) && now <= index.openUntil(r)) inDoubt += r.amount;
  }
  const original = index.get(refundOf);
  // A partly or fully refunded sale was approved, so it counts as found.
  const found = original !== undefined && original.kind === 'sale' && (original.status === 'approved' || original.status === 'refunded');
  if (!found) {
    note('REFUND_ORIGINAL_NOT_FOUND', undefined, undefined, { refundOf, amount: sale.amount, currency: sale.currency });
    return;
  }
  // Below zero only after overrides: then nothing remains. Whenever open
  // refunds count here, IN_FLIGHT / UNKNOWN_OUTCOME name them beside it.
  const remaining = Math.max(0, original.amount - original.refunded - inDoubt);
  if (sale.amount > remaining) {
    note('REFUND_EXCEEDS_CHARGE', original, original.approvedAt, { amount: sale.amount, currency: sale.currency, remaining });
  }
}
