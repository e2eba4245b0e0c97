/**
 * `reconcile`: the guard's attempts against the processor's transactions
 * (SPEC §11). Pure: no I/O, no clock (`now` is an option). One pass builds
 * indexes of the transactions (by reference, processor id, auth code, and
 * by currency + amount sorted by time); each attempt then looks itself up
 * in them, so 100k attempts against 100k transactions is a few Map lookups
 * each, never a nested scan.
 */
import { parseDuration } from '../duration.js';
import { GuardInputError, describeValue } from '../errors.js';
import type { AttemptRecord, AttemptStatus, Duration } from '../types.js';
import { checkTransactions, epochOf, type Transaction } from './transactions.js';
import type { Finding, FindingCode, FindingTotal, ReconcileReport } from './types.js';
import { checkOptions } from './options.js';
import { judgedResume, resumedAfter } from './shared.js';

export interface ReconcileOptions {
  /**
   * How far apart an attempt's last `pending` and a charge may be for a
   * probable match, and how old an `unknown` (or `approved`) attempt must be
   * at `now` before no charge means it was not charged.
   * @default '2m'
   */
  tolerance?: Duration;
  /** Two charges of one sale this close together, with no override between them, are `CHARGED_TWICE`. @default '10m' */
  window?: Duration;
  /** Epoch ms or an ISO 8601 string with an offset. @default the latest transaction's `at` (else the latest attempt's update) */
  now?: number | string;
}

/** The findings table's order: reports and totals list codes in it. */
export const FINDING_CODES: readonly FindingCode[] = [
  'UNKNOWN_WAS_CHARGED',
  'UNKNOWN_NOT_CHARGED',
  'UNKNOWN_WAS_REVERSED',
  'CHARGED_TWICE',
  'APPROVED_NOT_CHARGED',
  'AMOUNT_MISMATCH',
  'UNMATCHED_CHARGE',
  'REFUNDED_TWICE',
];

const STATUSES: ReadonlySet<AttemptStatus> = new Set(['pending', 'unknown', 'approved', 'declined', 'cancelled', 'voided', 'refunded']);

/** The charges an attempt was matched with, and how. */
interface Match {
  charges: readonly Transaction[];
  exact: boolean;
}

/** The processor's side, indexed once. */
interface Indexes {
  charges: Transaction[];
  refunds: Transaction[];
  byReference: Map<string, Transaction[]>;
  byId: Map<string, Transaction>;
  byAuthCode: Map<string, Transaction[]>;
  /** Amount → charges, oldest first (any currency: a number key hashes without building a string per charge). */
  byAmount: Map<number, Transaction[]>;
  /** A charge → the ids of the succeeded reversals that reverse it (see `reverse`). */
  reversals: Map<Transaction, string[]>;
}

/**
 * Matches attempts (what `guard.attempts()` returns) with the processor's
 * transactions and says what is wrong and what to do, one finding per
 * problem. Throws `GuardInputError` (`INVALID_ATTEMPT`,
 * `INVALID_TRANSACTION`) or `GuardConfigError` (bad options) naming the
 * field and the rule.
 *
 * @example
 * const report = reconcile(await guard.attempts(), transactions, { tolerance: '2m' });
 */
export function reconcile(
  attempts: readonly AttemptRecord[],
  transactions: readonly unknown[],
  options: ReconcileOptions = {},
): ReconcileReport {
  const opts = checkOptions(options);
  const toleranceMs = parseDuration(opts.tolerance ?? '2m', { field: 'tolerance' });
  const windowMs = parseDuration(opts.window ?? '10m', { field: 'window' });
  const sales = checkAttempts(attempts);
  const txs = checkTransactions(transactions);
  const now = opts.now === undefined ? latest(txs, sales) : (epochOf(opts.now) as number);
  const ix = indexTransactions(txs);

  // Oldest first: matches and findings come out in a stable order.
  sales.sort((a, b) => a.pendingSince - b.pendingSince || (a.id < b.id ? -1 : 1));
  const claimed = claims();
  const matches = new Map<string, Match>();
  // Exact matches first, all of them: a probable match never takes a charge an exact one names. One kind at a time
  // over all attempts, the surest first (the till's reference, the processor's id, then the auth code: 6 characters
  // that repeat), so an older attempt's auth code never takes a charge that names a younger attempt by reference,
  // leaving that one UNKNOWN_NOT_CHARGED (exact) while its customer was charged.
  for (const exact of EXACT) {
    for (const attempt of sales) {
      if (matches.has(attempt.id)) continue;
      const charges = exact(attempt, ix, claimed, toleranceMs);
      if (charges.length === 0) continue;
      for (const charge of charges) claimed.set(charge, attempt);
      matches.set(attempt.id, { charges, exact: true });
    }
  }
  for (const attempt of sales) {
    // A declined, cancelled or voided attempt kept no money: its sale's retry owns a charge that looks like it.
    if (matches.has(attempt.id) || attempt.status === 'declined' || attempt.status === 'cancelled' || attempt.status === 'voided') {
      continue;
    }
    const charge = probableCharge(attempt, ix, (t) => claimed.has(t), toleranceMs);
    if (!charge) continue;
    claimed.set(charge, attempt);
    matches.set(attempt.id, { charges: [charge], exact: false });
  }

  const findings: Finding[] = [];
  const reversed = (charge: Transaction): string[] | undefined => ix.reversals.get(charge);
  const charged: AttemptRecord[] = [];
  for (const attempt of sales) {
    const match = matches.get(attempt.id);
    const all = match?.charges ?? NONE;
    const live = all.length === 0 ? NONE : all.filter((charge) => !reversed(charge));
    const how: Finding['match'] = match?.exact === false ? 'probable' : 'exact';
    const old = now - attempt.pendingSince > toleranceMs;
    const base = () => baseOf(attempt, how);
    if (attempt.status === 'declined' || attempt.status === 'cancelled' || attempt.status === 'voided') {
      // Settled as taking no money (or as giving it back), yet the processor kept a charge: for a person to look into.
      for (const charge of live) findings.push(unmatched(charge, [attempt.id]));
      continue;
    }
    if (live.length > 0) charged.push(attempt);
    // What applyReconciliation may settle: marked with the attempt as seen here (shared.ts).
    const settling = (finding: Finding): void => {
      judgedResume.set(finding, resumedAfter(attempt));
      findings.push(finding);
    };
    if (attempt.status === 'unknown') {
      if (live.length > 0) settling({ code: 'UNKNOWN_WAS_CHARGED', ...base(), transactions: ids(live), action: 'settle-approved' });
      else if (all.length > 0) {
        const reversals = all.flatMap((charge) => [charge.id, ...(reversed(charge) ?? [])]);
        settling({ code: 'UNKNOWN_WAS_REVERSED', ...base(), transactions: reversals, action: 'settle-voided' });
      } else if (old) {
        // No charge is exact only if none could be its: not when a charge of its amount, currency and card near
        // its time is there, unpaired or paired by a guess: under another terminal name (the till's lane-1 is
        // the processor's T0001), or taken by another attempt's probable match. Settling cancelled on a guess
        // asks a charged customer to pay again: probable, it is reported, not applied. (Which attempts a file
        // can speak for at all is the caller's to choose: the CLI passes only those in the file's period.)
        const contested = probableCharge(
          attempt,
          ix,
          (t) => claimed.has(t) && matches.get(claimed.get(t)!.id)?.exact !== false,
          toleranceMs,
          false,
        );
        const match = contested ? 'probable' : 'exact';
        settling({ code: 'UNKNOWN_NOT_CHARGED', ...base(), match, transactions: [], action: 'settle-cancelled' });
      }
    }
    if (attempt.status === 'approved' && all.length === 0 && old) {
      findings.push({ code: 'APPROVED_NOT_CHARGED', ...base(), transactions: [], action: 'look-into-it' });
    }
    if (live.length > 1) {
      // Two charges for one reference: everything after the first is extra.
      const extra = live.slice(1).reduce((sum, charge) => sum + charge.amount, 0);
      findings.push({ code: 'CHARGED_TWICE', ...base(), amount: extra, transactions: ids(live), action: 'refund-one' });
    }
    for (const charge of live) {
      if (charge.amount === attempt.amount && charge.currency === attempt.currency) continue;
      const differs = charge.currency === attempt.currency ? Math.abs(charge.amount - attempt.amount) : charge.amount;
      findings.push({
        code: 'AMOUNT_MISMATCH',
        ...base(),
        amount: differs,
        currency: charge.currency,
        transactions: [charge.id],
        action: 'look-into-it',
      });
    }
  }
  findings.push(...chargedTwiceInWindow(charged, matches, windowMs));
  for (const charge of ix.charges) if (!claimed.has(charge) && !reversed(charge)) findings.push(unmatched(charge, []));
  findings.push(...refundedTwice(ix, claimed));

  const order = new Map(FINDING_CODES.map((code, i) => [code, i]));
  findings.sort((a, b) => order.get(a.code)! - order.get(b.code)!);
  // One key order for every finding: JSON reports diff cleanly from day to day.
  const ordered = findings.map((finding) => {
    const { code, attempts, transactions, amount, currency, action, match } = finding;
    const copy = { code, attempts, transactions, amount, currency, action, match };
    const seen = judgedResume.get(finding);
    if (seen !== undefined) judgedResume.set(copy, seen);
    return copy;
  });
  return { findings: ordered, totals: totalsOf(ordered) };
}

/** Which attempt took which charge: kept on the transactions themselves (see Transaction.claimedBy), no Map of 100k objects. */
interface Claims {
  has(t: Transaction): boolean;
  get(t: Transaction): AttemptRecord | undefined;
  set(t: Transaction, attempt: AttemptRecord): void;
}

function claims(): Claims {
  return {
    has: (t) => t.claimedBy !== undefined,
    get: (t) => t.claimedBy,
    set: (t, attempt) => void (t.claimedBy = attempt),
  };
}

/** A finding's fields from its attempt; a fresh array each time: findings are plain data a caller may change. */
function baseOf(attempt: AttemptRecord, how: Finding['match']): Pick<Finding, 'attempts' | 'amount' | 'currency' | 'match'> {
  return { attempts: [attempt.id], amount: attempt.amount, currency: attempt.currency, match: how };
}

function ids(transactions: readonly Transaction[]): string[] {
  return transactions.map((t) => t.id);
}

function unmatched(charge: Transaction, attempts: string[]): Finding {
  return {
    code: 'UNMATCHED_CHARGE',
    attempts,
    transactions: [charge.id],
    amount: charge.amount,
    currency: charge.currency,
    action: 'look-into-it',
    match: 'exact',
  };
}

function push<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}

function indexTransactions(txs: readonly Transaction[]): Indexes {
  const ix: Indexes = {
    charges: [],
    refunds: [],
    byReference: new Map(),
    byId: new Map(),
    byAuthCode: new Map(),
    byAmount: new Map(),
    reversals: new Map(),
  };
  const reversals: Transaction[] = [];
  // A transaction listed twice under one id (a day downloaded twice and joined) is one: counted twice, one refund
  // reads as REFUNDED_TWICE and one reversal, named by a reference two charges share, undoes both.
  const seen = { charge: new Set<string>(), refund: new Set<string>(), reversal: new Set<string>() };
  for (const tx of txs) {
    // A failed transaction moved no money: it matches nothing and is owed nothing.
    if (tx.status !== 'succeeded' || seen[tx.type].has(tx.id)) continue;
    seen[tx.type].add(tx.id);
    if (tx.type === 'refund') ix.refunds.push(tx);
    else if (tx.type === 'reversal') reversals.push(tx);
    else {
      ix.charges.push(tx);
      ix.byId.set(tx.id, tx);
      if (tx.reference !== undefined) push(ix.byReference, tx.reference, tx);
      if (tx.authCode !== undefined) push(ix.byAuthCode, tx.authCode, tx);
      push(ix.byAmount, tx.amount, tx);
    }
  }
  for (const list of ix.byAmount.values()) list.sort((a, b) => a.at - b.at);
  // After the charges: a file may list a reversal before the charge it names. Those naming a charge by id first
  // (certain), then those naming a reference, oldest first: one listed earlier must not take, as "one of the
  // charges sharing the reference", the very charge a later one names by id, leaving the other charge live and
  // its unknown attempt settled approved when both charges were undone.
  const byReference: Transaction[] = [];
  for (const reversal of reversals) {
    const names = reversal.original ?? reversal.reference;
    const charge = names === undefined ? undefined : ix.byId.get(names);
    if (charge) push(ix.reversals, charge, reversal.id);
    else byReference.push(reversal);
  }
  byReference.sort(oldestFirst);
  for (const reversal of byReference) reverse(ix, reversal);
  return ix;
}

/**
 * One reversal undoes one charge. One naming a charge by processor id undoes that one (see `indexTransactions`);
 * one naming the till's reference, which two charges share when a sale was charged twice, reverses one of them not
 * yet reversed (of its amount first, else the oldest), never all, or an attempt whose customer still paid once
 * would read as reversed and be settled voided.
 */
function reverse(ix: Indexes, reversal: Transaction): void {
  const names = reversal.original ?? reversal.reference;
  let charge: Transaction | undefined;
  let fits = false;
  for (const c of names === undefined ? NONE : (ix.byReference.get(names) ?? NONE)) {
    if (ix.reversals.has(c)) continue;
    const its = c.amount === reversal.amount && c.currency === reversal.currency;
    if (!charge || (its && !fits) || (its === fits && oldestFirst(c, charge) < 0)) [charge, fits] = [c, its];
  }
  if (charge) push(ix.reversals, charge, reversal.id);
}

/**
 * How long after the attempt last became `pending` a charge matched by auth code may be stamped (at least
 * `tolerance`). An auth code is 6 characters the issuer hands out again and again, across days and cards: in a
 * file of 100k charges a given code turns up among other customers' charges with real probability, so a match by
 * code alone, at any distance, settled a Monday `unknown` approved on someone else's Friday charge. It is stronger
 * than amount and time, so it reaches further than `tolerance`: a file may stamp a charge when the terminal's batch
 * was captured or settled at closing, hours after the authorisation. A day holds that and no more: beyond it
 * is another business day, where the same code is as likely another sale's.
 */
const AUTH_CODE_REACH_MS = 24 * 60 * 60 * 1000;

type ExactMatch = (attempt: AttemptRecord, ix: Indexes, claimed: Claims, toleranceMs: number) => readonly Transaction[];

/** By reference: the charges no attempt took yet whose `reference` is the idempotency key or the attempt id. */
function byReference(attempt: AttemptRecord, ix: Indexes, claimed: Claims): readonly Transaction[] {
  // Written as loops: this runs once per attempt, and at 100k attempts spread copies and closures show.
  let found: Transaction[] | undefined;
  const take = (list: readonly Transaction[] | undefined) => {
    if (list) for (const t of list) if (!claimed.has(t) && !found?.includes(t)) (found ??= []).push(t);
  };
  take(ix.byReference.get(attempt.idempotencyKey));
  if (attempt.id !== attempt.idempotencyKey) take(ix.byReference.get(attempt.id));
  return found ?? NONE;
}

/** By processor reference: the charge whose `id` is the attempt's `processorRef`, if no attempt took it. */
function byProcessorRef(attempt: AttemptRecord, ix: Indexes, claimed: Claims): readonly Transaction[] {
  const named = attempt.processorRef === undefined ? undefined : ix.byId.get(attempt.processorRef);
  return named && !claimed.has(named) ? [named] : NONE;
}

/**
 * By auth code: a charge no attempt took, in the attempt's currency, stamped from `tolerance` before one of its tries
 * (when it was created, or last became `pending`: the clocks differ; the till asked first) to `AUTH_CODE_REACH_MS`
 * after that try, on the same card and terminal where both sides say (the amount may differ: AMOUNT_MISMATCH says
 * so); the nearest in time to a try of those.
 */
function byAuthCode(attempt: AttemptRecord, ix: Indexes, claimed: Claims, toleranceMs: number): readonly Transaction[] {
  const coded = attempt.authCode === undefined ? undefined : ix.byAuthCode.get(attempt.authCode);
  if (!coded) return NONE;
  // Its last try, and its first: a resumed attempt's charge may be the one its timed-out first request made.
  // A day after each try, not the span between them: resumed days later, that span is days of other sales' codes.
  const last = attempt.pendingSince;
  const first = Number.isSafeInteger(attempt.createdAt) ? Math.min(attempt.createdAt, last) : last;
  const reach = Math.max(toleranceMs, AUTH_CODE_REACH_MS);
  const near = (t: Transaction, tried: number) => t.at >= tried - toleranceMs && t.at <= tried + reach;
  const distance = (t: Transaction) => Math.min(Math.abs(t.at - last), Math.abs(t.at - first));
  let nearest: Transaction | undefined;
  for (const t of coded) {
    if (claimed.has(t) || t.currency !== attempt.currency || !(near(t, last) || near(t, first))) continue;
    // Another card's or another terminal's charge with the same code is another sale's.
    if (t.last4 !== undefined && attempt.last4 !== undefined && t.last4 !== attempt.last4) continue;
    if (t.terminalId !== undefined && attempt.terminalId !== undefined && t.terminalId !== attempt.terminalId) continue;
    if (!nearest || distance(t) < distance(nearest)) nearest = t;
  }
  return nearest ? [nearest] : NONE;
}

/** The exact matches, surest first: each runs over every attempt before the next. */
const EXACT: readonly ExactMatch[] = [byReference, byProcessorRef, byAuthCode];

const NONE: readonly Transaction[] = [];

/** By time, then id: the order a file lists transactions in decides nothing. */
function oldestFirst(a: Transaction, b: Transaction): number {
  return a.at - b.at || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

/**
 * Same amount and currency, the same card and terminal where both sides say (unless not `strict`: any card or
 * terminal), nearest in time within `tolerance`, not `taken`.
 */
function probableCharge(
  attempt: AttemptRecord,
  ix: Indexes,
  taken: (t: Transaction) => boolean,
  toleranceMs: number,
  strict = true,
): Transaction | undefined {
  const list = ix.byAmount.get(attempt.amount);
  if (!list) return undefined;
  const from = attempt.pendingSince - toleranceMs;
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (list[mid]!.at < from) lo = mid + 1;
    else hi = mid;
  }
  let best: Transaction | undefined;
  for (let i = lo; i < list.length && list[i]!.at <= attempt.pendingSince + toleranceMs; i++) {
    const t = list[i]!;
    if (taken(t) || t.currency !== attempt.currency) continue;
    // Another card's charge is never this attempt's; a terminal may be named otherwise at the processor.
    if (t.last4 !== undefined && attempt.last4 !== undefined && t.last4 !== attempt.last4) continue;
    if (strict && t.terminalId !== undefined && attempt.terminalId !== undefined && t.terminalId !== attempt.terminalId) continue;
    if (!best || Math.abs(t.at - attempt.pendingSince) < Math.abs(best.at - attempt.pendingSince)) best = t;
  }
  return best;
}

/**
 * Two charged attempts of one sale (one fingerprint) inside `window`, the
 * later one without an override note: the guard would have asked, so
 * nobody confirmed the repeat (another till cut off, a guard bypassed).
 */
function chargedTwiceInWindow(charged: readonly AttemptRecord[], matches: Map<string, Match>, windowMs: number): Finding[] {
  const bySale = new Map<string, AttemptRecord[]>();
  for (const attempt of charged) if (attempt.kind === 'sale') push(bySale, attempt.fingerprint, attempt);
  const findings: Finding[] = [];
  for (const list of bySale.values()) {
    for (let i = 1; i < list.length; i++) {
      const [earlier, later] = [list[i - 1]!, list[i]!];
      if (later.override !== undefined || later.pendingSince - (earlier.approvedAt ?? earlier.pendingSince) >= windowMs) continue;
      const [first, second] = [matches.get(earlier.id)!, matches.get(later.id)!];
      findings.push({
        code: 'CHARGED_TWICE',
        attempts: [earlier.id, later.id],
        transactions: [first.charges[0]!.id, second.charges[0]!.id],
        amount: later.amount,
        currency: later.currency,
        action: 'refund-one',
        match: first.exact && second.exact ? 'exact' : 'probable',
      });
    }
  }
  return findings;
}

/**
 * Refunds of one charge that add up to more than it, a reversal counting as all of it. A refund names its charge
 * by processor id, or by the till's reference, which two charges share when a sale was charged twice: the merchant
 * then refunds each (the remedy, then the customer's return), and both name the reference. Those are spread over
 * the charges as `reverse` spreads reversals: after the refunds naming a charge by id (certain), oldest first, each
 * to a charge with room left for it, one of its amount first, else the one it fits most tightly, else the one with
 * the most room; so only money beyond what the charges took reads as REFUNDED_TWICE, never a second charge's
 * refund piled on the first.
 */
function refundedTwice(ix: Indexes, claimed: Claims): Finding[] {
  const refundsOf = new Map<Transaction, Transaction[]>();
  // What each charge has given back so far (a reversal gave all of it).
  const returned = new Map<Transaction, number>();
  const given = (charge: Transaction): number => returned.get(charge) ?? (ix.reversals.has(charge) ? charge.amount : 0);
  const give = (charge: Transaction, refund: Transaction): void => {
    push(refundsOf, charge, refund);
    returned.set(charge, given(charge) + refund.amount);
  };
  const byReference: Transaction[] = [];
  for (const refund of ix.refunds) {
    const names = refund.original;
    if (names === undefined) continue;
    const charge = ix.byId.get(names);
    if (charge) {
      if (charge.currency === refund.currency) give(charge, refund);
    } else if (ix.byReference.has(names)) byReference.push(refund);
  }
  // Oldest first, whatever the file's order: the same refunds land on the same charges.
  byReference.sort(oldestFirst);
  for (const refund of byReference) {
    let best: Transaction | undefined;
    let bestRank = 3;
    let bestRoom = 0;
    for (const charge of ix.byReference.get(refund.original!)!) {
      if (charge.currency !== refund.currency) continue;
      const room = charge.amount - given(charge);
      // 0: of its amount, with room for it; 1: room for it (the tightest fit wins); 2: no room (the most room wins).
      const rank = room < refund.amount ? 2 : charge.amount === refund.amount ? 0 : 1;
      let better: boolean;
      if (rank !== bestRank) better = rank < bestRank;
      else if (rank !== 0 && room !== bestRoom) better = rank === 1 ? room < bestRoom : room > bestRoom;
      else better = charge.at < best!.at || (charge.at === best!.at && charge.id < best!.id);
      if (better) [best, bestRank, bestRoom] = [charge, rank, room];
    }
    if (best) give(best, refund);
  }
  const findings: Finding[] = [];
  for (const [charge, refunds] of refundsOf) {
    // A reversal (撤销, 冲正) gave the whole charge back: a refund on top of it is money returned twice.
    const reversals = ix.reversals.get(charge) ?? [];
    const total = given(charge);
    if (total <= charge.amount) continue;
    const attempt = claimed.get(charge);
    findings.push({
      code: 'REFUNDED_TWICE',
      attempts: attempt ? [attempt.id] : [],
      transactions: [charge.id, ...reversals, ...ids(refunds)],
      amount: total - charge.amount,
      currency: charge.currency,
      action: 'recover-excess',
      match: 'exact',
    });
  }
  return findings;
}

function totalsOf(findings: readonly Finding[]): FindingTotal[] {
  const totals = new Map<string, FindingTotal>();
  for (const finding of findings) {
    const key = `${finding.code} ${finding.currency}`;
    const total = totals.get(key);
    if (total) {
      total.count++;
      total.amount += finding.amount;
    } else totals.set(key, { code: finding.code, currency: finding.currency, count: 1, amount: finding.amount });
  }
  // Findings are in code order already; currencies alphabetical within a code.
  return [...totals.values()].sort((a, b) => (a.code === b.code ? (a.currency < b.currency ? -1 : 1) : 0));
}

function latest(txs: readonly Transaction[], attempts: readonly AttemptRecord[]): number {
  let max = -Infinity;
  for (const tx of txs) if (tx.at > max) max = tx.at;
  if (max === -Infinity) for (const a of attempts) if (a.updatedAt > max) max = a.updatedAt;
  return max === -Infinity ? 0 : max;
}

/**
 * The sale attempts, shallow-checked (they come from `guard.attempts()`;
 * a full check of 100k records would cost more than the matching). A
 * refund attempt is not matched: refunds are judged on the processor's side.
 */
function checkAttempts(attempts: unknown): AttemptRecord[] {
  if (!Array.isArray(attempts)) {
    bad('attempts', `must be an array of AttemptRecord (from guard.attempts()), got ${describeValue(attempts)}`);
  }
  const sales: AttemptRecord[] = [];
  for (let i = 0; i < attempts.length; i++) {
    const a = attempts[i] as Partial<AttemptRecord> | null;
    const at = `attempts[${i}]`;
    if (typeof a !== 'object' || a === null) bad(at, `must be an AttemptRecord, got ${describeValue(a)}`);
    if (typeof a.id !== 'string' || typeof a.idempotencyKey !== 'string') bad(`${at}.id`, 'and `idempotencyKey` must be strings');
    if (!STATUSES.has(a.status!)) bad(`${at}.status`, 'must be an attempt status', a.status);
    if (!Number.isSafeInteger(a.amount) || typeof a.currency !== 'string') {
      bad(`${at}.amount`, 'must be minor units with a `currency`', a.amount);
    }
    if (!Number.isSafeInteger(a.pendingSince)) bad(`${at}.pendingSince`, 'must be epoch ms', a.pendingSince);
    if (a.kind === 'sale') sales.push(a as AttemptRecord);
  }
  return sales;
}

function bad(field: string, rule: string, ...value: [unknown?]): never {
  const got = value.length > 0 ? `, got ${describeValue(value[0])}` : '';
  throw new GuardInputError('INVALID_ATTEMPT', `\`${field}\` ${rule}${got}`, { field });
}
