/**
 * Reads a file store's audit journal for the report, one entry at a time:
 * `<path>.journal.1` (rotated) then `<path>.journal`, without opening the
 * store or taking the till's lock, so it runs beside a live till. Streaming
 * keeps a 100k-line journal out of memory as text.
 *
 * A torn last line (the till stopped mid-write) is skipped with a warning;
 * any other line that is not an entry is an error naming file and line.
 */
import { createReadStream, existsSync, statSync } from 'node:fs';
import { GuardStorageError } from '../errors.js';
import type { JournalEntry } from '../types.js';

export interface JournalReadProgress {
  /** Bytes read so far over every journal file. */
  bytesRead: number;
  totalBytes: number;
  lines: number;
}

export interface ReadJournalOptions {
  /** A problem the reader got past (a torn line), for stderr. */
  onWarning?: (message: string) => void;
  /** Called after each chunk read (about every 1 MiB). */
  onProgress?: (progress: JournalReadProgress) => void;
}

/** The journal files of a file store at `storePath`, oldest first, that exist. */
export function journalFiles(storePath: string): string[] {
  return [`${storePath}.journal.1`, `${storePath}.journal`].filter((file) => existsSync(file));
}

/** Every entry of the file store's journal at `storePath`, in the order written. */
export function readJournalEntries(storePath: string, options: ReadJournalOptions = {}): AsyncGenerator<JournalEntry> {
  const files = journalFiles(storePath);
  if (files.length === 0) {
    throw new GuardStorageError('READ_FAILED', `no journal at ${storePath}.journal: is --store the path the till's fileStore was given?`, {
      field: 'store',
    });
  }
  return readJournalFiles(files, options);
}

/** Every entry of these JSON-lines journal files, one after the other (e.g. one a browser till exported). */
export async function* readJournalFiles(files: readonly string[], options: ReadJournalOptions = {}): AsyncGenerator<JournalEntry> {
  for (const file of files) {
    if (!existsSync(file)) throw new GuardStorageError('READ_FAILED', `no journal file at ${file}`, { field: 'journal' });
  }
  const progress: JournalReadProgress = { bytesRead: 0, totalBytes: 0, lines: 0 };
  for (const file of files) progress.totalBytes += statSync(file).size;
  for (const file of files) yield* readFile(file, progress, options);
}

async function* readFile(file: string, progress: JournalReadProgress, options: ReadJournalOptions): AsyncGenerator<JournalEntry> {
  let rest = '';
  let lineNumber = 0;
  const stream = createReadStream(file, { encoding: 'utf8', highWaterMark: 1 << 20 });
  try {
    for await (const chunk of stream as AsyncIterable<string>) {
      progress.bytesRead += Buffer.byteLength(chunk);
      const text = rest + chunk;
      let start = 0;
      for (let end = text.indexOf('\n'); end !== -1; end = text.indexOf('\n', start)) {
        lineNumber++;
        progress.lines++;
        const entry = parseLine(text.slice(start, end), file, lineNumber, options);
        if (entry) yield entry;
        start = end + 1;
      }
      rest = text.slice(start);
      options.onProgress?.({ ...progress });
    }
  } catch (error) {
    if (error instanceof GuardStorageError) throw error;
    throw new GuardStorageError('READ_FAILED', `cannot read ${file}: ${(error as Error).message}`, { field: 'store', cause: error });
  }
  if (rest.trim() === '') return;
  // No newline after it: the last write did not finish. Kept if it is whole.
  const last = tryParse(rest);
  if (last) {
    progress.lines++;
    yield last;
  } else {
    options.onWarning?.(`${file}:${lineNumber + 1}: torn last line skipped (the till stopped mid-write)`);
  }
}

/** One line: an entry, `undefined` for a blank line; throws for anything else. */
function parseLine(line: string, file: string, lineNumber: number, options: ReadJournalOptions): JournalEntry | undefined {
  if (line.trim() === '') return undefined;
  const entry = tryParse(line);
  if (entry) return entry;
  // A torn write followed by the next append, on one line (the file store
  // appends after whatever the crash left): the whole entry at its end is kept.
  const resumed = line.lastIndexOf('{"at":');
  const tail = resumed > 0 ? tryParse(line.slice(resumed)) : undefined;
  if (tail) {
    options.onWarning?.(`${file}:${lineNumber}: torn entry before the last one on this line skipped (the till stopped mid-write)`);
    return tail;
  }
  throw new GuardStorageError(
    'READ_FAILED',
    `${file}:${lineNumber}: not a journal entry (expected one JSON object with a numeric "at" and a "type" per line)`,
    { field: 'journal' },
  );
}

function tryParse(line: string): JournalEntry | undefined {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const { at, type } = value as { at?: unknown; type?: unknown };
  return typeof at === 'number' && Number.isFinite(at) && typeof type === 'string' ? (value as JournalEntry) : undefined;
}
