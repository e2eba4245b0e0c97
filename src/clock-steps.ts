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

/** The metadata key: `JSON.stringify` of `ClockStep[]`, oldest first. */
export const CLOCK_STEPS = 'clock-steps';

/**
 * Noticed at `at` (wall time, the clock after the step), `by` milliseconds
 * forward. A single step holds stamps up to `at - by`, the clock's reading
 * just before it. One merged from several (past MAX_STEPS) names the last
 * stamp it holds, `held`, and when the first of them was noticed, `first`.
 */
export type ClockStep = readonly [at: number, by: number, held?: number, first?: number];

/**
 * At most this many kept: past it the oldest merge into one that holds
 * every stamp any of them held, by all of their sizes together (longer,
 * never shorter). A tablet that sleeps and wakes all day writes a few
 * hundred bytes.
 */
const MAX_STEPS = 16;
/** 16 steps take under 1 KB: a longer value is damage, read as none. */
const MAX_TEXT = 64 * 1024;

/** The last stamp a step holds longer. */
const lastHeld = ([at, by, held]: ClockStep): number => held ?? at - by;

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
    (step.length === 2 || step.length === 4) &&
    step.every(Number.isFinite) &&
    (step[1] as number) > 0 &&
    lastHeld(step as unknown as ClockStep) > 0;
  return tidy(value.filter(valid), now);
}

/** `steps` and a step of `by` noticed at `at`, as `tidy` keeps them. */
export function withClockStep(steps: readonly ClockStep[], at: number, by: number): ClockStep[] {
  return tidy([...steps, [at, by]], at);
}

/**
 * What the store keeps after `fresh` steps (noticed since this guard last
 * wrote) join the `stored` ones. Never a list this guard wrote before with
 * its own steps again: a merged step and the steps it was made of would
 * count twice, and more at every write.
 */
export function mergeClockSteps(stored: readonly ClockStep[], fresh: readonly ClockStep[], now: number): ClockStep[] {
  return tidy([...stored, ...fresh], now);
}

/**
 * Oldest first; without those noticed over 7 days before `now` by the clock
 * as it read then (each later step moved it on: what they hold was stamped
 * before them, so it is older than 7 days by any clock); past MAX_STEPS, two
 * neighbours merged into one, noticed when the later was, holding up to the
 * latest stamp either held, by both sizes: the two noticed closest together,
 * so that merged steps stay spread over time and the old ones still age out
 * (always merging the oldest would grow one step without end).
 */
function tidy(steps: readonly ClockStep[], now: number): ClockStep[] {
  const sorted = [...steps].sort((a, b) => a[0] - b[0]);
  let later = 0;
  const kept: ClockStep[] = [];
  for (let i = sorted.length - 1; i >= 0; i--) {
    const step = sorted[i] as ClockStep;
    if (now - step[0] - later <= UNKNOWN_MAX_AGE_MS) kept.unshift(step);
    later += step[1];
  }
  while (kept.length > MAX_STEPS) {
    let pair = 0;
    for (let i = 1; i < kept.length - 1; i++) if (span(kept, i) < span(kept, pair)) pair = i;
    const [a, b] = kept.slice(pair, pair + 2) as [ClockStep, ClockStep];
    kept.splice(pair, 2, [b[0], a[1] + b[1], Math.max(lastHeld(a), lastHeld(b)), a[3] ?? a[0]]);
  }
  return kept;
}

/** From the first noticing of `steps[i]` to the last of `steps[i + 1]`. */
const span = (steps: readonly ClockStep[], i: number): number => {
  const [a, b] = [steps[i] as ClockStep, steps[i + 1] as ClockStep];
  return b[0] - (a[3] ?? a[0]);
};

/** How much longer an open attempt stamped at `stamp` is held: the steps it was stamped before. */
export function heldLongerBy(steps: readonly ClockStep[], stamp: number): number {
  let by = 0;
  for (const step of steps) if (stamp <= lastHeld(step)) by += step[1];
  return by;
}

/**
 * `stamp`, or, if it was taken before any of `steps` (oldest first), when
 * the last of the steps after it was noticed: a step noticed after one that
 * holds `stamp` holds that one's notice too, and so on down the list.
 */
export function noticedAfter(steps: readonly ClockStep[], stamp: number): number {
  let at = stamp;
  for (const step of steps) if (at <= lastHeld(step)) at = step[0];
  return at;
}
