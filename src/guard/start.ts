/**
 * A guard's hold on its store: start-up (taking the store over from a guard
 * still running over it, checking the secret, hydrating memory), and close.
 */
import { GuardConfigError } from '../errors.js';
import { makeRecord, recordProblem } from '../record.js';
import type { AttemptRecord, GuardStore, StoreOwner } from '../types.js';
import {
  HISTORY_PRUNE_EVERY_MS,
  KEY_CHECK,
  assertOpen,
  contextOf,
  guardNow,
  holdsStore,
  notTheMerchantsSecret,
  noteSuccession,
  owners,
  sharedByTabs,
  staleAt,
  startsInProgress,
  type GuardContext,
} from './context.js';
import { prune } from './prune.js';
import { readFor, recall } from './recall.js';
import { repairRefund } from './settle.js';
import { applyChange } from './tabs.js';
import { resumeRecovery, stopRecovery, track } from './recover.js';
import { isSubmitting, submitsOfGuard } from './submits.js';
import { within } from './deadline.js';
import { journal, journalStarted, persist, storageError, storeCall, storeCallSync } from './writes.js';
import {
  OPEN_STEPS_WRITTEN_WITHIN_MS,
  loadClockSteps,
  lookAtClock,
  noteClockStep,
  saveClockSteps,
  stopClockWatch,
  watchClock,
  watchLeft,
  watchOpen,
} from './clock-steps.js';

/** Checks the secret against the store, takes the store over, and hydrates the index from it. */
export async function hydrate(ctx: GuardContext): Promise<void> {
  const { store } = ctx.o;
  ctx.time.onStep = (at, by) => noteClockStep(ctx, at, by);
  await storeCall('attach', async () => store.attach?.(ownerOf(ctx)));
  const starting = start(ctx);
  // Answers in hand for the guards this start fences wait for it (successorOf) rather than be refused.
  startsInProgress.add(starting);
  try {
    await starting;
  } catch (error) {
    const owner = owners.owner(store);
    // Attached, but not started (SECRET_CHANGED, a load that failed), and no other guard runs over it: a
    // store several terminals share holds the terminal (and its connections) until closed, which would
    // refuse this terminal id to the next store made for it (the corrected configuration) as LOCKED.
    // Likewise when the guards it fenced have all closed meanwhile: their close left the store to this start;
    // and when it took its storage over from another store object whose guard runs (a hot reload of a
    // fileStore refused, e.g. SECRET_CHANGED): closed, it hands the file back, and that till goes on.
    if (owner === undefined && (store.attach || ctx.fenced || supersedesRunning(store))) await giveBack(ctx);
    // Another guard runs over it (the one this start fenced, handed it back, or that it never fenced):
    // the store serves that guard's window, retention and clock again, not the refused ones.
    else if (store.attach && owner && owner !== ctx.guard) await reattach(contextOf(owner));
    throw error;
  } finally {
    startsInProgress.delete(starting);
  }
}

/** Whether `store` took its storage over from another store object that a guard, not closed, still runs over. */
function supersedesRunning(store: GuardStore): boolean {
  try {
    const older = store.supersedes?.();
    const guard = older && owners.owner(older);
    return guard !== undefined && !contextOf(guard).closed;
  } catch {
    // The store's own supersedes failing: what the start failed for is what is reported.
    return false;
  }
}

/** What a store several terminals share is told of the guard over it (SPEC §9): scope, window, retention, clock. */
function ownerOf(ctx: GuardContext): StoreOwner {
  const { merchantId, terminalId, windowMs, pendingTimeoutMs, retentionMs, clock, scheduler } = ctx.o;
  // The store reads the wall clock as the guard's stamps do: a jump under GuardTime's tolerance
  // moves neither, one past it both (a shared store measures its skew against this clock).
  const storeClock = { now: () => ctx.time.wallNow(), monotonic: () => clock.monotonic() };
  return { merchantId, terminalId, windowMs, pendingTimeoutMs, retentionMs, clock: storeClock, scheduler };
}

async function reattach(owner: GuardContext): Promise<void> {
  try {
    await storeCall('attach', async () => owner.o.store.attach?.(ownerOf(owner)));
  } catch (error) {
    // The running guard's problem, told to it: the refused start's error is what createGuard reports.
    storageError(owner, error, 'attach');
  }
}

/** How long a failed start waits for the store it gives back to close: a store that never answers must not hang createGuard. */
const GIVE_BACK_MS = 2_000;

async function giveBack(ctx: GuardContext): Promise<void> {
  // A close that throws, rejects or never settles is the store's own problem: the start's error is what is reported.
  const closed = Promise.resolve()
    .then(() => ctx.o.store.close?.())
    .catch(() => undefined);
  await within(ctx.o.scheduler, GIVE_BACK_MS, closed, () => undefined);
}

async function start(ctx: GuardContext): Promise<void> {
  const { store } = ctx.o;
  const keyCheck = await storeCall('getMeta', () => store.getMeta(KEY_CHECK));
  // An empty history on a store that can say who wrote its key check first: written only if still absent, so
  // of two terminals starting together with different secrets, the second is refused. Written once the
  // load is done, the last step that can fail: a start that fails leaves no key check of its own behind
  // (cut off, it would be sent to the database once back, and refuse the merchant's secret everywhere).
  const initMeta = keyCheck === undefined ? store.initMeta?.bind(store) : undefined;
  const secretChanged = keyCheck !== undefined && keyCheck !== ctx.hasher.keyCheck;
  // A store several terminals share holds every lane's history: one terminal given the wrong secret
  // must not wipe it (every lane would then let its duplicates through), whatever it was told.
  if (secretChanged && store.attach) throw notTheMerchantsSecret();
  if (secretChanged && !ctx.o.resetOnSecretChange) {
    throw new GuardConfigError(
      'SECRET_CHANGED',
      '`secret` differs from the one this store was written with: fingerprints would no longer match its history. Restore the old secret, or pass `resetOnSecretChange: true` to start a new history.',
      { field: 'secret' },
    );
  }
  // Fence first, then load: a guard still running over this store must
  // not reserve anything the load below would miss. Its calls from now on
  // fail with TAKEN_OVER; the writes it already issued are waited for.
  const previousGuard = owners.take(store, ctx.guard);
  const previous = previousGuard && contextOf(previousGuard);
  ctx.fenced = previous;
  // The fenced guard recovers nothing (its writes would be refused) while this one loads.
  if (previous) stopBackground(previous);
  ctx.starting = [];
  try {
    if (previous) await Promise.all(previous.inflight);
    await load(ctx, initMeta ? ctx.hasher.keyCheck : keyCheck, secretChanged);
    // Opened: a store object it superseded (a hot reload's second fileStore) hands its guard's answers on here.
    noteSuccession(store);
    if (initMeta && (await storeCall('initMeta', () => initMeta(KEY_CHECK, ctx.hasher.keyCheck))) !== ctx.hasher.keyCheck) {
      throw notTheMerchantsSecret();
    }
    // Taken over while it loaded (a second createGuard over the store, that started first): it starts
    // nothing, writes nothing, and hears nothing of a store that is not its own.
    assertOpen(ctx);
    ctx.unsubscribe = storeCallSync('subscribe', () => store.subscribe?.((change) => applyChange(ctx, change)));
  } catch (error) {
    // A guard that fails to start leaves nothing running (its journal entries are dropped, it hears and
    // recovers nothing), and gives the store back to the guard it fenced, whole: that one kept hearing the
    // store meanwhile, and its tries go on.
    ctx.starting = undefined;
    ctx.closed = true;
    try {
      ctx.unsubscribe?.();
    } catch {
      // The store's own unsubscribe failing must not hide why the start failed.
    }
    stopBackground(ctx);
    const back = stillOpen(ctx.fenced);
    // Only if this guard still holds the store: a later take-over holds it otherwise, and hands it back itself.
    if (owners.release(store, ctx.guard, back?.guard) && back) {
      resumeBackground(back);
      for (const change of ctx.heard.splice(0)) applyChange(back, change);
    }
    throw error;
  }
  journalStarted(ctx);
  if (ctx.clockSteps.length > 0) void saveClockSteps(ctx);
  // Started: the guards fenced on the way hear nothing more (nor write back their stale copies on a wipe),
  // and what they heard meanwhile that must be acted on is acted on here.
  for (let fenced = ctx.fenced; fenced; fenced = fenced.fenced) fenced.unsubscribe?.();
  ctx.fenced = undefined;
  for (const change of ctx.heard.splice(0)) applyChange(ctx, change);
}

/**
 * The guard a failed start hands the store back to: the one it fenced, or,
 * past take-overs that failed in turn (closed, still listing whom they
 * fenced), the one they fenced. One closed after it started is gone for good.
 */
function stillOpen(fenced: GuardContext | undefined): GuardContext | undefined {
  let back = fenced;
  while (back?.closed && back.fenced) back = back.fenced;
  return back && !back.closed ? back : undefined;
}

async function load(ctx: GuardContext, keyCheck: string | undefined, secretChanged: boolean): Promise<void> {
  const { store } = ctx.o;
  const now = guardNow(ctx);
  ctx.startedAt = now;
  ctx.index.onOpen = () => watchOpen(ctx);
  // A reset keeps only the attempts still out with the processor (charged by a guard before a hot
  // reload): their answers are recorded in the new history, not lost with the old one.
  let out: AttemptRecord[] = [];
  if (secretChanged) {
    const stale = await storeCall('load', () => store.load());
    out = stale.filter((record) => isSubmitting(ctx, record.id));
    const wiped = stale.filter((record) => !out.includes(record));
    await storeCall('delete', () => Promise.all(wiped.map((record) => store.delete(record.id))));
  }
  // A store with history prunes what retention let go, and hands over the hot records; the rest stay with it.
  const history = ctx.history;
  const pastRetention =
    history && !secretChanged ? await storeCall('prune', () => history.prune(ctx.time.wallOf(now - ctx.o.retentionMs) + 1)) : 0;
  ctx.nextHistoryPrune = now + HISTORY_PRUNE_EVERY_MS;
  const scope = history ? { since: ctx.time.wallOf(now - ctx.o.windowMs) } : undefined;
  const records = secretChanged ? out : await storeCall('load', () => store.load(scope));
  if (keyCheck !== ctx.hasher.keyCheck) await storeCall('setMeta', () => store.setMeta(KEY_CHECK, ctx.hasher.keyCheck));

  if (!store.timesOnOwnerClock) await loadClockSteps(ctx, now);
  if (!store.timesOnOwnerClock && sharedByTabs(ctx)) {
    ctx.openKeptUntil = now + OPEN_STEPS_WRITTEN_WITHIN_MS;
    ctx.index.keepsOpen = true;
  }
  const problems: string[] = [];
  const kept: AttemptRecord[] = [];
  for (const stored of records) {
    const problem = recordProblem(stored);
    if (problem) problems.push(problem);
    else kept.push(ctx.time.fromWall(makeRecord(stored)));
  }
  ctx.index.addAll(kept, now);
  // What a guard this one fenced held in memory only (its writes failed, the till went on): taken
  // over, not lost with it, and written by the next write that succeeds here.
  for (let fenced = ctx.fenced; fenced; fenced = fenced.fenced) {
    for (const id of fenced.unpersisted) {
      const held = fenced.index.get(id);
      if (!held || ctx.unpersisted.has(id)) continue;
      ctx.index.add(ctx.time.fromWall(fenced.time.toWall(held)));
      ctx.unpersisted.add(id);
    }
  }
  // The process that wrote a `pending` died mid-charge: the charge may have
  // gone through. Another terminal's is its own to settle: it stays IN_FLIGHT
  // here until it grows stale past `pendingTimeout` (SPEC §9).
  // A charge this process still has out (the guard this one takes over from is submitting it) is in
  // flight, not a dead process's: it stays pending (IN_FLIGHT), and its answer settles it.
  const pending = kept.filter((record) => record.status === 'pending' && !ofAnotherTerminal(ctx, record) && !isSubmitting(ctx, record.id));
  for (const record of pending) {
    ctx.recovered.set(record.id, record);
    ctx.index.add(makeRecord({ ...record, status: 'unknown' }));
    // Named in the journal, so an audit can tell when each of these became
    // unknown and how long it took to resolve (SPEC §12): the start entry only counts them.
    journal(ctx, { at: now, type: 'settle', attemptId: record.id, from: 'pending', to: 'unknown' });
  }
  // A charge a crash, or the guard taken over, left out: the clock is watched as if it had just gone out;
  // and for as long as the guard taken over was to watch it (a `recover` call it has out).
  if (kept.some((record) => record.status === 'pending')) watchClock(ctx, now);
  const theirs = ctx.fenced ? watchLeft(ctx.fenced) : 0;
  if (theirs > 0) watchClock(ctx, now, theirs);
  lookAtClock(ctx);
  // Every open attempt goes on the recover schedule: the unknown ones due from now (SPEC §10). In a
  // store tabs share, a pending may be a live tab's charge: due once it is stale.
  const shared = sharedByTabs(ctx);
  for (const record of kept) {
    if (record.status !== 'pending' && record.status !== 'unknown') continue;
    const live = shared && ctx.recovered.has(record.id) ? staleAt(ctx, record) : now;
    track(ctx, ctx.index.get(record.id) ?? record, Math.max(now, live));
  }
  // A crash between an approved refund's write and its original's leaves
  // the original short: count it now (idempotent, so nothing is doubled).
  const refunds = kept.filter((record) => record.kind === 'refund' && record.status === 'approved');
  const originals = await Promise.all(
    refunds.map((record) => readFor(ctx, { merchantId: record.merchantId, refundOf: record.refundOf }) ?? Promise.resolve([])),
  );
  recall(ctx, originals.flat());
  for (const record of refunds) void repairRefund(ctx, record, now).catch(() => undefined);
  const pruned = pastRetention + prune(ctx, now);
  const warnings = [...(storeCallSync('warnings', () => store.warnings?.()) ?? []), ...problems.map((p) => `skipped ${p}`)];
  journal(ctx, {
    at: now,
    type: 'start',
    detail: `loaded ${records.length}, kept ${ctx.index.size}, pruned ${pruned}, in-flight at crash ${pending.length}${warnings.length ? `; ${warnings.join('; ')}` : ''}`,
  });
}

/**
 * A record another terminal wrote, in a store several terminals share (one
 * with `attach`): not under this guard's `terminalId`, which every sale it
 * records carries there (validateSale refuses another). One without, or a
 * guard without one, cannot be told to be its own: left to pendingTimeout.
 * A single terminal's store holds only its own, whatever each sale carried.
 */
function ofAnotherTerminal(ctx: GuardContext, record: AttemptRecord): boolean {
  return ctx.o.store.attach !== undefined && (ctx.o.terminalId === undefined || record.terminalId !== ctx.o.terminalId);
}

/** Stops what a guard runs on timers (its recover schedule, its clock watch): it was fenced, or failed to start. */
function stopBackground(ctx: GuardContext): void {
  void stopRecovery(ctx);
  stopClockWatch(ctx);
}

/** A guard handed its store back (a take-over failed to start): its timers go on. */
function resumeBackground(ctx: GuardContext): void {
  resumeRecovery(ctx);
  lookAtClock(ctx);
}

/** `Guard.close`: waits for pending writes and closes the store, if this guard still owns it. Every call waits for the same close. */
export function close(ctx: GuardContext): Promise<void> {
  ctx.closing ??= closeOnce(ctx);
  return ctx.closing;
}

async function closeOnce(ctx: GuardContext): Promise<void> {
  if (ctx.closed) return;
  // A `recover` call in progress is waited for, and its answer applied, before the guard closes; so
  // is a charge this guard has out (the processor's answer, or its timeout: at most pendingTimeout).
  await stopRecovery(ctx);
  await Promise.allSettled(submitsOfGuard(ctx));
  if (ctx.closed) return;
  ctx.closed = true;
  stopClockWatch(ctx);
  try {
    ctx.unsubscribe?.();
  } catch {
    // The store's own unsubscribe failing must not keep the guard open.
  }
  await Promise.all(ctx.inflight);
  // What a failed write left in memory only gets one more try before the store closes (a till shut
  // down after a disk hiccup): else it was lost with the process, a refund paid meanwhile included.
  // So do clock steps whose write failed.
  if ((ctx.unpersisted.size > 0 || ctx.clockSteps.length > 0) && holdsStore(ctx)) await persist(ctx, []).catch(() => undefined);
  ctx.events.clear();
  if (owners.release(ctx.o.store, ctx.guard)) {
    const { store } = ctx.o;
    await storeCall('close', async () => store.close?.());
  }
}
