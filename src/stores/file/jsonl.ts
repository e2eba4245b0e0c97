import { makeRecord, recordProblem } from '../../record.js';
import type { AttemptRecord } from '../../types.js';

/**
 * The file store's line format: one JSON document per line, `\n` after each.
 *
 * Version 3 (this release) is a snapshot followed by a log:
 *
 *     {"op":"header","format":"pos-duplicate-guard/file","version":3}
 *     {"op":"meta","key":"…","value":"…"}          one per key
 *     {"op":"snapshot","index":I,"hot":H,"cold":C,"hotLines":h,"coldLines":c}
 *     {"op":"index","ids":[…],"lens":[…],"upd":[…],"orders":[k,"merchant\u0000order",…]}
 *     hot record lines                              H bytes: parsed at start-up
 *     cold record lines                             C bytes: read by offset when asked for
 *     the log: record, delete and meta lines appended since the snapshot
 *
 * A record line is the `AttemptRecord` object; `{"op":"delete","id":…}`
 * removes one; the last line for an id wins. A compaction writes the part
 * from the header to the cold lines; a file no compaction has written yet
 * is a header and a log. The index line (`I` bytes with its newline) lists
 * the cold records in file order: cold record k starts `H + Σ(lens[j] + 1)`
 * (j < k) bytes after the index line, is `lens[k]` bytes long, and was last
 * updated at `upd[0] + … + upd[k]` (deltas: cold lines are written oldest
 * first); `orders` pairs k with its order key for the live ones on an order.
 *
 * Older releases wrote every line to be parsed at start-up:
 * - version 1 (a version 1 header, or none): record lines as in version 3;
 * - version 2: a record line is an array, `[1, …V2_FIELDS by position (null
 *   when absent, trailing nulls left off), {rare fields}?]`, the rare object
 *   holding `idempotencyKey` only when it differs from the id.
 * Both are read; the store rewrites them in version 3 on first open, after
 * appending a version 3 header, so an older release refuses the file
 * (`UNSUPPORTED_FORMAT`) instead of skipping lines it cannot read.
 */
export const FORMAT = 'pos-duplicate-guard/file';
export const FORMAT_VERSION = 3;

const V2_FIELDS = ['id', 'fingerprint', 'status', 'kind', 'amount', 'currency', 'merchantId', 'createdAt', 'updatedAt', 'pendingSince', 'refunded', 'approvedAt', 'authCode', 'bin', 'last4', 'orderId', 'terminalId'] as const;

export const headerLine = (): string => JSON.stringify({ op: 'header', format: FORMAT, version: FORMAT_VERSION });
export const recordLine = (record: AttemptRecord): string => JSON.stringify(record);
export const deleteLine = (id: string): string => JSON.stringify({ op: 'delete', id });
export const metaLine = (key: string, value: string): string => JSON.stringify({ op: 'meta', key, value });

export interface Snapshot {
  op: 'snapshot';
  index: number;
  hot: number;
  cold: number;
  hotLines: number;
  coldLines: number;
}

export type Line =
  | { op: 'record'; record: AttemptRecord }
  | { op: 'delete'; id: string }
  | { op: 'meta'; key: string; value: string }
  | { op: 'header'; version: number }
  | Snapshot
  | { op: 'index' };

/** What a line says, or what is wrong with it. */
export function parseLine(text: string): Line | string {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return 'not valid JSON';
  }
  if (Array.isArray(value)) return value[0] === 1 ? recordOf(fromV2(value)) : 'an array line that is not a record';
  if (typeof value !== 'object' || value === null) return 'not a JSON object or array';
  const line = value as Record<string, unknown>;
  const { op } = line;
  if (op === undefined) return recordOf(line);
  if (op === 'delete' && typeof line.id === 'string') return { op, id: line.id };
  if (op === 'meta' && typeof line.key === 'string' && typeof line.value === 'string') return { op, key: line.key, value: line.value };
  if (op === 'header' && line.format === FORMAT) return { op, version: typeof line.version === 'number' ? line.version : 1 };
  if (op === 'snapshot' && ['index', 'hot', 'cold', 'hotLines', 'coldLines'].every((k) => Number.isSafeInteger(line[k]) && (line[k] as number) >= 0)) return line as unknown as Snapshot;
  if (op === 'index') return { op };
  return `not a record, delete, meta or header line (op ${JSON.stringify(op).slice(0, 40)})`;
}

/** The record a record line holds, checked and built like any stored record. */
export function decodeRecord(text: string): AttemptRecord | string {
  const line = parseLine(text);
  return typeof line === 'string' ? line : line.op === 'record' ? line.record : `a ${line.op} line where a record was expected`;
}

function recordOf(value: Record<string, unknown>): Line | string {
  return recordProblem(value) ?? { op: 'record', record: makeRecord(value as unknown as AttemptRecord) };
}

function fromV2(a: unknown[]): Record<string, unknown> {
  const fields: Record<string, unknown> = { v: 1 };
  V2_FIELDS.forEach((field, i) => {
    if (a[i + 1] !== null && a[i + 1] !== undefined) fields[field] = a[i + 1];
  });
  const rare = a[V2_FIELDS.length + 1];
  if (typeof rare === 'object' && rare !== null && !Array.isArray(rare)) Object.assign(fields, rare);
  fields.idempotencyKey ??= fields.id;
  return fields;
}

/** A cold record as the index lists it. */
export interface ColdEntry {
  id: string;
  len: number;
  upd: number;
  order: string | undefined;
}

export function indexLine(cold: readonly ColdEntry[]): string {
  const orders: (number | string)[] = [];
  let previous = 0;
  const upd = cold.map((entry, k) => {
    if (entry.order !== undefined) orders.push(k, entry.order);
    const delta = entry.upd - previous;
    previous = entry.upd;
    return delta;
  });
  return JSON.stringify({ op: 'index', ids: cold.map((e) => e.id), lens: cold.map((e) => e.len), upd, orders });
}

/** The cold records of an index line, or undefined when it does not describe `lines` lines of `bytes` bytes. */
export function readIndex(text: string, bytes: number, lines: number): ColdEntry[] | undefined {
  let index: { ids?: unknown; lens?: unknown; upd?: unknown; orders?: unknown };
  try {
    index = JSON.parse(text) as typeof index;
  } catch {
    return undefined;
  }
  const { ids, lens, upd, orders } = index;
  if (!Array.isArray(ids) || !Array.isArray(lens) || !Array.isArray(upd) || !Array.isArray(orders)) return undefined;
  if (ids.length !== lines || lens.length !== lines || upd.length !== lines) return undefined;
  const cold: ColdEntry[] = new Array(lines);
  let at = 0;
  let updatedAt = 0;
  for (let k = 0; k < lines; k++) {
    const [id, len, delta] = [ids[k], lens[k], upd[k]];
    if (typeof id !== 'string' || !Number.isSafeInteger(len) || typeof delta !== 'number') return undefined;
    updatedAt += delta;
    cold[k] = { id, len, upd: updatedAt, order: undefined };
    at += len + 1;
  }
  for (let i = 0; i + 1 < orders.length; i += 2) {
    const [k, key] = [orders[i], orders[i + 1]];
    if (typeof key === 'string' && cold[k as number]) (cold[k as number] as ColdEntry).order = key;
  }
  return at === bytes ? cold : undefined;
}
