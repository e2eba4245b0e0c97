import { isLive } from './lifecycle.js';
import type { AttemptRecord, AttemptStatus } from './types.js';

/** Unknown and pending attempts are kept at most this long, whatever `retention` is (SPEC §2). */
export const UNKNOWN_MAX_AGE_MS = 7 * 86_400_000;

/**
 * The in-memory index every decision reads. Lookups are by key only
 * (id, fingerprint, merchant+order): no decision ever walks history, so cost
 * stays flat at 100k retained attempts.
 *
 * Expiry: open attempts sit in a Set in creation order, settled ones in a Set
 * in settle order (a re-settled record moves to the end). Both orders are the
 * order of their deadlines, so pruning only ever looks at the head:
 * amortised O(1) per attempt, and nothing stale is left behind.
 */
export class AttemptIndex {
  readonly #byId = new Map<string, AttemptRecord>();
  // Most keys hold one attempt: store it bare and only grow an array on a
  // second one. Halves the index's memory at 100k attempts.
  readonly #byFingerprint = new Map<string, AttemptRecord | AttemptRecord[]>();
  readonly #byOrder = new Map<string, AttemptRecord | AttemptRecord[]>();
  readonly #open = new Set<string>();
  readonly #settled = new Set<string>();
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

  /**
   * Adds a record, or replaces the one with its id (records are immutable: a
   * change is a new object). Records must arrive in the order they changed.
   */
  add(record: AttemptRecord): void {
    const previous = this.#byId.get(record.id);
    if (previous && isLive(previous.status)) this.#unlink(previous);
    this.#byId.set(record.id, record);
    if (isLive(record.status)) this.#link(record);
    if (isOpen(record.status)) {
      // Resumed or still open: keeps its place (its deadline is from createdAt).
      if (!this.#open.has(record.id)) this.#open.add(record.id);
    } else {
      this.#open.delete(record.id);
      this.#settled.delete(record.id);
      this.#settled.add(record.id);
    }
  }

  remove(id: string): AttemptRecord | undefined {
    const record = this.#byId.get(id);
    if (!record) return undefined;
    this.#byId.delete(id);
    this.#open.delete(id);
    this.#settled.delete(id);
    if (isLive(record.status)) this.#unlink(record);
    return record;
  }

  /** Removes and returns every record whose deadline is at or before `now`. */
  expire(now: number): AttemptRecord[] {
    const gone: AttemptRecord[] = [];
    for (const ids of [this.#settled, this.#open]) {
      for (const id of ids) {
        const record = this.#byId.get(id) as AttemptRecord;
        if (this.deadline(record) > now) break;
        this.remove(id);
        gone.push(record);
      }
    }
    return gone;
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
