import type { AttemptRecord } from '../../types.js';
import { recordProblem } from '../../record.js';

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
  records: Map<string, AttemptRecord>;
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
 * Records are handed over as parsed, not frozen: the guard rebuilds each one
 * into its own immutable shape, and freezing 100k objects it is about to
 * drop would cost a sixth of the parse.
 */
export class Replay {
  readonly #out: Replayed = { records: new Map(), meta: new Map(), lines: 0, completeBytes: 0, tornBytes: 0, problems: [] };

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
    this.#out.tornBytes = tornBytes;
    return this.#out;
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
  const { records, meta } = out;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'not a JSON object';
  const line = value as Record<string, unknown>;
  const op = line.op;
  if (op === undefined) {
    const problem = recordProblem(line);
    if (problem) return problem;
    records.set(line.id as string, line as unknown as AttemptRecord);
    return undefined;
  }
  if (op === 'delete' && typeof line.id === 'string') {
    records.delete(line.id);
    return undefined;
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
