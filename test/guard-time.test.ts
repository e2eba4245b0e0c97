import { describe, expect, it } from 'vitest';
import { GuardTime } from '../src/guard-time.js';
import { makeRecord } from '../src/record.js';
import type { AttemptRecord } from '../src/types.js';
import { virtualTime } from '../src/testing.js';
import { HOUR, MINUTE, ManualClock, START } from './helpers/guard.js';

function record(at: number, approvedAt?: number): AttemptRecord {
  return makeRecord({
    v: 1,
    id: 'pdg_x',
    idempotencyKey: 'pdg_x',
    fingerprint: 'f',
    status: approvedAt === undefined ? 'pending' : 'approved',
    kind: 'sale',
    amount: 1,
    currency: 'CNY',
    merchantId: 'M',
    createdAt: at,
    updatedAt: approvedAt ?? at,
    pendingSince: at,
    refunded: 0,
    ...(approvedAt === undefined ? {} : { approvedAt }),
  });
}

describe('GuardTime', () => {
  it('is wall time until the clocks drift apart, and converts nothing', () => {
    const clock = new ManualClock();
    const time = new GuardTime(clock);
    clock.advance(5 * MINUTE);
    expect(time.now()).toBe(clock.wall);
    const r = record(time.now());
    expect(time.toWall(r)).toBe(r);
    expect(time.fromWall(r)).toBe(r);
  });

  it('ignores drift up to a second (clock slewing)', () => {
    const clock = new ManualClock();
    const time = new GuardTime(clock);
    clock.jump(900);
    const at = time.now();
    expect(time.wallOf(at)).toBe(at);
  });

  it('dates each stamp by the gap of the epoch it was taken in', () => {
    const clock = new ManualClock();
    const time = new GuardTime(clock);
    const before = time.now();
    clock.jump(8 * HOUR); // asleep
    clock.advance(MINUTE);
    const after = time.now();
    expect(after - before).toBe(MINUTE); // ages are monotonic
    expect(time.wallOf(before)).toBe(START);
    expect(time.wallOf(after)).toBe(clock.wall);
    clock.jump(-HOUR); // then set back
    const third = time.now();
    expect(time.wallOf(third)).toBe(clock.wall);
    expect(time.wallOf(after)).toBe(START + 8 * HOUR + MINUTE);
    expect(time.toWall(record(before, after))).toMatchObject({ createdAt: START, approvedAt: START + 8 * HOUR + MINUTE });
  });

  it('reads a wall-clock record from elsewhere by the gap in force now, and writes it back unchanged', () => {
    const clock = new ManualClock();
    const time = new GuardTime(clock);
    time.now();
    clock.jump(2 * HOUR); // both tabs slept; the other one stamped a record a minute after waking
    clock.advance(MINUTE);
    const theirs = record(clock.wall);
    clock.advance(MINUTE);
    const now = time.now();
    const ours = time.fromWall(theirs);
    expect(now - ours.createdAt).toBe(MINUTE);
    expect(time.toWall(ours)).toMatchObject({ createdAt: theirs.createdAt });
  });
  it('reads its own stamp from before a clock set back by the epoch it was taken in, not an hour ahead', () => {
    // A claim re-reads the guard's own pending (wall times) after the clock was set back an hour.
    // Read by today's gap it would start an hour in the future and stay IN_FLIGHT past
    // pendingTimeout; no stamp of this device can lie ahead of the wall clock it reads now.
    const clock = new ManualClock();
    const time = new GuardTime(clock);
    const begun = time.now();
    const stored = time.toWall(record(begun));
    clock.advance(10_000);
    clock.jump(-HOUR);
    clock.advance(MINUTE);
    const now = time.now();
    const reread = time.fromWall(stored);
    expect(reread.pendingSince).toBe(begun);
    expect(now - reread.pendingSince).toBe(MINUTE + 10_000);
    expect(time.toWall(reread)).toMatchObject({ pendingSince: stored.pendingSince });
  });

  it('still reads a stamp taken after the set back by the gap in force now', () => {
    const clock = new ManualClock();
    const time = new GuardTime(clock);
    time.now();
    clock.jump(-HOUR);
    time.now();
    clock.advance(MINUTE);
    const theirs = record(clock.wall);
    clock.advance(MINUTE);
    // Read before this guard asks the time again: "the future" is judged on the clocks now.
    const read = time.fromWall(theirs);
    expect(time.now() - read.pendingSince).toBe(MINUTE);
  });
});

describe('GuardTime: stamps read from outside that lie ahead of its own', () => {
  it('writes back a record loaded with stamps ahead of it unchanged after a sleep, however long', () => {
    // The till wrote a pending at 10:00, its clock was set back an hour, the app restarted (09:00):
    // the record's stamps lie an hour ahead of the new guard's. Then the tablet slept 20 minutes.
    // Read by the new epoch's gap, the record would move 20 minutes, and its lease or settle,
    // written as a claim on the version stored, would never find it again.
    const clock = new ManualClock();
    const written = record(clock.wall);
    clock.jump(-HOUR);
    const restarted = clock.afterRestart();
    const time = new GuardTime(restarted);
    time.now();
    const loaded = time.fromWall(written);
    expect(loaded).toBe(written); // read as it is at start-up
    restarted.jump(20 * MINUTE); // asleep
    restarted.advance(MINUTE);
    time.now();
    expect(time.toWall(loaded)).toMatchObject({ createdAt: written.createdAt, pendingSince: written.pendingSince });
    expect(time.fromWall(written, loaded)).toMatchObject({ pendingSince: loaded.pendingSince });
  });

  it("keeps its own record's times when it reads it back, whichever epoch the wall time fits", () => {
    // Begun, then the clock set back 5 s: the stored wall time fits the old epoch and the new one,
    // and read by the new one the guard's own pending would start 5 s later than it did.
    const clock = new ManualClock();
    const time = new GuardTime(clock);
    const held = record(time.now());
    const stored = time.toWall(held);
    clock.advance(1);
    clock.jump(-5_000);
    time.now();
    clock.advance(MINUTE);
    expect(time.fromWall(stored, held).pendingSince).toBe(held.pendingSince);
  });

  it('never hands out a stamp of its own that a pinned stamp holds', () => {
    const clock = new ManualClock();
    const time = new GuardTime(clock);
    const start = time.now();
    const ahead = record(start + 10); // another device's clock, 10 ms ahead
    time.fromWall(ahead);
    clock.jump(HOUR); // a sleep: the new epoch starts at start + 1, below the stamp ahead
    const stamps: { stamp: number; wall: number }[] = [];
    for (let i = 0; i < 20; i++) {
      clock.advance(1);
      stamps.push({ stamp: time.now(), wall: clock.wall });
    }
    expect(stamps.map((s) => s.stamp)).not.toContain(start + 10);
    for (const { stamp, wall } of stamps) expect(time.wallOf(stamp)).toBe(wall);
    expect(time.wallOf(start + 10)).toBe(ahead.createdAt);
  });
});

describe('GuardTime: stamps read from outside that fit no epoch', () => {
  it('writes back a stamp from around a clock set forward as it read it', () => {
    // Another device stamped a sale at 10:00:00; this till's clock was set 2 s forward a moment
    // later, and its store, knowing the new skew, hands the stamp over as 10:00:02. That wall time
    // fits neither epoch (before the jump it is ahead of every stamp, after it before the first):
    // read by today's gap it lands in the old epoch, and written back by that one's gap it moved
    // 2 s back, on every lane.
    const clock = new ManualClock();
    const time = new GuardTime(clock);
    const own = time.now();
    clock.advance(100);
    clock.jump(2_000);
    time.now();
    const theirs = record(START + 2_000);
    const ours = time.fromWall(theirs);
    expect(Math.abs(ours.createdAt - START)).toBeLessThan(1); // its age is right (pinned between two milliseconds)
    expect(time.toWall(ours)).toMatchObject({ createdAt: theirs.createdAt, pendingSince: theirs.pendingSince });
    expect(time.wallOf(own)).toBe(START); // this guard's own stamp at that millisecond keeps its wall time
  });
});

describe('GuardTime.wallNow', () => {
  it('is the wall clock its stamps read, without taking one: unmoved by a jump under a second, the wall clock past it', () => {
    const clock = new ManualClock();
    const time = new GuardTime(clock);
    const first = time.now();
    clock.advance(1_000);
    clock.jump(900);
    expect(time.wallNow()).toBe(clock.wall - 900);
    expect(time.wallOf(time.now())).toBe(clock.wall - 900);
    clock.jump(900);
    expect(time.wallNow()).toBe(clock.wall);
    expect(time.wallOf(first)).toBe(START); // no epoch started by wallNow: now() starts it
    expect(time.wallOf(time.now())).toBe(clock.wall);
  });
});

describe('GuardTime.wallCutoff', () => {
  it('is just after the wall time of a stamp, and down to the first stamp after a clock set back', () => {
    let wall = 1_000_000_000;
    let mono = 0;
    const time = new GuardTime({ now: () => wall, monotonic: () => mono });
    const before = time.now();
    expect(time.wallCutoff(before)).toBe(before + 1);
    mono += 1000;
    wall += 1000 - 2 * 86_400_000; // set back two days
    const after = time.now();
    expect(time.wallOf(after)).toBe(wall);
    // Nothing stamped after `before` lies below the cutoff.
    expect(time.wallCutoff(before)).toBeLessThanOrEqual(time.wallOf(before + 1));
    expect(time.wallCutoff(before)).toBeLessThanOrEqual(time.wallOf(after));
    expect(time.wallCutoff(after)).toBe(time.wallOf(after) + 1);
  });
});

describe('GuardTime: the pins it keeps', () => {
  /** A guard asleep for 8 h: every wall time another device stamped during the night fits no epoch, and is pinned. */
  function afterANight() {
    const clock = new ManualClock();
    const time = new GuardTime(clock);
    time.now();
    clock.advance(100);
    clock.jump(8 * HOUR); // the monotonic clock paused while the tablet slept
    time.now();
    let n = 0;
    const readOne = () => time.fromWall(record(START + 1_000 + n++ * 10));
    return { time, readOne };
  }

  it('keeps the pins of the records its owner holds, however many are pinned after them', () => {
    const { time, readOne } = afterANight();
    const held = readOne();
    const stored = time.toWall(held);
    time.holding((mark) => {
      mark(held.createdAt);
      mark(held.updatedAt);
      mark(held.pendingSince);
    });
    for (let i = 0; i < 50_000; i++) readOne();
    expect(time.toWall(held)).toEqual(stored);
  });

  it('keeps a pin made since the last sweep, held or not: the read of a settle in progress', () => {
    const { time, readOne } = afterANight();
    for (let i = 0; i < 10_000 - 1; i++) readOne();
    const justRead = readOne(); // the 10 000th: the first sweep, which finds every pin young
    const stored = time.toWall(justRead);
    for (let i = 0; i < 9_999; i++) readOne(); // up to the next sweep
    expect(time.toWall(justRead)).toEqual(stored);
  });

  it('sweeps the pins nothing holds once they are older than a sweep: memory stays bounded', () => {
    const { time, readOne } = afterANight();
    let most = 0;
    for (let i = 0; i < 100_000; i++) {
      readOne();
      most = Math.max(most, time.pins);
    }
    expect(most).toBeLessThanOrEqual(20_000);
    expect(time.pins).toBeGreaterThanOrEqual(10_000);
  });
});

describe('GuardTime steps', () => {
  it('tells onStep of a forward step of the wall clock, by its size, when it is noticed; not of a step back', () => {
    const clock = new ManualClock();
    const time = new GuardTime(clock);
    const steps: [number, number][] = [];
    time.onStep = (at, by) => steps.push([at, by]);
    time.now();
    clock.advance(MINUTE);
    clock.jump(HOUR);
    time.now();
    clock.jump(-2 * HOUR);
    time.now();
    expect(steps).toEqual([[START + MINUTE + HOUR, HOUR]]);
  });

  it('look() notices a step once the monotonic clock moved on since the last read', () => {
    const clock = new ManualClock();
    const time = new GuardTime(clock);
    const steps: number[] = [];
    time.onStep = (_, by) => steps.push(by);
    time.now();
    clock.jump(HOUR);
    time.look(); // the monotonic clock has not moved: nothing read
    expect(steps).toEqual([]);
    clock.advance(1);
    time.look();
    expect(steps).toEqual([HOUR]);
  });

  it('look() reads nothing once the monotonic clock went back: not this process’s clock running (virtualTime.restart)', async () => {
    const time = virtualTime(START);
    const guardTime = new GuardTime(time.clock);
    const steps: number[] = [];
    guardTime.onStep = (_, by) => steps.push(by);
    await time.advance(MINUTE);
    guardTime.now();
    time.restart();
    await time.advance(1);
    guardTime.look();
    expect(steps).toEqual([]);
    guardTime.now(); // read all the same, the reset reads as a step
    expect(steps.length).toBe(1);
  });
});
