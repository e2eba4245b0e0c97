import type { AttemptRecord } from './types.js';

// Rare fields, added only when present. The common optional ones (approvedAt,
// authCode, bin, last4, orderId, cardKey) sit in the literal below: an in-object slot holding
// `undefined` costs 8 bytes, a property array to hold them out of object 40+.
const RARE = [
  'orderTotal', 'refundOf', 'processorRef', 'code', 'message', 'override',
] as const satisfies readonly (keyof AttemptRecord)[];
const RARE_SHARED = ['terminalId', 'operator'] as const satisfies readonly (keyof AttemptRecord)[];

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
    idempotencyKey: f.idempotencyKey,
    fingerprint: f.fingerprint,
    merchantId: shared(f.merchantId),
    kind: f.kind === 'refund' ? 'refund' : 'sale',
    amount: f.amount,
    currency: shared(f.currency),
    status: f.status,
    createdAt: f.createdAt,
    updatedAt: f.updatedAt,
    pendingSince: f.pendingSince,
    refunded: f.refunded,
    approvedAt: f.approvedAt,
    authCode: f.authCode,
    bin: shared(f.bin),
    last4: shared(f.last4),
    orderId: f.orderId,
    cardKey: f.cardKey,
  };
  const extra = record as unknown as Record<string, unknown>;
  for (const key of RARE_SHARED) if (f[key] !== undefined) extra[key] = shared(f[key]);
  for (const key of RARE) if (f[key] !== undefined) extra[key] = f[key];
  return Object.freeze(record);
}

/** A new version of `record` with `patch` applied. */
export function withChanges(record: AttemptRecord, patch: Partial<AttemptRecord>): AttemptRecord {
  return makeRecord({ ...record, ...patch });
}
