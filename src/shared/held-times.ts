import { retime, withChanges } from '../record.js';
import type { AttemptRecord } from '../types.js';

/**
 * Each attempt's times as the guard holds them, paired with their time on the
 * database's clock: what keeps a time where it is when this terminal's clock
 * is set right.
 *
 * A row is written on its writer's clock, with the skew (the database's clock
 * minus the writer's) measured then. The guard keeps an attempt's times on
 * the clock they were stamped by, and writes the unchanged ones back with
 * every new version (a settle keeps `createdAt` and `pendingSince`, a recover
 * lease `updatedAt` too). After this terminal's clock was set right, the skew
 * is another one: written under it, those times would reach the database, and
 * every other lane, moved by the correction. An approval read ten minutes
 * older cuts another lane's DUPLICATE_CHARGE window short; an unknown read
 * 40 s in the future makes every later version of it look older there, so the
 * lane never learns the approval. So a time this store handed the guard or
 * wrote for it goes back as the same database time, and a database time it
 * knows comes back as the time the guard holds.
 *
 * It also hands each attempt's versions over with `updatedAt` in the
 * database's version order (see #inVersionOrder): the guard keeps the
 * version whose `updatedAt` is later, and two terminals' clocks disagree.
 */
export class HeldTimes {
  /** Per attempt: held, database, held, database, … for the version it read or wrote last, then those of versions before (ten times at most). */
  readonly #pairs = new Map<string, number[]>();
  /** Per attempt: the newest version handed to the guard or written by it (or copied: see `copied`), and its `updatedAt` as held. */
  readonly #latest = new Map<string, { version: number; updatedAt: number }>();
  readonly #limit: number;

  constructor(limit: number) {
    this.#limit = limit;
  }

  /**
   * `record`, read from a row written with `rowSkew`, on this terminal's clock
   * (whose skew is `skew` now): each time the guard holds already as it holds
   * it, any other moved by the difference of the skews, or not at all when
   * that is under `sameClockMs` (the noise of measuring a skew).
   */
  read(record: AttemptRecord, rowSkew: number, skew: number, sameClockMs: number, version: number): AttemptRecord {
    const known = this.#pairs.get(record.id);
    const shift = Math.abs(rowSkew - skew) < sameClockMs ? 0 : rowSkew - skew;
    const pairs: number[] = [];
    let read = retime(
      record,
      (time) => {
        const database = time + rowSkew;
        const held = (known ? heldAt(known, database) : undefined) ?? time + shift;
        pairs.push(held, database);
        return held;
      },
      // A recover lease's end is weighed against the wall clock as it is now, never kept on an older one.
      (time) => {
        pairs.push(time + shift, time + rowSkew);
        return time + shift;
      },
    );
    read = this.#inVersionOrder(read, version, record.updatedAt + rowSkew, pairs);
    this.#keep(record.id, pairs);
    return read;
  }

  /** The guard wrote `record`, and the database holds it as `version`. */
  landed(record: AttemptRecord, version: number): void {
    const latest = this.#latest.get(record.id);
    if (!latest || version >= latest.version) this.#latest.set(record.id, { version, updatedAt: record.updatedAt });
  }

  /**
   * The guard holds `record` from a copy (the store's `local`, read while cut
   * off: after a restart then, all it holds), of a version this store never
   * read, and no newer than the database's once the outbox is sent (`local`
   * mirrors what landed; what did not is in the outbox, never given here).
   * Unknown here, a void from a clock 900 ms behind read as older than the
   * approval the copy holds, and the guard kept the approval. So the first
   * version read of it (the copy's own, or a newer one) has an `updatedAt` no
   * earlier than the copy's: the guard takes it, and its times as read, which
   * are on this clock as it is now (the copy's are on the clock they were
   * stamped by, which may have been set right since).
   */
  copied(record: AttemptRecord): void {
    if (this.#latest.has(record.id)) return;
    this.#keep(record.id, []); // bounded with the rest
    this.#latest.set(record.id, { version: Number.NEGATIVE_INFINITY, updatedAt: record.updatedAt });
  }

  /**
   * `read` with an `updatedAt` that puts it where its version is among the
   * versions handed before. The guard keeps, of two versions, the one whose
   * `updatedAt` is later (a read can answer older than what it holds); but
   * across terminals that is the order of their clocks, not of their writes:
   * another terminal's settle, stamped on a clock 900 ms behind (within
   * `sameClockMs`: not moved), read as older than the pending it settled,
   * and the sale stayed IN_FLIGHT here. The database's versions are the
   * order. The moved time is paired with the database time it stands for, so
   * it goes back unchanged.
   */
  #inVersionOrder(read: AttemptRecord, version: number, database: number, pairs: number[]): AttemptRecord {
    const latest = this.#latest.get(read.id);
    let updatedAt = read.updatedAt;
    // Not after it, at it: the guard takes a version as new as the one it holds (a lease keeps its updatedAt).
    if (latest && version > latest.version) updatedAt = Math.max(updatedAt, latest.updatedAt);
    else if (latest && version < latest.version) updatedAt = Math.min(updatedAt, latest.updatedAt - 1);
    if (updatedAt !== read.updatedAt) {
      // Never a time another of its times holds for another database time (the approval's updatedAt
      // is its approvedAt): paired first, it would take that one's place when written back.
      const step = latest && version < latest.version ? -1 : 1;
      while (pairedElsewhere(pairs, updatedAt, database)) updatedAt += step;
    }
    if (!latest || version >= latest.version) this.#latest.set(read.id, { version, updatedAt });
    if (updatedAt === read.updatedAt) return read;
    pairs.unshift(updatedAt, database);
    return withChanges(read, { updatedAt });
  }

  /** `record` as the guard wrote it, its times made what a row written with `skew` needs for each to keep its database time. */
  write(record: AttemptRecord, skew: number): AttemptRecord {
    const known = this.#pairs.get(record.id);
    const pairs: number[] = [];
    const toRow = (held: number) => {
      const database = (known ? databaseAt(known, held) : undefined) ?? held + skew;
      pairs.push(held, database);
      return database - skew;
    };
    const written = retime(record, toRow, toRow);
    this.#keep(record.id, pairs);
    return written;
  }

  /** Forgets an attempt (deleted, or no longer among the rows the store keeps). */
  drop(id: string): void {
    this.#pairs.delete(id);
    this.#latest.delete(id);
  }

  #keep(id: string, pairs: number[]): void {
    // An older version read after a newer one was written (a read answered late) must not make it
    // forget the newer one's times: those of the version before are kept behind, one version's worth.
    const before = this.#pairs.get(id) ?? [];
    for (let i = 0; i < before.length && pairs.length < 20; i += 2) {
      if (heldAt(pairs, before[i + 1] as number) === undefined) pairs.push(before[i] as number, before[i + 1] as number);
    }
    this.#pairs.delete(id); // re-inserted last: the oldest go first when the table is full
    if (this.#pairs.size >= this.#limit) {
      const oldest = this.#pairs.keys().next().value;
      if (oldest !== undefined) this.drop(oldest);
    }
    this.#pairs.set(id, pairs);
  }
}

/** Whether `held` is paired in `pairs` with a database time other than `database`. */
function pairedElsewhere(pairs: readonly number[], held: number, database: number): boolean {
  for (let i = 0; i < pairs.length; i += 2) if (pairs[i] === held && pairs[i + 1] !== database) return true;
  return false;
}

function heldAt(pairs: readonly number[], database: number): number | undefined {
  for (let i = 0; i < pairs.length; i += 2) if (pairs[i + 1] === database) return pairs[i];
  return undefined;
}

function databaseAt(pairs: readonly number[], held: number): number | undefined {
  for (let i = 0; i < pairs.length; i += 2) if (pairs[i] === held) return pairs[i + 1];
  return undefined;
}
