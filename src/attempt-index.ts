import { isFinal, isLive } from './lifecycle.js';
import type { AttemptRecord, AttemptStatus } from './types.js';

/** Unknown and pending attempts are kept at most this long, whatever `retention` is (SPEC §2). */
export const UNKNOWN_MAX_AGE_MS = 7 * 86_400_000;

/**
 * The in-memory index every decision reads. Lookups are by key only
 * (id, fingerprint, merchant+order): no decision ever walks history, so cost
 * stays flat at 100k retained attempts. Expiry runs off two FIFO queues
 * whose deadlines only grow, so pruning is amortised O(1) per attempt.
 */
export class AttemptIndex {
  readonly #byId = new Map<string, AttemptRecord>();
  // Most keys hold one attempt: store it bare and only grow an array on a
  // second one. Halves the index's memory at 100k attempts.
  readonly #byFingerprint = new Map<string, AttemptRecord | AttemptRecord[]>();
  readonly #byOrder = new Map<string, AttemptRecord | AttemptRecord[]>();
  readonly #settledQueue = new ExpiryQueue();
  readonly #openQueue = new ExpiryQueue();
  readonly #retentionMs: number;

  constructor(retentionMs: number) {
    this.#retentionMs = retentionMs;
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
    return asArray(this.#byOrder.get(orderKey(merchantId, orderId)));
  }

  /** When a record stops being worth keeping: retention after settling, 7 days while open. */
  deadline(record: AttemptRecord): number {
    return isOpen(record.status) ? record.createdAt + UNKNOWN_MAX_AGE_MS : record.updatedAt + this.#retentionMs;
  }

  /** Adds a record, or replaces the one with its id (records are immutable: a change is a new object). */
  add(record: AttemptRecord): void {
    this.remove(record.id);
    this.#byId.set(record.id, record);
    if (isLive(record.status)) this.#link(record);
    this.#schedule(record);
  }

  remove(id: string): AttemptRecord | undefined {
    const record = this.#byId.get(id);
    if (!record) return undefined;
    this.#byId.delete(id);
    if (isLive(record.status)) this.#unlink(record);
    return record;
  }

  /** Removes and returns every record whose deadline is at or before `now`. */
  expire(now: number): AttemptRecord[] {
    const gone: AttemptRecord[] = [];
    for (const queue of [this.#settledQueue, this.#openQueue]) {
      queue.drain(now, (record, deadline) => {
        // A queue entry is stale when the record moved on (settled again, resumed, removed).
        if (this.#byId.get(record.id) !== record || this.deadline(record) !== deadline) return;
        this.remove(record.id);
        gone.push(record);
      });
    }
    return gone;
  }

  #schedule(record: AttemptRecord): void {
    (isOpen(record.status) ? this.#openQueue : this.#settledQueue).push(this.deadline(record), record);
  }

  #link(record: AttemptRecord): void {
    push(this.#byFingerprint, record.fingerprint, record);
    if (record.orderId !== undefined) push(this.#byOrder, orderKey(record.merchantId, record.orderId), record);
  }

  #unlink(record: AttemptRecord): void {
    pull(this.#byFingerprint, record.fingerprint, record);
    if (record.orderId !== undefined) pull(this.#byOrder, orderKey(record.merchantId, record.orderId), record);
  }
}

const isOpen = (status: AttemptStatus) => status === 'pending' || status === 'unknown';
// Final statuses never come back to life; approved is settled but live.
export const isSettled = (status: AttemptStatus) => status === 'approved' || isFinal(status);

const orderKey = (merchantId: string, orderId: string) => `${merchantId}\u0000${orderId}`;

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

function pull(map: Map<string, AttemptRecord | AttemptRecord[]>, key: string, record: AttemptRecord): void {
  const current = map.get(key);
  if (current === record) map.delete(key);
  else if (Array.isArray(current)) {
    const rest = current.filter((r) => r !== record);
    if (rest.length === 0) map.delete(key);
    else map.set(key, rest.length === 1 ? (rest[0] as AttemptRecord) : rest);
  }
}

/** A FIFO of (deadline, record). Deadlines are pushed in non-decreasing order, so the head expires first. */
class ExpiryQueue {
  #deadlines: number[] = [];
  #records: AttemptRecord[] = [];
  #head = 0;

  push(deadline: number, record: AttemptRecord): void {
    this.#deadlines.push(deadline);
    this.#records.push(record);
  }

  drain(now: number, visit: (record: AttemptRecord, deadline: number) => void): void {
    while (this.#head < this.#deadlines.length && (this.#deadlines[this.#head] as number) <= now) {
      visit(this.#records[this.#head] as AttemptRecord, this.#deadlines[this.#head] as number);
      this.#head++;
    }
    // Reclaim the consumed prefix once it dominates, keeping pushes amortised O(1).
    if (this.#head > 1024 && this.#head * 2 > this.#deadlines.length) {
      this.#deadlines = this.#deadlines.slice(this.#head);
      this.#records = this.#records.slice(this.#head);
      this.#head = 0;
    }
  }
}
