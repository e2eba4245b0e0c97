import { retime } from '../record.js';
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
 */
export class HeldTimes {
  /** Per attempt: held, database, held, database, … for the version it read or wrote last, then those of versions before (ten times at most). */
  readonly #pairs = new Map<string, number[]>();
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
  read(record: AttemptRecord, rowSkew: number, skew: number, sameClockMs: number): AttemptRecord {
    const known = this.#pairs.get(record.id);
    const shift = Math.abs(rowSkew - skew) < sameClockMs ? 0 : rowSkew - skew;
    const pairs: number[] = [];
    const read = retime(
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
    this.#keep(record.id, pairs);
    return read;
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
      if (oldest !== undefined) this.#pairs.delete(oldest);
    }
    this.#pairs.set(id, pairs);
  }
}

function heldAt(pairs: readonly number[], database: number): number | undefined {
  for (let i = 0; i < pairs.length; i += 2) if (pairs[i + 1] === database) return pairs[i];
  return undefined;
}

function databaseAt(pairs: readonly number[], held: number): number | undefined {
  for (let i = 0; i < pairs.length; i += 2) if (pairs[i] === held) return pairs[i + 1];
  return undefined;
}
