/**
 * Reading a file store's journal and metadata from outside the store, as
 * `journal verify` and `journal report` do: line by line (a 100k-line
 * journal is never held whole), without the store's lock (a till keeps
 * running), and a torn last line (a write a crash cut short, or one still
 * under way) left out. Node only.
 */
import { existsSync } from 'node:fs';
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
}

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

/** The entries of these JSON-lines journal files, one after the other (e.g. a journal a browser till exported); a missing file has none. */
export async function* readJournalFiles(files: readonly string[], options: ReadJournalOptions = {}): AsyncGenerator<JournalEntry> {
  const progress: JournalReadProgress = { bytesRead: 0, totalBytes: 0, lines: 0 };
  for (const file of files) {
    progress.totalBytes += await nodeFs.stat(file).then(
      (stat) => stat.size,
      () => 0,
    );
  }
  for (const file of files) {
    for await (const { text, number } of completeLines(file, { ...options, progress })) {
      // Only a line as the store writes it (JSON.stringify's) is an entry: the HMAC covers what JSON.parse
      // reads, so a duplicated key (the last one honest), `1.25e3`, spaces or `\u` escapes would verify
      // while grep, a person or a first-key-wins parser reads the line otherwise.
      const entry = parseObject(text);
      if (entry && JSON.stringify(entry) === text) yield entry as unknown as JournalEntry;
      else if (options.onBadLine) options.onBadLine(file, number);
      else throw storageError('READ_FAILED', file, `line ${number} is not a JSON object as the store writes it (edited or damaged)`);
    }
  }
}

/**
 * The complete, non-blank lines of the file at `path`, numbered as in the
 * file; a missing file has none. Bytes after the last newline (a torn or
 * unfinished line) are not a line: `onTornLine` is told.
 */
async function* completeLines(
  path: string,
  {
    progress = { bytesRead: 0, totalBytes: 0, lines: 0 },
    fs = nodeFs,
    ...options
  }: Pick<ReadJournalOptions, 'onTornLine' | 'onProgress'> & { progress?: JournalReadProgress; fs?: Pick<FileStoreFs, 'open'> } = {},
): AsyncGenerator<{ text: string; number: number }> {
  const handle = await fs.open(path, 'r').catch((error: unknown) => {
    if (errno(error) === 'ENOENT') return undefined;
    throw storageError('READ_FAILED', path, 'opening', error);
  });
  if (!handle) return;
  try {
    let [rest, at, number] = [Buffer.alloc(0), 0, 0];
    for (;;) {
      const chunk = Buffer.allocUnsafe(CHUNK);
      const { bytesRead } = await handle.read(chunk, 0, CHUNK, at).catch((error: unknown) => {
        throw storageError('READ_FAILED', path, `reading at byte ${at}`, error);
      });
      if (bytesRead === 0) break;
      at += bytesRead;
      progress.bytesRead += bytesRead;
      // Lines are split as bytes, so a character cut between two chunks is joined before it is decoded.
      const bytes = rest.length > 0 ? Buffer.concat([rest, chunk.subarray(0, bytesRead)]) : chunk.subarray(0, bytesRead);
      let start = 0;
      for (let nl = bytes.indexOf(10); nl >= 0; start = nl + 1, nl = bytes.indexOf(10, start)) {
        number++;
        progress.lines++;
        const text = bytes.toString('utf8', start, nl);
        if (text.trim() !== '') yield { text, number };
      }
      rest = Buffer.from(bytes.subarray(start));
      options.onProgress?.({ ...progress });
    }
    if (rest.toString('utf8').trim() !== '') options.onTornLine?.(path, number + 1);
  } finally {
    await handle.close().catch(() => undefined);
  }
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
  for await (const { text: line } of completeLines(path)) {
    // Only meta lines are parsed: records, the bulk of the file, are recognised by their first bytes.
    if (!line.startsWith('{"op":"meta"')) continue;
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

/** The last complete line of a file, the bytes after it, and its size; reads backwards a chunk at a time. */
async function lastLine(fs: FileStoreFs, path: string): Promise<{ line: string | undefined; torn: number; size: number }> {
  const handle = await fs.open(path, 'r').catch((error: unknown) => {
    if (errno(error) === 'ENOENT') return undefined;
    throw storageError('OPEN_FAILED', path, 'opening the journal', error);
  });
  if (!handle) return { line: undefined, torn: 0, size: 0 };
  try {
    const { size } = await handle.stat();
    let [tail, torn] = [Buffer.alloc(0), -1];
    for (let to = size; to > 0;) {
      const from = Math.max(0, to - 64 * 1024);
      const chunk = Buffer.allocUnsafe(to - from);
      await handle.read(chunk, 0, chunk.length, from);
      tail = Buffer.concat([chunk, tail]);
      to = from;
      if (torn < 0) {
        const nl = tail.lastIndexOf(10);
        if (nl < 0) continue;
        torn = tail.length - nl - 1;
      }
      const end = tail.length - torn - 1;
      const start = end > 0 ? tail.lastIndexOf(10, end - 1) + 1 : 0;
      if (start > 0 || from === 0) return { line: end > start ? tail.toString('utf8', start, end) : undefined, torn, size };
    }
    return { line: undefined, torn: torn < 0 ? size : torn, size };
  } finally {
    await handle.close().catch(() => undefined);
  }
}

/** The `seq` of the first sealed line of the journal file at `path` (the first line, unless it holds entries written unsealed). */
export async function firstSeq(fs: FileStoreFs, path: string): Promise<number | undefined> {
  for await (const { text } of completeLines(path, { fs })) {
    const entry = parseObject(text);
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
