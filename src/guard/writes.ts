/**
 * The write pipeline: store writes issued in call order and tracked until
 * they finish, records persisted with a retry of what an earlier failure left
 * in memory only, the journal, and store failures as the guard's own errors.
 */
import { GuardStorageError, errorText, isGuardError, maskedError } from '../errors.js';
import type { AttemptRecord, JournalEntry } from '../types.js';
import { assertOpen, haltRecovery, type GuardContext } from './context.js';
import { saveClockSteps } from './clock-steps.js';

/**
 * Issues a store write now, in call order, without waiting for earlier
 * ones to finish: stores apply writes in the order they are called (see
 * GuardStore), and a file store can then fsync fifty concurrent begins
 * together instead of one after another.
 */
export function write<T>(ctx: GuardContext, call: () => Promise<T>): Promise<T> {
  let pending: Promise<T>;
  try {
    pending = call();
  } catch (error) {
    pending = Promise.reject(error);
  }
  // Registered before the caller's handlers, so run first (reactions run in the order they were
  // added): a store fenced under this guard is a take-over, noted before any caller hears of it.
  const settled = pending.then(
    () => undefined,
    (error: unknown) => {
      if (error instanceof GuardStorageError && error.code === 'TAKEN_OVER') fencedByStore(ctx);
    },
  );
  ctx.inflight.add(settled);
  void settled.then(() => ctx.inflight.delete(settled));
  return pending;
}

/**
 * The store refused a write as taken over (another store object opened its
 * file): this guard is fenced as if another guard took its store over. No
 * more tries; every call from now on throws TAKEN_OVER (assertOpen).
 */
function fencedByStore(ctx: GuardContext): void {
  ctx.storeFenced = true;
  haltRecovery(ctx);
}

export async function persist(ctx: GuardContext, records: AttemptRecord[]): Promise<void> {
  const { store } = ctx.o;
  // Steps whose write failed go out with the next records (only then is there a promise to wait for).
  const steps = ctx.clockSteps.length > 0 ? saveClockSteps(ctx) : undefined;
  // Retry what an earlier storage failure left in memory only.
  const retry =
    ctx.unpersisted.size === 0
      ? []
      : [...ctx.unpersisted].map((id) => ctx.index.get(id)).filter((r): r is AttemptRecord => r !== undefined && !records.includes(r));
  // Fenced while these were written: fails this call only if one of its own writes was refused. A
  // record on disk is recorded, whatever another call met: the app retries what failed, and a refund
  // recorded again adds up.
  let refused = false;
  const writes = [...retry, ...records].map((record) =>
    write(ctx, () => store.put(ctx.time.toWall(record))).then(
      () => {
        ctx.unpersisted.delete(record.id);
      },
      (error: unknown) => {
        // Fenced: the file's owner is another guard now; nothing is kept here as if the disk had failed.
        if (ctx.storeFenced) return void (refused = true);
        // The outcome is real whether or not the disk took it: keep it in
        // memory, retry on the next write, and tell the app.
        ctx.unpersisted.add(record.id);
        storageError(ctx, error, 'put');
        store.announce?.(ctx.time.toWall(record));
      },
    ),
  );
  await Promise.all(writes);
  await steps;
  if (refused) assertOpen(ctx);
}

export function storageError(ctx: GuardContext, error: unknown, operation: string): void {
  ctx.events.emit({ type: 'storage-error', error: maskedError(error), operation });
}

export function journal(ctx: GuardContext, entry: JournalEntry): void {
  const stamped = { ...entry, at: ctx.time.wallOf(entry.at) };
  if (ctx.starting) ctx.starting.push(stamped);
  else appendJournal(ctx, stamped);
}

/** Start-up succeeded: its journal entries, in order. */
export function journalStarted(ctx: GuardContext): void {
  const entries = ctx.starting ?? [];
  ctx.starting = undefined;
  for (const entry of entries) appendJournal(ctx, entry);
}

function appendJournal(ctx: GuardContext, stamped: JournalEntry): void {
  const { store } = ctx.o;
  // Not awaited: the journal is an audit trail, not the write-ahead record.
  // The store seals it (seq, hash) against the head it holds, in its turn:
  // one chain however many tabs or guards write to it, and no hashing here.
  void write(ctx, () => store.appendJournal(stamped, ctx.seal)).catch((error) => storageError(ctx, error, 'appendJournal'));
}

export async function storeCall<T>(operation: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    throw storeFailure(operation, error);
  }
}

/** A store's synchronous call (subscribe, warnings), its throw made the guard's own. */
export function storeCallSync<T>(operation: string, call: () => T): T {
  try {
    return call();
  } catch (error) {
    throw storeFailure(operation, error);
  }
}

/** What a store threw, as the guard's own error (a GuardError it threw passes as it is). */
export function storeFailure(operation: string, error: unknown): unknown {
  if (isGuardError(error)) return error;
  return new GuardStorageError('STORE_FAILED', `the store failed in ${operation}: ${errorText(error)}`, { cause: error });
}
