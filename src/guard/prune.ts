/** Pruning: what retention let go leaves memory, and the store (its history too). */
import { isOpen } from '../lifecycle.js';
import type { AttemptRecord } from '../types.js';
import { refreshClockSteps } from './clock-steps.js';
import { HISTORY_PRUNE_EVERY_MS, type GuardContext } from './context.js';
import { untrack } from './recover.js';
import { journal, storageError, write } from './writes.js';

export function prune(ctx: GuardContext, now: number): number {
  if (ctx.index.keepsOpen && now >= ctx.openKeptUntil && !ctx.refreshingSteps) {
    ctx.refreshingSteps = true;
    void refreshClockSteps(ctx).finally(() => (ctx.refreshingSteps = false));
  }
  const gone = ctx.index.expire(now, {
    pinned: (id) => ctx.unpersisted.has(id),
    holding: ctx.reads > 0,
    left: (record) => letGo(ctx, record),
  });
  if (now >= ctx.nextHistoryPrune) pruneHistory(ctx, now);
  if (gone.length === 0) return 0;
  for (const record of gone) {
    letGo(ctx, record);
    ctx.charging.delete(record.id);
    ctx.announced.delete(record.id);
    ctx.recovered.delete(record.id);
    untrack(ctx, record.id);
    // A store that keeps history deletes settled records itself, by its own retention rule
    // (pruneHistory; a store several terminals share keeps them for the longest retention any
    // of them asks): this guard lets them go from memory only. An open record is deleted here,
    // on every store: the history prune keeps open records whatever their age.
    if (!ctx.history || isOpen(record.status)) {
      void write(ctx, () => ctx.o.store.delete(record.id)).catch((error) => storageError(ctx, error, 'delete'));
    }
    if (isOpen(record.status)) {
      // An outcome nobody reconciled in 7 days: say so, loudly.
      journal(ctx, { at: now, type: 'prune', attemptId: record.id, from: record.status, detail: 'unreconciled after 7 days' });
      ctx.events.emit({ type: 'prune', attemptId: record.id, status: record.status });
    }
  }
  return gone.length;
}

/** A record left memory: the handles issued for it keep the status it left with. */
function letGo(ctx: GuardContext, record: AttemptRecord): void {
  const handles = ctx.handles.get(record.id);
  if (!handles) return;
  ctx.handles.delete(record.id);
  for (const handle of handles) handle.remember(record.status);
}

/**
 * Asks a store with history to delete what retention let go: once a
 * minute, and at once when a lookup met such a record (it is never used).
 */
export function pruneHistory(ctx: GuardContext, now: number): void {
  const history = ctx.history;
  if (!history) return;
  ctx.nextHistoryPrune = now + HISTORY_PRUNE_EVERY_MS;
  // Expired at `updatedAt + retention <= now`: strictly before the next
  // millisecond, by the earliest wall time stamped since (a clock set back
  // stamps later records with earlier wall times). A store several terminals
  // share never deletes younger than the merchant's longest retention on its
  // own clock, whatever this cutoff says (SharedStore.prune).
  const before = ctx.time.wallCutoff(now - ctx.o.retentionMs);
  void write(ctx, () => history.prune(before)).catch((error) => storageError(ctx, error, 'prune'));
}
