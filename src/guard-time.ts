import { withChanges } from './record.js';
import type { AttemptRecord, Clock } from './types.js';

/**
 * A gap between wall time and guard time wider than this starts a new epoch.
 * Clock slewing (NTP) moves it by milliseconds an hour; sleep, a user
 * changing the date or a VM resuming move it by minutes or more.
 */
const EPOCH_TOLERANCE_MS = 1_000;

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
  /** The wall clock as `now()` last read it: the clock check reuses it rather than reading again. */
  lastWall: number;
  /** Oldest first; the first one (gap 0) covers everything before start-up too. */
  readonly #epochs: Epoch[] = [{ from: Number.NEGATIVE_INFINITY, skew: 0 }];

  constructor(clock: Clock) {
    this.#clock = clock;
    this.lastWall = clock.now();
    this.#offset = this.lastWall - clock.monotonic();
  }

  /** Guard time now, in whole milliseconds; notes a new epoch when the clocks drifted apart. */
  now(): number {
    let now = Math.floor(this.#clock.monotonic() + this.#offset);
    this.lastWall = this.#clock.now();
    const wall = Math.floor(this.lastWall);
    if (Math.abs(wall - now - this.#current.skew) > EPOCH_TOLERANCE_MS) {
      // The gap changed somewhere after the last stamp (the monotonic clock
      // paused, so it may not have moved since): the new epoch starts just
      // after it, and guard time moves on by a millisecond if it must, so no
      // stamp of the old epoch and of the new one share a value.
      if (now <= this.#last) {
        this.#offset += this.#last + 1 - now;
        now = this.#last + 1;
      }
      this.#epochs.push({ from: Math.min(now, this.#last + 1), skew: wall - now });
    }
    this.#last = now;
    return now;
  }

  /** The monotonic reading that `guardTime` stands for. */
  monotonicOf(guardTime: number): number {
    return guardTime - this.#offset;
  }

  /** The wall time of a guard-time stamp taken by this process. */
  wallOf(guardTime: number): number {
    if (this.#epochs.length === 1) return guardTime;
    return guardTime + this.#epochOf(guardTime).skew;
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

  /** A record as the world sees it (stores, other tabs, the app): wall-clock times. */
  toWall(record: AttemptRecord): AttemptRecord {
    if (this.#epochs.length === 1) return record;
    return this.#shift(record, (t) => this.wallOf(t));
  }

  /**
   * A record written by another process (wall-clock times), in this guard's
   * time: each stamp by the epoch whose span it falls in once converted, so
   * that `toWall` gives it back unchanged (a record from before a sleep is
   * read by the gap before the sleep); by today's gap if none fits.
   */
  fromWall(record: AttemptRecord): AttemptRecord {
    if (this.#epochs.length === 1) return record;
    // "The future" on the clocks as they are now, not at the last stamp handed out.
    const now = this.now();
    return this.#shift(record, (wall) => this.#guardOf(wall, now));
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

  #shift(record: AttemptRecord, convert: (time: number) => number): AttemptRecord {
    const patch: Partial<AttemptRecord> = {
      createdAt: convert(record.createdAt),
      updatedAt: convert(record.updatedAt),
      pendingSince: convert(record.pendingSince),
    };
    if (record.approvedAt !== undefined) patch.approvedAt = convert(record.approvedAt);
    const same =
      patch.createdAt === record.createdAt &&
      patch.updatedAt === record.updatedAt &&
      patch.pendingSince === record.pendingSince &&
      patch.approvedAt === record.approvedAt;
    return same ? record : withChanges(record, patch);
  }
}
