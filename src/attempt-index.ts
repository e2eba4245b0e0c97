import { ExpiryQueue } from './expiry-queue.js';
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
 *
 * An approved attempt matters to its fingerprint only inside `window`
 * (DUPLICATE_CHARGE); after that only its id (refunds) and order (the order
 * rules) find it. So once a settled record has been unchanged for `window`:
 *
 * - over a store that keeps history (`keepsHistory`), it leaves memory: the
 *   store hands it back by id or order when a rule asks (see history.ts);
 * - otherwise the index is the only copy the guard can read synchronously:
 *   the record stays until `retention`, and a second cursor over the settled
 *   queue only takes it out of the fingerprint map.
 *
 * Open refund attempts (pending or unknown) are also filed by the sale they
 * refund (`refundOf`): one may have paid out, so it holds back every other
 * refund of that sale (SPEC §3). Only open refunds are kept there, so the
 * map holds a handful of entries, not one per retained attempt.
 */
export class AttemptIndex {
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
  readonly #keepsHistory: boolean;
  /**
   * How much longer than 7 days an open attempt last pending since this
   * stamp is held: the forward steps of the wall clock it was stamped before
   * (see clock-steps.ts). Set before records are added.
   */
  heldLonger: (pendingSince: number) => number = () => 0;
  /**
   * Every open record holds its sale, however old it reads, until
   * `holdOpenLonger`: the clock steps that would hold it may not be known
   * yet (a store tabs share, see OPEN_STEPS_WRITTEN_WITHIN_MS).
   */
  keepsOpen = false;
  /** Guard time now if a stamp lies ahead of it, else undefined (GuardTime.nowIfAhead). Set before records are added. */
  nowIfAhead: (stamp: number) => number | undefined = () => undefined;
  /**
   * Open attempts dated ahead of this guard's clock when it first saw them
   * (stamped before the wall clock was set back, by a tab or process gone
   * since), by id: the `pendingSince` seen, and when. Their pending age
   * counts from that sighting, never sooner than the truth (the charge began
   * before it), rather than from a stamp an hour ahead: they read `unknown`
   * (liftable) once `pendingTimeout` has passed here, not IN_FLIGHT until the
   * clock catches up. Held while open; a handful at most.
   */
  readonly #seenAhead = new Map<string, readonly [pendingSince: number, seen: number]>();
  #openCount = 0;

  /** `keepsHistory`: the store keeps what leaves memory (see above). */
  constructor(retentionMs: number, windowMs: number, keepsHistory = false) {
    this.#retentionMs = retentionMs;
    this.#windowMs = windowMs;
    this.#keepsHistory = keepsHistory;
  }

  get size(): number {
    return this.#byId.size;
  }

  /** Told when an open record comes in (none was held by its id, or only a settled one). */
  onOpen: (() => void) | undefined;

  /** How many of the records held are open (`pending`, `unknown`). */
  get openCount(): number {
    return this.#openCount;
  }

  get(id: string): AttemptRecord | undefined {
    return this.#byId.get(id);
  }

  /** Every record held. */
  values(): IterableIterator<AttemptRecord> {
    return this.#byId.values();
  }

  /** Live attempts with this fingerprint. */
  byFingerprint(fingerprint: string): readonly AttemptRecord[] {
    return asArray(this.#byFingerprint.get(fingerprint));
  }

  /** Live attempts on this merchant's order (held in memory). */
  byOrder(merchantId: string, orderId: string): readonly AttemptRecord[] {
    return asArray(this.#byOrder.get(merchantId)?.get(orderId));
  }

  /** Open (pending or unknown) refund attempts of the sale `originalId`, whatever their card or amount. */
  openRefundsOf(originalId: string): readonly AttemptRecord[] {
    return asArray(this.#openRefunds.get(originalId));
  }

  /**
   * Clock steps learnt since the records were filed (another tab's): every
   * open record is held by them, its expiry queued again (the old entry reads
   * as stale). A pass over what memory holds, once in a guard's life.
   */
  holdOpenLonger(heldLonger: (pendingSince: number) => number): void {
    this.heldLonger = heldLonger;
    this.keepsOpen = false;
    for (const [id, record] of this.#byId) if (isOpen(record.status)) this.#open.push(this.#deadlineIn(record), id);
  }

  /**
   * When a record stops being worth keeping: retention after settling; while
   * open, `openUntil`.
   */
  deadline(record: AttemptRecord): number {
    return isOpen(record.status) ? this.openUntil(record) : record.updatedAt + this.#retentionMs;
  }

  /**
   * Until when an open attempt holds its sale (SPEC §2): 7 days after it last
   * became pending, so a resume near the limit is never pruned while its
   * charge is in flight; longer by the clock steps it was stamped before.
   */
  openUntil(record: AttemptRecord): number {
    if (this.keepsOpen) return Number.POSITIVE_INFINITY;
    return record.pendingSince + UNKNOWN_MAX_AGE_MS + this.heldLonger(record.pendingSince);
  }

  /** Since when a pending attempt's age counts for `pendingTimeout`: `pendingSince`, or when it was first seen dated ahead. */
  pendingFrom(record: AttemptRecord): number {
    const seen = this.#seenAhead.get(record.id);
    return seen !== undefined && seen[0] === record.pendingSince ? seen[1] : record.pendingSince;
  }

  /** Forgets when the attempt `id` was first seen dated ahead: this guard makes a new pending version of it on its own clock (a resume). */
  forgetSighting(id: string): void {
    this.#seenAhead.delete(id);
  }

  /** Notes when an open record dated ahead was first seen (see `#seenAhead`); forgets a settled one. */
  #noteAhead(record: AttemptRecord): void {
    if (!isOpen(record.status)) {
      this.#seenAhead.delete(record.id);
      return;
    }
    if (this.#seenAhead.get(record.id)?.[0] === record.pendingSince) return;
    const now = this.nowIfAhead(record.pendingSince);
    if (now !== undefined) this.#seenAhead.set(record.id, [record.pendingSince, now]);
  }

  /**
   * When the settled queue looks at a record again: retention, or with
   * history when it leaves memory, `window` after its last change or its
   * approval, whichever is later (an approval can postdate a later change's
   * stamp after the clock was set back).
   */
  #settledDeadline(record: AttemptRecord): number {
    if (!this.#keepsHistory) return this.deadline(record);
    return Math.min(Math.max(record.updatedAt, record.approvedAt ?? record.updatedAt) + this.#windowMs, this.deadline(record));
  }

  #deadlineIn(record: AttemptRecord): number {
    return isOpen(record.status) ? this.deadline(record) : this.#settledDeadline(record);
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
    const opened = Number(isOpen(record.status)) - Number(isOpen(previous.status));
    this.#openCount += opened;
    if (opened > 0) this.onOpen?.();
    this.#noteAhead(record);
    this.#fileRefund(previous, record);
    const wasLive = isLive(previous.status);
    const live = isLive(record.status);
    if (
      wasLive &&
      live &&
      previous.fingerprint === record.fingerprint &&
      previous.orderId === record.orderId &&
      previous.merchantId === record.merchantId
    ) {
      // The common change (pending → approved): overwrite the entries in
      // place. Deleting a Map key leaves a hole until the table next grows:
      // at 100k attempts, unlink + link cost ~70 bytes each in holes.
      // Where the window sweep took `previous` out, the same approval stays
      // out; an open version (a resume) or a new approval (another tab's) is
      // found by its fingerprint again.
      if (
        !swap(this.#byFingerprint, record.fingerprint, previous, record) &&
        (isOpen(record.status) || record.approvedAt !== previous.approvedAt)
      ) {
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
    const deadline = this.#deadlineIn(record);
    if (isOpen(record.status) !== isOpen(previous.status) || deadline !== this.#deadlineIn(previous)) {
      (isOpen(record.status) ? this.#open : this.#settled).push(deadline, record.id);
    }
  }

  /**
   * Links a record whose id is not indexed yet, and queues its expiry. With
   * `now`, an approved record past its window stays out of the fingerprint map.
   */
  #file(record: AttemptRecord, now = Number.NEGATIVE_INFINITY): void {
    const open = isOpen(record.status);
    if (open) {
      this.#openCount++;
      this.onOpen?.();
    }
    this.#noteAhead(record);
    this.#fileRefund(undefined, record);
    if (open || (record.status === 'approved' && !this.#pastWindow(record, now))) this.#link(record);
    else if (record.status === 'approved' && record.orderId !== undefined) this.#linkOrder(record, record.orderId);
    (open ? this.#open : this.#settled).push(this.#deadlineIn(record), record.id);
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
   * Start-up: adds a store's records, in any order. When the ids are all
   * distinct, as a store's load() should return them, each is filed without
   * first looking up a previous version, and an approved one whose window
   * has passed at `now` never enters the fingerprint map: at 100k attempts,
   * 100k lookups and most of 100k links and unlinks fewer.
   */
  addAll(records: readonly AttemptRecord[], now: number): void {
    let distinct = false;
    if (this.#byId.size === 0) {
      for (const record of records) this.#byId.set(record.id, record);
      distinct = this.#byId.size === records.length;
      if (distinct) for (const record of records) this.#file(record, now);
      else this.#byId.clear();
    }
    // Ids repeat, or records are already in: filed one by one, each over the version held.
    if (!distinct) for (const record of records) this.add(record);
    this.#open.order();
    this.#settled.order();
  }

  remove(id: string): AttemptRecord | undefined {
    const record = this.get(id);
    if (!record) return undefined;
    this.#byId.delete(id);
    this.#seenAhead.delete(id);
    if (isOpen(record.status)) this.#openCount--;
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
   * Removes and returns every record whose deadline is at or before `now`:
   * the ones to delete from the store. Over a store that keeps history, a
   * settled record unchanged for `window` leaves memory without being
   * returned (the store keeps it); otherwise an approved one only leaves the
   * fingerprint map then.
   */
  expire(now: number, options: ExpireOptions = {}): AttemptRecord[] {
    const { pinned, holding = false, left } = options;
    if (!this.#keepsHistory) this.#sweepWindow(now);
    const gone: AttemptRecord[] = [];
    for (const queue of [this.#settled, this.#open]) {
      queue.drain((deadline, id) => {
        const entry = this.#byId.get(id);
        // Stale: the record was removed, or moved on (settled, re-settled) and
        // is queued again under its new deadline. Dropping stale heads at once
        // keeps the queues as short as the records they stand for.
        if (entry === undefined || this.#deadlineIn(entry) !== deadline) return true;
        if (deadline > now) return false;
        const expired = this.deadline(entry) <= now;
        // Leaving memory waits while a read of the store is out: what it
        // brings back may be older than this version (late, never early).
        if (!expired && holding) return false;
        // Memory holds the only copy of a pinned record (its write failed): it stays.
        if (!expired && pinned?.(id)) return true;
        this.remove(id);
        if (expired) gone.push(entry);
        else left?.(entry);
        return true;
      });
    }
    return gone;
  }

  /**
   * Without history: takes approvals past `window` out of the fingerprint
   * map. The settled queue is in settle order and approval comes first, so
   * an approved record settled less than `window` ago ends the sweep; one
   * approved less than `window` ago (a clock set back) ends it too, until its
   * window ends. Entries that no longer stand for an approved record are
   * passed over first, whatever their time, so a superseded one never holds
   * the rest.
   */
  #sweepWindow(now: number): void {
    this.#settled.sweep((deadline, id) => {
      const entry = this.#byId.get(id);
      if (entry === undefined || entry.status !== 'approved' || this.deadline(entry) !== deadline) return true;
      if (deadline - this.#retentionMs + this.#windowMs > now || !this.#pastWindow(entry, now)) return false;
      pull(this.#byFingerprint, entry.fingerprint, entry);
      return true;
    });
  }

  #link(record: AttemptRecord): void {
    push(this.#byFingerprint, record.fingerprint, record);
    if (record.orderId !== undefined) this.#linkOrder(record, record.orderId);
  }

  #linkOrder(record: AttemptRecord, orderId: string): void {
    let orders = this.#byOrder.get(record.merchantId);
    if (!orders) this.#byOrder.set(record.merchantId, (orders = new Map<string, AttemptRecord | AttemptRecord[]>()));
    push(orders, orderId, record);
  }

  #unlink(record: AttemptRecord): void {
    pull(this.#byFingerprint, record.fingerprint, record);
    if (record.orderId === undefined) return;
    const orders = this.#byOrder.get(record.merchantId);
    if (orders) pull(orders, record.orderId, record);
  }
}

/** How `expire` treats what is due. */
export interface ExpireOptions {
  /** Records that must stay in memory until their retention passes (their write failed). */
  pinned?: (id: string) => boolean;
  /** Keep every record in memory for now: a read of the store's history is in flight. */
  holding?: boolean;
  /** Hears of each record that left memory (the store keeps it). */
  left?: (record: AttemptRecord) => void;
}

/** The sale an open refund attempt refunds, or `undefined` for anything else. */
function openRefundOf(record: AttemptRecord): string | undefined {
  return record.kind === 'refund' && isOpen(record.status) ? record.refundOf : undefined;
}

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
