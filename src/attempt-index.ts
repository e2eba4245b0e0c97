import { isLive, isOpen } from './lifecycle.js';
import type { AttemptRecord } from './types.js';

/** Unknown and pending attempts are kept at most this long, whatever `retention` is (SPEC §2). */
export const UNKNOWN_MAX_AGE_MS = 7 * 86_400_000;

/**
 * The in-memory index every decision reads. Lookups are by key only
 * (id, fingerprint, merchant + order): no decision ever walks history, so cost
 * stays flat at 100k retained attempts.
 *
 * Expiry runs off two FIFO queues of (deadline, id): open attempts in creation
 * order, settled ones in settle order. Deadlines are pushed in non-decreasing
 * order, so pruning only looks at the heads: amortised O(1) per attempt.
 * (A Set would keep that order too, but V8 leaves deleted entries as holes
 * that every iteration from the front walks again: O(history) per call.)
 *
 * An approved attempt matters to its fingerprint only inside `window`
 * (DUPLICATE_CHARGE); after that only its id (refunds) and order (the order
 * rules) find it. A second cursor over the settled queue takes it out of the
 * fingerprint map once its window has passed, so a till keeps fingerprint
 * entries for minutes of sales, not for its whole retention.
 */
export class AttemptIndex {
  readonly #byId = new Map<string, AttemptRecord>();
  // Most keys hold one attempt: store it bare and only grow an array on a
  // second one. Halves the index's memory at 100k attempts.
  readonly #byFingerprint = new Map<string, AttemptRecord | AttemptRecord[]>();
  // Nested by merchant, so no joined "merchant + order" key string is kept per attempt.
  readonly #byOrder = new Map<string, Map<string, AttemptRecord | AttemptRecord[]>>();
  readonly #open = new ExpiryQueue();
  readonly #settled = new ExpiryQueue();
  readonly #retentionMs: number;
  readonly #windowMs: number;

  constructor(retentionMs: number, windowMs: number) {
    this.#retentionMs = retentionMs;
    this.#windowMs = windowMs;
  }

  get size(): number {
    return this.#byId.size;
  }

  get(id: string): AttemptRecord | undefined {
    return this.#byId.get(id);
  }

  values(): IterableIterator<AttemptRecord> {
    return this.#byId.values();
  }

  /** Live attempts with this fingerprint. */
  byFingerprint(fingerprint: string): readonly AttemptRecord[] {
    return asArray(this.#byFingerprint.get(fingerprint));
  }

  /** Live attempts on this merchant's order. */
  byOrder(merchantId: string, orderId: string): readonly AttemptRecord[] {
    return asArray(this.#byOrder.get(merchantId)?.get(orderId));
  }

  /**
   * When a record stops being worth keeping: retention after settling; while
   * open, 7 days after it last became pending, so a resume near the limit is
   * never pruned while its charge is in flight.
   */
  deadline(record: AttemptRecord): number {
    return isOpen(record.status) ? record.pendingSince + UNKNOWN_MAX_AGE_MS : record.updatedAt + this.#retentionMs;
  }

  /**
   * Adds a record, or replaces the one with its id (records are immutable: a
   * change is a new object). Records should arrive in the order they changed;
   * one out of order is only pruned late, never early.
   */
  add(record: AttemptRecord): void {
    const previous = this.#byId.get(record.id);
    this.#byId.set(record.id, record);
    if (!previous) return this.#file(record);
    const wasLive = isLive(previous.status);
    const live = isLive(record.status);
    if (wasLive && live && previous.fingerprint === record.fingerprint && previous.orderId === record.orderId && previous.merchantId === record.merchantId) {
      // The common change (pending → approved): overwrite the entries in
      // place. Deleting a Map key leaves a hole until the table next grows:
      // at 100k attempts, unlink + link cost ~70 bytes each in holes.
      // Where the window sweep took `previous` out, the same approval stays
      // out; an open version (a resume) or a new approval (another tab's) is
      // found by its fingerprint again.
      if (!swap(this.#byFingerprint, record.fingerprint, previous, record) && (isOpen(record.status) || record.approvedAt !== previous.approvedAt)) {
        push(this.#byFingerprint, record.fingerprint, record);
      }
      if (record.orderId !== undefined) {
        const orders = this.#byOrder.get(record.merchantId);
        if (!orders || !swap(orders, record.orderId, previous, record)) this.#linkOrder(record, record.orderId);
      }
    } else {
      if (wasLive) this.#unlink(previous);
      if (live) this.#link(record);
    }
    // A new deadline needs a new queue entry (the old one reads as stale).
    // A resume's deadline runs from now, so its entry is in order too.
    const deadline = this.deadline(record);
    if (isOpen(record.status) !== isOpen(previous.status) || deadline !== this.deadline(previous)) {
      (isOpen(record.status) ? this.#open : this.#settled).push(deadline, record.id);
    }
  }

  /**
   * Links a record whose id is not indexed yet, and queues its expiry. With
   * `now`, an approved record past its window stays out of the fingerprint map.
   */
  #file(record: AttemptRecord, now = Number.NEGATIVE_INFINITY): void {
    const open = isOpen(record.status);
    if (open || (record.status === 'approved' && !this.#pastWindow(record, now))) this.#link(record);
    else if (record.status === 'approved' && record.orderId !== undefined) this.#linkOrder(record, record.orderId);
    (open ? this.#open : this.#settled).push(this.deadline(record), record.id);
  }

  /**
   * The rules' own test (`now - approvedAt < window` matches): judged on
   * approvedAt, not on the settle time the queue is ordered by, which a
   * refund after a restart on a clock set back can put before it.
   */
  #pastWindow(record: AttemptRecord, now: number): boolean {
    return record.approvedAt === undefined || now - record.approvedAt >= this.#windowMs;
  }

  /**
   * Start-up: adds a store's records, in any order. Each expiry queue must
   * be filled in deadline order; stores return records mostly in write
   * order, so they are sorted only when they are not. When the ids are all
   * distinct, as a store's load() should return them, each is filed without
   * first looking up a previous version, and an approved one whose window
   * has passed at `now` never enters the fingerprint map: at 100k attempts,
   * 100k lookups and most of 100k links and unlinks fewer.
   */
  addAll(records: readonly AttemptRecord[], now: number): void {
    const ordered = this.#inDeadlineOrder(records);
    if (this.#byId.size === 0) {
      for (const record of ordered) this.#byId.set(record.id, record);
      if (this.#byId.size === ordered.length) {
        for (const record of ordered) this.#file(record, now);
        return;
      }
      this.#byId.clear();
    }
    for (const record of ordered) this.add(record);
  }

  /** `records` as they are when each queue's deadlines already rise, else sorted by deadline. */
  #inDeadlineOrder(records: readonly AttemptRecord[]): readonly AttemptRecord[] {
    let lastOpen = -Infinity;
    let lastSettled = -Infinity;
    for (const record of records) {
      const deadline = this.deadline(record);
      const open = isOpen(record.status);
      if (deadline < (open ? lastOpen : lastSettled)) {
        const deadlines = Float64Array.from(records, (r) => this.deadline(r));
        return Array.from(records, (_, i) => i)
          .sort((a, b) => (deadlines[a] as number) - (deadlines[b] as number))
          .map((i) => records[i] as AttemptRecord);
      }
      if (open) lastOpen = deadline;
      else lastSettled = deadline;
    }
    return records;
  }

  remove(id: string): AttemptRecord | undefined {
    const record = this.#byId.get(id);
    if (!record) return undefined;
    this.#byId.delete(id);
    if (isLive(record.status)) this.#unlink(record);
    return record;
  }

  /**
   * Removes and returns every record whose deadline is at or before `now`,
   * and unlinks from the fingerprint map the approved ones past `window`.
   */
  expire(now: number): AttemptRecord[] {
    // The queue is in settle order and approval comes first, so an approved
    // record settled less than `window` ago ends the sweep; one approved less
    // than `window` ago (a clock set back) ends it too, until its window ends.
    // Entries that no longer stand for an approved record are passed over
    // first, whatever their time, so a superseded one never holds the rest.
    this.#settled.sweep((deadline, id) => {
      const record = this.#byId.get(id);
      if (record?.status !== 'approved' || this.deadline(record) !== deadline) return true;
      if (deadline - this.#retentionMs + this.#windowMs > now || !this.#pastWindow(record, now)) return false;
      pull(this.#byFingerprint, record.fingerprint, record);
      return true;
    });
    const gone: AttemptRecord[] = [];
    for (const queue of [this.#settled, this.#open]) {
      queue.drain((deadline, id) => {
        const record = this.#byId.get(id);
        // Stale: the record was removed, or moved on (settled, re-settled) and
        // is queued again under its new deadline. Dropping stale heads at once
        // keeps the queues as short as the records they stand for.
        if (!record || this.deadline(record) !== deadline) return true;
        if (deadline > now) return false;
        this.remove(id);
        gone.push(record);
        return true;
      });
    }
    return gone;
  }

  #link(record: AttemptRecord): void {
    push(this.#byFingerprint, record.fingerprint, record);
    if (record.orderId !== undefined) this.#linkOrder(record, record.orderId);
  }

  #linkOrder(record: AttemptRecord, orderId: string): void {
    let orders = this.#byOrder.get(record.merchantId);
    if (!orders) this.#byOrder.set(record.merchantId, (orders = new Map()));
    push(orders, orderId, record);
  }

  #unlink(record: AttemptRecord): void {
    pull(this.#byFingerprint, record.fingerprint, record);
    if (record.orderId === undefined) return;
    const orders = this.#byOrder.get(record.merchantId);
    if (orders) pull(orders, record.orderId, record);
  }
}

/** A FIFO of (deadline, id) in two flat arrays, consumed from a moving head. */
class ExpiryQueue {
  #deadlines: number[] = [];
  #ids: string[] = [];
  #head = 0;
  /** A second reader that visits entries without consuming them (never behind the head). */
  #swept = 0;

  push(deadline: number, id: string): void {
    this.#deadlines.push(deadline);
    this.#ids.push(id);
  }

  /** Pops heads while `visit` says the head is done with. */
  drain(visit: (deadline: number, id: string) => boolean): void {
    while (this.#head < this.#ids.length && visit(this.#deadlines[this.#head] as number, this.#ids[this.#head] as string)) {
      this.#head++;
    }
    // Reclaim the consumed prefix once it dominates: pushes stay amortised O(1).
    if (this.#head > 1024 && this.#head * 2 > this.#ids.length) {
      this.#deadlines = this.#deadlines.slice(this.#head);
      this.#ids = this.#ids.slice(this.#head);
      this.#swept = Math.max(0, this.#swept - this.#head);
      this.#head = 0;
    }
  }

  /** Visits entries once each, in order, from where the last sweep stopped, while `visit` says go on. */
  sweep(visit: (deadline: number, id: string) => boolean): void {
    let at = Math.max(this.#swept, this.#head);
    while (at < this.#ids.length && visit(this.#deadlines[at] as number, this.#ids[at] as string)) at++;
    this.#swept = at;
  }
}


const EMPTY: readonly AttemptRecord[] = [];
function asArray(value: AttemptRecord | AttemptRecord[] | undefined): readonly AttemptRecord[] {
  if (value === undefined) return EMPTY;
  return Array.isArray(value) ? value : [value];
}

function push(map: Map<string, AttemptRecord | AttemptRecord[]>, key: string, record: AttemptRecord): void {
  const current = map.get(key);
  if (current === undefined) map.set(key, record);
  else if (Array.isArray(current)) current.push(record);
  else if (current !== record) map.set(key, [current, record]);
}

/** Puts `next` where `previous` was filed under `key`, without deleting the key; false if `previous` was not there. */
function swap(map: Map<string, AttemptRecord | AttemptRecord[]>, key: string, previous: AttemptRecord, next: AttemptRecord): boolean {
  const current = map.get(key);
  if (current === previous) {
    map.set(key, next);
    return true;
  }
  const at = Array.isArray(current) ? current.indexOf(previous) : -1;
  if (at === -1) return false;
  (current as AttemptRecord[])[at] = next;
  return true;
}

function pull(map: Map<string, AttemptRecord | AttemptRecord[]>, key: string, record: AttemptRecord): void {
  const current = map.get(key);
  if (current === record) map.delete(key);
  else if (Array.isArray(current)) {
    const rest = current.filter((r) => r !== record);
    if (rest.length === 0) map.delete(key);
    else map.set(key, rest.length === 1 ? (rest[0] as AttemptRecord) : rest);
  }
}
