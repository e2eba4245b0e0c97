import { retime } from './record.js';
import type { AttemptRecord, Clock } from './types.js';

/**
 * A gap between wall time and guard time wider than this starts a new epoch.
 * Clock slewing (NTP) moves it by milliseconds an hour; sleep, a user
 * changing the date or a VM resuming move it by minutes or more.
 */
const EPOCH_TOLERANCE_MS = 1_000;
/**
 * Pinned times from which the unused ones are swept. After a night asleep
 * every time another device stamped meanwhile is pinned when read (one a
 * record, a few a day's worth), most of them for records the guard lets go
 * of at once. A pin the guard still holds a record by is never swept (it
 * would write that record back moved by the sleep), nor one pinned since the
 * last sweep (a record read for a settle in progress); past this, the table
 * is swept again when it has doubled. While the guard holds none of them,
 * between this many and twice as many: up to about 1.5 MB.
 */
const PIN_LIMIT = 10_000;

/** Marks the guard-time stamps of every record the owner still holds (see `GuardTime.holding`). */
export type HeldStamps = (mark: (stamp: number) => void) => void;

interface Epoch {
  /** Guard time from which `skew` holds. */
  from: number;
  /** Wall time minus guard time during this epoch. */
  skew: number;
}

/**
 * Guard time and wall time (SPEC §3).
 *
 * Within a process the guard measures every age (windows, `pendingTimeout`,
 * retention) on guard time, the monotonic clock plus an offset taken at
 * start-up: a wall-clock change neither expires a window early nor lets it
 * run on. But persisted times must be true wall-clock times, because the next
 * process ages records by the wall clock — and the monotonic clock pauses
 * while a tablet sleeps (`CLOCK_MONOTONIC`, `performance.now()`), so guard
 * time falls hours behind the wall after a night on a shelf.
 *
 * So guard time is converted at the boundary. Each time the gap between the
 * two clocks changes (a sleep, a jump), a new epoch starts; a guard-time
 * stamp becomes wall time by the gap of the epoch it was taken in (guard time
 * never goes back, so the epoch of a stamp is known), and a wall-time stamp
 * that arrives (another tab's record) becomes guard time by the epoch it
 * fits, the newest first, but never in the future when an older one fits.
 * Records loaded at start-up are read as they are: guard time equals wall
 * time at start. Until the first sleep or jump every conversion is the
 * identity, and costs nothing.
 *
 * A paused monotonic clock errs on the safe side within a process: an
 * approval made before a sleep still prompts after it, an unknown outcome is
 * kept longer, never shorter.
 */
export class GuardTime {
  readonly #clock: Clock;
  #offset: number;
  /** The last guard time handed out: a new epoch starts just after it. */
  #last = Number.NEGATIVE_INFINITY;
  /** The monotonic clock as `now()` last read it. */
  #lastMono = Number.NEGATIVE_INFINITY;
  /** The wall clock as `now()` last read it: the clock check reuses it rather than reading again. */
  lastWall: number;
  /** Oldest first; the first one (gap 0) covers everything before start-up too. */
  readonly #epochs: Epoch[] = [{ from: Number.NEGATIVE_INFINITY, skew: 0 }];
  /**
   * Stamps read from outside (a store, another tab) that lie ahead of this
   * guard's own, guard time → the wall time read: after the wall clock was
   * set back, or from a device whose clock runs ahead. Converted by the
   * epoch current then; but a new epoch starts at this guard's next own
   * stamp, so it would claim them and read them by its gap instead.
   * Pinned (below) when that happens; dropped once passed, as no epoch can
   * start before a stamp already handed out.
   */
  readonly #ahead = new Map<number, number>();
  /**
   * Stamps of `#ahead` that a later epoch would misread, and stamps from
   * outside that fit no epoch (see #fromOutside): read by this table, never
   * by the epochs. Times stamped around one of this clock's jumps land here:
   * after a sleep, every time another device stamped during it; swept of
   * those no held record uses past PIN_LIMIT (see #sweepPins).
   */
  readonly #pinned = new Map<number, number>();
  /** How many of `#pinned` (the first, in insertion order) were there after the last sweep: the rest are young. */
  #pinsSwept = 0;
  /** The size of `#pinned` at which it is swept next. */
  #sweepPinsAt = PIN_LIMIT;
  #held: HeldStamps = () => undefined;
  #sweepAt = 1024;

  /**
   * Told of each forward step of the wall clock against guard time (a
   * sleep, a clock set right forward): the wall time it was noticed at, and
   * its size. Stamps taken before it read that much older from then on to
   * anyone but this guard (see clock-steps.ts).
   */
  onStep: ((at: number, by: number) => void) | undefined;

  /** Times from outside come on the wall clock as it reads now (a shared store): read by the current epoch. */
  readonly #outsideIsCurrent: boolean;

  constructor(clock: Clock, outsideIsCurrent = false) {
    this.#clock = clock;
    this.#outsideIsCurrent = outsideIsCurrent;
    this.lastWall = clock.now();
    this.#offset = this.lastWall - clock.monotonic();
  }

  /** Guard time now, in whole milliseconds; notes a new epoch when the clocks drifted apart. */
  now(): number {
    this.#lastMono = this.#clock.monotonic();
    let now = Math.floor(this.#lastMono + this.#offset);
    this.lastWall = this.#clock.now();
    const wall = Math.floor(this.lastWall);
    if (Math.abs(wall - now - this.#current.skew) > EPOCH_TOLERANCE_MS) {
      // The gap changed somewhere after the last stamp (the monotonic clock
      // paused, so it may not have moved since): the new epoch starts just
      // after it, and guard time moves on by a millisecond if it must, so no
      // stamp of the old epoch and of the new one share a value.
      const forward = wall - now - this.#current.skew;
      if (now <= this.#last) {
        this.#offset += this.#last + 1 - now;
        now = this.#last + 1;
      }
      this.#startEpoch(Math.min(now, this.#last + 1), wall - now);
      if (forward > 0) this.onStep?.(wall, forward);
    }
    if (this.#pinned.has(now)) {
      // Never a value a pinned stamp holds (wallOf would read this one as that one): guard time
      // moves on past it, in an epoch of its own, so that wall times stay exact to the millisecond.
      while (this.#pinned.has(now)) {
        this.#offset++;
        now++;
      }
      this.#startEpoch(now, wall - now);
    }
    this.#last = now;
    return now;
  }

  /**
   * Reads the clocks as a stamp would, so that a step of the wall clock since
   * the last read is noticed (and told to `onStep`): a guard taken over in
   * this process, whose clock its successor cannot read. Only if the
   * monotonic clock moved on since: one that did not, or went back, is not
   * this process's clock running (a test's simulated restart resets it).
   */
  look(): void {
    if (this.#clock.monotonic() > this.#lastMono) this.now();
  }

  /** Guard time now if `stamp` lies ahead of it (else undefined): reads the clocks only for a stamp past the last one handed out. */
  nowIfAhead(stamp: number): number | undefined {
    if (stamp <= this.#last) return undefined;
    const now = this.now();
    return stamp > now ? now : undefined;
  }

  /**
   * The wall clock as this guard's stamps read it, taking no stamp: the
   * wall clock itself once it moved past the tolerance (the next stamp
   * starts an epoch on it), else guard time by the current epoch's gap. A
   * store that measures the database's clock against this, not the wall
   * clock, moves its times with the guard's: after a jump under the
   * tolerance, the guard's stamps stay on the clock before it, and so does
   * the store's skew.
   */
  wallNow(): number {
    const now = Math.floor(this.#clock.monotonic() + this.#offset);
    const wall = Math.floor(this.#clock.now());
    return Math.abs(wall - now - this.#current.skew) > EPOCH_TOLERANCE_MS ? wall : now + this.#current.skew;
  }

  #startEpoch(from: number, skew: number): void {
    this.#epochs.push({ from, skew });
    for (const [stamp, read] of this.#ahead) if (stamp >= from) this.#pinned.set(stamp, read);
    this.#ahead.clear();
  }

  /** How many times are pinned (see #pinned): swept of unused ones past PIN_LIMIT. */
  get pins(): number {
    return this.#pinned.size;
  }

  /**
   * Tells this clock which stamps its owner still holds records by: the
   * pins among them outlive every sweep. Without it, only the pins made
   * since the last sweep do.
   */
  holding(held: HeldStamps): void {
    this.#held = held;
  }

  /** The monotonic reading that `guardTime` stands for. */
  monotonicOf(guardTime: number): number {
    return guardTime - this.#offset;
  }

  /** The wall time of a guard-time stamp taken by this process. */
  wallOf(guardTime: number): number {
    if (this.#epochs.length === 1) return guardTime;
    return this.#pinned.get(guardTime) ?? guardTime + this.#epochOf(guardTime).skew;
  }

  /**
   * A wall time below which every stamp this process took was taken at or
   * before `guardTime`: what a cutoff on stored wall times (retention) must
   * use. After the clock was set back, stamps taken later carry earlier wall
   * times than `wallOf(guardTime)`, and the cutoff goes down to them.
   */
  wallCutoff(guardTime: number): number {
    let cutoff = this.wallOf(guardTime) + 1;
    for (const epoch of this.#epochs) if (epoch.from > guardTime) cutoff = Math.min(cutoff, epoch.from + epoch.skew);
    return cutoff;
  }

  /**
   * A past wall time another tab or process stamped (when it took a lease),
   * in this guard's time: by the epoch it fits, as `fromWall` reads a
   * record's times. After a forward step, one stamped before it is read by
   * the gap before it, not as that much older; after a set back, not as that
   * much younger. From a store whose times are on the clock as it reads now:
   * by the current epoch.
   */
  guardOf(wall: number): number {
    if (this.#epochs.length === 1) return wall;
    return this.#outsideIsCurrent ? wall - this.#current.skew : this.#guardOf(wall, this.now());
  }

  /** A record as the world sees it (stores, other tabs, the app): wall-clock times. */
  toWall(record: AttemptRecord): AttemptRecord {
    if (this.#epochs.length === 1) return record;
    return retime(record, (t) => this.wallOf(t));
  }

  /**
   * A record written by another process (wall-clock times), in this guard's
   * time: each stamp by the epoch whose span it falls in once converted, so
   * that `toWall` gives it back unchanged (a record from before a sleep is
   * read by the gap before the sleep); by today's gap if none fits.
   *
   * `known` is the version this guard holds, if any: a stamp the record
   * shares with it (the guard's own write read back, or another tab's settle
   * of it, which keeps its `createdAt` and `pendingSince`) is given back as
   * this guard took it. After the clock was set back, one wall time fits two
   * epochs, and only the stamp's taker knows which: guessed, a pending read
   * back would move seconds or hours, and stop being the version it is.
   */
  fromWall(record: AttemptRecord, known?: AttemptRecord): AttemptRecord {
    if (this.#epochs.length === 1) {
      // Read as it is; a stamp ahead is noted all the same, for the epoch the next sleep starts.
      if (latest(record) > this.#last) this.#noteAhead(record);
      return record;
    }
    // "The future" on the clocks as they are now, not at the last stamp handed out.
    const now = this.now();
    const own = known ? [known.createdAt, known.updatedAt, known.pendingSince, known.approvedAt] : [];
    const read = retime(record, (wall) => own.find((t) => t !== undefined && this.wallOf(t) === wall) ?? this.#fromOutside(wall, now));
    if (latest(read) > this.#last) this.#noteAhead(read, record);
    return read;
  }

  /** Notes the stamps of `read` (guard time) that lie ahead of this guard's own, with the wall times of `stored`. */
  #noteAhead(read: AttemptRecord, stored: AttemptRecord = read): void {
    // Bounded without a sleep too: what this guard's clock has passed is safe from any epoch to come.
    // Swept when the table doubles, so that a start-up over a day of sales written ahead stays linear.
    if (this.#ahead.size >= this.#sweepAt) {
      for (const stamp of this.#ahead.keys()) if (stamp <= this.#last) this.#ahead.delete(stamp);
      this.#sweepAt = Math.max(1024, 2 * this.#ahead.size);
    }
    const note = (stamp: number | undefined, wall: number | undefined) => {
      if (stamp !== undefined && wall !== undefined && stamp > this.#last && !this.#pinned.has(stamp)) this.#ahead.set(stamp, wall);
    };
    note(read.createdAt, stored.createdAt);
    note(read.updatedAt, stored.updatedAt);
    note(read.pendingSince, stored.pendingSince);
    note(read.approvedAt, stored.approvedAt);
  }

  /**
   * A wall time from outside in guard time, pinned when its epoch would not
   * give it back: one that fits no epoch's span (read by today's gap, it
   * lands in an older epoch) is a time another device stamped around a jump
   * of this one's clock, read through a store that already moved it onto
   * the clock as it is now. Written back unpinned, it would move by the jump.
   * From a store whose times are on the clock as it is now, after a clock
   * set back, the current epoch's reading is the right one (an older epoch
   * fits the time an hour early too) and is pinned when it falls before it.
   *
   * Pinned half a millisecond off: that whole millisecond of guard time may
   * already stand for another wall time (a stamp of this guard's own, a time
   * read by that epoch, after a sleep any time of the S before it), and one
   * guard time has one wall time. No stamp is handed out, and no time read by
   * an epoch lands, between two whole milliseconds; pins of two jumps that
   * meet there move on by a fraction.
   */
  #fromOutside(wall: number, now: number): number {
    const fit = this.#guardOf(wall, now);
    // On the clock as it is now, the time is `wall - skew` by the current epoch. When an older epoch
    // fits it later (a sleep, a clock set right forward), that reading is kept: it ages the time
    // less, the safe side, and needs no pin. Only after a set-back does the current epoch win.
    let pin = this.#outsideIsCurrent ? Math.max(fit, wall - this.#current.skew) : fit;
    if (this.wallOf(pin) === wall) return pin;
    for (pin += 0.5; (this.#pinned.get(pin) ?? wall) !== wall;) pin += 2 ** -10;
    this.#pinned.set(pin, wall);
    if (this.#pinned.size >= this.#sweepPinsAt) this.#sweepPins();
    return pin;
  }

  /**
   * Drops the pins no held record uses, of those older than the last sweep.
   * By the owner's records, not by age: an unknown read once and held all
   * day keeps its pins however many times a night's catch-up pins after it
   * (its settle writes them back). Young pins stay for the read that made
   * them: a settle of a record the guard does not hold reads it, then
   * writes it back, an await apart. Swept again when the table has doubled:
   * a sweep costs the held records once, amortised over the pins between.
   */
  #sweepPins(): void {
    const used = new Set<number>();
    this.#held((stamp) => {
      if (this.#pinned.has(stamp)) used.add(stamp);
    });
    let position = 0;
    for (const stamp of this.#pinned.keys()) {
      if (position++ >= this.#pinsSwept) break;
      if (!used.has(stamp)) this.#pinned.delete(stamp);
    }
    this.#pinsSwept = this.#pinned.size;
    this.#sweepPinsAt = Math.max(PIN_LIMIT, 2 * this.#pinned.size);
  }

  get #current(): Epoch {
    return this.#epochs[this.#epochs.length - 1] as Epoch;
  }

  #guardOf(wall: number, now: number): number {
    // After a clock set back, one wall time fits two epochs. The newest is
    // right for a stamp taken since; for one taken before, it lands in the
    // future (the guard's own pending, re-read by a claim, would start an hour
    // ahead and stay IN_FLIGHT past pendingTimeout). No stamp of this device
    // lies ahead of the clock it reads now, so a fit that is not in the
    // future wins; a stamp that fits only there (another device's clock runs
    // ahead) keeps the newest fit.
    let first: number | undefined;
    for (let i = this.#epochs.length - 1; i >= 0; i--) {
      const epoch = this.#epochs[i] as Epoch;
      const guardTime = wall - epoch.skew;
      const until = this.#epochs[i + 1]?.from ?? Number.POSITIVE_INFINITY;
      if (guardTime < epoch.from || guardTime >= until) continue;
      if (guardTime <= now + EPOCH_TOLERANCE_MS) return guardTime;
      first ??= guardTime;
    }
    return first ?? wall - this.#current.skew;
  }

  #epochOf(guardTime: number): Epoch {
    // Epochs are few (one per sleep or clock change): walk back from the newest.
    for (let i = this.#epochs.length - 1; i > 0; i--) {
      const epoch = this.#epochs[i] as Epoch;
      if (epoch.from <= guardTime) return epoch;
    }
    return this.#epochs[0] as Epoch;
  }
}

/**
 * The latest stamp of `record`. Not always `updatedAt`: begun at 10:00, the
 * clock set back an hour, timed out at 09:00: its `createdAt` and
 * `pendingSince` lie ahead of a guard started after, its `updatedAt` does not.
 */
function latest(record: AttemptRecord): number {
  return Math.max(record.createdAt, record.updatedAt, record.pendingSince, record.approvedAt ?? 0);
}
