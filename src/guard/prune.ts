/** Pruning: what retention let go leaves memory, and the store (its history too). */
import { isOpen } from '../lifecycle.js';
import { HISTORY_PRUNE_EVERY_MS, type GuardContext } from './context.js';
import { journal, storageError, write } from './writes.js';

export function prune(ctx: GuardContext, now: number): number {
  const gone = ctx.index.expire(now, { pinned: (id) => ctx.unpersisted.has(id) });
  const { store } = ctx.o;
  if (now >= ctx.nextHistoryPrune) pruneHistory(ctx, now);
  if (gone.length === 0) return 0;
  for (const record of gone) {
    ctx.charging.delete(record.id);
    ctx.announced.delete(record.id);
    ctx.recovered.delete(record.id);
    void write(ctx, () => store.delete(record.id)).catch((error) => storageError(ctx, error, 'delete'));
    if (isOpen(record.status)) {
      // An outcome nobody reconciled in 7 days: say so, loudly.
      journal(ctx, { at: now, type: 'prune', attemptId: record.id, from: record.status, detail: 'unreconciled after 7 days' });
      ctx.events.emit({ type: 'prune', attemptId: record.id, status: record.status });
    }
  }
  return gone.length;
}

/**
 * Asks a store with history to delete what retention let go: once a
 * minute, and at once when a lookup met such a record (it is never used).
 */
export function pruneHistory(ctx: GuardContext, now: number): void {
  const history = ctx.history;
  if (!history) return;
  ctx.nextHistoryPrune = now + HISTORY_PRUNE_EVERY_MS;
  // Expired at `updatedAt + retention <= now`: strictly before the next millisecond.
  const before = ctx.time.wallOf(now - ctx.o.retentionMs) + 1;
  void write(ctx, () => history.prune(before)).catch((error) => storageError(ctx, error, 'prune'));
}
