import { isStatus } from './lifecycle.js';
import type { AttemptRecord, AttemptStatus, SaleKind } from './types.js';

// Short values that repeat across thousands of attempts (currency, merchant,
// BIN, last 4, operator) arrive as fresh strings from JSON or user input.
// Sharing one copy of each saves ~100 bytes per retained attempt. Bounded, so
// a stream of unique values cannot grow it without limit.
const POOL_LIMIT = 50_000;
const pool = new Map<string, string>();
function shared<T extends string | undefined>(value: T): T {
  // Only strings: a malformed stored value must not take a place in the pool.
  if (typeof value !== 'string') return value;
  const known = pool.get(value);
  if (known !== undefined) return known as T;
  if (pool.size < POOL_LIMIT) pool.set(value, value);
  return value;
}

/**
 * Builds the one immutable shape every attempt record has in memory. Fields
 * are written in a fixed order so all records share V8 hidden classes; a
 * literal that spreads a record and then overrides some of its keys drops to
 * dictionary mode instead, at twice the bytes — and at 100k retained attempts
 * that is the difference between meeting the memory budget and not.
 */
export function makeRecord(f: AttemptRecord): AttemptRecord {
  const record = recordShape(
    f.id,
    f.idempotencyKey,
    f.fingerprint,
    f.status,
    f.kind,
    f.amount,
    f.currency,
    f.merchantId,
    f.createdAt,
    f.updatedAt,
    f.pendingSince,
    f.refunded,
    f.approvedAt,
    f.authCode,
    f.bin,
    f.last4,
    f.orderId,
    f.terminalId,
  );
  return withRareFields(record, f);
}

/**
 * The common fields, in their one order, not yet frozen. Positional so the
 * file store can build a record straight from a line's array (start-up
 * builds 100k of these) through the same literal as `makeRecord`.
 */
export function recordShape(
  id: string,
  idempotencyKey: string,
  fingerprint: string,
  status: AttemptStatus,
  kind: SaleKind,
  amount: number,
  currency: string,
  merchantId: string,
  createdAt: number,
  updatedAt: number,
  pendingSince: number,
  refunded: number,
  approvedAt: number | undefined,
  authCode: string | undefined,
  bin: string | undefined,
  last4: string | undefined,
  orderId: string | undefined,
  terminalId: string | undefined,
): AttemptRecord {
  return {
    v: 1,
    id,
    // One string for both when they are equal (they are, unless an older
    // release wrote the record): a record read from disk would otherwise
    // keep two copies.
    idempotencyKey: idempotencyKey === id ? id : idempotencyKey,
    fingerprint,
    merchantId: shared(merchantId),
    kind: kind === 'refund' ? 'refund' : 'sale',
    amount,
    currency: shared(currency),
    // Statuses parsed from JSON are fresh strings: keep the shared ones.
    status: shared(status),
    createdAt,
    updatedAt,
    pendingSince,
    refunded,
    approvedAt,
    authCode,
    bin: shared(bin),
    last4: shared(last4),
    orderId,
    // Most tills set a terminal id (SPEC §4's example does): in the literal
    // it costs a slot, added afterwards a property array of its own.
    terminalId: shared(terminalId),
  };
}

/**
 * Adds the rare fields `source` has to a `recordShape`, and freezes it. The
 * common optional fields sit in the literal: an in-object slot holding
 * `undefined` costs 8 bytes, a property array for them 40+. These are added
 * only when present (named, not looped over by key).
 */
export function withRareFields(record: AttemptRecord, source: Partial<AttemptRecord>): AttemptRecord {
  if (source.operator !== undefined) record.operator = shared(source.operator);
  if (source.orderTotal !== undefined) record.orderTotal = source.orderTotal;
  if (source.refundOf !== undefined) record.refundOf = source.refundOf;
  if (source.processorRef !== undefined) record.processorRef = source.processorRef;
  if (source.code !== undefined) record.code = source.code;
  if (source.message !== undefined) record.message = source.message;
  // Nested values are frozen too: `get()` and events hand records out, and an
  // app that edited `refunds` or `override` in place would change history.
  if (source.override !== undefined) record.override = Object.freeze(source.override);
  if (source.refunds !== undefined) record.refunds = frozenList(source.refunds);
  if (source.recovery !== undefined) record.recovery = Object.freeze(source.recovery);
  return Object.freeze(record);
}

function frozenList<T extends object>(list: T[]): T[] {
  if (Object.isFrozen(list)) return list;
  for (const item of list) Object.freeze(item);
  return Object.freeze(list) as T[];
}

/** A new version of `record` with `patch` applied. */
export function withChanges(record: AttemptRecord, patch: Partial<AttemptRecord>): AttemptRecord {
  return makeRecord({ ...record, ...patch });
}

/**
 * `record` with `convert` applied to each of its times, and `convertLease` to
 * a recover lease's end (left alone unless given: a wall time, not a stamp);
 * the same object when none changes. For moving a record between clocks.
 */
export function retime(
  record: AttemptRecord,
  convert: (time: number) => number,
  convertLease: (time: number) => number = (time) => time,
): AttemptRecord {
  const createdAt = convert(record.createdAt);
  const updatedAt = convert(record.updatedAt);
  const pendingSince = convert(record.pendingSince);
  const approvedAt = record.approvedAt === undefined ? undefined : convert(record.approvedAt);
  const recovery = record.recovery;
  const leaseUntil = recovery?.leaseUntil === undefined ? undefined : convertLease(recovery.leaseUntil);
  if (
    createdAt === record.createdAt &&
    updatedAt === record.updatedAt &&
    pendingSince === record.pendingSince &&
    approvedAt === record.approvedAt &&
    leaseUntil === recovery?.leaseUntil
  ) {
    return record;
  }
  return withChanges(record, {
    createdAt,
    updatedAt,
    pendingSince,
    ...(approvedAt === undefined ? {} : { approvedAt }),
    ...(leaseUntil === undefined || !recovery ? {} : { recovery: { ...recovery, leaseUntil } }),
  });
}

/**
 * What is wrong with a stored or broadcast record, if anything. Stores and
 * other tabs are not trusted blindly: a record the rules cannot index (no
 * fingerprint, no times) or would trip over (a refund list that is not one)
 * is skipped and reported, never indexed half-formed. Fields it does not
 * know are left alone: a newer release may add some.
 */
export function recordProblem(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'not a record object';
  const r = value as Record<string, unknown>;
  if (r.v !== 1) return 'a record without "v": 1';
  if (typeof r.id !== 'string' || r.id === '') return 'a record without a string "id"';
  if (!isStatus(r.status)) return `record ${r.id}: unknown status`;
  if (typeof r.fingerprint !== 'string') return `record ${r.id}: no fingerprint`;
  for (const key of NUMBER_FIELDS) if (!Number.isFinite(r[key])) return `record ${r.id}: ${key} is not a number`;
  for (const key of STRING_FIELDS) if (typeof r[key] !== 'string') return `record ${r.id}: ${key} is not a string`;
  for (const key of OPTIONAL_STRING_FIELDS) if (!optional(r[key], 'string')) return `record ${r.id}: ${key} is not a string`;
  for (const key of OPTIONAL_NUMBER_FIELDS) if (!optional(r[key], 'number')) return `record ${r.id}: ${key} is not a number`;
  if (r.refunds !== undefined && !(Array.isArray(r.refunds) && r.refunds.every(isRefundEntry))) {
    return `record ${r.id}: refunds is not a list of { id, amount }`;
  }
  if (r.recovery !== undefined && !isRecovery(r.recovery)) return `record ${r.id}: recovery is not { tries, leaseUntil? }`;
  return undefined;
}

const NUMBER_FIELDS = ['amount', 'refunded', 'createdAt', 'updatedAt', 'pendingSince'] as const;
const STRING_FIELDS = ['merchantId', 'currency'] as const;
const OPTIONAL_STRING_FIELDS = ['orderId', 'refundOf'] as const;
const OPTIONAL_NUMBER_FIELDS = ['approvedAt', 'orderTotal'] as const;
const optional = (value: unknown, type: 'string' | 'number'): boolean => value === undefined || typeof value === type;

function isRecovery(value: unknown): boolean {
  const r = value as { tries?: unknown; leaseUntil?: unknown } | null;
  return (
    typeof r === 'object' && r !== null && Number.isSafeInteger(r.tries) && (r.leaseUntil === undefined || Number.isFinite(r.leaseUntil))
  );
}

function isRefundEntry(entry: unknown): boolean {
  const e = entry as { id?: unknown; amount?: unknown; over?: unknown } | null;
  return (
    typeof e === 'object' &&
    e !== null &&
    typeof e.id === 'string' &&
    Number.isFinite(e.amount) &&
    (e.over === undefined || Number.isFinite(e.over))
  );
}
