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
 * was noticed on the new clock, and how far forward the clock moved. An open
 * attempt stamped before `at` is held `by` longer. The two cases cannot be
 * told apart from the clocks (the monotonic clock pauses during a sleep), so
 * each step is read as the one that errs on the safe side: an open outcome
 * kept longer, never pruned early.
 */
import { UNKNOWN_MAX_AGE_MS } from './attempt-index.js';

/** The metadata key: `JSON.stringify` of `[at, by][]`, oldest first. */
export const CLOCK_STEPS = 'clock-steps';

/** Noticed at `at` (wall time, the clock after the step), `by` milliseconds forward. */
export type ClockStep = readonly [at: number, by: number];

/**
 * At most this many kept: past it the two oldest merge into one at the
 * older's time (what stands before either still gets both; what stands
 * between them gets the later one too, and is held longer, never shorter).
 * A tablet that sleeps and wakes all day still writes a few hundred bytes.
 */
const MAX_STEPS = 16;

/** The steps stored under CLOCK_STEPS; anything else (damage, an older release's absence) reads as none. */
export function parseClockSteps(text: string | undefined): ClockStep[] {
  if (text === undefined) return [];
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return [];
  }
  if (!Array.isArray(value)) return [];
  const valid = (step: unknown): step is ClockStep =>
    Array.isArray(step) && step.length === 2 && Number.isFinite(step[0]) && Number.isFinite(step[1]) && (step[1] as number) > 0;
  return value.filter(valid).sort((a, b) => a[0] - b[0]);
}

/**
 * `steps` with a step of `by` noticed at `at`: those noticed more than 7 days
 * before it dropped (an open attempt stamped before one of them is older than
 * 7 days by any clock: the step itself is that long ago).
 */
export function withClockStep(steps: readonly ClockStep[], at: number, by: number): ClockStep[] {
  const kept = steps.filter(([when]) => when > at - UNKNOWN_MAX_AGE_MS);
  kept.push([at, by]);
  while (kept.length > MAX_STEPS) {
    const [first, second] = kept.splice(0, 2) as [ClockStep, ClockStep];
    kept.unshift([first[0], first[1] + second[1]]);
  }
  return kept;
}

/** How much longer an open attempt stamped at `stamp` is held: the steps noticed after it. */
export function heldLongerBy(steps: readonly ClockStep[], stamp: number): number {
  let by = 0;
  for (const [at, size] of steps) if (at > stamp) by += size;
  return by;
}
