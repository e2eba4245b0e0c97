import { staysFiled } from '../../claims.js';
import { isOpen } from '../../lifecycle.js';
import type { AttemptRecord } from '../../types.js';

/** Flags: open (pending, unknown: never pruned by the store, always hot); an approved refund (always hot). */
export const OPEN = 1;
export const REFUND = 2;

/**
 * Where a record's latest line is (`at`, `len` bytes), and what the store
 * must know of it unread: its last update (retention, `load({ since })`),
 * its flags, its order key while live. A new version gets a new Loc; only
 * a compaction moves one.
 */
export class Loc {
  constructor(readonly id: string, public at: number, public len: number, readonly upd: number, readonly flags: number, readonly order: string | undefined) {}
}

export const orderKey = (merchantId: string, orderId: string): string => `${merchantId}\u0000${orderId}`;

export function locOf(record: AttemptRecord, at: number, len: number, previous: Loc | undefined): Loc {
  const flags = (isOpen(record.status) ? OPEN : 0) | (record.kind === 'refund' && record.status === 'approved' ? REFUND : 0);
  let order: string | undefined;
  if (record.orderId !== undefined && staysFiled(record)) {
    order = orderKey(record.merchantId, record.orderId);
    if (previous?.order === order) order = previous.order;
  }
  return new Loc(record.id, at, len, record.updatedAt, flags, order);
}

/** Every record of the file by id, the live ones by order, and all in order of last update (retention). */
export class Locations {
  readonly #byId = new Map<string, Loc>();
  readonly #orders = new Map<string, string[]>();
  /** Oldest update first, from `#head` on; replaced locations stay until they reach the head. */
  #queue: Loc[] = [];
  #head = 0;

  get size(): number {
    return this.#byId.size;
  }
  get = (id: string): Loc | undefined => this.#byId.get(id);
  values = (): IterableIterator<Loc> => this.#byId.values();
  /** The ids of the live records on an order (`orderKey`). */
  onOrder = (key: string): readonly string[] => this.#orders.get(key) ?? [];

  set(loc: Loc): Loc {
    const previous = this.#byId.get(loc.id);
    this.#byId.set(loc.id, loc);
    if (previous?.order !== loc.order) {
      if (previous?.order !== undefined) this.#unfile(previous.order, loc.id);
      if (loc.order !== undefined) this.#orders.get(loc.order)?.push(loc.id) ?? this.#orders.set(loc.order, [loc.id]);
    }
    this.requeue(loc);
    return loc;
  }

  /** The cold locations of a snapshot, oldest first, into an empty index: no lookups, and they are the retention queue. */
  snapshot(cold: Loc[]): void {
    for (const loc of cold) {
      this.#byId.set(loc.id, loc);
      if (loc.order !== undefined) this.#orders.get(loc.order)?.push(loc.id) ?? this.#orders.set(loc.order, [loc.id]);
    }
    this.#queue = cold;
  }

  /** Puts a location (back) into the retention queue; an open one stays out until settled (a new location). */
  requeue(loc: Loc): void {
    const queue = this.#queue;
    if (loc.flags & OPEN) return;
    if (queue.length === this.#head || (queue[queue.length - 1] as Loc).upd <= loc.upd) queue.push(loc);
    else {
      // Out of order (a clock set back): insert after every location updated no later.
      let [low, high] = [this.#head, queue.length];
      while (low < high) {
        const mid = (low + high) >>> 1;
        if ((queue[mid] as Loc).upd <= loc.upd) low = mid + 1;
        else high = mid;
      }
      queue.splice(low, 0, loc);
    }
  }

  delete(id: string): void {
    const loc = this.#byId.get(id);
    if (!loc) return;
    this.#byId.delete(id);
    if (loc.order !== undefined) this.#unfile(loc.order, id);
  }

  /** Takes from the retention queue the current locations of records not open and updated before `before`. */
  due(before: number): Loc[] {
    const due: Loc[] = [];
    const queue = this.#queue;
    while (this.#head < queue.length && (queue[this.#head] as Loc).upd < before) {
      const loc = queue[this.#head++] as Loc;
      if (this.#byId.get(loc.id) === loc) due.push(loc);
    }
    if (this.#head > 1024 && this.#head * 2 > queue.length) {
      this.#queue = queue.slice(this.#head);
      this.#head = 0;
    }
    return due;
  }

  #unfile(key: string, id: string): void {
    const ids = this.#orders.get(key);
    const i = ids ? ids.indexOf(id) : -1;
    if (!ids || i < 0) return;
    if (ids.length === 1) this.#orders.delete(key);
    else ids.splice(i, 1);
  }
}
