import { isStatus } from './lifecycle.js';
import type { AttemptRecord } from './types.js';

// Short values that repeat across thousands of attempts (currency, merchant,
// BIN, last 4, operator) arrive as fresh strings from JSON or user input.
// Sharing one copy of each saves ~100 bytes per retained attempt. Bounded, so
// a stream of unique values cannot grow it without limit.
const POOL_LIMIT = 50_000;
const pool = new Map<string, string>();
function shared<T extends string | undefined>(value: T): T {
  if (value === undefined) return value;
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
  const record: AttemptRecord = {
    v: 1,
    id: f.id,
    // One string for both when they are equal (they are, unless an older
    // release wrote the record): a record read from disk would otherwise
    // keep two copies.
    idempotencyKey: f.idempotencyKey === f.id ? f.id : f.idempotencyKey,
    fingerprint: f.fingerprint,
    merchantId: shared(f.merchantId),
    kind: f.kind === 'refund' ? 'refund' : 'sale',
    amount: f.amount,
    currency: shared(f.currency),
    // Statuses and kinds parsed from JSON are fresh strings: keep the shared ones.
    status: shared(f.status),
    createdAt: f.createdAt,
    updatedAt: f.updatedAt,
    pendingSince: f.pendingSince,
    refunded: f.refunded,
    approvedAt: f.approvedAt,
    authCode: f.authCode,
    bin: shared(f.bin),
    last4: shared(f.last4),
    orderId: f.orderId,
    // Most tills set a terminal id (SPEC §4's example does): in the literal
    // it costs a slot, added afterwards a property array of its own.
    terminalId: shared(f.terminalId),
  };
  // The common optional fields above sit in the literal: an in-object slot
  // holding `undefined` costs 8 bytes, a property array for them 40+. The
  // rare ones below are added only when present (named, not looped over by
  // key: start-up builds 100k of these).
  if (f.operator !== undefined) record.operator = shared(f.operator);
  if (f.orderTotal !== undefined) record.orderTotal = f.orderTotal;
  if (f.refundOf !== undefined) record.refundOf = f.refundOf;
  if (f.processorRef !== undefined) record.processorRef = f.processorRef;
  if (f.code !== undefined) record.code = f.code;
  if (f.message !== undefined) record.message = f.message;
  if (f.override !== undefined) record.override = f.override;
  if (f.refunds !== undefined) record.refunds = f.refunds;
  return Object.freeze(record);
}

/** A new version of `record` with `patch` applied. */
export function withChanges(record: AttemptRecord, patch: Partial<AttemptRecord>): AttemptRecord {
  return makeRecord({ ...record, ...patch });
}

/**
 * What is wrong with a stored or broadcast record, if anything. Stores and
 * other tabs are not trusted blindly: a record the rules cannot index (no
 * fingerprint, no times) is skipped and reported, never indexed half-formed.
 */
export function recordProblem(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'not a record object';
  const r = value as Record<string, unknown>;
  if (r.v !== 1) return 'a record without "v": 1';
  if (typeof r.id !== 'string' || r.id === '') return 'a record without a string "id"';
  if (!isStatus(r.status)) return `record ${r.id}: unknown status`;
  if (typeof r.fingerprint !== 'string') return `record ${r.id}: no fingerprint`;
  // Named, not looped over key names: start-up checks 100k of these.
  const notNumber = !Number.isFinite(r.amount)
    ? 'amount'
    : !Number.isFinite(r.refunded)
      ? 'refunded'
      : !Number.isFinite(r.createdAt)
        ? 'createdAt'
        : !Number.isFinite(r.updatedAt)
          ? 'updatedAt'
          : !Number.isFinite(r.pendingSince)
            ? 'pendingSince'
            : undefined;
  if (notNumber) return `record ${r.id}: ${notNumber} is not a number`;
  return undefined;
}
