import { makeRecord, recordProblem } from '../../record.js';
import type { AttemptRecord } from '../../types.js';

/**
 * The file store's lines (docs/file-store.md, "Files"), one JSON document
 * each. Version 3: a header, whose `snapshot` (when a compaction wrote the
 * file) gives the byte lengths of what follows it: meta lines, the index
 * line (the cold records: ids, line lengths, update times as deltas, order
 * keys of the live ones), hot record lines (parsed at start-up) and cold
 * record lines (oldest first, read by offset); then the log of record,
 * delete and meta lines since. A record line is the AttemptRecord object;
 * the last line for an id wins. Versions 1 (records as objects, as now)
 * and 2 (records as arrays: `[1, ...V2_FIELDS, {rare fields}?]`, null for
 * an absent field, trailing nulls left off, `idempotencyKey` among the rare
 * fields only when it differs from the id) are read, and rewritten.
 */
export const FORMAT = 'pos-duplicate-guard/file';
export const FORMAT_VERSION = 3;

const V2_FIELDS = ['id', 'fingerprint', 'status', 'kind', 'amount', 'currency', 'merchantId', 'createdAt', 'updatedAt', 'pendingSince', 'refunded', 'approvedAt', 'authCode', 'bin', 'last4', 'orderId', 'terminalId'] as const;

export const headerLine = (snapshot?: Snapshot): string => JSON.stringify({ op: 'header', format: FORMAT, version: FORMAT_VERSION, ...(snapshot ? { snapshot } : {}) });
export const recordLine = (record: AttemptRecord): string => JSON.stringify(record);
export const deleteLine = (id: string): string => JSON.stringify({ op: 'delete', id });
export const metaLine = (key: string, value: string): string => JSON.stringify({ op: 'meta', key, value });

/** Byte lengths of the parts after the header (with their newlines), and how many cold lines. */
export interface Snapshot {
  meta: number;
  index: number;
  hot: number;
  cold: number;
  coldLines: number;
}

export type Line =
  | { op: 'record'; record: AttemptRecord }
  | { op: 'delete'; id: string }
  | { op: 'meta'; key: string; value: string }
  | { op: 'header'; version: number; snapshot?: Snapshot }
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
  if (op === 'header' && line.format === FORMAT) {
    const snapshot = line.snapshot as Record<string, unknown> | undefined;
    const valid = snapshot && ['meta', 'index', 'hot', 'cold', 'coldLines'].every((k) => Number.isSafeInteger(snapshot[k]) && (snapshot[k] as number) >= 0);
    return { op, version: typeof line.version === 'number' ? line.version : 1, ...(valid ? { snapshot: snapshot as unknown as Snapshot } : {}) };
  }
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

/** A cold record as the index lists it: its line's length, its last update, its order key while live. */
export interface ColdEntry {
  id: string;
  len: number;
  upd: number;
  order: string | undefined;
}

export function indexLine(cold: readonly ColdEntry[]): string {
  const orders = cold.flatMap(({ order }, k) => (order === undefined ? [] : [k, order]));
  return JSON.stringify({ op: 'index', ids: cold.map((e) => e.id), lens: cold.map((e) => e.len), upd: cold.map((e, k) => e.upd - (cold[k - 1]?.upd ?? 0)), orders });
}

/** The cold records of an index line; undefined unless it describes `lines` lines, `bytes` bytes with their newlines. */
export function readIndex(text: string, bytes: number, lines: number): ColdEntry[] | undefined {
  let index: Record<string, unknown>;
  try {
    index = JSON.parse(text) as Record<string, unknown>;
  } catch {
    return undefined;
  }
  const { ids, lens, upd, orders } = index as Record<string, unknown[]>;
  if (![ids, lens, upd].every((list) => Array.isArray(list) && list.length === lines) || !Array.isArray(orders)) return undefined;
  const cold: ColdEntry[] = new Array(lines);
  let [total, updatedAt] = [0, 0];
  for (let k = 0; k < lines; k++) {
    const [id, len, delta] = [(ids as unknown[])[k], (lens as unknown[])[k], (upd as unknown[])[k]];
    if (typeof id !== 'string' || !Number.isSafeInteger(len) || typeof delta !== 'number') return undefined;
    cold[k] = { id, len: len as number, upd: (updatedAt += delta), order: undefined };
    total += (len as number) + 1;
  }
  for (let i = 0; i + 1 < orders.length; i += 2) {
    const entry = cold[orders[i] as number];
    if (entry && typeof orders[i + 1] === 'string') entry.order = orders[i + 1] as string;
  }
  return total === bytes ? cold : undefined;
}
