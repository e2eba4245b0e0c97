/** Queries: one attempt, or the attempts matching a filter, from memory and the store's history. */
import { readFilter } from '../attempt-filter.js';
import { isOpen } from '../lifecycle.js';
import { recordProblem } from '../record.js';
import { containsCardNumber } from '../pan.js';
import type { AttemptFilter, AttemptRecord } from '../types.js';
import { assertOpen, guardNow, holdingMemory, view, type GuardContext } from './context.js';
import { prune, pruneHistory } from './prune.js';
import { listFrom, recall } from './recall.js';
import { storeCall } from './writes.js';

/** `Guard.get`. */
export async function get(ctx: GuardContext, attemptId: string): Promise<AttemptRecord | undefined> {
  assertOpen(ctx);
  const history = ctx.history;
  if (ctx.index.get(attemptId) === undefined && history && typeof attemptId === 'string' && !containsCardNumber(attemptId)) {
    recall(ctx, [
      await holdingMemory(
        ctx,
        storeCall('get', () => history.get(attemptId)),
      ),
    ]);
    assertOpen(ctx);
  }
  const record = ctx.index.get(attemptId);
  return record && view(ctx, record, guardNow(ctx));
}

/** `Guard.attempts`. */
export async function attempts(ctx: GuardContext, filter: AttemptFilter): Promise<AttemptRecord[]> {
  assertOpen(ctx);
  filter = readFilter(filter);
  const statuses = filter.status === undefined ? undefined : new Set(Array.isArray(filter.status) ? filter.status : [filter.status]);
  // Open attempts are all in memory; anything else may be in the store's history too.
  const history = ctx.history && (!statuses || [...statuses].some((status) => !isOpen(status))) ? ctx.history : undefined;
  // Swept before the read and held while it is out, so memory keeps every version newer than what it reads.
  prune(ctx, guardNow(ctx));
  const stored = history
    ? listFrom(
        'load',
        await holdingMemory(
          ctx,
          storeCall('load', () => history.load()),
        ),
      )
    : [];
  assertOpen(ctx);
  const now = guardNow(ctx);
  const records = new Map<string, AttemptRecord>();
  for (const record of stored) {
    const held = recordProblem(record) === undefined ? ctx.time.fromWall(record as AttemptRecord) : undefined;
    // Past retention, and not pruned from the store yet: gone already.
    if (held && ctx.index.deadline(held) > now) records.set(held.id, held);
    else if (held) pruneHistory(ctx, now);
  }
  // What memory holds is this guard's latest version.
  for (const record of ctx.index.values()) records.set(record.id, record);
  const out: AttemptRecord[] = [];
  for (const held of records.values()) {
    const record = view(ctx, held, now);
    if (statuses && !statuses.has(record.status)) continue;
    if (filter.merchantId !== undefined && record.merchantId !== filter.merchantId) continue;
    if (filter.orderId !== undefined && record.orderId !== filter.orderId) continue;
    if (filter.kind !== undefined && record.kind !== filter.kind) continue;
    out.push(record);
  }
  return out.sort((a, b) => a.createdAt - b.createdAt);
}
