import * as nodeFs from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { GuardConfigError, GuardStorageError, describeValue, errorText } from '../errors.js';
import { storeOptions } from '../snapshot.js';
import type { AttemptRecord, GuardStore, JournalEntry } from '../types.js';
import { errno, storageError, syncDirectory, type FileStoreFs } from './file/io.js';
import { LOAD_DEFERRED, buildAll, type LoadedRecords } from '../deferred.js';
import { FORMAT_VERSION, Replay, deleteLine, headerLine, metaLine, recordLine, type Replayed } from './file/jsonl.js';
import { IdHashSet } from './file/hash.js';
import { acquireLock, type FileLock } from './file/lock.js';

export type { FileStoreFs } from './file/io.js';

export interface FileStoreOptions {
  /**
   * Rewrite the file once superseded and deleted lines pass both limits.
   * @default { deadLines: 1000, deadRatio: 0.5 }
   */
  compactAfter?: { deadLines?: number; deadRatio?: number };
  /**
   * Keep the audit journal in `<path>.journal` (JSON lines). `false` drops it.
   * @default true
   */
  journal?: boolean;
  /**
   * Past this size the journal is renamed to `<path>.journal.1` (replacing
   * the previous one) and a new one begins, so a till running for years
   * keeps a bounded disk footprint.
   * @default 16 MiB
   */
  journalMaxBytes?: number;
  /**
   * The `node:fs/promises` functions to use. For tests that make the disk
   * fail on purpose, or an Electron shell that wraps fs.
   * @default node:fs/promises
   */
  fs?: FileStoreFs;
}

export interface FileStore extends GuardStore {
  /** The absolute path of the data file. */
  readonly path: string;
  /** Problems found while loading (torn last line, corrupt lines), for the journal. */
  warnings(): string[];
  /** Rewrite the file with only its live lines now, whatever the thresholds say. */
  compact(): Promise<void>;
  /** Writes what is queued, flushes the journal and releases the lock. */
  close(): Promise<void>;
}

/**
 * A store for Node and Electron terminals: one append-only JSON-lines file
 * (see `./file/jsonl.ts` for the format).
 *
 * - `put` and `setMeta` resolve only once their line is fsynced: the
 *   write-ahead `pending` record survives a power cut. Puts that queue up
 *   while a write is on its way share the next write and fsync (group commit).
 * - `delete` (pruning) resolves at once and rides along with the next write:
 *   losing one to a crash only means the record is pruned again.
 * - Records are not kept in memory after the first `load()` hands them to
 *   the guard (which keeps its own): only the set of live ids, to know when
 *   to compact. A later `load()` and a compaction read the file again.
 * - A crash can leave a torn last line; it was never acknowledged, so it is
 *   cut off and reported through `warnings()`. A corrupt line in the middle is
 *   reported with its line number and skipped; the rest loads.
 * - One process owns the file (`<path>.lock`): another live process gets
 *   `GuardStorageError` code `LOCKED`; a second store on the same path in
 *   this process takes over and fences the first (docs/file-store.md).
 *
 * @example
 * import { createGuard } from 'pos-duplicate-guard';
 * import { fileStore } from 'pos-duplicate-guard/node';
 * const guard = await createGuard({ merchantId: 'M-0001', secret, store: fileStore('/var/lib/pos/guard.jsonl') });
 */
/* @__NO_SIDE_EFFECTS__ */
export function fileStore(path: string, options: FileStoreOptions = {}): FileStore {
  if (typeof path !== 'string' || path === '') {
    throw new GuardConfigError('INVALID_OPTION', `\`path\` must be a non-empty string, got ${describeValue(path)}`, { field: 'path' });
  }
  // Copied once: a getter or Proxy in the options is read here, never again.
  const copied = storeOptions(options, { compactAfter: {}, fs: 'ref' }) as FileStoreOptions;
  checkOptions(copied);
  return new FileStoreImpl(resolve(path), copied);
}

/** Options are checked once, here, with messages that quote the bad value. */
function checkOptions(options: FileStoreOptions): void {
  const fail = (field: string, rule: string, value: unknown): never => {
    throw new GuardConfigError('INVALID_OPTION', `\`${field}\` must be ${rule}, got ${describeValue(value)}`, { field });
  };
  if (typeof options !== 'object' || options === null) fail('options', 'an object', options);
  const { compactAfter, journalMaxBytes, fs } = options;
  if (compactAfter !== undefined) {
    if (typeof compactAfter !== 'object' || compactAfter === null) fail('compactAfter', 'an object', compactAfter);
    const { deadLines, deadRatio } = compactAfter;
    if (deadLines !== undefined && !(Number.isSafeInteger(deadLines) && deadLines >= 0)) fail('compactAfter.deadLines', 'an integer >= 0', deadLines);
    if (deadRatio !== undefined && !(typeof deadRatio === 'number' && deadRatio >= 0 && deadRatio < 1)) fail('compactAfter.deadRatio', 'a number from 0 up to (not including) 1', deadRatio);
  }
  if (journalMaxBytes !== undefined && !(Number.isSafeInteger(journalMaxBytes) && journalMaxBytes > 0)) fail('journalMaxBytes', 'an integer > 0', journalMaxBytes);
  if (options.journal !== undefined && typeof options.journal !== 'boolean') fail('journal', 'a boolean', options.journal);
  if (fs !== undefined && (typeof fs !== 'object' || fs === null || typeof fs.open !== 'function')) fail('fs', 'an object with the node:fs/promises functions', fs);
}

/** A write waiting for the next batch. */
interface Queued {
  line: string;
  /** Its effect on the in-memory bookkeeping, once the line is on disk. */
  commit: () => void;
  /** Present when the caller waits for the fsync (put, setMeta). */
  waiter?: { resolve: () => void; reject: (error: unknown) => void };
}

// Each absolute path has at most one writing store in this process. A newer
// one fences the older (as after a crash, SPEC §6), so two never interleave lines.
const owners = new Map<string, FileStoreImpl>();

const MAX_WARNINGS = 20;
const READ_CHUNK_BYTES = 2 << 20;

class FileStoreImpl implements FileStore {
  readonly path: string;
  readonly #fs: FileStoreFs;
  readonly #deadLines: number;
  readonly #deadRatio: number;
  readonly #journalPath: string | undefined;
  readonly #journalMax: number;

  #ready: Promise<void> | undefined;
  #lock: FileLock | undefined;
  #handle: FileHandle | undefined;
  /** The records read at open, until the first `load()` takes them (or a write makes them stale). */
  #opened: Replayed['live'] | undefined;
  /** Ids whose latest durable line is a record: the live lines, for the compaction threshold. */
  #liveIds = new IdHashSet();
  #meta = new Map<string, string>();
  /** Bytes of complete, acknowledged lines: the next write goes here. */
  #size = 0;
  #lines = 0;
  /** A failed write may have left bytes past `#size`; cut them before writing again. */
  #dirtyTail = false;
  #warnings: string[] = [];
  #state: 'open' | 'fenced' | 'closed' = 'open';

  #queue: Queued[] = [];
  #draining: Promise<void> | undefined;
  /** Fire-and-forget lines (deletes) whose write failed: they go out first next time. */
  #retry: Queued[] = [];
  /** After a failed compaction, wait for this many lines before trying again. */
  #compactFloor = 0;
  /** `compact()` was called: rewrite at the next turn of the write queue. */
  #compactWanted = false;

  #journalLines: string[] = [];
  #journalFlush: Promise<void> | undefined;
  #journalHandle: FileHandle | undefined;
  #journalSize = 0;
  #journalError: unknown;

  constructor(path: string, options: FileStoreOptions) {
    this.path = path;
    this.#fs = options.fs ?? nodeFs;
    this.#deadLines = options.compactAfter?.deadLines ?? 1000;
    this.#deadRatio = options.compactAfter?.deadRatio ?? 0.5;
    this.#journalPath = options.journal === false ? undefined : `${path}.journal`;
    this.#journalMax = options.journalMaxBytes ?? 16 * 1024 * 1024;
  }

  // ── GuardStore ─────────────────────────────────────────────────────────

  async load(): Promise<AttemptRecord[]> {
    return buildAll(await this[LOAD_DEFERRED]());
  }

  /** @internal What `createGuard` reads at start-up instead of `load()`: see DeferredRecords. */
  async [LOAD_DEFERRED](): Promise<Required<LoadedRecords>> {
    await this.#open('load');
    const opened = this.#opened;
    this.#opened = undefined;
    if (opened) return opened;
    // Read our own writes back from disk: everything queued first.
    while (this.#draining) await this.#draining;
    return (await this.#replayFile(this.#size)).live;
  }

  async getMeta(key: string): Promise<string | undefined> {
    await this.#open('getMeta');
    return this.#meta.get(key);
  }

  async put(record: AttemptRecord): Promise<void> {
    await this.#open('put');
    const { id } = record;
    return this.#enqueueDurable('put', recordLine(record), () => this.#liveIds.add(id));
  }

  async setMeta(key: string, value: string): Promise<void> {
    await this.#open('setMeta');
    return this.#enqueueDurable('setMeta', metaLine(key, value), () => this.#meta.set(key, value));
  }

  async delete(id: string): Promise<void> {
    await this.#open('delete');
    this.#check('delete');
    this.#opened = undefined;
    this.#queue.push({ line: deleteLine(id), commit: () => this.#liveIds.delete(id) });
    this.#kick();
  }

  async appendJournal(entry: JournalEntry): Promise<void> {
    await this.#open('appendJournal');
    if (this.#journalError !== undefined) {
      const error = this.#journalError;
      this.#journalError = undefined;
      throw storageError('WRITE_FAILED', this.path, 'appending to the journal', error);
    }
    if (!this.#journalPath) return;
    this.#journalLines.push(JSON.stringify(entry));
    this.#journalFlush ??= this.#flushJournal();
  }

  warnings(): string[] {
    return [...this.#warnings];
  }

  async compact(): Promise<void> {
    await this.#open('compact');
    this.#compactWanted = true;
    this.#kick();
    while (this.#draining) await this.#draining;
  }

  async close(): Promise<void> {
    if (this.#state === 'closed') return;
    const fenced = this.#state === 'fenced';
    this.#state = 'closed';
    await this.#release();
    if (!fenced) await this.#lock?.release().catch(() => undefined);
  }

  // ── opening ────────────────────────────────────────────────────────────

  /**
   * Opens on first use (the factory stays synchronous), then checks the
   * store may still be used. Callers act in the same tick as this check, so
   * nothing is queued after `close()` or a takeover started.
   */
  async #open(operation: string): Promise<void> {
    this.#ready ??= this.#openOnce();
    await this.#ready;
    this.#check(operation);
  }

  #check(operation: string): void {
    if (this.#state === 'fenced') {
      throw storageError('TAKEN_OVER', this.path, `${operation}: another fileStore in this process took this file over; this one no longer reads or writes`);
    }
    if (this.#state === 'closed') throw storageError('CLOSED', this.path, `${operation}: the store is closed`);
  }

  async #openOnce(): Promise<void> {
    const previous = owners.get(this.path);
    owners.set(this.path, this);
    if (previous) await previous.#surrender();
    try {
      await this.#fs.mkdir(dirname(this.path), { recursive: true }).catch((error: unknown) => {
        throw storageError('OPEN_FAILED', this.path, `creating its directory ${dirname(this.path)}`, error);
      });
      this.#lock = await acquireLock(this.#fs, this.path);
      await this.#removeLeftoverTmp();
      const replayed = await this.#openData();
      // A file an older release wrote: mark it with this version's header
      // first, so that release refuses it from now on rather than skipping
      // the lines it cannot read, then rewrite it in this version's lines.
      const outdated = (replayed.version ?? 0) < FORMAT_VERSION;
      if (outdated) await this.#markVersion();
      if (outdated || this.#shouldCompact()) await this.#compact(replayed);
    } catch (error) {
      if (owners.get(this.path) === this) owners.delete(this.path);
      await this.#handle?.close().catch(() => undefined);
      this.#handle = undefined;
      await this.#lock?.release().catch(() => undefined);
      this.#state = 'closed';
      this.#opened = undefined;
      throw error;
    }
  }

  /**
   * Appends this version's header to a file an older release wrote. A disk
   * that refuses it does not stop the store opening (the guard decides what
   * a storage error means): the header waits at the front of the retry
   * queue, so it still goes out before the first line in this version.
   */
  async #markVersion(): Promise<void> {
    const header: Queued = { line: headerLine(), commit: () => undefined };
    try {
      await this.#append([header], true);
    } catch (error) {
      this.#warn(`could not mark the file as format version ${FORMAT_VERSION}, will try again before the next write: ${errorText(error)}`);
      this.#retry.unshift(header);
    }
  }

  async #openData(): Promise<Replayed> {
    const fs = this.#fs;
    try {
      this.#handle = await fs.open(this.path, 'r+');
    } catch (error) {
      if (errno(error) !== 'ENOENT') throw storageError('OPEN_FAILED', this.path, 'opening', error);
      try {
        this.#handle = await fs.open(this.path, 'wx+', 0o600);
        await syncDirectory(fs, this.path);
      } catch (createError) {
        throw storageError('OPEN_FAILED', this.path, 'creating', createError);
      }
    }
    const replayed = await this.#replayFile();
    if (replayed.unsupportedVersion !== undefined) {
      throw storageError('UNSUPPORTED_FORMAT', this.path, `opening: written by a newer release (format version ${replayed.unsupportedVersion}); upgrade pos-duplicate-guard`);
    }
    this.#opened = replayed.live;
    this.#liveIds = replayed.live.deferred.liveIds(replayed.live.records);
    this.#meta = replayed.meta;
    this.#lines = replayed.lines;
    this.#size = replayed.completeBytes;
    for (const { line, problem } of replayed.problems.slice(0, MAX_WARNINGS)) this.#warn(`line ${line} skipped: ${problem}`);
    if (replayed.problems.length > MAX_WARNINGS) this.#warn(`${replayed.problems.length - MAX_WARNINGS} more lines skipped`);
    if (replayed.tornBytes > 0) {
      // The write was cut short by a crash and never acknowledged: nothing
      // relied on it. Cut it off, or the next line would be glued onto it.
      this.#warn(`torn last line (${replayed.tornBytes} bytes after line ${replayed.lines}, a write cut short by a crash) dropped`);
      this.#dirtyTail = true;
    }
    if (this.#size === 0) {
      await this.#append([{ line: headerLine(), commit: () => undefined }], true);
      replayed.version = FORMAT_VERSION;
    } else if (this.#dirtyTail) await this.#truncateTail();
    return replayed;
  }

  /**
   * Reads the file (its first `limit` bytes, or all of it) into one buffer
   * and replays its lines as they arrive: each chunk is replayed while the
   * next one is read (the read runs on libuv's thread pool), so start-up
   * costs about the longer of the two, not their sum. The buffer is kept:
   * the records start-up defers are built from it later, and it is let go
   * once they all are (see DeferredRecords).
   */
  async #replayFile(limit = Number.POSITIVE_INFINITY): Promise<Replayed> {
    const handle = this.#handle as FileHandle;
    const read = async (bytes: Buffer, at: number): Promise<number> => {
      try {
        return (await handle.read(bytes, at, Math.min(READ_CHUNK_BYTES, bytes.length - at), at)).bytesRead;
      } catch (error) {
        throw storageError('READ_FAILED', this.path, 'reading', error);
      }
    };
    let size: number;
    try {
      size = (await handle.stat()).size;
    } catch (error) {
      throw storageError('READ_FAILED', this.path, 'reading its size', error);
    }
    const bytes = Buffer.allocUnsafeSlow(Math.min(limit, size));
    const replayer = new Replay(bytes);
    let arrived = 0;
    let next = bytes.length > 0 ? read(bytes, 0) : Promise.resolve(0);
    for (let got = await next; got > 0; got = await next) {
      arrived += got;
      next = arrived < bytes.length ? read(bytes, arrived) : Promise.resolve(0);
      // A replay that throws must not leave the read just issued unobserved.
      next.catch(() => undefined);
      replayer.feed(arrived);
    }
    return replayer.finish(arrived);
  }

  async #removeLeftoverTmp(): Promise<void> {
    try {
      await this.#fs.unlink(`${this.path}.tmp`);
      this.#warn('removed the unfinished rewrite of an interrupted compaction (the file itself was intact)');
    } catch (error) {
      if (errno(error) !== 'ENOENT') throw storageError('OPEN_FAILED', this.path, `removing ${this.path}.tmp`, error);
    }
  }

  #warn(text: string): void {
    this.#warnings.push(`${this.path}: ${text}`);
  }

  // ── writing ────────────────────────────────────────────────────────────

  #enqueueDurable(operation: string, line: string, commit: () => void): Promise<void> {
    this.#check(operation);
    this.#opened = undefined;
    return new Promise<void>((resolve, reject) => {
      this.#queue.push({ line, commit, waiter: { resolve, reject } });
      this.#kick();
    }).catch((error: unknown) => {
      throw error instanceof GuardStorageError ? error : storageError('WRITE_FAILED', this.path, operation, error);
    });
  }

  #kick(): void {
    this.#draining ??= this.#drain();
  }

  /**
   * Group commit: everything queued while the previous write and fsync were
   * on their way goes out in one write and one fsync. A put never resolves
   * before its bytes are synced.
   */
  async #drain(): Promise<void> {
    try {
      while (this.#queue.length > 0 || this.#compactWanted) {
        if (this.#compactWanted) {
          this.#compactWanted = false;
          await this.#compact();
          continue;
        }
        const batch = [...this.#retry, ...this.#queue];
        this.#retry = [];
        this.#queue = [];
        const durable = batch.some((item) => item.waiter);
        try {
          await this.#append(batch, durable);
        } catch (error) {
          for (const item of batch) {
            if (item.waiter) item.waiter.reject(error);
            else this.#retry.push(item);
          }
          continue;
        }
        for (const item of batch) item.waiter?.resolve();
        if (this.#shouldCompact()) await this.#compact();
      }
    } finally {
      // Synchronous with the loop's last check: a write queued after it starts a new drain.
      this.#draining = undefined;
    }
  }

  /** Appends lines at the end of the complete ones, then commits their effects. */
  async #append(batch: readonly Queued[], sync: boolean): Promise<void> {
    // No handle: reopening after a compaction failed; the path holds the new file.
    this.#handle ??= await this.#fs.open(this.path, 'r+');
    const handle = this.#handle;
    let text = '';
    for (const item of batch) text += `${item.line}\n`;
    const bytes = Buffer.from(text, 'utf8');
    if (this.#dirtyTail) await this.#truncateTail();
    // Positional writes (not O_APPEND): after a failed write the next one
    // lands exactly where the last complete line ended.
    this.#dirtyTail = true;
    let written = 0;
    while (written < bytes.length) {
      const { bytesWritten } = await handle.write(bytes, written, bytes.length - written, this.#size + written);
      written += bytesWritten;
    }
    if (sync) await handle.datasync();
    this.#dirtyTail = false;
    this.#size += bytes.length;
    this.#lines += batch.length;
    for (const item of batch) item.commit();
  }

  async #truncateTail(): Promise<void> {
    const handle = this.#handle as FileHandle;
    await handle.truncate(this.#size);
    await handle.datasync();
    this.#dirtyTail = false;
  }

  // ── compaction ─────────────────────────────────────────────────────────

  #shouldCompact(): boolean {
    // Only the header and the latest line of each live key are alive.
    const dead = this.#lines - 1 - this.#liveIds.size - this.#meta.size;
    return dead > this.#deadLines && dead > this.#lines * this.#deadRatio && this.#lines > this.#compactFloor;
  }

  /**
   * Rewrites the live lines to `<path>.tmp`, fsyncs it, renames it over the
   * file and fsyncs the directory. The rename is atomic: at every moment the
   * path holds either the old file or the complete new one. Runs inside the
   * write queue, so no line is appended to the old file meanwhile; it
   * rewrites what is on disk, and queued writes follow it in the new file.
   */
  async #compact(source?: Replayed): Promise<void> {
    const fs = this.#fs;
    const tmp = `${this.path}.tmp`;
    let out: FileHandle | undefined;
    let lines: number;
    let bytes: Buffer;
    try {
      const live = source ?? (await this.#replayFile(this.#size));
      const parts = [headerLine()];
      for (const [key, value] of live.meta) parts.push(metaLine(key, value));
      const { records, deferred } = live.live;
      for (const record of records) parts.push(recordLine(record));
      // Deferred records' lines are already in this version's layout: copied as they are.
      for (let slot = 0; slot < deferred.slots; slot++) if (deferred.live(slot)) parts.push(deferred.line(slot));
      lines = parts.length;
      bytes = Buffer.from(`${parts.join('\n')}\n`, 'utf8');
      out = await fs.open(tmp, 'w', 0o600);
      await out.writeFile(bytes);
      await out.datasync();
      await out.close();
      out = undefined;
      await fs.rename(tmp, this.path);
    } catch (error) {
      await out?.close().catch(() => undefined);
      await fs.unlink(tmp).catch(() => undefined);
      // The old file is intact: keep appending to it, try again after it grows.
      this.#compactFloor = this.#lines * 2;
      this.#warn(`compaction failed, will retry later: ${errorText(error)}`);
      return;
    }
    // From here on the path is the new file: switch to it whatever happens next.
    // It starts with this version's header, so a mark still queued is moot.
    const header = headerLine();
    this.#retry = this.#retry.filter((item) => item.line !== header);
    const old = this.#handle;
    this.#size = bytes.length;
    this.#lines = lines;
    this.#dirtyTail = false;
    this.#compactFloor = 0;
    // Never keep writing to the old handle: its file is no longer at the path.
    this.#handle = undefined;
    await old?.close().catch(() => undefined);
    try {
      this.#handle = await fs.open(this.path, 'r+');
      await syncDirectory(fs, this.path);
    } catch (error) {
      this.#warn(`after compaction: ${errorText(error)}`);
    }
  }

  // ── journal ────────────────────────────────────────────────────────────

  /** Journal lines are an audit trail, not the write-ahead record: written in batches, never fsynced. */
  async #flushJournal(): Promise<void> {
    try {
      while (this.#journalLines.length > 0) {
        const text = `${this.#journalLines.join('\n')}\n`;
        this.#journalLines = [];
        try {
          await this.#writeJournal(text);
        } catch (error) {
          this.#journalError = error;
        }
      }
    } finally {
      this.#journalFlush = undefined;
    }
  }

  async #writeJournal(text: string): Promise<void> {
    const path = this.#journalPath as string;
    if (!this.#journalHandle) {
      this.#journalHandle = await this.#fs.open(path, 'a', 0o600);
      this.#journalSize = (await this.#journalHandle.stat()).size;
    }
    if (this.#journalSize > this.#journalMax) {
      await this.#journalHandle.close();
      this.#journalHandle = undefined;
      await this.#fs.rename(path, `${path}.1`);
      this.#journalHandle = await this.#fs.open(path, 'a', 0o600);
      this.#journalSize = 0;
    }
    const bytes = Buffer.from(text, 'utf8');
    await this.#journalHandle.appendFile(bytes);
    this.#journalSize += bytes.length;
  }

  // ── shutdown ───────────────────────────────────────────────────────────

  /** Another store of this process takes the file: finish what is queued, then stop writing. */
  async #surrender(): Promise<void> {
    await this.#ready?.catch(() => undefined);
    if (this.#state === 'open') this.#state = 'fenced';
    await this.#release();
  }

  /** Writes what is queued, flushes the journal, closes the files. The lock is the caller's business. */
  async #release(): Promise<void> {
    await this.#ready?.catch(() => undefined);
    this.#opened = undefined;
    // Deletes whose write failed once get one last try before closing.
    this.#queue.unshift(...this.#retry.splice(0));
    while (this.#draining || this.#queue.length > 0) {
      this.#kick();
      await this.#draining;
    }
    while (this.#journalFlush) await this.#journalFlush;
    await this.#journalHandle?.close().catch(() => undefined);
    this.#journalHandle = undefined;
    await this.#handle?.close().catch(() => undefined);
    this.#handle = undefined;
    if (owners.get(this.path) === this) owners.delete(this.path);
  }
}
