import type { AttemptRecord, AttemptStatus, SaleKind } from '../../types.js';
import { makeRecord, recordProblem, recordShape, withRareFields } from '../../record.js';

/**
 * The line format of a file store. One JSON document per line, `\n` after
 * each, appended in the order the guard wrote:
 *
 * - a header, first line of every file the store writes:
 *   `{"op":"header","format":"pos-duplicate-guard/file","version":2}`
 * - a record: a JSON array, its fields by position (`RECORD_FIELDS`); a
 *   later line with the same `id` replaces it
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

/** The first element of a record line: the layout below. */
const RECORD_LAYOUT = 1;

/**
 * Record fields by position, after the layout tag. Absent ones are `null`
 * (trailing ones left off); the rare fields ride in one object at the end.
 */
const RECORD_FIELDS = [
  'id', 'fingerprint', 'status', 'kind', 'amount', 'currency', 'merchantId',
  'createdAt', 'updatedAt', 'pendingSince', 'refunded', 'approvedAt',
  'authCode', 'bin', 'last4', 'orderId', 'terminalId',
] as const satisfies readonly (keyof AttemptRecord)[];

/** The rest, kept in the trailing object when present. */
const RARE_FIELDS = [
  'idempotencyKey', 'operator', 'orderTotal', 'refundOf', 'processorRef', 'code', 'message', 'override', 'refunds',
] as const satisfies readonly (keyof AttemptRecord)[];

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
  const record = recordShape(
    a[1] as string, (extra?.idempotencyKey ?? a[1]) as string, a[2] as string, a[3] as AttemptStatus, a[4] as SaleKind,
    a[5] as number, a[6] as string, a[7] as string, a[8] as number, a[9] as number, a[10] as number, a[11] as number,
    present(a[12]) as number | undefined, present(a[13]) as string | undefined, present(a[14]) as string | undefined,
    present(a[15]) as string | undefined, present(a[16]) as string | undefined, present(a[17]) as string | undefined,
  );
  const full = withRareFields(record, extra ?? {});
  return recordProblem(full) ?? full;
}

const present = (value: unknown): unknown => (value === null ? undefined : value);

export const deleteLine = (id: string): string => JSON.stringify({ op: 'delete', id });
export const metaLine = (key: string, value: string): string => JSON.stringify({ op: 'meta', key, value });


/** What a file holds once every line is replayed. */
export interface Replayed {
  /** The live records, each at the position of its id's first line. */
  records: AttemptRecord[];
  /**
   * The live records by id, in the order each id first appeared. Handed over
   * as the store's live set (only its keys matter after): at 100k attempts
   * a second Set of the same ids costs 40 ms of start-up.
   */
  ids: Map<string, unknown>;
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

const NEWLINE = 0x0a;

/**
 * Replays a file's lines as they are read, chunk by chunk. Last line for an
 * id wins. A line that is not JSON, or JSON that is not one of the shapes
 * above, is reported and skipped: the rest still loads.
 *
 * Lines are decoded one at a time straight from the read buffer: decoding a
 * whole 40 MB file into one string first costs a third more at 100k
 * attempts (a fresh 40 MB allocation, then the same bytes copied again).
 * Each record line is built straight into the guard's immutable record
 * shape, so the guard files it as it is: at 100k attempts a second copy
 * costs a fifth of start-up, and its garbage more.
 */
export class Replay {
  readonly #out: Replayed = { records: [], ids: new Map(), meta: new Map(), lines: 0, completeBytes: 0, tornBytes: 0, problems: [] };

  /** Replays the complete lines in `bytes[start, end)`; `end` must follow a `\n`. */
  feed(bytes: Buffer, start: number, end: number): void {
    const out = this.#out;
    let at = start;
    while (at < end) {
      const newline = bytes.indexOf(NEWLINE, at);
      const lineNo = ++out.lines;
      if (newline > at) this.#line(bytes.toString('utf8', at, newline), lineNo);
      at = newline + 1;
    }
    out.completeBytes += end - start;
  }

  /** Everything after the last `\n` was never acknowledged: every write ends in one. */
  finish(tornBytes: number): Replayed {
    const out = this.#out;
    out.tornBytes = tornBytes;
    // One Map.set per line and no lookup: a Map keeps an id at its first
    // position when a later line replaces the record.
    out.records = [...out.ids.values()] as AttemptRecord[];
    return out;
  }

  #line(text: string, lineNo: number): void {
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      this.#out.problems.push({ line: lineNo, problem: 'not valid JSON' });
      return;
    }
    const problem = apply(value, this.#out);
    if (problem) this.#out.problems.push({ line: lineNo, problem });
  }
}

/** Applies one parsed line; returns what is wrong with it, if anything. */
function apply(value: unknown, out: Replayed): string | undefined {
  if (Array.isArray(value)) {
    const record = fromRecordLine(value);
    if (typeof record === 'string') return record;
    out.ids.set(record.id, record);
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return 'not a JSON object or array';
  const { ids, meta } = out;
  const line = value as Record<string, unknown>;
  const op = line.op;
  // A version 1 record line: the record object as is.
  if (op === undefined) {
    const problem = recordProblem(line);
    if (problem) return problem;
    const record = makeRecord(line as unknown as AttemptRecord);
    ids.set(record.id, record);
    return undefined;
  }
  if (op === 'delete' && typeof line.id === 'string') {
    ids.delete(line.id);
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


/**
 * Minimal checks: enough that the guard's index can file the record (id,
 * status, fingerprint, and the times its expiry queues sort on). Anything
 * stricter would turn a harmless extra field from a newer version into data loss.
 */
