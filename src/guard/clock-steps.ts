/**
 * The wall clock's forward steps, as a guard keeps them with its store (see
 * src/clock-steps.ts for what a step is and why): noticed, written, and read
 * back at start-up.
 */
import { CLOCK_STEPS, heldLongerBy, mergeClockSteps, parseClockSteps, withClockStep, type ClockStep } from '../clock-steps.js';
import { afterInBackground } from '../options.js';
import { guardNow, holdsStore, type GuardContext } from './context.js';
import { storageError, storeCall, write } from './writes.js';

/**
 * The wall clock stepped forward: kept with the store's metadata, so that
 * the next start, or a tab opened later, holds the open attempts stamped
 * before it as long as this guard does (see clock-steps.ts). A store that
 * moves times onto the clock as it reads now (a shared store, by the
 * database's clock) needs none. One noted during start-up is written once
 * the start succeeded.
 */
export function noteClockStep(ctx: GuardContext, at: number, by: number): void {
  if (ctx.o.store.timesOnOwnerClock === true || ctx.closed) return;
  ctx.clockSteps = withClockStep(ctx.clockSteps, at, by);
  if (!ctx.starting) void saveClockSteps(ctx);
}

/**
 * The steps noticed before this start (this guard's own are on guard time
 * already): those the store kept, and those a guard this one fenced noticed,
 * or notices now, but did not write (a hot reload).
 */
export async function loadClockSteps(ctx: GuardContext, now: number): Promise<void> {
  const wall = ctx.time.wallOf(now);
  const stored = parseClockSteps(await storeCall('getMeta', () => ctx.o.store.getMeta(CLOCK_STEPS)), wall);
  let theirs: ClockStep[] = [];
  for (let fenced = ctx.fenced; fenced; fenced = fenced.fenced) {
    fenced.time.look(); // a step since it last read its clock (a hot reload right after NTP set it)
    theirs = mergeClockSteps(theirs, fenced.clockSteps, wall);
  }
  const steps = mergeClockSteps(stored, theirs, wall);
  if (steps.length > 0) ctx.index.heldLonger = (stamp) => heldLongerBy(steps, stamp);
  ctx.stepsBeforeStart = steps;
  // Written with this guard's own: nothing else will.
  ctx.clockSteps = mergeClockSteps(theirs, ctx.clockSteps, wall);
}

/**
 * Writes the wall clock's steps this guard noticed (see clock-steps.ts) into
 * the store's metadata, merged with what is there: another tab may have
 * written a step this guard never saw (it started after that step). A write
 * that fails is tried again with the next record written, and at close.
 */
export function saveClockSteps(ctx: GuardContext): Promise<void> {
  if (ctx.clockSteps.length === 0 || !holdsStore(ctx)) return Promise.resolve();
  const { store } = ctx.o;
  const fresh = ctx.clockSteps;
  ctx.clockSteps = [];
  const save = async () => {
    const wall = ctx.time.wallNow();
    const stored = parseClockSteps(await store.getMeta(CLOCK_STEPS), wall);
    await store.setMeta(CLOCK_STEPS, JSON.stringify(mergeClockSteps(stored, fresh, wall)));
  };
  // Read, merged and written after the save in progress: two read before either wrote would each
  // write its own step over the other's (a second step noticed while the first was being written).
  const previous = ctx.stepsSaved;
  const saved = write(ctx, () => previous.then(save)).catch((error: unknown) => {
    ctx.clockSteps = mergeClockSteps(fresh, ctx.clockSteps, ctx.time.wallNow());
    storageError(ctx, error, 'setMeta');
  });
  ctx.stepsSaved = saved;
  return saved;
}

/** How often a guard with a charge or a `recover` call out reads its clock when no call does. */
export const WATCH_EVERY_MS = 5_000;
/**
 * How often it does while it only holds open attempts (`unknown`, or
 * `pending` past its charge): a step is in the store within 15 minutes. An
 * unknown outcome can wait days for a person; every minute would be 10,000
 * timers a week, which a QA scenario on virtual time runs one by one.
 */
const WATCH_OPEN_EVERY_MS = 15 * 60_000;

/**
 * How soon every live tab has written a step of the clock it noticed while
 * holding an open attempt: its watch looks every WATCH_OPEN_EVERY_MS, a
 * browser runs the timers of a hidden tab at most once a minute, then one
 * write. A tab opened after a step no tab has written yet (a tablet whose
 * clock NTP set days forward, a minute before) would otherwise read another
 * tab's open attempt as days old, and prune it: its retry let through.
 */
export const OPEN_STEPS_WRITTEN_WITHIN_MS = WATCH_OPEN_EVERY_MS + 60_000 + 5_000;

/**
 * The steps the store keeps now, read once OPEN_STEPS_WRITTEN_WITHIN_MS has
 * passed since start-up (a store tabs share): the open records are held by
 * them too, and may be pruned from then on. Read again at the next prune if
 * the store cannot be read.
 */
export async function refreshClockSteps(ctx: GuardContext): Promise<void> {
  const wall = ctx.time.wallNow();
  let text: string | undefined;
  try {
    text = await ctx.o.store.getMeta(CLOCK_STEPS);
  } catch {
    return;
  }
  // Those read at start-up counted again: a step two tabs noticed is kept twice, held longer (never shorter).
  const steps = mergeClockSteps(parseClockSteps(text, wall), ctx.stepsBeforeStart, wall);
  ctx.index.holdOpenLonger((stamp) => heldLongerBy(steps, stamp));
}

/**
 * A charge went out at `now` (a begin or resume; at start-up, one a crash or
 * the guard taken over left pending): for `pendingTimeout` after it (`span`),
 * the guard reads its clock every 5 s when no call does. A step of the wall
 * clock (NTP setting it right mid-charge) is then noticed, and written,
 * within seconds rather than at the next call, which a crash may never let
 * come (docs/recovery.md). A `recover` call's lease is watched the same way,
 * for as long as it holds (see takeLease in recover.ts). After that, while
 * the guard holds an open attempt (an unknown outcome waiting for a person),
 * every 15 minutes; on a till with none, not at all.
 */
export function watchClock(ctx: GuardContext, now: number, span = ctx.o.pendingTimeoutMs): void {
  if (ctx.closed || ctx.o.store.timesOnOwnerClock === true) return;
  ctx.clockWatch.until = Math.max(ctx.clockWatch.until, now + span);
  lookIn(ctx, WATCH_EVERY_MS);
}

/**
 * The next look at the clock in `ms`, unless one is due as soon, or the
 * guard no longer holds its store (fenced by a take-over still starting, it
 * hears the store: a look would do nothing, and hold it reachable until then).
 * The common case, a look already due as soon, returns before any lookup.
 */
function lookIn(ctx: GuardContext, ms: number): void {
  const watch = ctx.clockWatch;
  if (watch.cancel && watch.every <= ms) return;
  if (!holdsStore(ctx)) return;
  watch.cancel?.();
  watch.every = ms;
  // A scheduler whose after() returned no cancel (see withCancel) still runs a timer replaced here: only the current one acts.
  const timer = (watch.timer = {});
  watch.cancel = afterInBackground(ctx.o.scheduler, ms, () => {
    if (watch.timer !== timer) return;
    watch.cancel = undefined;
    lookAtClock(ctx);
  });
}

/** An open attempt came into memory (a charge, another tab's change, a read): the clock is watched while it is held. */
export function watchOpen(ctx: GuardContext): void {
  if (!ctx.closed && ctx.o.store.timesOnOwnerClock !== true) lookIn(ctx, WATCH_OPEN_EVERY_MS);
}

/**
 * Reads the clock (guardNow notices a step: GuardTime.onStep → noteClockStep)
 * and sets the next look as the guard's state asks (see watchClock); writes
 * steps whose write failed (a guard with only a `recover` call out writes no
 * record they could go out with). Also where a watch starts again: at
 * start-up, and in a guard handed its store back (the take-over failed to
 * start).
 */
export function lookAtClock(ctx: GuardContext): void {
  const watch = ctx.clockWatch;
  let now: number;
  try {
    if (ctx.closed || ctx.o.store.timesOnOwnerClock === true || !holdsStore(ctx)) return;
    now = guardNow(ctx);
  } catch {
    // A clock that throws: no watch until the next charge, whose own call fails on it (not a timer).
    return;
  }
  if (ctx.clockSteps.length > 0 && !ctx.starting) void saveClockSteps(ctx);
  if (now <= watch.until) lookIn(ctx, WATCH_EVERY_MS);
  else if (ctx.index.openCount > 0) lookIn(ctx, WATCH_OPEN_EVERY_MS);
}

/**
 * How much longer the guard `fenced` (taken over by this one) was to watch
 * its clock: a charge or `recover` call it has out, which the guard taking
 * over answers (0: none, or its clock throws).
 */
export function watchLeft(fenced: GuardContext): number {
  try {
    return Math.max(0, fenced.clockWatch.until - guardNow(fenced));
  } catch {
    return 0;
  }
}

/** Stops the watch of a guard closed or taken over: its timer would keep the guard reachable. */
export function stopClockWatch(ctx: GuardContext): void {
  ctx.clockWatch.cancel?.();
  ctx.clockWatch.cancel = undefined;
  ctx.clockWatch.timer = undefined;
}

/**
 * The steps the store keeps now, and those it kept when this guard started,
 * oldest first: a tab's step noticed since (its watch over a `recover`
 * call's lease) is among them. Listed, not merged: merging the same step
 * twice would make one step of two (see clock-steps.ts). null: the store
 * could not be read.
 */
export async function storedClockSteps(ctx: GuardContext): Promise<readonly ClockStep[] | null> {
  let text: string | undefined;
  try {
    text = await ctx.o.store.getMeta(CLOCK_STEPS);
  } catch {
    return null;
  }
  return [...ctx.stepsBeforeStart, ...parseClockSteps(text, ctx.time.wallNow())].sort((a, b) => a[0] - b[0]);
}
