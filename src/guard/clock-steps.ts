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
  return write(ctx, save).catch((error: unknown) => {
    ctx.clockSteps = mergeClockSteps(fresh, ctx.clockSteps, ctx.time.wallNow());
    storageError(ctx, error, 'setMeta');
  });
}

/** How often a guard with a charge or a `recover` call out reads its clock when no call does. */
export const WATCH_EVERY_MS = 5_000;

/**
 * A charge went out at `now` (a begin or resume; at start-up, one a crash or
 * the guard taken over left pending): for `pendingTimeout` after it (`span`),
 * the guard reads its clock every 5 s when no call does. A step of the wall
 * clock (NTP setting it right mid-charge) is then noticed, and written,
 * within seconds rather than at the next call, which a crash may never let
 * come (docs/recovery.md). Bounded: at most `span` ÷ 5 s reads after the
 * last charge, none on an idle till. A `recover` call's lease is watched
 * the same way, for as long as it holds (see takeLease in recover.ts).
 */
export function watchClock(ctx: GuardContext, now: number, span = ctx.o.pendingTimeoutMs): void {
  const watch = ctx.clockWatch;
  if (ctx.closed || ctx.o.store.timesOnOwnerClock === true) return;
  watch.until = Math.max(watch.until, now + span);
  const look = () => {
    watch.cancel = undefined;
    try {
      // Reading the clock is the point: guardNow notices a step (GuardTime.onStep → noteClockStep).
      if (ctx.closed || !holdsStore(ctx) || guardNow(ctx) > watch.until) return;
    } catch {
      // A clock that throws: no watch until the next charge, whose own call fails on it (not a timer).
      return;
    }
    watch.cancel = afterInBackground(ctx.o.scheduler, WATCH_EVERY_MS, look);
  };
  watch.cancel ??= afterInBackground(ctx.o.scheduler, WATCH_EVERY_MS, look);
}

/** Stops the watch of a guard closed or taken over: its timer would keep the guard reachable. */
export function stopClockWatch(ctx: GuardContext): void {
  ctx.clockWatch.cancel?.();
  ctx.clockWatch.cancel = undefined;
}

/** A guard handed its store back (the take-over failed to start): its watch goes on until it would have ended. */
export function resumeClockWatch(ctx: GuardContext): void {
  const [until, now] = [ctx.clockWatch.until, guardNow(ctx)];
  if (until > now) watchClock(ctx, now, until - now);
}

/**
 * The steps the store keeps now, and those it kept when this guard started,
 * oldest first: a tab's step noticed since (its watch over a `recover`
 * call's lease) is among them. Listed, not merged: merging the same step
 * twice would make one step of two (see clock-steps.ts).
 */
export async function storedClockSteps(ctx: GuardContext): Promise<readonly ClockStep[]> {
  const stored = parseClockSteps(await storeCall('getMeta', () => ctx.o.store.getMeta(CLOCK_STEPS)), ctx.time.wallNow());
  return [...ctx.stepsBeforeStart, ...stored].sort((a, b) => a[0] - b[0]);
}
