/**
 * Reading a store's history: what a rule or a settle needs beyond the hot
 * records memory holds (see history.ts), brought back into memory.
 */
import { makeRecord, recordProblem } from '../record.js';
import type { AttemptRecord } from '../types.js';
import { describeValue, GuardStorageError } from '../errors.js';
import { assertOpen, guardNow, heldRecord, holdingMemory, requireRecord, type GuardContext } from './context.js';
import { pruneHistory } from './prune.js';
import { storageError, storeCall, storeFailure } from './writes.js';

/** What a rule reads of a sale or an attempt in the store's history: its order's payments, a refund's original. */
export interface RecallKeys {
  merchantId: string;
  orderId?: string | undefined;
  refundOf?: string | undefined;
}

/**
 * Brings into memory what a rule about `sale` reads beyond the hot
 * records, from a store that keeps history: the live records on its order
 * and a refund's original. Awaits only when there is something to read.
 * The records stay until the next sweep; a version memory holds wins.
 */
export function recallFor(ctx: GuardContext, sale: RecallKeys): Promise<void> | undefined {
  return readFor(ctx, sale)?.then((records) => {
    recall(ctx, records);
    assertOpen(ctx);
  });
}

/** What `recallFor` reads, not yet taken into memory; `undefined` when there is nothing to read. */
export function readFor(ctx: GuardContext, { merchantId, orderId, refundOf }: RecallKeys): Promise<unknown[]> | undefined {
  const history = ctx.history;
  // Read even when memory holds them now: a sweep before they are used may take them out.
  if (!history || (orderId === undefined && refundOf === undefined)) return undefined;
  return Promise.all([
    orderId === undefined ? [] : storeCall('byOrder', () => history.byOrder(merchantId, orderId)),
    refundOf === undefined ? undefined : storeCall('get', () => history.get(refundOf)),
  ]).then(([onOrder, sold]) => [...listFrom('byOrder', onOrder), recordFrom('get', sold)]);
}

/** What a store's `byOrder` (or `load`) resolved, checked to be a list: anything else is the store failing. */
export function listFrom(operation: string, value: unknown): unknown[] {
  if (!Array.isArray(value)) throw storeFailure(operation, new TypeError(`${operation} resolved ${describeValue(value)}, not an array`));
  return value;
}

/** What a store's `get` resolved: a record (checked when recalled), or nothing. */
function recordFrom(operation: string, value: unknown): AttemptRecord | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'object') {
    throw storeFailure(operation, new TypeError(`${operation} resolved ${describeValue(value)}, not a record`));
  }
  return value as AttemptRecord;
}

/** Records read back from the store's history, into memory unless memory holds a version of them. */
export function recall(ctx: GuardContext, stored: readonly unknown[], now?: number): void {
  // Nothing read (most begins): no clock read either.
  if (stored.length === 0) return;
  now ??= guardNow(ctx);
  for (const value of stored) {
    const record = value as AttemptRecord;
    if (value === undefined || recordProblem(value) !== undefined || ctx.index.get(record.id) !== undefined) continue;
    const recalled = ctx.time.fromWall(makeRecord(record));
    // Past retention, and not pruned from the store yet: gone already.
    if (ctx.index.deadline(recalled) > now) ctx.index.add(recalled);
    else pruneHistory(ctx, now);
  }
}

/**
 * `requireRecord`, reading the store's history when memory does not hold the
 * attempt, and for a refund its original sale too. Awaits nothing for a
 * hot attempt, so a settle of one still runs synchronously up to its write.
 */
export function find(ctx: GuardContext, attemptId: string): AttemptRecord | Promise<AttemptRecord> {
  const held = heldRecord(ctx, attemptId);
  const history = ctx.history;
  if (held) {
    const reading = held.kind === 'refund' ? originalOf(ctx, held) : undefined;
    return reading ? holdingMemory(ctx, reading).then(() => requireRecord(ctx, attemptId)) : held;
  }
  if (!history) return requireRecord(ctx, attemptId);
  const reading = storeCall('get', () => history.get(attemptId)).then(async (stored) => {
    recall(ctx, [recordFrom('get', stored)]);
    assertOpen(ctx);
    await originalOf(ctx, requireRecord(ctx, attemptId));
  });
  return holdingMemory(ctx, reading).then(() => requireRecord(ctx, attemptId));
}

/**
 * A refund attempt's original sale, read back into memory for its settle.
 * Its settle must not fail for it (a processor's answer is in hand): if the
 * store cannot answer, the settle goes on with what memory holds, and an
 * approval missing its sale is counted on it by the refund repair later.
 */
async function originalOf(ctx: GuardContext, record: AttemptRecord): Promise<void> {
  if (record.kind !== 'refund') return;
  try {
    await recallFor(ctx, { merchantId: record.merchantId, refundOf: record.refundOf });
  } catch (error) {
    if (!(error instanceof GuardStorageError)) throw error;
    storageError(ctx, error, 'get');
  }
}
