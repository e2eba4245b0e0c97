/**
 * Reading a store's history: what a rule or a settle needs beyond the hot
 * records memory holds (see history.ts), brought back into memory.
 */
import { makeRecord, recordProblem } from '../record.js';
import type { AttemptRecord } from '../types.js';
import { assertOpen, guardNow, heldRecord, requireRecord, type GuardContext } from './context.js';
import { pruneHistory } from './prune.js';
import { storeCall } from './writes.js';

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
export function readFor(
  ctx: GuardContext,
  { merchantId, orderId, refundOf }: RecallKeys,
): Promise<(AttemptRecord | undefined)[]> | undefined {
  const history = ctx.history;
  // Read even when memory holds them now: a sweep before they are used may take them out.
  if (!history || (orderId === undefined && refundOf === undefined)) return undefined;
  return Promise.all([
    orderId === undefined ? [] : storeCall('byOrder', () => history.byOrder(merchantId, orderId)),
    refundOf === undefined ? undefined : storeCall('get', () => history.get(refundOf)),
  ]).then(([onOrder, sold]) => [...onOrder, sold]);
}

/** Records read back from the store's history, into memory unless memory holds a version of them. */
export function recall(ctx: GuardContext, stored: readonly (AttemptRecord | undefined)[]): void {
  const now = guardNow(ctx);
  for (const record of stored) {
    if (record === undefined || recordProblem(record) !== undefined || ctx.index.get(record.id) !== undefined) continue;
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
    const reading = held.kind === 'refund' ? recallFor(ctx, { merchantId: held.merchantId, refundOf: held.refundOf }) : undefined;
    return reading ? reading.then(() => requireRecord(ctx, attemptId)) : held;
  }
  if (!history) return requireRecord(ctx, attemptId);
  return storeCall('get', () => history.get(attemptId)).then(async (stored) => {
    recall(ctx, [stored]);
    assertOpen(ctx);
    const record = requireRecord(ctx, attemptId);
    await recallFor(ctx, { merchantId: record.merchantId, refundOf: record.refundOf });
    return requireRecord(ctx, attemptId);
  });
}
