import type { DeferredRecords } from '../../deferred.js';
import type { AttemptRecord, AttemptStatus, SaleKind } from '../../types.js';
import { IdHashSet, hashBytes, hashString, tableSize } from './hash.js';
import { F, bytesEqual, integerAt } from './scan.js';

const STATUSES = ['pending', 'unknown', 'approved', 'declined', 'cancelled', 'voided', 'refunded'] as const satisfies readonly AttemptStatus[];
/** Status codes keyed by length and first letter (all distinct), then checked byte by byte. */
const STATUS_CODE = new Map<number, number>(STATUSES.map((status, code) => [(status.length << 8) | status.charCodeAt(0), code]));
/** Where a line's id starts: after `[1,"`. */
const ID_OFFSET = 4;
const EMPTY = 0;
const TOMBSTONE = -1;

/**
 * The records of a file that start-up defers (see `DeferredRecords`): the
 * fields the index files them by, in typed arrays, one slot per line that
 * `scanRecordLine` took, and a hash table from id to slot that compares ids
 * in the file's bytes. No string and no object is made per line; an id
 * becomes a string only when something looks a record up by it.
 *
 * While the file replays, a later line for an id takes the id over (the
 * earlier slot is dead) and a delete or a line the parser read kills it.
 */
export class FileColumns implements DeferredRecords {
  #bytes: Buffer;
  #count = 0;
  readonly #lineStart: Float64Array;
  readonly #lineEnd: Float64Array;
  readonly #idLength: Uint32Array;
  readonly #hash: Int32Array;
  readonly #alive: Uint8Array;
  readonly #status: Uint8Array;
  readonly #refund: Uint8Array;
  readonly #updatedAt: Float64Array;
  readonly #pendingSince: Float64Array;
  readonly #approvedAt: Float64Array;
  readonly #merchant: Uint32Array;
  readonly #orderStart: Int32Array;
  readonly #orderLength: Uint32Array;
  readonly #merchants: string[] = [];
  readonly #merchantCodes = new Map<string, number>();
  #lastMerchant = -1;
  readonly #decodeLine: (line: readonly unknown[]) => AttemptRecord | string;
  /** Slot + 1 per entry; open addressing, linear probing. */
  readonly #table: Int32Array;
  #live = 0;

  /**
   * Room for up to `lines` slots (the file's line count); `decodeLine` is
   * the line codec's (./jsonl.ts owns the record layout).
   */
  constructor(bytes: Buffer, lines: number, decodeLine: (line: readonly unknown[]) => AttemptRecord | string) {
    this.#bytes = bytes;
    this.#decodeLine = decodeLine;
    this.#lineStart = new Float64Array(lines);
    this.#lineEnd = new Float64Array(lines);
    this.#idLength = new Uint32Array(lines);
    this.#hash = new Int32Array(lines);
    this.#alive = new Uint8Array(lines);
    this.#status = new Uint8Array(lines);
    this.#refund = new Uint8Array(lines);
    this.#updatedAt = new Float64Array(lines);
    this.#pendingSince = new Float64Array(lines);
    this.#approvedAt = new Float64Array(lines);
    this.#merchant = new Uint32Array(lines);
    this.#orderStart = new Int32Array(lines);
    this.#orderLength = new Uint32Array(lines);
    this.#table = new Int32Array(tableSize(lines));
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
    const statusStart = starts[F.status] as number;
    const statusEnd = ends[F.status] as number;
    const code = STATUS_CODE.get(((statusEnd - statusStart) << 8) | (bytes[statusStart] ?? 0));
    const layout = starts[F.layout] as number;
    if (code === undefined || !bytesEqual(bytes, statusStart, statusEnd, STATUSES[code] as string)) return false;
    if (ends[F.layout] !== layout + 1 || bytes[layout] !== 0x31 || starts[F.id] !== start + ID_OFFSET) return false;
    const slot = this.#count++;
    this.#lineStart[slot] = start;
    this.#lineEnd[slot] = end;
    this.#idLength[slot] = (ends[F.id] as number) - (starts[F.id] as number);
    this.#hash[slot] = hashBytes(bytes, starts[F.id] as number, ends[F.id] as number, false);
    this.#status[slot] = code;
    this.#refund[slot] = bytesEqual(bytes, starts[F.kind] as number, ends[F.kind] as number, 'refund') ? 1 : 0;
    this.#updatedAt[slot] = integerAt(bytes, starts[F.updatedAt] as number, ends[F.updatedAt] as number);
    this.#pendingSince[slot] = integerAt(bytes, starts[F.pendingSince] as number, ends[F.pendingSince] as number);
    const approvedAt = starts[F.approvedAt] as number;
    this.#approvedAt[slot] = approvedAt < 0 ? Number.NaN : integerAt(bytes, approvedAt, ends[F.approvedAt] as number);
    this.#merchant[slot] = this.#merchantCode(starts[F.merchantId] as number, ends[F.merchantId] as number);
    const orderStart = fields > F.orderId ? (starts[F.orderId] as number) : -1;
    this.#orderStart[slot] = orderStart < 0 ? -1 : orderStart - start;
    this.#orderLength[slot] = orderStart < 0 ? 0 : (ends[F.orderId] as number) - orderStart;
    this.#claim(slot);
    return true;
  }

  /** A line the parser read, or a delete, for `id`: any deferred slot for it is dead. */
  drop(id: string): void {
    const at = this.#entry(id);
    if (at < 0) return;
    this.#alive[(this.#table[at] as number) - 1] = 0;
    this.#table[at] = TOMBSTONE;
    this.#live--;
  }

  /**
   * Once the file is read: when the live deferred lines are under
   * `keepRatio` of the bytes (dead and parsed lines take the rest), copies
   * them into a buffer of their own, so those are not kept.
   */
  finish(keepRatio: number): void {
    let liveBytes = 0;
    for (let slot = 0; slot < this.#count; slot++) if (this.#alive[slot]) liveBytes += (this.#lineEnd[slot] as number) - (this.#lineStart[slot] as number);
    if (liveBytes >= this.#bytes.length * keepRatio) return;
    const source = this.#bytes;
    this.#bytes = Buffer.allocUnsafeSlow(liveBytes);
    let to = 0;
    for (let slot = 0; slot < this.#count; slot++) {
      if (!this.#alive[slot]) continue;
      const length = source.copy(this.#bytes, to, this.#lineStart[slot], this.#lineEnd[slot]);
      this.#lineStart[slot] = to;
      this.#lineEnd[slot] = to += length;
    }
  }

  // ── DeferredRecords ───────────────────────────────────────────────────

  get slots(): number {
    return this.#count;
  }

  get liveSlots(): number {
    return this.#live;
  }

  live(slot: number): boolean {
    return this.#alive[slot] === 1;
  }

  id(slot: number): string {
    const start = (this.#lineStart[slot] as number) + ID_OFFSET;
    return this.#bytes.toString('latin1', start, start + (this.#idLength[slot] as number));
  }

  status(slot: number): AttemptStatus {
    return STATUSES[this.#status[slot] as number] as AttemptStatus;
  }

  kind(slot: number): SaleKind {
    return this.#refund[slot] ? 'refund' : 'sale';
  }

  updatedAt(slot: number): number {
    return this.#updatedAt[slot] as number;
  }

  pendingSince(slot: number): number {
    return this.#pendingSince[slot] as number;
  }

  approvedAt(slot: number): number {
    return this.#approvedAt[slot] as number;
  }

  merchantId(slot: number): string {
    return this.#merchants[this.#merchant[slot] as number] as string;
  }

  orderId(slot: number): string | undefined {
    const offset = this.#orderStart[slot] as number;
    if (offset < 0) return undefined;
    const start = (this.#lineStart[slot] as number) + offset;
    return this.#bytes.toString('latin1', start, start + (this.#orderLength[slot] as number));
  }

  find(id: string): number {
    const at = this.#entry(id);
    return at < 0 ? -1 : (this.#table[at] as number) - 1;
  }

  decode = (slot: number): AttemptRecord => {
    const record = this.#decodeLine(JSON.parse(this.line(slot)) as unknown[]);
    // The column reader took this line, so it decodes: failing here is a bug, not bad data.
    if (typeof record === 'string') throw new Error(`file store: deferred line ${slot} does not decode: ${record}`);
    return record;
  };

  /** The line of `slot`, as it is in the file (ASCII: the scanner takes nothing else). */
  line(slot: number): string {
    return this.#bytes.toString('latin1', this.#lineStart[slot], this.#lineEnd[slot]);
  }

  /** Every live id, the deferred ones and `records`': the file store's live-line set. */
  liveIds(records: readonly AttemptRecord[]): IdHashSet {
    const set = new IdHashSet(this.#live + records.length);
    for (const record of records) set.add(record.id);
    for (let slot = 0; slot < this.#count; slot++) {
      if (!this.#alive[slot]) continue;
      const start = (this.#lineStart[slot] as number) + ID_OFFSET;
      set.addHashes(this.#hash[slot] as number, hashBytes(this.#bytes, start, start + (this.#idLength[slot] as number), true));
    }
    return set;
  }

  // ── internals ─────────────────────────────────────────────────────────

  /** Puts `slot` in the table under its id, taking the id from an earlier slot. */
  #claim(slot: number): void {
    const table = this.#table;
    const mask = table.length - 1;
    const hash = this.#hash[slot] as number;
    let free = -1;
    for (let at = hash & mask; ; at = (at + 1) & mask) {
      const entry = table[at] as number;
      if (entry === EMPTY) {
        table[free < 0 ? at : free] = slot + 1;
        this.#alive[slot] = 1;
        this.#live++;
        return;
      }
      if (entry === TOMBSTONE) {
        if (free < 0) free = at;
        continue;
      }
      if (this.#sameId(entry - 1, slot)) {
        this.#alive[entry - 1] = 0;
        table[at] = slot + 1;
        this.#alive[slot] = 1;
        return;
      }
    }
  }

  #entry(id: string): number {
    const table = this.#table;
    const mask = table.length - 1;
    const hash = hashString(id, false);
    for (let at = hash & mask; ; at = (at + 1) & mask) {
      const entry = table[at] as number;
      if (entry === EMPTY) return -1;
      if (entry !== TOMBSTONE && this.#hash[entry - 1] === hash && this.#idEquals(entry - 1, id)) return at;
    }
  }

  #sameId(a: number, b: number): boolean {
    const length = this.#idLength[a] as number;
    if (this.#hash[a] !== this.#hash[b] || this.#idLength[b] !== length) return false;
    const bytes = this.#bytes;
    const from = (this.#lineStart[a] as number) + ID_OFFSET;
    const to = (this.#lineStart[b] as number) + ID_OFFSET;
    for (let i = 0; i < length; i++) if (bytes[from + i] !== bytes[to + i]) return false;
    return true;
  }

  #idEquals(slot: number, id: string): boolean {
    const start = (this.#lineStart[slot] as number) + ID_OFFSET;
    return bytesEqual(this.#bytes, start, start + (this.#idLength[slot] as number), id);
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
