import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { UNKNOWN_MAX_AGE_MS } from '../src/attempt-index.js';
import { heldLongerBy, parseClockSteps, withClockStep, type ClockStep } from '../src/clock-steps.js';

const DAY = 86_400_000;

describe('parseClockSteps', () => {
  it('reads what withClockStep wrote, oldest first', () => {
    const steps = withClockStep(withClockStep([], 5 * DAY, 3_000), 6 * DAY, 9 * DAY);
    expect(parseClockSteps(JSON.stringify(steps))).toEqual([
      [5 * DAY, 3_000],
      [6 * DAY, 9 * DAY],
    ]);
    expect(parseClockSteps(JSON.stringify([...steps].reverse()))).toEqual(steps);
  });

  it.each([
    ['absent', undefined],
    ['not JSON', '{'],
    ['not an array', '{"at":1,"by":2}'],
    ['an array of junk', '[1, "x", null, [1], [1, 2, 3], ["1", 2]]'],
  ])('reads %s as no steps', (_, text) => {
    expect(parseClockSteps(text)).toEqual([]);
  });

  it('keeps only forward steps of finite size: a step back or of 0 holds nothing longer', () => {
    expect(parseClockSteps('[[10, 5], [20, -5], [30, 0], [40, 1e400]]')).toEqual([[10, 5]]);
  });
});

describe('withClockStep', () => {
  it('drops steps noticed more than 7 days before the new one', () => {
    const old: ClockStep[] = [
      [0, 60_000],
      [2 * DAY, 60_000],
    ];
    expect(withClockStep(old, UNKNOWN_MAX_AGE_MS + DAY, 1_000)).toEqual([
      [2 * DAY, 60_000],
      [UNKNOWN_MAX_AGE_MS + DAY, 1_000],
    ]);
  });

  it('keeps at most 16, merging the oldest two into one at the older time', () => {
    let steps: ClockStep[] = [];
    for (let i = 1; i <= 40; i++) steps = withClockStep(steps, i * 60_000, 1_000);
    expect(steps).toHaveLength(16);
    // Every step's size is still counted for what stood before the first of them.
    expect(heldLongerBy(steps, 0)).toBe(40_000);
  });

  it('never holds an attempt shorter than the steps it was stamped before (a property over any steps)', () => {
    const step = fc.tuple(fc.integer({ min: 0, max: 6 * DAY }), fc.integer({ min: 1, max: 10 * DAY }));
    fc.assert(
      fc.property(fc.array(step, { maxLength: 60 }), fc.integer({ min: -1, max: 6 * DAY }), (noted, stamp) => {
        const ordered = [...noted].sort((a, b) => a[0] - b[0]);
        let kept: ClockStep[] = [];
        for (const [at, by] of ordered) kept = withClockStep(kept, at, by);
        // All within 7 days of each other: none is dropped, so all of them count.
        const exact = ordered.reduce((sum, [at, by]) => (at > stamp ? sum + by : sum), 0);
        expect(heldLongerBy(kept, stamp)).toBeGreaterThanOrEqual(exact);
        expect(kept.length).toBeLessThanOrEqual(16);
      }),
    );
  });
});

describe('heldLongerBy', () => {
  it('counts the steps noticed after the stamp, not those before or at it', () => {
    const steps: ClockStep[] = [
      [100, 10],
      [200, 20],
    ];
    expect([heldLongerBy(steps, 50), heldLongerBy(steps, 100), heldLongerBy(steps, 150), heldLongerBy(steps, 250)]).toEqual([
      30, 20, 20, 0,
    ]);
  });
});
