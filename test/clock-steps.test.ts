import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { UNKNOWN_MAX_AGE_MS } from '../src/attempt-index.js';
import { heldLongerBy, mergeClockSteps, noticedAfter, parseClockSteps, withClockStep, type ClockStep } from '../src/clock-steps.js';

const DAY = 86_400_000;
const T = Date.parse('2026-02-20T09:00:00Z');

describe('parseClockSteps', () => {
  it('reads what withClockStep wrote, oldest first', () => {
    const steps = withClockStep(withClockStep([], T, 3_000), T + DAY, 5 * DAY);
    expect(parseClockSteps(JSON.stringify(steps), T + DAY)).toEqual([
      [T, 3_000],
      [T + DAY, 5 * DAY],
    ]);
    expect(parseClockSteps(JSON.stringify([...steps].reverse()), T + DAY)).toEqual(steps);
  });

  it.each([
    ['absent', undefined],
    ['not JSON', '{'],
    ['not an array', '{"at":1,"by":2}'],
    ['an array of junk', '[1, "x", null, [1], [1, 2, 3], ["1", 2]]'],
    ['longer than 64 KiB', JSON.stringify(Array.from({ length: 5_000 }, (_, i) => [T + i, 1_000]))],
  ])('reads %s as no steps', (_, text) => {
    expect(parseClockSteps(text, T)).toEqual([]);
  });

  it('keeps only forward steps that can hold a stamp after 1970: a step back, of 0, or from before then (damage) holds nothing', () => {
    expect(parseClockSteps(`[[${T}, 5], [${T}, -5], [${T}, 0], [${T}, 1e400], [8.64e15, 8.64e15], [1000, 5000]]`, T)).toEqual([[T, 5]]);
  });

  it('drops steps noticed more than 7 days before now, on the clock as it read before the steps after them', () => {
    const newer: ClockStep = [T - DAY, 60_000];
    const kept: ClockStep = [T - UNKNOWN_MAX_AGE_MS - 59_999, 1_000];
    const dropped: ClockStep = [T - UNKNOWN_MAX_AGE_MS - 60_001 - 1_000, 1_000];
    expect(parseClockSteps(JSON.stringify([dropped, kept, newer]), T)).toEqual([kept, newer]);
  });
});

describe('withClockStep', () => {
  it('drops steps noticed more than 7 days before the new one', () => {
    const old: ClockStep[] = [
      [T, 60_000],
      [T + 2 * DAY, 60_000],
    ];
    expect(withClockStep(old, T + UNKNOWN_MAX_AGE_MS + DAY, 1_000)).toEqual([
      [T + 2 * DAY, 60_000],
      [T + UNKNOWN_MAX_AGE_MS + DAY, 1_000],
    ]);
  });

  it('keeps at most 16: the oldest merge into one that holds what each of them held, by all of them', () => {
    let steps: ClockStep[] = [];
    for (let i = 1; i <= 40; i++) steps = withClockStep(steps, T + i * 60_000, 1_000);
    expect(steps).toHaveLength(16);
    expect(heldLongerBy(steps, T)).toBe(40_000);
    // A stamp between the merged steps keeps the steps after it.
    expect(heldLongerBy(steps, T + 20 * 60_000)).toBeGreaterThanOrEqual(20_000);
  });

  it('never holds a stamp shorter than the steps it was stamped before, however many are merged (a property)', () => {
    // Steps as a clock goes through them: each noticed after the last, its size up to 10 days.
    // Mostly wakes from sleep (up to 2 h), now and then a correction of days: within 7 days, most runs merge.
    const size = fc.oneof(
      { arbitrary: fc.integer({ min: 1, max: 7_200_000 }), weight: 9 },
      { arbitrary: fc.integer({ min: 1, max: 2 * DAY }), weight: 1 },
    );
    const gaps = fc.array(fc.tuple(fc.integer({ min: 1, max: 3_600_000 }), size), {
      minLength: 17, // past the cap: merges happen
      maxLength: 40,
    });
    fc.assert(
      fc.property(gaps, fc.integer({ min: 0, max: 1_000 }), (noted, pick) => {
        const all: ClockStep[] = [];
        let [at, kept] = [T, [] as ClockStep[]];
        for (const [gap, by] of noted) {
          at += gap + by;
          all.push([at, by]);
          kept = withClockStep(kept, at, by);
        }
        // Stamps around every step's edge, and one picked anywhere.
        const stamps = all.flatMap(([when, by]) => [when - by - 1, when - by, when - by + 1]).concat(T + pick * 60_000);
        for (const stamp of stamps) {
          const exact = all.reduce((sum, [when, by]) => (when > at - UNKNOWN_MAX_AGE_MS && stamp <= when - by ? sum + by : sum), 0);
          expect(heldLongerBy(kept, stamp)).toBeGreaterThanOrEqual(exact);
        }
        expect(kept.length).toBeLessThanOrEqual(16);
      }),
    );
  });
});

describe('mergeClockSteps', () => {
  it('keeps what either list holds', () => {
    const a: ClockStep[] = [[T, 1_000]];
    const b: ClockStep[] = [[T + DAY, 5 * DAY]];
    expect(mergeClockSteps(a, b, T + DAY)).toEqual([...a, ...b]);
  });

  it('written again and again with a few new steps each time, holds no stamp longer than all the steps together', () => {
    let [stored, at, total] = [[] as ClockStep[], T, 0];
    for (let write = 0; write < 40; write++) {
      const fresh: ClockStep[] = [];
      for (let i = 0; i < 3; i++) {
        at += 60_000 + 5_000;
        fresh.push([at, 5_000]);
        total += 5_000;
      }
      stored = mergeClockSteps(stored, fresh, at);
      expect(heldLongerBy(stored, T)).toBe(total);
    }
    expect(stored.length).toBeLessThanOrEqual(16);
  });
});

describe('heldLongerBy', () => {
  it('counts the steps whose clock read at or after the stamp just before them', () => {
    const steps: ClockStep[] = [
      [T + 100, 10],
      [T + 200, 20],
    ];
    const held = [T + 50, T + 90, T + 150, T + 180, T + 181].map((stamp) => heldLongerBy(steps, stamp));
    expect(held).toEqual([30, 30, 20, 20, 0]);
  });
});

describe('noticedAfter', () => {
  const MIN = 60_000;
  // Noticed at 10:10 after a 10-minute step (held up to 10:00), then at 10:30 after another (held up to 10:20).
  const steps: ClockStep[] = [
    [10 * 60 * MIN + 10 * MIN, 10 * MIN],
    [10 * 60 * MIN + 30 * MIN, 10 * MIN],
  ];
  it('a stamp after every step is itself', () => {
    expect(noticedAfter(steps, 11 * 60 * MIN)).toBe(11 * 60 * MIN);
  });
  it('a stamp before the first step reads as noticed when the last step of the chain was', () => {
    expect(noticedAfter(steps, 9 * 60 * MIN)).toBe(10 * 60 * MIN + 30 * MIN);
  });
  it('a stamp between the two steps reads as noticed when the second was', () => {
    expect(noticedAfter(steps, 10 * 60 * MIN + 15 * MIN)).toBe(10 * 60 * MIN + 30 * MIN);
  });
  it('a step listed twice (the store’s list and the one read at start) moves it once', () => {
    expect(noticedAfter([steps[0] as ClockStep, steps[0] as ClockStep], 9 * 60 * MIN)).toBe(10 * 60 * MIN + 10 * MIN);
  });
  it('a later step that does not hold the first one’s notice (it came before it) leaves it there', () => {
    const first: ClockStep = [5 * MIN, MIN]; // held up to 4 min
    expect(noticedAfter([first, [20 * MIN, 30 * MIN]], 0)).toBe(5 * MIN); // held up to -10 min
    expect(noticedAfter([first, [20 * MIN, 10 * MIN]], 0)).toBe(20 * MIN); // held up to 10 min
    expect(noticedAfter([first, [20 * MIN, 16 * MIN]], 0)).toBe(5 * MIN); // held up to 4 min
  });
});
