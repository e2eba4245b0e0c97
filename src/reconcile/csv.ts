/**
 * CSV rows through csv-parse (quotes, BOMs, ragged totals lines), with the
 * habits of payment exports undone on every cell: WeChat Pay's leading
 * backquote, Alipay's trailing tab, Excel's `="…"` guard against
 * scientific notation, and full-width spaces.
 */
import { parse, type Options } from 'csv-parse/sync';
import { toHalfWidth } from './amount.js';

export interface CsvRow {
  cells: string[];
  /** 1-based line of the file where the row ends. */
  line: number;
}

export interface CsvOptions {
  /** Lines starting with `#` are comments (Alipay's header and footer). */
  comments?: boolean;
  /** Called every `PROGRESS_EVERY` rows, with the rows read so far. */
  onProgress?: (rows: number) => void;
}

const PROGRESS_EVERY = 10_000;

/** Rows of `text`, each cell cleaned (see the module's comment). Throws csv-parse's error on a broken file (an unclosed quote). */
export function csvRows(text: string, options: CsvOptions = {}): CsvRow[] {
  let count = 0;
  const settings: Options<CsvRow, string[]> = {
    bom: true,
    relax_column_count: true,
    relax_quotes: true,
    skip_empty_lines: true,
    ...(options.comments ? { comment: '#', comment_no_infix: true } : {}),
    on_record: (record: string[], context) => {
      count++;
      if (options.onProgress && count % PROGRESS_EVERY === 0) options.onProgress(count);
      return { cells: record.map(clean), line: context.lines };
    },
  };
  // csv-parse's typings tie a record transform to `columns`; without columns a row is the array on_record was given.
  return parse(text, settings as unknown as Options) as unknown as CsvRow[];
}

/** A cell as its exporter meant it. */
export function clean(cell: string): string {
  let value = cell
    .replace(/^\uFEFF/, '')
    .replace(/\u3000/g, ' ')
    .trim();
  if (value.startsWith('`')) value = value.slice(1).trim();
  const excel = /^="(.*)"$/.exec(value);
  return excel ? excel[1]!.trim() : value;
}

/** A header cell, compared with the names a preset knows: full-width brackets (`（元）`) and case do not matter. */
export function headerKey(cell: string): string {
  // Asked for the same few column names on every row of a long file: computed once each.
  let key = headerKeys.get(cell);
  if (key === undefined) {
    key = toHalfWidth(clean(cell)).replace(/\s+/g, ' ').toLowerCase();
    if (headerKeys.size < 1_000) headerKeys.set(cell, key);
  }
  return key;
}

const headerKeys = new Map<string, string>();
