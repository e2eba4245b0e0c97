/**
 * `readTransactions`: a settlement file (CSV or JSON) to
 * `ProcessorTransaction`s, through a preset for its layout. Every cell that
 * cannot be read is a `GuardInputError` (`INVALID_TRANSACTION`) naming the
 * file, the line and the column, never a guess.
 */
import { TZDate } from '@date-fns/tz';
import { GuardConfigError, GuardInputError, describeValue, errorText, fail, invalidOption } from '../errors.js';
import { currencyExponent, toHalfWidth, toMinorUnits } from './amount.js';
import { csvRows, headerKey, type CsvRow } from './csv.js';
import {
  PRESETS,
  TRANSACTION_FORMATS,
  genericPreset,
  type Cells,
  type Preset,
  type ReadContext,
  type TransactionFormat,
} from './presets.js';
import { AT_RULE, epochOf, transactionSchema } from './transactions.js';
import type { ProcessorTransaction } from './types.js';

type Field = keyof ProcessorTransaction;
const FIELDS: readonly Field[] = [
  'id',
  'type',
  'status',
  'amount',
  'currency',
  'at',
  'reference',
  'authCode',
  'last4',
  'terminalId',
  'original',
];

export interface ReadTransactionsOptions {
  /** The export's layout. @default 'generic' */
  format?: TransactionFormat;
  /**
   * For `generic`: the file's column (CSV) or key (JSON) for each field, where
   * it does not use the field's own name, e.g. `{ id: 'Txn ID', at: 'Date' }`.
   */
  columns?: Partial<Record<Field, string>>;
  /** The currency of an export without a currency column (Alipay, UnionPay). @default 'CNY' */
  currency?: string;
  /** The zone of date-times written without an offset: an IANA name or `+08:00`. @default the preset's (UTC; Asia/Shanghai for wechat, alipay, unionpay) */
  timeZone?: string;
  /** What errors call the file when `source` is text. @default 'transactions' */
  name?: string;
  /** Called every 10,000 rows with the rows read so far (a progress line for a long file). */
  onProgress?: (rows: number) => void;
}

/**
 * Reads a settlement file: `source` is a path, or the file's text (anything
 * holding a line break). CSV amounts are major units (`12.50`, `1,234.00`)
 * and become minor units by the currency's exponent, exactly; a JSON file is
 * an array of `ProcessorTransaction` in minor units.
 *
 * @example
 * const transactions = await readTransactions('settlement.csv', { format: 'wechat' });
 */
export async function readTransactions(source: string, options: ReadTransactionsOptions = {}): Promise<ProcessorTransaction[]> {
  if (typeof source !== 'string' || source === '') invalidOption('source', 'a path or the text of a settlement file', source);
  if (/[\r\n]/.test(source)) return parseTransactions(source, options);
  let text: string;
  try {
    // Imported here: the entry stays loadable where there is no file system (text in, transactions out).
    const { readFile } = await import('node:fs/promises');
    text = await readFile(source, 'utf8');
  } catch (error) {
    throw new GuardInputError('INVALID_TRANSACTION', `${source}: cannot be read: ${errorText(error)}`, { field: 'source', cause: error });
  }
  return parseTransactions(text, { ...options, name: options.name ?? source });
}

/** `readTransactions` for text already in hand: synchronous, no I/O. */
export function parseTransactions(text: string, options: ReadTransactionsOptions = {}): ProcessorTransaction[] {
  const o = checkReadOptions(options);
  const body = text.replace(/^\uFEFF/, '');
  if (/^\s*[[{]/.test(body)) {
    if (o.format !== 'generic') invalidOption('format', `'generic' for a JSON file (it holds ProcessorTransaction objects)`, o.format);
    return fromJson(body, o);
  }
  let rows: CsvRow[];
  const presets = o.format === 'generic' ? [genericPreset(o.names)] : PRESETS[o.format];
  try {
    rows = csvRows(body, { comments: presets.some((p) => p.comments === true), ...(o.onProgress ? { onProgress: o.onProgress } : {}) });
  } catch (error) {
    const line = (error as { lines?: unknown }).lines;
    throw new GuardInputError(
      'INVALID_TRANSACTION',
      `${o.name}:${typeof line === 'number' ? line : '?'}: not readable as CSV: ${errorText(error)}`,
      {
        field: 'source',
        cause: error,
      },
    );
  }
  return fromRows(rows, presets, o);
}

interface Resolved {
  format: TransactionFormat;
  names: Record<Field, string>;
  currency: string | undefined;
  timeZone: string | undefined;
  name: string;
  onProgress: ((rows: number) => void) | undefined;
}

function checkReadOptions(options: ReadTransactionsOptions): Resolved {
  if (typeof options !== 'object' || options === null) invalidOption('options', 'an object', options);
  const { format = 'generic', columns, currency, timeZone, name = 'transactions', onProgress } = options;
  for (const key of Object.keys(options)) {
    if (!['format', 'columns', 'currency', 'timeZone', 'name', 'onProgress'].includes(key)) {
      fail(
        GuardConfigError,
        'INVALID_OPTION',
        key,
        'is not an option of readTransactions: format, columns, currency, timeZone, name or onProgress',
      );
    }
  }
  if (!TRANSACTION_FORMATS.includes(format)) invalidOption('format', `one of ${TRANSACTION_FORMATS.join(', ')}`, format);
  if (columns !== undefined && format !== 'generic') {
    invalidOption('columns', `given only with format 'generic' (the ${format} preset knows its columns)`, columns);
  }
  if (columns !== undefined && (typeof columns !== 'object' || columns === null)) {
    invalidOption('columns', 'an object such as { id: "Txn ID" }', columns);
  }
  const names = Object.fromEntries(FIELDS.map((f) => [f, f])) as Record<Field, string>;
  for (const [field, column] of Object.entries(columns ?? {})) {
    if (!FIELDS.includes(field as Field)) {
      fail(GuardConfigError, 'INVALID_OPTION', `columns.${field}`, `is not a ProcessorTransaction field: ${FIELDS.join(', ')}`);
    }
    if (typeof column !== 'string' || column === '') invalidOption(`columns.${field}`, 'a column name', column);
    names[field as Field] = column;
  }
  if (currency !== undefined && (typeof currency !== 'string' || currencyExponent(currency) === undefined)) {
    invalidOption('currency', "an ISO 4217 code, e.g. 'CNY'", currency);
  }
  if (timeZone !== undefined && (typeof timeZone !== 'string' || Number.isNaN(wallToEpoch(2026, 1, 1, 0, 0, 0, 0, timeZone)))) {
    invalidOption('timeZone', "an IANA time zone ('Asia/Shanghai') or an offset ('+08:00')", timeZone);
  }
  if (typeof name !== 'string') invalidOption('name', 'a string', name);
  if (onProgress !== undefined && typeof onProgress !== 'function') invalidOption('onProgress', 'a function', onProgress);
  return { format, names, currency, timeZone, name, onProgress };
}

function fromRows(rows: readonly CsvRow[], presets: readonly Preset[], o: Resolved): ProcessorTransaction[] {
  // The header is the first row holding every column a preset needs (titles and notes may come before it).
  let start = -1;
  let preset: Preset | undefined;
  for (let i = 0; i < rows.length && !preset; i++) {
    const keys = new Set(rows[i]!.cells.map(headerKey));
    preset = presets.find((p) => p.header.every((column) => keys.has(headerKey(column))));
    start = i;
  }
  if (!preset) {
    const wanted = presets.map((p) => p.header.join(', ')).join(' or ');
    throw new GuardInputError('INVALID_TRANSACTION', `${o.name}: no header row with the ${o.format} columns (${wanted})`, {
      field: 'source',
    });
  }
  const columns = new Map<string, number>();
  rows[start]!.cells.forEach((cell, i) => columns.has(headerKey(cell)) || columns.set(headerKey(cell), i));
  const out: ProcessorTransaction[] = [];
  const zone = o.timeZone ?? preset.zone;
  // How often this download has listed each id made from a row's content (a refund without an id of its own): the
  // n-th listed alike is a refund of its own, `#n`. Counted per download, so the same file read again, or pasted
  // under itself header and all, gives the same ids, which `reconcile` counts once, as it does a processor's id.
  let made = new Map<string, number>();
  const context: ReadContext = {
    currency: o.currency,
    occurrence(id) {
      const n = (made.get(id) ?? 0) + 1;
      made.set(id, n);
      return n === 1 ? id : `${id}#${n}`;
    },
  };
  // Compared as written, no headerKey: that caches the first 1,000 cells it sees, and these are mostly ids.
  const header = rows[start]!.cells;
  const headerAt = preset.header.map((column) => columns.get(headerKey(column))!);
  for (let r = start + 1; r < rows.length; r++) {
    const row = rows[r]!;
    if (preset.end?.(row.cells[0] ?? '')) break;
    if (row.cells.every((cell) => cell === '')) continue;
    // The header again: a second download pasted under the first starts here, and its rows are counted anew.
    if (headerAt.every((i) => row.cells[i] === header[i])) made = new Map();
    const cells = cellsOf(row, columns, o.name, zone);
    for (const transaction of preset.rows(cells, context)) out.push(checked(transaction, row.line, o.name));
  }
  return out;
}

function cellsOf(row: CsvRow, columns: ReadonlyMap<string, number>, file: string, zone: string): Cells {
  const { line } = row;
  const failAt = (column: string, rule: string): never => {
    throw new GuardInputError('INVALID_TRANSACTION', `${file}:${line}: column "${column}" ${rule}`, { field: column });
  };
  const text = (column: string): string | undefined => {
    const at = columns.get(headerKey(column));
    const value = at === undefined ? undefined : row.cells[at];
    return value === undefined || value === '' ? undefined : value;
  };
  const need = (column: string): string => text(column) ?? failAt(column, columns.has(headerKey(column)) ? 'is empty' : 'is missing');
  return {
    line,
    has: (column) => columns.has(headerKey(column)),
    text,
    need,
    fail: failAt,
    amount(column, currency) {
      const minor = toMinorUnits(need(column), currency);
      return typeof minor === 'number' ? minor : failAt(column, minor);
    },
    time(column, cellZone) {
      const value = toHalfWidth(need(column));
      const ms = timeOf(value, cellZone ?? zone);
      return Number.isNaN(ms)
        ? failAt(column, `${describeValue(value)} is not a date-time (like 2026-01-05 12:30:01${cellZone ? ` in ${cellZone}` : ''})`)
        : ms;
    },
    last4(column) {
      const value = text(column);
      if (value === undefined) return undefined;
      // A masked card number (6214 83** **** 1234) or the last 4 alone: only its last 4 digits are kept.
      const digits = /(\d{4})$/.exec(toHalfWidth(value).replace(/[\s-]/g, ''));
      return digits ? digits[1] : failAt(column, 'does not end in the last 4 digits of a card');
    },
    currency(column) {
      const value = toHalfWidth(need(column)).toUpperCase();
      const code = NUMERIC_CURRENCIES[value] ?? value;
      return currencyExponent(code) === undefined ? failAt(column, `${describeValue(value)} is not an ISO 4217 currency`) : code;
    },
  };
}

// ISO 4217 numeric codes Chinese acquirers write (交易币种 156).
const NUMERIC_CURRENCIES: Record<string, string> = {
  '156': 'CNY',
  '344': 'HKD',
  '446': 'MOP',
  '901': 'TWD',
  '840': 'USD',
  '978': 'EUR',
  '392': 'JPY',
  '826': 'GBP',
};

const WALL = /^(\d{4})[-/](\d{1,2})[-/](\d{1,2})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2})(?:\.(\d{1,3}))?)?)?$/;

/** Epoch ms of a date-time as exports write them, `NaN` when it is none. */
export function timeOf(value: string, zone: string, nowMs: number = Date.now()): number {
  if (/^\d{13}$/.test(value)) return Number(value);
  const iso = epochOf(value);
  if (iso !== undefined) return iso;
  let m = WALL.exec(value);
  if (!m && /^\d{14}$/.test(value)) m = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})$/.exec(value);
  if (m) {
    const [y, mo, d, h = '0', mi = '0', sec = '0', frac = '0'] = m.slice(1);
    return wallToEpoch(Number(y), Number(mo), Number(d), Number(h), Number(mi), Number(sec), Number(frac.padEnd(3, '0')), zone);
  }
  const short = /^(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})$/.exec(value);
  if (short) {
    // MMDDhhmmss (UnionPay's 交易传输时间): the latest year that does not put it more than a day ahead of now.
    const [mo, d, h, mi, s] = short.slice(1).map(Number) as [number, number, number, number, number];
    const year = new Date(nowMs).getUTCFullYear();
    const thisYear = wallToEpoch(year, mo, d, h, mi, s, 0, zone);
    return thisYear > nowMs + 86_400_000 ? wallToEpoch(year - 1, mo, d, h, mi, s, 0, zone) : thisYear;
  }
  return NaN;
}

/** A wall-clock time in `zone` (IANA name, `UTC`, or `±HH:MM`) to epoch ms; `NaN` for an impossible date or an unknown zone. */
function wallToEpoch(y: number, mo: number, d: number, h: number, mi: number, s: number, ms: number, zone: string): number {
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 59) return NaN;
  const utc = Date.UTC(y, mo - 1, d, h, mi, s, ms);
  // Date.UTC rolls 31 February over into March: such a date is not one.
  if (new Date(utc).getUTCDate() !== d) return NaN;
  if (/^(?:UTC|GMT|Z)$/i.test(zone)) return utc;
  const offset = /^([+-])(\d{2}):?(\d{2})$/.exec(zone);
  if (offset) return utc - (offset[1] === '-' ? -1 : 1) * (Number(offset[2]) * 60 + Number(offset[3])) * 60_000;
  return new TZDate(y, mo - 1, d, h, mi, s, ms, zone).getTime();
}

function checked(transaction: ProcessorTransaction, line: number | string, file: string): ProcessorTransaction {
  const parsed = transactionSchema.safeParse(transaction);
  if (parsed.success) {
    // Every `at` read is epoch ms, whatever the file wrote: one form for callers to compare.
    const at = epochOf(parsed.data.at);
    if (at !== undefined) return { ...parsed.data, at };
  }
  const issue = parsed.success ? undefined : parsed.error.issues[0]!;
  const field = issue ? String(issue.path[0] ?? 'row') : 'at';
  const rule = issue ? issue.message : AT_RULE;
  throw new GuardInputError('INVALID_TRANSACTION', `${file}:${line}: \`${field}\` ${rule}`, { field });
}

function fromJson(text: string, o: Resolved): ProcessorTransaction[] {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    throw new GuardInputError('INVALID_TRANSACTION', `${o.name}: not valid JSON: ${errorText(error)}`, { field: 'source', cause: error });
  }
  if (!Array.isArray(data)) {
    throw new GuardInputError(
      'INVALID_TRANSACTION',
      `${o.name}: must be a JSON array of ProcessorTransaction, got ${describeValue(data)}`,
      {
        field: 'source',
      },
    );
  }
  return data.map((entry: unknown, i) => {
    if (i > 0 && i % 10_000 === 0) o.onProgress?.(i);
    const source = (typeof entry === 'object' && entry !== null ? entry : {}) as Record<string, unknown>;
    const renamed: Record<string, unknown> = {};
    for (const field of FIELDS) if (source[o.names[field]] !== undefined) renamed[field] = source[o.names[field]];
    if (typeof entry !== 'object' || entry === null) renamed.id = entry;
    return checked(renamed as unknown as ProcessorTransaction, `[${i}]`, o.name);
  });
}
