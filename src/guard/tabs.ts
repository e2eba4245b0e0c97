/** What other tabs or processes sharing the store changed: their records taken in, a wiped store written back. */
import { GuardStorageError } from '../errors.js';
import { isLive, isOpen } from '../lifecycle.js';
import { makeRecord, recordProblem, retime } from '../record.js';
import { sameVersion } from '../claims.js';
import type { AttemptRecord, ConflictCode, StoreChange } from '../types.js';
import { KEY_CHECK, contextOf, guardNow, holdsStore, notTheMerchantsSecret, owners, type GuardContext } from './context.js';
import { journal, storageError, write } from './writes.js';
import { track } from './recover.js';
import { recountSent } from './settle.js';

/** What a shared store says another tab or process changed. */
export function applyChange(ctx: GuardContext, change: StoreChange): void {
  if (ctx.closed) return;
  if (ONCE.has(change.type) && !holdsStore(ctx)) return handOn(ctx, change);
  if (change.type === 'record') adopt(ctx, change.record);
  else if (change.type === 'unpersisted') adoptAnnounced(ctx, change.record);
  else if (change.type === 'conflict') conflict(ctx, change.code, change.attempts);
  else if (change.type === 'sent') void recountSent(ctx, change).catch((error) => storageError(ctx, error, 'claim'));
  else if (change.type === 'meta-conflict') metaConflict(ctx, change.key, change.held);
  else if (change.type === 'problem') journal(ctx, { at: guardNow(ctx), type: 'storage', detail: change.detail });
  // A guard fenced by a take-over still starting hears the store (to be whole if handed it back), but its copies may be old.
  else if (holdsStore(ctx)) void restore(ctx, change.detail);
}

/** Changes acted on once, by the guard that holds the store: reports, recounts, the key check, problems found. */
const ONCE: ReadonlySet<StoreChange['type']> = new Set(['conflict', 'sent', 'meta-conflict', 'problem']);

/**
 * A change heard by a guard fenced by a take-over still starting (it keeps
 * listening, to be whole if handed the store back): acted on by the guard
 * starting, once it has started (see `heard`). A guard that has started
 * hears the store itself.
 */
function handOn(ctx: GuardContext, change: StoreChange): void {
  const owner = owners.owner(ctx.o.store);
  const next = owner && contextOf(owner);
  if (next?.starting) next.heard.push(change);
}

/**
 * A terminal started while cut off wrote its key check where the merchant's
 * database already held another: its secret is not the merchant's, so its
 * fingerprints match none of the other lanes' sales, nor theirs its own. It
 * decides nothing more (begin, peek, override and charge reject
 * SECRET_CHANGED); settles of what it charged still go through.
 */
function metaConflict(ctx: GuardContext, key: string, held: string): void {
  if (key !== KEY_CHECK || held === ctx.hasher.keyCheck || ctx.misconfigured) return;
  const error = notTheMerchantsSecret();
  ctx.misconfigured = error;
  journal(ctx, { at: guardNow(ctx), type: 'storage', detail: `SECRET_CHANGED: ${error.message}` });
  storageError(ctx, error, 'attach');
}

/**
 * A shared store's catch-up after a cut-off found this terminal's attempt and
 * another terminal's both charged for one sale or order: a probable double
 * charge, for a person to refund (SPEC §9). Reported, never settled here.
 */
function conflict(ctx: GuardContext, code: ConflictCode, attempts: readonly [string, string]): void {
  const [own, other] = attempts;
  journal(ctx, {
    at: guardNow(ctx),
    type: 'conflict',
    codes: [code],
    attemptId: own,
    attempts: [own, other],
    detail: `${code}: ${own} (this terminal) and ${other} (another terminal) were both charged while this terminal was cut off`,
  });
  ctx.events.emit({ type: 'conflict', code, attempts: [own, other] });
}

/** A record another tab or process wrote: take it into the index. */
export function adopt(ctx: GuardContext, record: AttemptRecord): void {
  if (ctx.closed) return;
  const now = guardNow(ctx);
  if (recordProblem(record) !== undefined) return;
  const held = ctx.index.get(record.id);
  const adopted = ctx.time.fromWall(makeRecord(record), held);
  if (ctx.index.deadline(adopted) <= now) return;
  // A message or a store read can be older than what this guard holds; but a version held dated ahead
  // of this guard's clock was stamped before the clock was set back, and one not ahead since: newer.
  if (held && held.updatedAt > adopted.updatedAt && !(held.updatedAt > now && adopted.updatedAt <= now)) return;
  // This guard is charging it: the processor's answer here is the truth,
  // whatever another tab (that took it for a dead tab's) settled it as;
  // except an approval (found by a status inquiry, or refunded since): the
  // money was taken, and no answer but a reversal may take that back (SPEC
  // §2). Adopted, a decline or timeout here is then a late answer, kept.
  // Only over its own open version: once it took another tab's approval in, what follows is adopted.
  const taken = adopted.status === 'approved' || adopted.status === 'refunded';
  if (held && isOpen(held.status) && ctx.charging.has(held.id) && adopted.status !== held.status && !taken) {
    ctx.charging.set(held.id, adopted.status);
    return;
  }
  ctx.announced.delete(adopted.id);
  ctx.index.add(adopted);
  track(ctx, adopted);
}

/**
 * `adopt`, except the very version start-up read as pending and reports as
 * unknown (its process died mid-charge): nothing new for a settle or a
 * decision's read. (A reservation's claim adopts it: there, a pending in the
 * store may be another tab's charge in flight.)
 */
export function adoptUnlessRecovered(ctx: GuardContext, record: AttemptRecord): void {
  const recovered = ctx.recovered.get(record.id);
  if (!recovered || !sameVersion(record, recovered)) adopt(ctx, record);
}

/**
 * A record another tab holds in memory only (its write failed, and it
 * charges anyway): a hold on its sale, and never more. It can add a live
 * record this guard did not know, or update one it learnt the same way;
 * it can never change what the store gave this guard, nor release a hold.
 */
function adoptAnnounced(ctx: GuardContext, record: AttemptRecord): void {
  if (recordProblem(record) !== undefined || !isLive(record.status)) return;
  const held = ctx.index.get(record.id);
  if (held && !ctx.announced.has(record.id)) return;
  const now = guardNow(ctx);
  // Its times are the sender's word: none may lie ahead, or a forged hold would never turn unknown (liftable) nor expire.
  const adopted = retime(ctx.time.fromWall(makeRecord(record)), (t) => Math.min(t, now));
  if (ctx.index.deadline(adopted) <= now) return;
  ctx.announced.add(record.id);
  ctx.index.add(adopted);
}

/**
 * The storage was deleted under this guard (site data cleared): write back
 * everything it holds, its live records filed under their claim keys
 * again, so that other tabs see its charges in flight; and say so.
 */
async function restore(ctx: GuardContext, detail: string): Promise<void> {
  const { store } = ctx.o;
  const records = [...ctx.index.values()];
  storageError(ctx, new GuardStorageError('WIPED', `${detail}: writing back the ${records.length} attempts this guard holds`), 'restore');
  journal(ctx, { at: guardNow(ctx), type: 'storage', detail: `${detail}; wrote back ${records.length} attempts` });
  const writes: Promise<unknown>[] = [write(ctx, () => store.setMeta(KEY_CHECK, ctx.hasher.keyCheck))];
  // A put files a live record under its claim keys again.
  for (const record of records) writes.push(write(ctx, () => store.put(ctx.time.toWall(record))));
  const failed = (await Promise.allSettled(writes)).find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) storageError(ctx, failed.reason, 'restore');
}
