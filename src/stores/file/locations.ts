import { orderKey, staysFiled } from '../../claims.js';
import { ExpiryQueue } from '../../expiry-queue.js';
import { hotAtAnyAge } from '../../history.js';
import { isOpen } from '../../lifecycle.js';
import type { AttemptRecord } from '../../types.js';

/** Flags: open (pending, unknown: never pruned by the store); hot whatever its age (`hotAtAnyAge`). */
export const [OPEN, HOT] = [1, 2];
/**
 * Where a record's latest line is (`at`, `len` bytes before its newline),
 * and what the store must know of it unread: its last update (retention,
 * `load({ since })`), its flags, its order key while live. A new version
 * gets a new Loc; only a compaction moves one.
 */
export type Loc = { readonly id: string; at: number; len: number; readonly upd: number; readonly flags: number; readonly order?: string };

/** Every record of the file: its Loc by id (the Map itself), the live ones by order, and all in order of last update, for retention. */
export class Locations extends Map<string, Loc> {
  readonly #orders = new Map<string | undefined, string[]>();
  /** Oldest update first; replaced and deleted locations stay until they reach the head. */
  readonly #queue = new ExpiryQueue<Loc>();
  onOrder = (key: string): readonly string[] => this.#orders.get(key) ?? [];
  put(record: AttemptRecord, at: number, len: number): void {
    const [id, previous] = [record.id, this.get(record.id)];
    const flags = (isOpen(record.status) ? OPEN : 0) | (hotAtAnyAge(record) ? HOT : 0);
    const key = record.orderId !== undefined && staysFiled(record) ? orderKey(record.merchantId, record.orderId) : undefined;
    // The previous Loc's key when it is the same: one copy of the string in memory.
    const order = key === previous?.order ? previous?.order : key;
    const loc = { id, at, len, upd: record.updatedAt, flags, order };
    this.set(id, loc);
    if (previous?.order !== order) this.#file(id, previous?.order, order);
    // In order even after a clock was set back. An open record is never pruned by the store: it stays out until settled (a new Loc).
    if (!(flags & OPEN)) this.#queue.insert(loc.upd, loc);
  }
  /** The cold locations of a snapshot, oldest first, into an empty index: no lookups, and they are the retention queue as they come. */
  snapshot(cold: Loc[]): void {
    for (const loc of cold) {
      this.set(loc.id, loc);
      this.#file(loc.id, undefined, loc.order);
      this.#queue.push(loc.upd, loc);
    }
  }
  override delete(id: string): boolean {
    const loc = this.get(id);
    if (loc) this.#file(id, loc.order, undefined);
    return super.delete(id);
  }
  /** Takes from the retention queue the current locations of records updated before `before` (none open), but those `held` go back. */
  due(before: number, held: (id: string) => boolean): Loc[] {
    const due: Loc[] = [];
    this.#queue.drain((upd, loc) => {
      if (!(upd < before)) return false;
      if (this.get(loc.id) === loc) due.push(loc);
      return true;
    });
    for (const loc of due) if (held(loc.id)) this.#queue.insert(loc.upd, loc);
    return due.filter((loc) => !held(loc.id));
  }
  #file(id: string, from: string | undefined, to: string | undefined): void {
    const [ids, on] = [this.#orders.get(from), this.#orders.get(to)];
    if (ids?.length === 1 && ids[0] === id) this.#orders.delete(from);
    else if (ids?.includes(id)) ids.splice(ids.indexOf(id), 1);
    if (on) on.push(id);
    else if (to !== undefined) this.#orders.set(to, [id]);
  }
}
