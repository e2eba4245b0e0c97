/**
 * Reading a file store's journal and metadata from outside the store, as
 * `journal verify` and `journal report` do: line by line (a 100k-line
 * journal is never held whole), without the store's lock (a till keeps
 * running), and a torn last line (a write a crash cut short, or one still
 * under way) left out. Node only.
 */
import { existsSync } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import * as nodeFs from 'node:fs/promises';
import { JOURNAL_FROM, JOURNAL_HEAD, headOf, parseJournalFrom, parseJournalHead } from '../../journal/chain.js';
import type { JournalEntry, JournalHead } from '../../types.js';
import { errno, storageError, type FileStoreFs } from './io.js';
import { parseLine } from './jsonl.js';

const CHUNK = 1 << 20;

/** The journal files of the store at `path`, oldest first: the rotated generation, then the current one. */
export const journalFiles = (path: string): [rotated: string, current: string] => [`${path}.journal.1`, `${path}.journal`];

export interface JournalReadProgress {
  /** Bytes read so far over every journal file. */
  bytesRead: number;
  totalBytes: number;
  /** Complete lines read so far. */
  lines: number;
}

export interface ReadJournalOptions {
  /**
   * A complete line that is not a JSON object, or not as the store writes
   * one (byte for byte JSON.stringify's: damage, or an edit): told
   * which file and line, then skipped. Without it such a line throws
   * `GuardStorageError` code `READ_FAILED`.
   */
  onBadLine?: (file: string, line: number) => void;
  /** Bytes after the last newline, left out: a write a crash cut short, or one still under way. */
  onTornLine?: (file: string, line: number) => void;
  /** After each chunk read (1 MiB): for a progress line on a terminal. */
  onProgress?: (progress: JournalReadProgress) => void;
  /**
   * A longer line is no entry (damage: a power loss's hole of NUL bytes has
   * no newline): it is told to `onBadLine`, and no more than this much of it
   * is ever held. Override texts are not capped, so the default is far above
   * any entry a till writes. @default 64 MiB
   */
  maxLineBytes?: number;
}

const MAX_LINE = 64 << 20;

/**
 * The entries of the journal of the file store at `path` (its data file),
 * oldest first: `<path>.journal.1` (the generation rotated away last, if
 * any), then `<path>.journal`. Streams line by line; a torn last line is
 * left out. Reads without the store's lock, so a running till is not stopped.
 * @example
 * for await (const entry of readJournal('/var/lib/pos/guard.jsonl')) console.log(entry.type);
 */
export function readJournal(path: string, options: ReadJournalOptions = {}): AsyncGenerator<JournalEntry> {
  return readJournalFiles(journalFiles(path), options);
}

/**
 * The entries of these JSON-lines journal files, one after the other (e.g. a
 * journal a browser till exported); a missing file has none. Every file is
 * opened before any is read, newest first: a till that rotates meanwhile
 * (renames `.journal` to `.journal.1`) cannot slip a generation between the
 * reads, and one rotated between the opens is the same file twice, read once.
 */
export async function* readJournalFiles(files: readonly string[], options: ReadJournalOptions = {}): AsyncGenerator<JournalEntry> {
  const progress: JournalReadProgress = { bytesRead: 0, totalBytes: 0, lines: 0 };
  const opened: { file: string; handle: FileHandle | undefined; id: string | undefined }[] = [];
  try {
    for (const file of [...files].reverse()) {
      const handle = await openForReading(nodeFs, file);
      const stat = await handle?.stat().catch(() => undefined);
      const id = stat && `${stat.dev}:${stat.ino}`;
      const seen = id !== undefined && opened.some((other) => other.id === id);
      if (seen) await handle?.close().catch(() => undefined);
      else progress.totalBytes += stat?.size ?? 0;
      opened.unshift({ file, handle: seen ? undefined : handle, id });
    }
    for (const { file, handle } of opened) {
      if (!handle) continue;
      for await (const { text, number } of linesOf(handle, file, { ...options, progress })) {
        // Only a line as the store writes it (JSON.stringify's) is an entry: the HMAC covers what JSON.parse
        // reads, so a duplicated key (the last one honest), `1.25e3`, spaces or `\u` escapes would verify
        // while grep, a person or a first-key-wins parser reads the line otherwise. A CR before the newline
        // and a byte order mark (a copy through Windows or Notepad) are outside the JSON, and left out.
        const entry = text === undefined ? undefined : parseObject(text);
        if (entry && JSON.stringify(entry) === text) yield entry as unknown as JournalEntry;
        else if (options.onBadLine) options.onBadLine(file, number);
        else throw storageError('READ_FAILED', file, `line ${number} is not a JSON object as the store writes it (edited or damaged)`);
      }
    }
  } finally {
    for (const { handle } of opened) await handle?.close().catch(() => undefined);
  }
}

/** The complete lines of the file at `path` (see {@link linesOf}); a missing file has none. */
async function* completeLines(fs: Pick<FileStoreFs, 'open'>, path: string): AsyncGenerator<{ text: string | undefined; number: number }> {
  const handle = await openForReading(fs, path);
  try {
    if (handle) yield* linesOf(handle, path, {});
  } finally {
    await handle?.close().catch(() => undefined);
  }
}

type LineOptions = Pick<ReadJournalOptions, 'onTornLine' | 'onProgress' | 'maxLineBytes'> & { progress?: JournalReadProgress };

/** The file at `path` opened to read, or `undefined` when there is none. */
async function openForReading(fs: Pick<FileStoreFs, 'open'>, path: string): Promise<FileHandle | undefined> {
  return fs.open(path, 'r').catch((error: unknown) => {
    if (errno(error) === 'ENOENT') return undefined;
    throw storageError('READ_FAILED', path, 'opening', error);
  });
}

/**
 * The complete, non-blank lines of an open file, numbered as in the file.
 * Bytes after the last newline (a torn or unfinished line) are not a line:
 * `onTornLine` is told. A line's CR before its newline and the file's byte
 * order mark are not part of it. A line longer than `maxLineBytes` comes as
 * `text: undefined`, and is never held whole. Reads on from where it is,
 * never at a position: a pipe (`--journal <(zcat …)`) cannot seek.
 */
async function* linesOf(
  handle: FileHandle,
  path: string,
  { progress = { bytesRead: 0, totalBytes: 0, lines: 0 }, maxLineBytes = MAX_LINE, ...options }: LineOptions,
): AsyncGenerator<{ text: string | undefined; number: number }> {
  // One chunk buffer, reused: a line's start is copied out of it into `parts` until its newline comes.
  const chunk = Buffer.allocUnsafe(CHUNK);
  let [parts, held, overlong, number, at] = [[] as Buffer[], 0, false, 0, 0];
  const line = (bytes: Buffer): { text: string | undefined; number: number } => {
    number++;
    progress.lines++;
    if (overlong || held + bytes.length > maxLineBytes) return { text: undefined, number };
    let text = (parts.length > 0 ? Buffer.concat([...parts, bytes]) : bytes).toString('utf8');
    if (number === 1 && text.startsWith('\uFEFF')) text = text.slice(1);
    return { text: text.endsWith('\r') ? text.slice(0, -1) : text, number };
  };
  for (;;) {
    const { bytesRead } = await handle.read(chunk, 0, CHUNK, null).catch((error: unknown) => {
      throw storageError('READ_FAILED', path, `reading at byte ${at}`, error);
    });
    if (bytesRead === 0) break;
    at += bytesRead;
    progress.bytesRead += bytesRead;
    let start = 0;
    for (let nl = chunk.indexOf(10, 0); nl >= 0 && nl < bytesRead; start = nl + 1, nl = chunk.indexOf(10, start)) {
      const next = line(chunk.subarray(start, nl));
      [parts, held, overlong] = [[], 0, false];
      if (next.text === undefined || next.text.trim() !== '') yield next;
    }
    const rest = chunk.subarray(start, bytesRead);
    if (!overlong && held + rest.length > maxLineBytes) [parts, held, overlong] = [[], 0, true];
    if (!overlong && rest.length > 0) {
      parts.push(Buffer.from(rest));
      held += rest.length;
    }
    options.onProgress?.({ ...progress });
  }
  if (overlong || Buffer.concat(parts).toString('utf8').trim() !== '') options.onTornLine?.(path, number + 1);
}

function parseObject(line: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(line);
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The metadata of the file store at `path`, read without its lock: the
 * last value of each key among its complete lines. Reads every line (the
 * snapshot's cold lines too), line by line.
 */
export async function readFileMeta(path: string): Promise<Map<string, string>> {
  const meta = new Map<string, string>();
  for await (const { text: line } of completeLines(nodeFs, path)) {
    // Only meta lines are parsed: records, the bulk of the file, are recognised by their first bytes.
    if (line === undefined || !line.startsWith('{"op":"meta"')) continue;
    const parsed = parseLine(line);
    if (typeof parsed === 'object' && parsed.op === 'meta') meta.set(parsed.key, parsed.value);
  }
  return meta;
}

/**
 * Where the journal of the store at `path` ends on disk, at open: the
 * head of its last complete line (the current file's, or else the rotated
 * one's), and how many bytes of a torn last line follow it in the current
 * file (a write a crash cut short: the store cuts them off before it appends).
 */
export async function journalTail(fs: FileStoreFs, path: string): Promise<{ head: JournalHead | undefined; torn: number; size: number }> {
  const [rotated, current] = journalFiles(path);
  const end = await lastLine(fs, current);
  const head = end.line === undefined ? (await lastLine(fs, rotated)).line : end.line;
  const entry = head === undefined ? undefined : parseObject(head);
  return { head: entry && headOf(entry as unknown as JournalEntry), torn: end.torn, size: end.size - end.torn };
}

/** The last complete line of a file, the bytes after it, and its size: reads its end, and further back until the line starts there. */
async function lastLine(fs: FileStoreFs, path: string): Promise<{ line: string | undefined; torn: number; size: number }> {
  const handle = await openForReading(fs, path);
  if (!handle) return { line: undefined, torn: 0, size: 0 };
  try {
    const { size } = await handle.stat();
    for (let span = 64 << 10; ; span *= 4) {
      const tail = Buffer.alloc(Math.min(size, span));
      await handle.read(tail, 0, tail.length, size - tail.length);
      const end = tail.lastIndexOf(10);
      const start = end > 0 ? tail.lastIndexOf(10, end - 1) + 1 : 0;
      // A line that starts before the bytes read: read further back.
      if (start > 0 || tail.length === size) {
        return { line: end > start ? tail.toString('utf8', start, end) : undefined, torn: tail.length - end - 1, size };
      }
    }
  } finally {
    await handle.close().catch(() => undefined);
  }
}

/** The `seq` of the first sealed line of the journal file at `path` (the first line, unless it holds entries written unsealed). */
export async function firstSeq(fs: FileStoreFs, path: string): Promise<number | undefined> {
  for await (const { text } of completeLines(fs, path)) {
    const entry = text === undefined ? undefined : parseObject(text);
    const seq = entry && headOf(entry as unknown as JournalEntry)?.seq;
    if (seq !== undefined) return seq;
  }
  return undefined;
}

/**
 * What the data file at `path` says a verification of its journal must
 * check against: the head, and how far its start may have been rotated
 * away. `journal-from` (kept by the store when it rotates) bounds it; a
 * store with a head but no `journal-from` never rotated its chain, so a
 * `.journal.1` there proves nothing; only without a head (a store from
 * before the chain, or a journal copied without its data file) does the
 * rotated file's mere existence say the start may be gone.
 */
export async function journalAnchors(path: string): Promise<{ head?: JournalHead; rotated: boolean; from?: number }> {
  const meta = existsSync(path) ? await readFileMeta(path) : new Map<string, string>();
  const [head, from] = [parseJournalHead(meta.get(JOURNAL_HEAD)), parseJournalFrom(meta.get(JOURNAL_FROM))];
  return { head, rotated: from !== undefined || (head === undefined && existsSync(journalFiles(path)[0])), from };
}
