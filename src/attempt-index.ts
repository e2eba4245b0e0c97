import type { DeferredRecords } from './deferred.js';
import { GuardStorageError, errorText } from './errors.js';
import { isLive, isOpen } from './lifecycle.js';
import { recordProblem } from './record.js';
import type { AttemptRecord, AttemptStatus, SaleKind } from './types.js';

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
 *
 * Open refund attempts (pending or unknown) are also filed by the sale they
 * refund (`refundOf`): one may have paid out, so it holds back every other
 * refund of that sale (SPEC §3). Only open refunds are kept there, so the
 * map holds a handful of entries, not one per retained attempt.
 *
 * Records a store deferred at start-up (see DeferredRecords) stay in the
 * store's columns, found by id and by order through the store's own tables,
 * queued for expiry by their slot number, and built the first time anything
 * reads them (`#thaw`). Only settled records past their window are
 * deferred, so the fingerprint map never holds one.
 */
export class AttemptIndex {
  /** Built records; the deferred ones are found through `#deferred`. */
  readonly #byId = new Map<string, AttemptRecord>();
  // Most keys hold one attempt: store it bare and only grow an array on a
  // second one. Halves the index's memory at 100k attempts.
  readonly #byFingerprint = new Map<string, AttemptRecord | AttemptRecord[]>();
  // Nested by merchant, so no joined "merchant + order" key string is kept per attempt.
  readonly #byOrder = new Map<string, Map<string, AttemptRecord | AttemptRecord[]>>();
  /** Open refund attempts by the id of the sale they refund. */
  readonly #openRefunds = new Map<string, AttemptRecord | AttemptRecord[]>();
  readonly #open = new ExpiryQueue();
  readonly #settled = new ExpiryQueue();
  readonly #retentionMs: number;
  readonly #windowMs: number;
  /** The store's deferred records, let go (with the bytes they read) once none is left. */
  #deferred: DeferredRecords | undefined;
  /** 1 for a slot still deferred: not built, not removed. */
  #waiting = new Uint8Array(0);
  #deferredLeft = 0;
  /** Ids of built slots whose settled-queue entry (keyed by slot) has not been consumed yet. */
  readonly #slotIds = new Map<number, string>();

  readonly #onUnreadable: (error: GuardStorageError) => void;

  /** `onUnreadable` hears of a deferred record that could not be built, and was dropped. */
  constructor(retentionMs: number, windowMs: number, onUnreadable: (error: GuardStorageError) => void = () => undefined) {
    this.#retentionMs = retentionMs;
    this.#windowMs = windowMs;
    this.#onUnreadable = onUnreadable;
  }

  get size(): number {
    return this.#byId.size + this.#deferredLeft;
  }

  get(id: string): AttemptRecord | undefined {
    const record = this.#byId.get(id);
    if (record !== undefined || this.#deferredLeft === 0) return record;
    const slot = (this.#deferred as DeferredRecords).find(id);
    return slot >= 0 && this.#waiting[slot] === 1 ? this.#thaw(slot) : undefined;
  }

  /**
   * Every record. With `mayMatch`, a deferred record whose status and kind
   * it refuses is left deferred and not visited: a query for open attempts
   * does not build a day of settled ones. (Deferred records are settled, so
   * their status is final.)
   */
  values(mayMatch?: (status: AttemptStatus, kind: SaleKind) => boolean): IterableIterator<AttemptRecord> {
    // Built first: a Map visits entries added while it is iterated.
    for (let slot = 0; this.#deferredLeft > 0 && slot < this.#waiting.length; slot++) {
      if (this.#waiting[slot] !== 1) continue;
      const deferred = this.#deferred as DeferredRecords;
      if (!mayMatch || mayMatch(deferred.status(slot), deferred.kind(slot))) this.#thaw(slot);
    }
    return this.#byId.values();
  }

  /** Live attempts with this fingerprint. */
  byFingerprint(fingerprint: string): readonly AttemptRecord[] {
    return asArray(this.#byFingerprint.get(fingerprint));
  }

  /** Live attempts on this merchant's order. */
  byOrder(merchantId: string, orderId: string): readonly AttemptRecord[] {
    if (this.#deferredLeft > 0) {
      const deferred = this.#deferred as DeferredRecords;
      // Only approved ones are live among settled records; thawing files them in the map below.
      for (const slot of deferred.ordersOf(merchantId, orderId)) if (this.#waiting[slot] === 1 && deferred.status(slot) === 'approved') this.#thaw(slot);
    }
    return asArray(this.#byOrder.get(merchantId)?.get(orderId));
  }

  /**
   * Open (pending or unknown) refund attempts of the sale `originalId`,
   * whatever their card or amount. Deferred records are settled, so none
   * of them is ever among these.
   */
  openRefundsOf(originalId: string): readonly AttemptRecord[] {
    return asArray(this.#openRefunds.get(originalId));
  }

  /**
   * Builds a deferred record (checked as any stored record is) and files it
   * as a record: by id, and by order if it is live. Its expiry entry stays
   * the slot's, read through `#slotIds`.
   */
  #thaw(slot: number): AttemptRecord | undefined {
    const record = this.#take(slot);
    if (!record) return undefined;
    this.#slotIds.set(slot, record.id);
    if (isLive(record.status) && record.orderId !== undefined) this.#linkOrder(record, record.orderId);
    return record;
  }

  /**
   * Builds a deferred record and takes it out of the deferred set, into the
   * id map. A record that cannot be built (the store's `decode` fails, or
   * gives back a record that fails the stored-record check or is not the
   * one filed under its id) is dropped and reported, as a bad line is at
   * load: one unreadable record must not stop every later decision.
   */
  #take(slot: number): AttemptRecord | undefined {
    const deferred = this.#deferred as DeferredRecords;
    let record: AttemptRecord | undefined;
    let failure: GuardStorageError | undefined;
    try {
      record = decoded(deferred.decode, slot);
      if (deferred.find(record.id) !== slot) throw unbuildable(slot, 'it is not the record its id was filed under');
    } catch (error) {
      record = undefined;
      failure = error instanceof GuardStorageError ? error : unbuildable(slot, errorText(error));
    }
    this.#waiting[slot] = 0;
    if (record) this.#byId.set(record.id, record);
    if (--this.#deferredLeft === 0) {
      this.#deferred = undefined;
      this.#waiting = new Uint8Array(0);
    }
    // Reported once the index is whole again: whoever hears of it may read the index.
    if (failure) this.#onUnreadable(failure);
    return record;
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
    const previous = this.get(record.id);
    this.#byId.set(record.id, record);
    if (!previous) return this.#file(record);
    this.#fileRefund(previous, record);
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
    this.#fileRefund(undefined, record);
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
   * Start-up: adds a store's records, in any order, and the ones it deferred.
   * When the ids are all distinct, as a store's load() should return them,
   * each is filed without first looking up a previous version, and an
   * approved one whose window has passed at `now` never enters the
   * fingerprint map: at 100k attempts, 100k lookups and most of 100k links
   * and unlinks fewer. A deferred record is built now only if a decision
   * can match it by fingerprint (open, or approved inside its window).
   */
  addAll(records: readonly AttemptRecord[], now: number, deferred?: DeferredRecords): void {
    const empty = this.#byId.size === 0 && this.#deferredLeft === 0;
    for (const record of records) this.#byId.set(record.id, record);
    if (empty && this.#byId.size === records.length && (!deferred || records.every((r) => deferred.find(r.id) < 0))) {
      for (const record of records) this.#file(record, now);
      if (deferred) this.#fileDeferred(deferred, now);
    } else {
      // Ids repeat, or records are already in: file them one by one, all built.
      for (const record of records) this.#byId.delete(record.id);
      for (const record of records) this.add(record);
      for (let slot = 0; deferred && slot < deferred.slots; slot++) if (deferred.live(slot)) this.add(decoded(deferred.decode, slot));
    }
    this.#open.order();
    this.#settled.order();
  }

  /** Files deferred records by their columns, building the ones a decision can match by fingerprint. */
  #fileDeferred(deferred: DeferredRecords, now: number): void {
    const slots = deferred.slots;
    this.#deferred = deferred;
    this.#waiting = new Uint8Array(slots);
    for (let slot = 0; slot < slots; slot++) {
      if (!deferred.live(slot)) continue;
      this.#waiting[slot] = 1;
      this.#deferredLeft++;
    }
    const window = this.#windowMs;
    // Sized up front and handed to the queue whole: 100k pushes onto growing arrays cost more.
    const deadlines: number[] = new Array<number>(this.#deferredLeft).fill(0);
    const keys: number[] = new Array<number>(this.#deferredLeft).fill(0);
    let queued = 0;
    for (let slot = 0; slot < slots; slot++) {
      if (this.#waiting[slot] !== 1) continue;
      const status = deferred.status(slot);
      // NaN (no approvedAt) compares false: an approval without its time stays deferred, as #pastWindow says.
      if (isOpen(status) || (status === 'approved' && now - deferred.approvedAt(slot) < window)) {
        const record = this.#take(slot);
        if (record) this.#file(record, now);
      } else {
        deadlines[queued] = deferred.updatedAt(slot) + this.#retentionMs;
        keys[queued++] = slot;
      }
    }
    deadlines.length = keys.length = queued;
    this.#settled.pushAll(deadlines, keys);
  }

  remove(id: string): AttemptRecord | undefined {
    const record = this.get(id);
    if (!record) return undefined;
    this.#byId.delete(id);
    if (isLive(record.status)) this.#unlink(record);
    this.#fileRefund(record, undefined);
    return record;
  }

  /**
   * Keeps `#openRefunds` in step when `previous` (if any) becomes `next`
   * (or is removed). The map holds a handful of open refunds, so unlinking
   * and linking again costs nothing worth the in-place swap the big maps use.
   */
  #fileRefund(previous: AttemptRecord | undefined, next: AttemptRecord | undefined): void {
    const was = previous && openRefundOf(previous);
    if (was !== undefined) pull(this.#openRefunds, was, previous as AttemptRecord);
    const is = next && openRefundOf(next);
    if (is !== undefined) push(this.#openRefunds, is, next as AttemptRecord);
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
    this.#settled.sweep((deadline, key) => {
      const entry = this.#entryOf(key);
      // A record filed by slot is past its window (or it would have been built and filed by id).
      if (typeof entry !== 'object' || typeof key === 'number') return true;
      if (entry.status !== 'approved' || this.deadline(entry) !== deadline) return true;
      if (deadline - this.#retentionMs + this.#windowMs > now || !this.#pastWindow(entry, now)) return false;
      pull(this.#byFingerprint, entry.fingerprint, entry);
      return true;
    });
    const gone: AttemptRecord[] = [];
    for (const queue of [this.#settled, this.#open]) {
      queue.drain((deadline, key) => {
        const entry = this.#entryOf(key);
        // Stale: the record was removed, or moved on (settled, re-settled) and
        // is queued again under its new deadline. Dropping stale heads at once
        // keeps the queues as short as the records they stand for. A deferred
        // record has one entry, the one it was filed with: never stale.
        if (entry !== undefined && (typeof entry === 'number' || this.deadline(entry) === deadline)) {
          if (deadline > now) return false;
          // A deferred record that cannot be built is dropped as it is read: nothing to return.
          const removed = typeof entry === 'number' ? this.#thaw(entry) : entry;
          if (removed) gone.push(this.remove(removed.id) as AttemptRecord);
        }
        if (typeof key === 'number') this.#slotIds.delete(key);
        return true;
      });
    }
    return gone;
  }

  /** What a queue entry stands for now: a record, a slot still deferred, or nothing. */
  #entryOf(key: string | number): Entry | undefined {
    if (typeof key === 'string') return this.#byId.get(key);
    if (this.#waiting[key] === 1) return key;
    const id = this.#slotIds.get(key);
    return id === undefined ? undefined : this.#byId.get(id);
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

/** A FIFO of (deadline, key) in two flat arrays, consumed from a moving head. A key is an id, or a deferred record's slot. */
class ExpiryQueue {
  #deadlines: number[] = [];
  #ids: (string | number)[] = [];
  #head = 0;
  /** A second reader that visits entries without consuming them (never behind the head). */
  #swept = 0;

  push(deadline: number, id: string | number): void {
    this.#deadlines.push(deadline);
    this.#ids.push(id);
  }

  /** Appends entries in bulk (start-up); `order()` sorts them in if needed. */
  pushAll(deadlines: number[], keys: (string | number)[]): void {
    this.#deadlines = this.#deadlines.length === 0 ? deadlines : this.#deadlines.concat(deadlines);
    this.#ids = this.#ids.length === 0 ? keys : this.#ids.concat(keys);
  }

  /**
   * Sorts the entries by deadline, stably. For start-up only, before
   * anything was consumed: a store returns records in any order, and
   * sorting the queue costs less than sorting the records. A natural merge
   * sort: the entries come as a few long ascending runs (a store's write
   * order, the built records and the deferred ones), so it is close to one
   * pass where a comparison sort of 100k took 25–45 ms.
   */
  order(): void {
    // Once entries were consumed or swept, positions mean something: leave them (late, never early).
    if (this.#head !== 0 || this.#swept !== 0) return;
    let deadlines = this.#deadlines;
    let keys = this.#ids;
    const n = deadlines.length;
    let runs: number[] = [0];
    for (let i = 1; i < n; i++) if ((deadlines[i] as number) < (deadlines[i - 1] as number)) runs.push(i);
    while (runs.length > 1) {
      const toDeadlines: number[] = new Array<number>(n).fill(0);
      const toKeys: (string | number)[] = new Array<string | number>(n).fill(0);
      const merged: number[] = [];
      for (let r = 0; r < runs.length; r += 2) {
        const lo = runs[r] as number;
        mergeRuns(deadlines, keys, lo, runs[r + 1] ?? n, runs[r + 2] ?? n, toDeadlines, toKeys);
        merged.push(lo);
      }
      deadlines = toDeadlines;
      keys = toKeys;
      runs = merged;
    }
    this.#deadlines = deadlines;
    this.#ids = keys;
  }

  /** Pops heads while `visit` says the head is done with. */
  drain(visit: (deadline: number, key: string | number) => boolean): void {
    while (this.#head < this.#ids.length && visit(this.#deadlines[this.#head] as number, this.#ids[this.#head] as string | number)) {
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
  sweep(visit: (deadline: number, key: string | number) => boolean): void {
    let at = Math.max(this.#swept, this.#head);
    while (at < this.#ids.length && visit(this.#deadlines[at] as number, this.#ids[at] as string | number)) at++;
    this.#swept = at;
  }
}


/** Deferred record `slot`, checked as any stored record is. */
function decoded(decode: DeferredRecords['decode'] | undefined, slot: number): AttemptRecord {
  if (!decode) throw unbuildable(slot, 'its source is gone');
  const record = decode(slot);
  const problem = recordProblem(record);
  if (problem) throw unbuildable(slot, problem);
  return record;
}

const unbuildable = (slot: number, why: string): GuardStorageError =>
  new GuardStorageError('READ_FAILED', `a record the store deferred at start-up (slot ${slot}) could not be built: ${why}`);

/** Merges the ascending runs [lo, mid) and [mid, hi) into `toDeadlines`/`toKeys` at lo; ties keep the left run first. */
function mergeRuns(deadlines: number[], keys: (string | number)[], lo: number, mid: number, hi: number, toDeadlines: number[], toKeys: (string | number)[]): void {
  let a = lo;
  let b = mid;
  for (let to = lo; to < hi; to++) {
    const fromLeft = b >= hi || (a < mid && (deadlines[a] as number) <= (deadlines[b] as number));
    const from = fromLeft ? a++ : b++;
    toDeadlines[to] = deadlines[from] as number;
    toKeys[to] = keys[from] as string | number;
  }
}

/** The sale an open refund attempt refunds, or `undefined` for anything else. */
function openRefundOf(record: AttemptRecord): string | undefined {
  return record.kind === 'refund' && isOpen(record.status) ? record.refundOf : undefined;
}

/** A record, or the slot of one a store deferred (see DeferredRecords). */
type Entry = AttemptRecord | number;

const EMPTY: readonly never[] = [];
function asArray<T>(value: T | T[] | undefined): readonly T[] {
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
