import { makeRecord, recordProblem } from '../../record.js';
import type { AttemptRecord } from '../../types.js';
import type { Loc } from './locations.js';

/**
 * The file store's lines, one JSON document each: docs/file-store.md,
 * "Files", describes format 3 (a header whose snapshot sizes the meta,
 * index and cold lines after it, then the log) and the formats 1 and 2 that
 * older releases wrote, which are read and rewritten.
 */
const FORMAT = 'pos-duplicate-guard/file';
export const FORMAT_VERSION = 3;
// The fields of a version 2 array line, in order after its leading 1; a last object holds the rare ones.
const V2_FIELDS = `id fingerprint status kind amount currency merchantId createdAt updatedAt pendingSince refunded approvedAt
  authCode bin last4 orderId terminalId`.split(/\s+/);
const SNAPSHOT_FIELDS = ['meta', 'index', 'cold', 'coldLines'] as const;
/** Byte lengths of the parts after the header line (with their newlines), and how many cold lines. */
export type Snapshot = Record<(typeof SNAPSHOT_FIELDS)[number], number>;

export type Line =
  | { op: 'record'; record: AttemptRecord }
  | { op: 'delete'; id: string }
  | { op: 'meta'; key: string; value: string }
  | { op: 'header'; version: number; snapshot?: Snapshot }
  | { op: 'index' };

export const headerLine = (snapshot?: Snapshot): string =>
  JSON.stringify({ op: 'header', format: FORMAT, version: FORMAT_VERSION, ...(snapshot && { snapshot }) });
export const recordLine = (record: AttemptRecord): string => JSON.stringify(record);
export const deleteLine = (id: string): string => JSON.stringify({ op: 'delete', id });
export const metaLine = (key: string, value: string): string => JSON.stringify({ op: 'meta', key, value });
/** What a line says, or what is wrong with it. */
export function parseLine(text: string): Line | string {
  let line: Record<string, unknown>;
  try {
    line = JSON.parse(text) as Record<string, unknown>;
  } catch {
    return 'not valid JSON';
  }
  if (Array.isArray(line)) return line[0] === 1 ? recordOf(fromV2(line)) : 'an array line that is not a record';
  if (typeof line !== 'object' || line === null) return 'not a JSON object or array';
  const { op, id, key, value } = line;
  if (op === undefined) return recordOf(line);
  if (op === 'delete' && typeof id === 'string') return { op, id };
  if (op === 'meta' && typeof key === 'string' && typeof value === 'string') return { op, key, value };
  if (op === 'index') return { op };
  if (op === 'header' && line.format === FORMAT) {
    const snapshot = line.snapshot as Snapshot | undefined;
    const valid = snapshot && SNAPSHOT_FIELDS.every((k) => Number.isSafeInteger(snapshot[k]) && snapshot[k] >= 0);
    return { op, version: typeof line.version === 'number' ? line.version : 1, ...(valid && { snapshot }) };
  }
  return `not a record, delete, meta or header line (op ${JSON.stringify(op).slice(0, 40)})`;
}

/** The record a record line holds, checked and built like any stored record. */
export function decodeRecord(text: string): AttemptRecord | string {
  const line = parseLine(text);
  return typeof line === 'string' ? line : line.op === 'record' ? line.record : `a ${line.op} line where a record was expected`;
}

const recordOf = (value: Record<string, unknown>): Line | string =>
  recordProblem(value) ?? { op: 'record', record: makeRecord(value as unknown as AttemptRecord) };

function fromV2(a: unknown[]): Record<string, unknown> {
  const fields: Record<string, unknown> = { v: 1 };
  for (const [i, field] of V2_FIELDS.entries()) if (a[i + 1] !== null && a[i + 1] !== undefined) fields[field] = a[i + 1];
  const rare = a[V2_FIELDS.length + 1];
  if (typeof rare === 'object' && rare !== null && !Array.isArray(rare)) Object.assign(fields, rare);
  fields.idempotencyKey ??= fields.id;
  return fields;
}

/** The index line of cold records whose lines are `lens[k]` bytes long. */
export function indexLine(cold: readonly Loc[], lens: readonly number[]): string {
  const orders = cold.flatMap(({ order }, k) => (order === undefined ? [] : [k, order]));
  const [ids, upd] = [cold.map((loc) => loc.id), cold.map((loc, k) => loc.upd - (cold[k - 1]?.upd ?? 0))];
  return JSON.stringify({ op: 'index', ids, lens, upd, orders });
}

/** Where the cold lines an index line lists are, the first at `at`; undefined unless they are `snapshot.coldLines` lines of `snapshot.cold` bytes. */
export function readIndex(text: string, at: number, snapshot: Snapshot): Loc[] | undefined {
  try {
    const { ids, lens, upd, orders } = JSON.parse(text) as Record<string, unknown[]>;
    const lines = snapshot.coldLines;
    if ([ids, lens, upd].some((list) => list?.length !== lines) || !Array.isArray(orders)) return undefined;
    const order = new Array<string | undefined>(lines);
    for (let i = 0; i + 1 < orders.length; i += 2) order[orders[i] as number] = String(orders[i + 1]);
    const cold = new Array<Loc>(lines);
    const end = at + snapshot.cold;
    for (let [k, updatedAt] = [0, 0]; k < lines; k++) {
      const [id, len] = [(ids as unknown[])[k], (lens as unknown[])[k] as number];
      updatedAt += (upd as number[])[k] as number;
      if (typeof id !== 'string' || !Number.isSafeInteger(len) || !Number.isFinite(updatedAt)) return undefined;
      cold[k] = { id, at, len, upd: updatedAt, flags: 0, order: order[k] };
      at += len + 1;
    }
    return at === end ? cold : undefined;
  } catch {
    return undefined;
  }
}
