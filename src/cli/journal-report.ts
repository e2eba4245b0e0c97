/**
 * `pos-duplicate-guard journal report`: the daily summary of a file store's
 * audit journal (SPEC §12), as a table, JSON, CSV or one HTML page. It reads
 * `<store>.journal*` as files, never opening the store, so it runs beside a
 * live till without its lock or its secret.
 */
import { existsSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { rename, stat, unlink, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { GuardStorageError, isGuardError } from '../errors.js';
import { printable } from './printable.js';
import { currencyExponent } from '../reconcile/amount.js';
import { formatCsvReport } from '../report/csv.js';
import { formatHtmlReport } from '../report/html.js';
import { formatJsonReport } from '../report/json.js';
import { checkTimeZone, localTimeZone } from '../report/period.js';
import { journalFiles, readJournalFiles, type JournalReadProgress } from '../stores/file/journal-read.js';
import { reportable, summaryBuilder, type JournalSummary } from '../report/summary.js';
import { formatTextReport } from '../report/text.js';
import type { Locale } from '../types.js';

/** How many skipped lines are named one by one before the rest are only counted. */
const SKIPS_NAMED = 10;

/** Exit codes of `journal report`. */
export const REPORT_EXIT = { done: 0, unusable: 2 } as const;

export interface ReportIo {
  stdout(text: string): void;
  stderr(text: string): void;
  /** Whether stderr is a terminal: progress is shown only there. @default process.stderr.isTTY */
  stderrIsTTY?: boolean;
}

export const JOURNAL_REPORT_HELP = `Usage: pos-duplicate-guard journal report --store <path> [options]
       pos-duplicate-guard journal report --journal <file> [options]

Summarises a file store's audit journal (<path>.journal.1, then <path>.journal):
decisions by verdict and reason, overrides by operator and supervisor with
their reasons, unknown outcomes with how and how fast each was resolved,
refunds, clock anomalies, storage errors and cross-terminal conflicts.
It reads the journal files only: the store is not opened, the till's lock is
not taken, no secret is needed.

Options:
  --store <path>     The path the till's fileStore() was given.
  --journal <file>   Instead of --store: one journal file of JSON lines, e.g.
                     one a browser till exported (indexedDbStore().journal()).
  --from YYYY-MM-DD  First day of the report, inclusive (default: the journal's start).
  --to YYYY-MM-DD    Last day of the report, inclusive (default: the journal's end).
  --tz <zone>        The store's IANA time zone for day and hour boundaries,
                     e.g. Asia/Shanghai (default: this machine's, ${localTimeZone()}).
  --locale <en|zh-CN>  Language of the table and the HTML page (default: en).
  --currency <code>  The till's ISO 4217 currency, to show amounts as money
                     (journal entries carry minor units, not the currency).
  --json             Print the report as one JSON document.
  --csv              Print the report as one CSV table (a "section" column).
  --html <file>      Write the report as one self-contained HTML page, with a
                     chart of prompts and blocks per hour.
  -h, --help         Show this help.

Progress is shown on stderr when stderr is a terminal.

Exit codes:
  0  the report was printed or written
  2  bad arguments, or the journal could not be read (no journal at the path,
     a line that is not a journal entry: file and line are named)

Examples:
  pos-duplicate-guard journal report --store /var/lib/till/guard.jsonl --from 2026-03-01 --to 2026-03-01 --tz Asia/Shanghai
  pos-duplicate-guard journal report --store guard.jsonl --locale zh-CN --currency CNY
  pos-duplicate-guard journal report --store guard.jsonl --html report.html`;

interface ReportArgs {
  source: { store: string } | { journal: string };
  from: string | undefined;
  to: string | undefined;
  tz: string;
  locale: Locale;
  currency: string | undefined;
  output: { kind: 'text' } | { kind: 'json' } | { kind: 'csv' } | { kind: 'html'; file: string };
}

class UsageError extends Error {}

function parse(args: readonly string[]): ReportArgs | 'help' {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...args],
      allowPositionals: true,
      strict: true,
      options: {
        store: { type: 'string' },
        journal: { type: 'string' },
        from: { type: 'string' },
        to: { type: 'string' },
        tz: { type: 'string' },
        locale: { type: 'string' },
        currency: { type: 'string' },
        json: { type: 'boolean', default: false },
        csv: { type: 'boolean', default: false },
        html: { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (error) {
    throw new UsageError(ourWords((error as Error).message));
  }
  const { values, positionals } = parsed;
  if (values.help === true) return 'help';
  if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}": the store is given with --store <path>`);
  if (values.store !== undefined && values.journal !== undefined) throw new UsageError('choose one of --store and --journal, not both');
  const path = values.journal ?? values.store;
  if (path === undefined || path.trim() === '') {
    throw new UsageError("--store <path> is required: the path the till's fileStore() was given (or --journal <file>)");
  }
  const outputs = [values.json === true && '--json', values.csv === true && '--csv', values.html !== undefined && '--html'].filter(Boolean);
  if (outputs.length > 1) throw new UsageError(`choose one of --json, --csv and --html, not ${outputs.join(' and ')}`);
  if (values.html !== undefined && values.html.trim() === '') {
    throw new UsageError('--html needs the file to write, e.g. --html report.html');
  }
  if (values.locale !== undefined && values.locale !== 'en' && values.locale !== 'zh-CN') {
    throw new UsageError(`--locale must be en or zh-CN, got "${values.locale}"`);
  }
  // A code Intl does not know would be shown with a guessed 2 decimals: JYP for JPY is money off by 100.
  if (values.currency !== undefined && currencyExponent(values.currency) === undefined) {
    throw new UsageError(`--currency must be an ISO 4217 code such as CNY or USD, got "${values.currency}"`);
  }
  const tz = values.tz ?? localTimeZone();
  try {
    checkTimeZone(tz);
  } catch {
    throw new UsageError(`--tz must be an IANA time zone such as Asia/Shanghai or America/New_York, got "${tz}"`);
  }
  return {
    source: values.journal !== undefined ? { journal: path } : { store: path },
    from: values.from,
    to: values.to,
    tz,
    locale: values.locale ?? 'en',
    currency: values.currency,
    output:
      values.json === true
        ? { kind: 'json' }
        : values.csv === true
          ? { kind: 'csv' }
          : values.html !== undefined
            ? { kind: 'html', file: values.html }
            : { kind: 'text' },
  };
}

/** parseArgs' messages ("Option '--store <value>' argument missing", "Unknown option '--jsn'. To specify…") in this command's words. */
function ourWords(message: string): string {
  const unknown = /Unknown option '([^']+)'/.exec(message);
  if (unknown) return `unknown option ${unknown[1] ?? ''}: see the options below`;
  const missing = /Option '(--[\w-]+)[^']*' argument missing/.exec(message);
  if (missing) return `${missing[1] ?? 'an option'} needs a value`;
  const flag = /Option '(--[\w-]+)' does not take an argument/.exec(message);
  if (flag) return `${flag[1] ?? 'a switch'} takes no value`;
  return message.split('. ')[0] ?? message;
}

/** `pos-duplicate-guard journal report …`. Resolves the exit code; never throws for a user error. */
export async function journalReportCommand(args: readonly string[], io: ReportIo): Promise<number> {
  let options: ReportArgs;
  try {
    const parsed = parse(args);
    if (parsed === 'help') {
      io.stdout(`${JOURNAL_REPORT_HELP}\n`);
      return REPORT_EXIT.done;
    }
    options = parsed;
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    io.stderr(
      `pos-duplicate-guard journal report: ${printable(error.message)}\nRun "pos-duplicate-guard journal report --help" for usage.\n`,
    );
    return REPORT_EXIT.unusable;
  }

  if (options.output.kind === 'html') {
    const input = await inputAt(options.output.file, options.source);
    if (input !== undefined) {
      io.stderr(
        `pos-duplicate-guard journal report: will not write the page over ${printable(input)}: the report reads it (--html names the page to write, e.g. report.html)\n`,
      );
      return REPORT_EXIT.unusable;
    }
  }

  let summary: JournalSummary;
  const progress = progressLine(io);
  try {
    const builder = summaryBuilder({
      tz: options.tz,
      ...(options.from === undefined ? {} : { from: options.from }),
      ...(options.to === undefined ? {} : { to: options.to }),
    });
    // Messages name files and quote arguments: through printable(), as a file name can hold terminal escapes.
    const warn = (message: string) => io.stderr(`${progress.clear()}warning: ${printable(message)}\n`);
    // The first few skipped lines are named; past that a damaged stretch would bury the report under one
    // warning a line, so the rest are counted and the total said once, at the end.
    let skipped = 0;
    const skip = (message: string) => {
      if (++skipped <= SKIPS_NAMED) warn(message);
    };
    const reading = {
      onTornLine: (file: string, line: number) => warn(`${file}:${line}: torn last line skipped (the till stopped mid-write)`),
      onBadLine: (file: string, line: number) =>
        skip(`${file}:${line}: not a journal entry, skipped (damaged or edited: run journal verify)`),
      onProgress: progress.show,
    };
    const files =
      'store' in options.source ? journalFiles(options.source.store).filter((file) => existsSync(file)) : [options.source.journal];
    if (files.length === 0 || !files.every((file) => existsSync(file))) {
      const missing =
        'store' in options.source
          ? `no journal at ${options.source.store}.journal: is --store the path the till's fileStore was given?`
          : `no journal file at ${options.source.journal}`;
      throw new GuardStorageError('READ_FAILED', missing, { field: 'store' in options.source ? 'store' : 'journal' });
    }
    const entries = readJournalFiles(files, reading);
    const chain = seqChecker(warn);
    for await (const entry of entries) {
      chain.check(entry.seq);
      // A line that parses but is no entry (damaged or edited) is left out like one that does not parse.
      if (reportable(entry)) builder.add(entry);
      else skip(`an entry without a "type" and a time "at" (epoch ms) a calendar can show skipped (damaged or edited: run journal verify)`);
    }
    chain.finish();
    if (skipped > SKIPS_NAMED) {
      warn(
        `${skipped.toLocaleString('en-US')} lines in all were not journal entries and were skipped (damaged or edited: run journal verify)`,
      );
    }
    summary = builder.finish();
  } catch (error) {
    if (!isGuardError(error)) throw error;
    // A bad --from/--to (field from/to) or an unreadable journal: said in the error's own words, which name the field or file and line.
    const flag = error.field === 'from' || error.field === 'to' || error.field === 'tz' ? `--${error.field}: ` : '';
    io.stderr(`${progress.clear()}pos-duplicate-guard journal report: ${flag}${printable(error.message)}\n`);
    return REPORT_EXIT.unusable;
  }
  io.stderr(progress.clear());

  const { output } = options;
  if (output.kind === 'json') io.stdout(formatJsonReport(summary));
  else if (output.kind === 'csv') io.stdout(formatCsvReport(summary));
  else if (output.kind === 'text') {
    io.stdout(formatTextReport(summary, { locale: options.locale, ...(options.currency ? { currency: options.currency } : {}) }));
  } else {
    const page = formatHtmlReport(summary, { locale: options.locale, ...(options.currency ? { currency: options.currency } : {}) });
    try {
      await writePage(output.file, page);
    } catch (error) {
      io.stderr(`pos-duplicate-guard journal report: ${printable(`cannot write ${output.file}: ${(error as Error).message}`)}\n`);
      return REPORT_EXIT.unusable;
    }
    io.stdout(`Report written to ${printable(output.file)}\n`);
  }
  return REPORT_EXIT.done;
}

/**
 * Follows the entries' `seq`, which steps by one through the whole journal
 * (rotated files included), and warns where it does not: a line deleted or
 * moved (to hide an override, say) shows as a gap without the secret that
 * `journal verify` needs to prove the rest. Entries without `seq` (a journal
 * from before the chain) are not checked. The first few gaps are named, the
 * rest counted.
 */
function seqChecker(warn: (message: string) => void): { check(seq: unknown): void; finish(): void } {
  let last: number | undefined;
  let gaps = 0;
  return {
    check(seq) {
      if (typeof seq !== 'number' || !Number.isSafeInteger(seq)) return;
      if (last !== undefined && seq !== last + 1 && ++gaps <= SKIPS_NAMED) {
        const missing = seq - last - 1;
        warn(
          missing > 0
            ? `journal: seq ${last} is followed by ${seq}: ${missing} ${missing === 1 ? 'entry' : 'entries'} missing (deleted, or edited out): run journal verify`
            : `journal: seq ${last} is followed by ${seq}: out of order (moved, or edited): run journal verify`,
        );
      }
      last = seq;
    },
    finish() {
      if (gaps > SKIPS_NAMED) warn(`journal: ${gaps.toLocaleString('en-US')} breaks in its seq in all: run journal verify`);
    },
  };
}

/**
 * Writes the page to a new file beside `file` (created exclusively: never
 * through a link someone planted) and renames it over `file`: a symlink at
 * `file` is replaced, not followed (a report.html in /tmp pointing at the
 * manager's ~/.bashrc), and a write cut short leaves no half page.
 */
async function writePage(file: string, page: string): Promise<void> {
  const temp = join(dirname(file), `.${basename(file)}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    await writeFile(temp, page, { encoding: 'utf8', flag: 'wx' });
    await rename(temp, file);
  } catch (error) {
    await unlink(temp).catch(() => undefined);
    throw error;
  }
}

/**
 * The file the report reads (or the store's own: its data file, lock and
 * journals) that `file` is, by path or by inode (a link, `dir/../x`), or
 * `undefined`. `--store guard.jsonl --html guard.jsonl` is a slip of one
 * flag that would replace the till's store, or the audit journal, with a page.
 */
async function inputAt(file: string, source: ReportArgs['source']): Promise<string | undefined> {
  const inputs = 'store' in source ? [source.store, ...journalFiles(source.store), `${source.store}.lock`] : [source.journal];
  const page = await stat(file).catch(() => undefined);
  for (const input of inputs) {
    if (resolve(input) === resolve(file)) return input;
    const read = page && (await stat(input).catch(() => undefined));
    if (page && read && read.dev === page.dev && read.ino === page.ino) return input;
  }
  return undefined;
}

/** "Reading journal… 42% (41,000 lines)" rewritten in place on a terminal, at most ten times a second; nothing elsewhere. */
function progressLine(io: ReportIo): { show: (p: JournalReadProgress) => void; clear: () => string } {
  const tty = io.stderrIsTTY ?? process.stderr.isTTY === true;
  let shown = false;
  let last = 0;
  return {
    show: (p) => {
      const now = Date.now();
      if (!tty || now - last < 100) return;
      last = now;
      shown = true;
      const percent = p.totalBytes === 0 ? 100 : Math.floor((p.bytesRead / p.totalBytes) * 100);
      io.stderr(`\rReading journal… ${percent}% (${p.lines.toLocaleString('en-US')} lines)\u001b[K`);
    },
    clear: () => {
      if (!shown) return '';
      shown = false;
      return '\r\u001b[K';
    },
  };
}
