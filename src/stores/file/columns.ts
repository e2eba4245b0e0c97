import type { DeferredRecords } from '../../deferred.js';
import { GuardStorageError } from '../../errors.js';
import { ATTEMPT_STATUSES } from '../../lifecycle.js';
import type { AttemptRecord, AttemptStatus, SaleKind } from '../../types.js';
import { IdHashSet, hashBytes, hashString, tableSize } from './hash.js';
import { AT, RECORD_LAYOUT } from './layout.js';
import { bytesEqual, integerAt } from './scan.js';

/** Status codes keyed by length and first letter (all distinct), then checked byte by byte. */
const STATUS_CODE = new Map<number, number>(ATTEMPT_STATUSES.map((status, code) => [(status.length << 8) | status.charCodeAt(0), code]));
/** The layout tag's position in a line. */
const LAYOUT_AT = 0;
/** Where a line's id starts: after `[1,"` (the reader takes no whitespace, and no leading zero in the tag). */
const ID_OFFSET = `[${RECORD_LAYOUT},"`.length;
const EMPTY = 0;
const TOMBSTONE = -1;
const NONE = -1;

/** One slot per line the column reader took. */
function columns(capacity: number) {
  return {
    lineStart: new Float64Array(capacity),
    lineEnd: new Float64Array(capacity),
    idLength: new Uint32Array(capacity),
    idHash: new Int32Array(capacity),
    alive: new Uint8Array(capacity),
    status: new Uint8Array(capacity),
    refund: new Uint8Array(capacity),
    updatedAt: new Float64Array(capacity),
    approvedAt: new Float64Array(capacity),
    merchant: new Uint32Array(capacity),
    /** The order id's start, from the line's start; -1 for none. */
    orderOffset: new Int32Array(capacity),
    orderLength: new Uint32Array(capacity),
    orderHash: new Int32Array(capacity),
    /** The next slot on the same merchant + order, or -1. */
    orderNext: new Int32Array(capacity),
  };
}
type Columns = ReturnType<typeof columns>;

/**
 * The records of a file that start-up defers (see `DeferredRecords`): the
 * fields the index files them by, in typed arrays, one slot per line that
 * `scanRecordLine` took, and two hash tables over the file's bytes, from
 * id to slot and from merchant + order to slots. No string and no object is
 * made per line; an id or order id becomes a string only when something
 * looks a record up by it.
 *
 * While the file replays, a later line for an id takes the id over (the
 * earlier slot is dead) and a delete or a line the parser read kills it.
 */
export class FileColumns implements DeferredRecords {
  #bytes: Buffer;
  readonly #decodeLine: (line: readonly unknown[]) => AttemptRecord | string;
  #c: Columns;
  #count = 0;
  #live = 0;
  /** Bytes of the live slots' lines. */
  #liveBytes = 0;
  /** Id → slot + 1; open addressing, linear probing, with tombstones. */
  #ids: Int32Array;
  /** Merchant + order → the latest slot + 1 on it (the rest chained by `orderNext`). */
  #orders: Int32Array;
  readonly #merchants: string[] = [];
  readonly #merchantCodes = new Map<string, number>();
  #lastMerchant = -1;

  /**
   * `bytes` holds (or will hold) the file; `decodeLine` is the line codec's
   * (./jsonl.ts owns the record layout). Room for `lines` slots, grown if
   * there are more.
   */
  constructor(bytes: Buffer, decodeLine: (line: readonly unknown[]) => AttemptRecord | string, lines = 1024) {
    this.#bytes = bytes;
    this.#decodeLine = decodeLine;
    this.#c = columns(lines);
    this.#ids = new Int32Array(tableSize(lines));
    this.#orders = new Int32Array(tableSize(lines));
  }

  // ── building, while the file replays ──────────────────────────────────

  /**
   * Files the line `bytes[start, end)` that `scanRecordLine` took, with its
   * fields at `starts`/`ends`; the line takes its id over from any earlier
   * one. False when it is not a record line of this version after all (a
   * status it does not know, a layout other than 1): the parser says why.
   */
  add(start: number, end: number, fields: number, starts: Int32Array, ends: Int32Array): boolean {
    const bytes = this.#bytes;
    const statusStart = starts[AT.status] as number;
    const statusEnd = ends[AT.status] as number;
    const code = STATUS_CODE.get(((statusEnd - statusStart) << 8) | (bytes[statusStart] ?? 0));
    if (code === undefined || !bytesEqual(bytes, statusStart, statusEnd, ATTEMPT_STATUSES[code] as string)) return false;
    // An empty id is no record: the parser reports the line.
    if (integerAt(bytes, starts[LAYOUT_AT] as number, ends[LAYOUT_AT] as number) !== RECORD_LAYOUT || ends[AT.id] === starts[AT.id]) return false;
    if (this.#count === this.#c.lineStart.length) this.#grow();
    const c = this.#c;
    const slot = this.#count++;
    c.lineStart[slot] = start;
    c.lineEnd[slot] = end;
    c.idLength[slot] = (ends[AT.id] as number) - (starts[AT.id] as number);
    c.idHash[slot] = hashBytes(bytes, starts[AT.id] as number, ends[AT.id] as number, false);
    c.status[slot] = code;
    c.refund[slot] = bytesEqual(bytes, starts[AT.kind] as number, ends[AT.kind] as number, 'refund') ? 1 : 0;
    c.updatedAt[slot] = integerAt(bytes, starts[AT.updatedAt] as number, ends[AT.updatedAt] as number);
    // `starts` is reused from line to line: a field past the line's end is not there.
    const approvedAt = fields > AT.approvedAt ? (starts[AT.approvedAt] as number) : NONE;
    c.approvedAt[slot] = approvedAt < 0 ? Number.NaN : integerAt(bytes, approvedAt, ends[AT.approvedAt] as number);
    c.merchant[slot] = this.#merchantCode(starts[AT.merchantId] as number, ends[AT.merchantId] as number);
    const orderStart = fields > AT.orderId ? (starts[AT.orderId] as number) : NONE;
    c.orderOffset[slot] = orderStart < 0 ? NONE : orderStart - start;
    c.orderLength[slot] = orderStart < 0 ? 0 : (ends[AT.orderId] as number) - orderStart;
    c.orderHash[slot] = orderStart < 0 ? 0 : hashBytes(bytes, orderStart, ends[AT.orderId] as number, false);
    this.#claim(slot);
    if (orderStart >= 0) this.#linkOrder(slot);
    return true;
  }

  /** A line the parser read, or a delete, for `id`: any deferred slot for it is dead. */
  drop(id: string): void {
    const at = this.#idEntry(id);
    if (at < 0) return;
    const slot = (this.#ids[at] as number) - 1;
    this.#c.alive[slot] = 0;
    this.#liveBytes -= this.#lineBytes(slot);
    this.#ids[at] = TOMBSTONE;
    this.#live--;
  }

  /**
   * Once the file is read: trims the columns to the lines there were, and
   * when the live deferred lines are under `keepRatio` of the bytes (dead
   * and parsed lines take the rest), copies them into a buffer of their
   * own, so those are not kept.
   */
  finish(keepRatio: number): void {
    if (this.#count < this.#c.lineStart.length * 0.75) {
      const trimmed = {} as Record<keyof Columns, unknown>;
      for (const [key, column] of Object.entries(this.#c)) trimmed[key as keyof Columns] = column.slice(0, this.#count);
      this.#c = trimmed as Columns;
    }
    const c = this.#c;
    const liveBytes = this.#liveBytes;
    if (liveBytes >= this.#bytes.length * keepRatio) return;
    const source = this.#bytes;
    this.#bytes = Buffer.allocUnsafeSlow(liveBytes);
    let to = 0;
    for (let slot = 0; slot < this.#count; slot++) {
      if (!c.alive[slot]) continue;
      const length = source.copy(this.#bytes, to, c.lineStart[slot], c.lineEnd[slot]);
      c.lineStart[slot] = to;
      c.lineEnd[slot] = to += length;
    }
    // Dead slots' bytes are gone now, and the tables match by a slot's bytes.
    this.#reindex(this.#ids.length);
  }

  // ── DeferredRecords ───────────────────────────────────────────────────

  get slots(): number {
    return this.#count;
  }

  live(slot: number): boolean {
    return this.#c.alive[slot] === 1;
  }

  id(slot: number): string {
    const start = (this.#c.lineStart[slot] as number) + ID_OFFSET;
    return this.#bytes.toString('latin1', start, start + (this.#c.idLength[slot] as number));
  }

  status(slot: number): AttemptStatus {
    return ATTEMPT_STATUSES[this.#c.status[slot] as number] as AttemptStatus;
  }

  kind(slot: number): SaleKind {
    return this.#c.refund[slot] ? 'refund' : 'sale';
  }

  updatedAt(slot: number): number {
    return this.#c.updatedAt[slot] as number;
  }

  approvedAt(slot: number): number {
    return this.#c.approvedAt[slot] as number;
  }

  find(id: string): number {
    const at = this.#idEntry(id);
    return at < 0 ? -1 : (this.#ids[at] as number) - 1;
  }

  ordersOf(merchantId: string, orderId: string): number[] {
    const merchant = this.#merchantCodes.get(merchantId);
    if (merchant === undefined) return [];
    const c = this.#c;
    const table = this.#orders;
    const mask = table.length - 1;
    const hash = hashString(orderId, false);
    for (let at = (hash ^ merchant) & mask; ; at = (at + 1) & mask) {
      const head = (table[at] as number) - 1;
      if (head < 0) return [];
      if (c.orderHash[head] !== hash || c.merchant[head] !== merchant || !this.#orderEquals(head, orderId)) continue;
      const slots: number[] = [];
      for (let slot = head; slot !== NONE; slot = c.orderNext[slot] as number) if (c.alive[slot]) slots.push(slot);
      return slots;
    }
  }

  readonly decode = (slot: number): AttemptRecord => {
    const record = this.#decodeLine(JSON.parse(this.line(slot)) as unknown[]);
    // The column reader took this line, so it decodes: failing here is a bug, not bad data.
    if (typeof record === 'string') throw new GuardStorageError('READ_FAILED', `file store: a record line start-up deferred does not decode: ${record}`);
    return record;
  };

  /** The line of `slot`, as it is in the file (ASCII: the scanner takes nothing else). */
  line(slot: number): string {
    return this.#bytes.toString('latin1', this.#c.lineStart[slot], this.#c.lineEnd[slot]);
  }

  /** Every live id, the deferred ones and `records`': the file store's live-line set. */
  liveIds(records: readonly AttemptRecord[]): IdHashSet {
    const c = this.#c;
    const set = new IdHashSet(this.#live + records.length);
    for (const record of records) set.add(record.id);
    for (let slot = 0; slot < this.#count; slot++) {
      if (!c.alive[slot]) continue;
      const start = (c.lineStart[slot] as number) + ID_OFFSET;
      set.addHashes(c.idHash[slot] as number, hashBytes(this.#bytes, start, start + (c.idLength[slot] as number), true));
    }
    return set;
  }

  // ── internals ─────────────────────────────────────────────────────────

  /** Puts `slot` in the id table, taking the id from an earlier slot. */
  #claim(slot: number): void {
    const c = this.#c;
    const table = this.#ids;
    const mask = table.length - 1;
    let free = -1;
    for (let at = (c.idHash[slot] as number) & mask; ; at = (at + 1) & mask) {
      const entry = table[at] as number;
      if (entry === EMPTY) {
        table[free < 0 ? at : free] = slot + 1;
        c.alive[slot] = 1;
        this.#live++;
        this.#liveBytes += this.#lineBytes(slot);
        return;
      }
      if (entry === TOMBSTONE) {
        if (free < 0) free = at;
        continue;
      }
      if (this.#sameId(entry - 1, slot)) {
        c.alive[entry - 1] = 0;
        table[at] = slot + 1;
        c.alive[slot] = 1;
        this.#liveBytes += this.#lineBytes(slot) - this.#lineBytes(entry - 1);
        return;
      }
    }
  }

  /** Puts `slot` at the head of its merchant + order's chain. */
  #linkOrder(slot: number): void {
    const c = this.#c;
    const table = this.#orders;
    const mask = table.length - 1;
    const merchant = c.merchant[slot] as number;
    for (let at = ((c.orderHash[slot] as number) ^ merchant) & mask; ; at = (at + 1) & mask) {
      const head = (table[at] as number) - 1;
      if (head >= 0 && !(c.orderHash[head] === c.orderHash[slot] && c.merchant[head] === merchant && this.#sameOrder(head, slot))) continue;
      c.orderNext[slot] = head;
      table[at] = slot + 1;
      return;
    }
  }

  /** More lines than the columns were sized for: double them, and the tables with them. */
  #grow(): void {
    const old = this.#c;
    const capacity = old.lineStart.length * 2;
    const c = columns(capacity);
    for (const key of Object.keys(c) as (keyof Columns)[]) c[key].set(old[key] as never);
    this.#c = c;
    this.#reindex(tableSize(capacity));
  }

  /** Both tables anew, `size` entries each, with the live slots only. */
  #reindex(size: number): void {
    const { alive, orderOffset } = this.#c;
    this.#ids = new Int32Array(size);
    this.#orders = new Int32Array(size);
    this.#live = 0;
    this.#liveBytes = 0;
    for (let slot = 0; slot < this.#count; slot++) {
      if (!alive[slot]) continue;
      this.#claim(slot);
      if ((orderOffset[slot] as number) >= 0) this.#linkOrder(slot);
    }
  }

  #lineBytes(slot: number): number {
    return (this.#c.lineEnd[slot] as number) - (this.#c.lineStart[slot] as number);
  }

  #idEntry(id: string): number {
    const c = this.#c;
    const table = this.#ids;
    const mask = table.length - 1;
    const hash = hashString(id, false);
    for (let at = hash & mask; ; at = (at + 1) & mask) {
      const entry = table[at] as number;
      if (entry === EMPTY) return -1;
      if (entry !== TOMBSTONE && c.idHash[entry - 1] === hash && this.#idEquals(entry - 1, id)) return at;
    }
  }

  #sameId(a: number, b: number): boolean {
    const { idHash, idLength, lineStart } = this.#c;
    return idHash[a] === idHash[b] && idLength[a] === idLength[b] && this.#sameBytes((lineStart[a] as number) + ID_OFFSET, (lineStart[b] as number) + ID_OFFSET, idLength[a] as number);
  }

  #sameOrder(a: number, b: number): boolean {
    const { orderLength, orderOffset, lineStart } = this.#c;
    return orderLength[a] === orderLength[b] && this.#sameBytes((lineStart[a] as number) + (orderOffset[a] as number), (lineStart[b] as number) + (orderOffset[b] as number), orderLength[a] as number);
  }

  #sameBytes(a: number, b: number, length: number): boolean {
    const bytes = this.#bytes;
    for (let i = 0; i < length; i++) if (bytes[a + i] !== bytes[b + i]) return false;
    return true;
  }

  #idEquals(slot: number, id: string): boolean {
    const start = (this.#c.lineStart[slot] as number) + ID_OFFSET;
    return bytesEqual(this.#bytes, start, start + (this.#c.idLength[slot] as number), id);
  }

  #orderEquals(slot: number, orderId: string): boolean {
    const start = (this.#c.lineStart[slot] as number) + (this.#c.orderOffset[slot] as number);
    return bytesEqual(this.#bytes, start, start + (this.#c.orderLength[slot] as number), orderId);
  }

  /** Most lines repeat the previous line's merchant: compare bytes with it before making a string. */
  #merchantCode(start: number, end: number): number {
    const merchants = this.#merchants;
    const last = this.#lastMerchant;
    if (last >= 0 && bytesEqual(this.#bytes, start, end, merchants[last] as string)) return last;
    const merchant = this.#bytes.toString('latin1', start, end);
    let code = this.#merchantCodes.get(merchant);
    if (code === undefined) {
      code = merchants.push(merchant) - 1;
      this.#merchantCodes.set(merchant, code);
    }
    return (this.#lastMerchant = code);
  }
}
