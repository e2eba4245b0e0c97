import type { AttemptRecord, AttemptStatus, SaleKind } from '../../types.js';
import { makeRecord, recordProblem, recordShape, withRareFields } from '../../record.js';
import { FileColumns } from './columns.js';
import { AT, RARE_FIELDS, RECORD_FIELDS, RECORD_LAYOUT, type RecordField } from './layout.js';
import { FIELD_SLOTS, scanRecordLine } from './scan.js';

/**
 * The line format of a file store. One JSON document per line, `\n` after
 * each, appended in the order the guard wrote:
 *
 * - a header, first line of every file the store writes:
 *   `{"op":"header","format":"pos-duplicate-guard/file","version":2}`
 * - a record: a JSON array, its fields by position (./layout.ts); absent
 *   ones `null` (trailing ones left off), the rare fields in one object at
 *   the end; a later line with the same `id` replaces it
 * - `{"op":"delete","id":"…"}`
 * - `{"op":"meta","key":"…","value":"…"}`
 *
 * Record lines are arrays because start-up reads every one of them: at 100k
 * attempts, keys were 40% of the bytes, and objects parsed with differing
 * key sets left the record builder reading through a dozen hidden classes.
 * An array line parses faster and builds at one fixed shape.
 *
 * Version 1 files (a record was the `AttemptRecord` object as is, `"v":1`)
 * are still read; the store rewrites one as version 2 when it opens it, so
 * an older release refuses the file instead of skipping lines it cannot read.
 */
export const FORMAT = 'pos-duplicate-guard/file';
export const FORMAT_VERSION = 2;

export const headerLine = (): string => JSON.stringify({ op: 'header', format: FORMAT, version: FORMAT_VERSION });

export function recordLine(record: AttemptRecord): string {
  const line: unknown[] = [RECORD_LAYOUT];
  for (const field of RECORD_FIELDS) line.push(record[field] ?? null);
  let rare: Record<string, unknown> | undefined;
  for (const field of RARE_FIELDS) {
    const value = record[field];
    // The key is the id unless an older release minted it: say so only then.
    if (value === undefined || (field === 'idempotencyKey' && value === record.id)) continue;
    (rare ??= {})[field] = value;
  }
  if (rare) line.push(rare);
  else while (line[line.length - 1] === null) line.pop();
  return JSON.stringify(line);
}

/**
 * The record a version 2 line holds, built straight from the array through
 * `recordShape` (the same literal as `makeRecord`, without a second object
 * per line), frozen, and checked; or what is wrong with it.
 */
export function fromRecordLine(a: readonly unknown[]): AttemptRecord | string {
  if (a[0] !== RECORD_LAYOUT) return 'an array line that is not a record';
  const rare = a[RECORD_FIELDS.length + 1];
  const extra = typeof rare === 'object' && rare !== null && !Array.isArray(rare) ? (rare as Partial<AttemptRecord>) : undefined;
  // Unchecked until recordProblem below: the casts only name the slots.
  const at = (field: RecordField): unknown => present(a[AT[field]]);
  const record = recordShape(
    at('id') as string, (extra?.idempotencyKey ?? at('id')) as string, at('fingerprint') as string, at('status') as AttemptStatus, at('kind') as SaleKind,
    at('amount') as number, at('currency') as string, at('merchantId') as string, at('createdAt') as number, at('updatedAt') as number,
    at('pendingSince') as number, at('refunded') as number, at('approvedAt') as number | undefined, at('authCode') as string | undefined,
    at('bin') as string | undefined, at('last4') as string | undefined, at('orderId') as string | undefined, at('terminalId') as string | undefined,
  );
  const full = withRareFields(record, extra ?? {});
  return recordProblem(full) ?? full;
}

const present = (value: unknown): unknown => (value === null ? undefined : value);

export const deleteLine = (id: string): string => JSON.stringify({ op: 'delete', id });
export const metaLine = (key: string, value: string): string => JSON.stringify({ op: 'meta', key, value });


/** What a file holds once every line is replayed. */
export interface Replayed {
  /**
   * The live records: the lines `scanRecordLine` takes are deferred (read
   * into columns, built when first read); the others are built already.
   */
  live: { records: AttemptRecord[]; deferred: FileColumns };
  /** Live meta values by key. */
  meta: Map<string, string>;
  /** Complete lines in the file, counting the ones that were skipped. */
  lines: number;
  /** Byte length of the complete lines: a torn tail starts here and is cut off. */
  completeBytes: number;
  /** Bytes after the last `\n`: a write a crash cut short. */
  tornBytes: number;
  /** Line numbers (1-based) and what was wrong with them. */
  problems: { line: number; problem: string }[];
  /** The header's format version; a file without a header yet has none. */
  version?: number;
  /** A header from a newer release of this package: refuse rather than mangle. */
  unsupportedVersion?: number;
}

/** What a parsed line changes. */
interface Parsed {
  /** Records from lines the column reader did not take, by id. */
  records: Map<string, AttemptRecord>;
  deferred: FileColumns;
  meta: Map<string, string>;
  version?: number;
  unsupportedVersion?: number;
}

const NEWLINE = 0x0a;
/** Below this share of live deferred bytes, they are copied out so the file's dead lines are not kept. */
const KEEP_RATIO = 0.75;

/**
 * Replays a file's lines as its bytes arrive: last line for an id wins. A
 * line that is not JSON, or JSON that is not one of the shapes above, is
 * reported and skipped: the rest still loads.
 *
 * A record line `scanRecordLine` takes is not parsed: its fields are read
 * off the bytes into columns, and the record is built from its line only
 * when the guard first reads it (see DeferredRecords). At 100k attempts,
 * parsing every line and building every record took two thirds of start-up.
 *
 * All of the file goes into one buffer, which the deferred records are
 * later built from; `feed` replays what has arrived, so the store can read
 * the next part of the file while this one is replayed.
 */
export class Replay {
  readonly #bytes: Buffer;
  readonly #parsed: Parsed;
  readonly #problems: Replayed['problems'] = [];
  readonly #starts = new Int32Array(FIELD_SLOTS);
  readonly #ends = new Int32Array(FIELD_SLOTS);
  /** Where the next line starts. */
  #at = 0;
  #lines = 0;

  /** `bytes` will hold the whole file; `feed` says how much of it has arrived. */
  constructor(bytes: Buffer) {
    this.#bytes = bytes;
    this.#parsed = { records: new Map(), deferred: new FileColumns(bytes, fromRecordLine, 0), meta: new Map() };
  }

  /** Replays the complete lines in `bytes[…, arrived)`. */
  feed(arrived: number): void {
    const bytes = this.#bytes;
    // The columns are sized from the first part of the file: a till's lines are alike.
    if (this.#lines === 0 && arrived > 0) this.#parsed.deferred = new FileColumns(bytes, fromRecordLine, expectedLines(bytes, arrived));
    const parsed = this.#parsed;
    const starts = this.#starts;
    const ends = this.#ends;
    let at = this.#at;
    // Newlines are looked for only in what has arrived: past it is unread memory, or the next read landing.
    const received = bytes.subarray(0, arrived);
    for (let newline = received.indexOf(NEWLINE, at); newline !== -1; newline = received.indexOf(NEWLINE, at)) {
      const lineNo = ++this.#lines;
      if (newline > at) {
        const fields = scanRecordLine(bytes, at, newline, starts, ends);
        if (fields < 0 || !parsed.deferred.add(at, newline, fields, starts, ends)) {
          const problem = parseLine(bytes.toString('utf8', at, newline), parsed);
          if (problem) this.#problems.push({ line: lineNo, problem });
        }
      }
      at = newline + 1;
    }
    this.#at = at;
  }

  /** What the file holds, once all of it (`length` bytes) has arrived and been fed: the bytes after the last `\n` are a torn write. */
  finish(length: number): Replayed {
    const { deferred, records, meta, version, unsupportedVersion } = this.#parsed;
    // A deferred line after a parsed one for the same id takes it over: drop the parsed record.
    if (records.size > 0) for (const id of records.keys()) if (deferred.find(id) >= 0) records.delete(id);
    deferred.finish(KEEP_RATIO);
    const live = { records: [...records.values()], deferred };
    return { live, meta, lines: this.#lines, completeBytes: this.#at, tornBytes: length - this.#at, problems: this.#problems, version, unsupportedVersion };
  }
}

/** How many lines the whole of `bytes` holds, judged from up to its first MiB (of the `arrived` bytes), with a tenth to spare. */
function expectedLines(bytes: Buffer, arrived: number): number {
  const sample = bytes.subarray(0, Math.min(arrived, 1 << 20));
  let lines = 1;
  for (let at = sample.indexOf(NEWLINE); at !== -1; at = sample.indexOf(NEWLINE, at + 1)) lines++;
  return Math.ceil((lines * bytes.length * 1.1) / sample.length) + 64;
}

/** Replays a whole file that is in memory already. */
export function replay(bytes: Buffer, length = bytes.length): Replayed {
  const replayer = new Replay(bytes);
  replayer.feed(length);
  return replayer.finish(length);
}

/** Applies one line the column reader did not take; returns what is wrong with it, if anything. */
function parseLine(text: string, out: Parsed): string | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return 'not valid JSON';
  }
  return apply(value, out);
}

/** Applies one parsed line; returns what is wrong with it, if anything. */
function apply(value: unknown, out: Parsed): string | undefined {
  const { records, deferred, meta } = out;
  const keep = (record: AttemptRecord): undefined => {
    deferred.drop(record.id);
    records.set(record.id, record);
    return undefined;
  };
  if (Array.isArray(value)) {
    const record = fromRecordLine(value);
    return typeof record === 'string' ? record : keep(record);
  }
  if (typeof value !== 'object' || value === null) return 'not a JSON object or array';
  const line = value as Record<string, unknown>;
  const op = line.op;
  // A version 1 record line: the record object as is.
  if (op === undefined) {
    return recordProblem(line) ?? keep(makeRecord(line as unknown as AttemptRecord));
  }
  if (op === 'delete' && typeof line.id === 'string') {
    deferred.drop(line.id);
    records.delete(line.id);
    return undefined;
  }
  if (op === 'meta' && typeof line.key === 'string' && typeof line.value === 'string') {
    meta.set(line.key, line.value);
    return undefined;
  }
  if (op === 'header' && line.format === FORMAT) {
    if (typeof line.version === 'number') {
      if (line.version > FORMAT_VERSION) out.unsupportedVersion = line.version;
      out.version = line.version;
    }
    return undefined;
  }
  return `not a record, delete, meta or header line (op ${JSON.stringify(op).slice(0, 40)})`;
}
