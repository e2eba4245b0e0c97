/**
 * Forward steps of the wall clock, remembered across restarts.
 *
 * A persisted time is the wall clock's reading when it was stamped. When the
 * clock then steps forward (a till booted days behind until NTP set it
 * right, or a tablet waking from sleep), every time stamped before the step
 * reads older by the step's size to anyone who compares it with the clock
 * afterwards. Within the process that noticed the step, guard time ages
 * records correctly (see GuardTime). The next process, or another tab
 * opened afterwards, only has the stored stamps: without this, an attempt
 * whose outcome is unknown, 40 seconds old but stamped 9 days "ago", is
 * pruned at start-up as unreconciled for 7 days, and its retry is let
 * through (SPEC §1, field failures 2 and 3).
 *
 * So each step is kept in the store's metadata, `[at, by]`: the wall time it
 * was noticed on the new clock, and how far forward the clock moved. The
 * clock read at most `at - by` just before the step, so an open attempt
 * stamped at or before that is held `by` longer; one stamped after it was
 * stamped on the new clock. The two cases cannot be told apart from the
 * clocks (the monotonic clock pauses during a sleep), so each step is read
 * as the one that errs on the safe side: an open outcome kept longer, never
 * pruned early. A step two tabs both noticed is kept twice: held longer.
 */
import { UNKNOWN_MAX_AGE_MS } from './attempt-index.js';

/** The metadata key: `JSON.stringify` of `[at, by][]`, oldest first. */
export const CLOCK_STEPS = 'clock-steps';

/** Noticed at `at` (wall time, the clock after the step), `by` milliseconds forward. */
export type ClockStep = readonly [at: number, by: number];

/**
 * At most this many kept: past it the oldest merge into one that holds
 * every stamp any of them held, by all of their sizes together (longer,
 * never shorter). A tablet that sleeps and wakes all day writes a few
 * hundred bytes.
 */
const MAX_STEPS = 16;
/** 16 steps take under 1 KB: a longer value is damage, read as none. */
const MAX_TEXT = 64 * 1024;

/** The last stamp a step holds longer: the clock's reading just before it. */
const lastHeld = ([at, by]: ClockStep): number => at - by;

/**
 * The steps stored under CLOCK_STEPS, as `tidy` keeps them at `now`. What is
 * not a list of forward steps that can hold a stamp after 1970 (damage, an
 * older release's absence) reads as none.
 */
export function parseClockSteps(text: string | undefined, now = Number.NEGATIVE_INFINITY): ClockStep[] {
  if (text === undefined || text.length > MAX_TEXT) return [];
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return [];
  }
  if (!Array.isArray(value)) return [];
  const valid = (step: unknown): step is ClockStep =>
    Array.isArray(step) &&
    step.length === 2 &&
    Number.isFinite(step[0]) &&
    Number.isFinite(step[1]) &&
    (step[1] as number) > 0 &&
    lastHeld(step as unknown as ClockStep) > 0;
  return tidy(value.filter(valid), now);
}

/** `steps` and a step of `by` noticed at `at`, as `tidy` keeps them. */
export function withClockStep(steps: readonly ClockStep[], at: number, by: number): ClockStep[] {
  return tidy([...steps, [at, by]], at);
}

/** Both lists, each step once (the same pair twice is one step, read twice). */
export function unionClockSteps(a: readonly ClockStep[], b: readonly ClockStep[], now: number): ClockStep[] {
  const seen = new Set(a.map(([at, by]) => `${at},${by}`));
  return tidy([...a, ...b.filter(([at, by]) => !seen.has(`${at},${by}`))], now);
}

/**
 * Oldest first; without those noticed over 7 days before `now` (what they
 * hold was stamped before them, so it is older than 7 days by any clock);
 * past MAX_STEPS, the oldest merged into one. Each `at` is on the clock as
 * it read then, and later steps moved it on: read before `now` by all of
 * them, it is dropped late, never early.
 */
function tidy(steps: readonly ClockStep[], now: number): ClockStep[] {
  const moved = steps.reduce((sum, [, by]) => sum + by, 0);
  const kept = steps.filter(([at]) => now - at - moved <= UNKNOWN_MAX_AGE_MS).sort((a, b) => a[0] - b[0]);
  if (kept.length <= MAX_STEPS) return kept;
  const merged = kept.splice(0, kept.length - MAX_STEPS + 1);
  // Holds up to the latest stamp any of them held, by their sizes together: noticed
  // then (`at - by` is that stamp), which is no earlier than any of them, so kept as long.
  const by = merged.reduce((sum, [, size]) => sum + size, 0);
  const last = merged.reduce((latest, step) => Math.max(latest, lastHeld(step)), Number.NEGATIVE_INFINITY);
  return [[last + by, by] as const, ...kept].sort((a, b) => a[0] - b[0]);
}

/** How much longer an open attempt stamped at `stamp` is held: the steps it was stamped before. */
export function heldLongerBy(steps: readonly ClockStep[], stamp: number): number {
  let by = 0;
  for (const step of steps) if (stamp <= lastHeld(step)) by += step[1];
  return by;
}
