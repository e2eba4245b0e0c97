import type { AttemptRecord } from '../../types.js';
import { makeRecord, recordProblem } from '../../record.js';

/**
 * The line format of a file store. One JSON document per line, `\n` after
 * each, appended in the order the guard wrote:
 *
 * - a header, first line of every file the store writes:
 *   `{"op":"header","format":"pos-duplicate-guard/file","version":1}`
 * - a record (an `AttemptRecord`, as is: it carries `"v":1`); a later line
 *   with the same `id` replaces it
 * - `{"op":"delete","id":"…"}`
 * - `{"op":"meta","key":"…","value":"…"}`
 *
 * A record line has no `op`, so the common line costs no wrapper bytes: at
 * 100k attempts every byte is read, decoded and parsed at start-up.
 */
export const FORMAT = 'pos-duplicate-guard/file';
export const FORMAT_VERSION = 1;

export const headerLine = (): string => JSON.stringify({ op: 'header', format: FORMAT, version: FORMAT_VERSION });
export const recordLine = (record: AttemptRecord): string => JSON.stringify(record);
export const deleteLine = (id: string): string => JSON.stringify({ op: 'delete', id });
export const metaLine = (key: string, value: string): string => JSON.stringify({ op: 'meta', key, value });


/** What a file holds once every line is replayed. */
export interface Replayed {
  /** The live records, each at the position of its id's first line. */
  records: AttemptRecord[];
  /**
   * The live ids (values: positions while replaying). Handed over as the
   * store's live set: at 100k attempts a second Set of the same ids costs
   * 40 ms of start-up.
   */
  ids: Map<string, number>;
  meta: Map<string, string>;
  /** Complete lines in the file, counting the ones that were skipped. */
  lines: number;
  /** Byte length of the complete lines: a torn tail starts here and is cut off. */
  completeBytes: number;
  /** Bytes after the last `\n`: a write a crash cut short. */
  tornBytes: number;
  /** Line numbers (1-based) and what was wrong with them. */
  problems: { line: number; problem: string }[];
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
  // Deleted ids leave a hole in `records`, closed once at the end.
  #holes = 0;

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
    if (this.#holes > 0) out.records = out.records.filter((record) => record !== undefined);
    this.#holes = 0;
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
    if (problem === DELETED) this.#holes++;
    else if (problem) this.#out.problems.push({ line: lineNo, problem });
  }
}

const DELETED = Symbol('deleted');

/** Applies one parsed line; returns what is wrong with it, if anything, or that it left a hole. */
function apply(value: unknown, out: Replayed): string | typeof DELETED | undefined {
  const { records, ids, meta } = out;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'not a JSON object';
  const line = value as Record<string, unknown>;
  const op = line.op;
  if (op === undefined) {
    const problem = recordProblem(line);
    if (problem) return problem;
    const record = makeRecord(line as unknown as AttemptRecord);
    const at = ids.get(record.id);
    if (at === undefined) {
      ids.set(record.id, records.length);
      records.push(record);
    } else records[at] = record;
    return undefined;
  }
  if (op === 'delete' && typeof line.id === 'string') {
    const at = ids.get(line.id);
    if (at === undefined) return undefined;
    ids.delete(line.id);
    (records as (AttemptRecord | undefined)[])[at] = undefined;
    return DELETED;
  }
  if (op === 'meta' && typeof line.key === 'string' && typeof line.value === 'string') {
    meta.set(line.key, line.value);
    return undefined;
  }
  if (op === 'header' && line.format === FORMAT) {
    if (typeof line.version === 'number' && line.version > FORMAT_VERSION) out.unsupportedVersion = line.version;
    return undefined;
  }
  return `not a record, delete, meta or header line (op ${JSON.stringify(op).slice(0, 40)})`;
}

/**
 * Minimal checks: enough that the guard's index can file the record (id,
 * status, fingerprint, and the times its expiry queues sort on). Anything
 * stricter would turn a harmless extra field from a newer version into data loss.
 */
