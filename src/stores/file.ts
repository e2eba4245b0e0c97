import * as nodeFs from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { orderKey, staysFiled } from '../claims.js';
import { GuardStorageError, errorText, invalidOption } from '../errors.js';
import type { HistoryStore } from '../history.js';
import { Owners } from '../ownership.js';
import { storeOptions } from '../snapshot.js';
import { JOURNAL_FROM, JOURNAL_HEAD, headOf, headText, parseJournalHead } from '../journal/chain.js';
import type { AttemptRecord, GuardStore, JournalEntry, JournalHead, JournalSeal, LoadScope } from '../types.js';
import { failing, ignoring, storageError, sameFile, syncDirectory, writeWhole, type FileStoreFs } from './file/io.js';
import { FORMAT_VERSION, decodeRecord, deleteLine, headerLine, indexLine } from './file/jsonl.js';
import { metaLine, parseLine, readIndex, recordLine } from './file/jsonl.js';
import { HOT, Locations } from './file/locations.js';
import { firstSeq, journalTail } from './file/journal-read.js';
import { acquireLock, type FileLock } from './file/lock.js';

export type { FileStoreFs } from './file/io.js';

export interface FileStoreOptions {
  /** Rewrite the file once dead lines (superseded, deleted) pass both limits. @default { deadLines: 1000, deadRatio: 0.5 } */
  compactAfter?: { deadLines?: number; deadRatio?: number };
  /** Keep the audit journal in `<path>.journal` (JSON lines). @default true */
  journal?: boolean;
  /** Past this size the journal is renamed to `<path>.journal.1` and a new one begins. @default 16 MiB */
  journalMaxBytes?: number;
  /** The `node:fs/promises` functions to use: for tests that make the disk fail, or a wrapped Electron fs. */
  fs?: FileStoreFs;
}

/** A store with history, and: its absolute `path`; problems found while loading (torn last line, corrupt lines); `compact()` now, whatever the thresholds say. */
export interface FileStore extends HistoryStore {
  readonly path: string;
  warnings(): string[];
  compact(): Promise<void>;
  close(): Promise<void>;
}

/**
 * A store with history for Node and Electron terminals: one file, a snapshot
 * and a log, one JSON document a line. `put` and `setMeta` resolve once their
 * line is fsynced (puts queued meanwhile share the next write and fsync); a delete
 * rides along with the next write. It keeps in memory where each record's
 * line is, not the records. One process owns the file (`<path>.lock`).
 * @example
 * const guard = await createGuard({ merchantId: 'M-0001', secret, store: fileStore('/var/lib/pos/guard.jsonl') });
 */
/* @__NO_SIDE_EFFECTS__ */
export function fileStore(path: string, options: FileStoreOptions = {}): FileStore {
  if (typeof path !== 'string' || path === '') invalidOption('path', 'a non-empty string', path);
  // Copied once: a getter or Proxy in the options is read here, never again.
  const copied = storeOptions(options, { compactAfter: {}, fs: 'ref' }) as FileStoreOptions;
  // The defaults are valid: only what the caller gave can fail a check.
  const { compactAfter: after = {}, journalMaxBytes: journalMax = 16 << 20, journal = true, fs = nodeFs } = copied;
  const check = (field: string, value: unknown, ok: boolean, rule: string) => ok || invalidOption(field, rule, value);
  const int = (value: number, min: number) => Number.isSafeInteger(value) && value >= min;
  check('compactAfter', after, typeof after === 'object' && after !== null, 'an object');
  const { deadLines = 1000, deadRatio: ratio = 0.5 } = after;
  check('compactAfter.deadLines', deadLines, int(deadLines, 0), 'an integer >= 0');
  check('compactAfter.deadRatio', ratio, typeof ratio === 'number' && ratio >= 0 && ratio < 1, 'a number from 0 up to (not including) 1');
  check('journalMaxBytes', journalMax, int(journalMax, 1), 'an integer > 0');
  check('journal', journal, typeof journal === 'boolean', 'a boolean');
  check('fs', fs, typeof fs === 'object' && fs !== null && typeof fs.open === 'function', 'an object with the node:fs/promises functions');
  return new FileStoreImpl(resolve(path), { fs, deadLines, deadRatio: ratio, journal, journalMax });
}

type Settings = { fs: FileStoreFs; deadLines: number; deadRatio: number; journal: boolean; journalMax: number };
/**
 * The journal file: lines waiting for the next flush; the head of the last
 * entry queued (what the next one is sealed after); its size in complete
 * lines, and whether a failed write may have left bytes past it; the last
 * flush's error, said by the next append.
 */
type JournalState = {
  lines: string[];
  head?: JournalHead;
  size: number;
  dirty: boolean;
  flush?: Promise<void>;
  handle?: nodeFs.FileHandle;
  error?: unknown;
  /** The head's meta line while it waits in the write queue: a newer head replaces its text there. */
  headWrite?: Queued;
};
/** A line waiting for the next write. `commit` applies it once it is in the file at `at`, `len` bytes; `waiter` waits for the fsync. */
type Queued = { line: string; commit: (at: number, len: number) => void; waiter?: { resolve(): void; reject(error: unknown): void } };

// At most one writing store per absolute path in this process: a newer one fences the older.
const owners = new Owners<string, FileStoreImpl>();
/**
 * The store of this process that last closed each path: the next store on
 * the path supersedes it (see GuardStore.supersedes), so what its guard
 * still has in hand after close() (a charge's late answer, a `recover` call
 * out) goes to the guard over the new store. Held weakly.
 */
const lastClosed = new Map<string, WeakRef<FileStoreImpl>>();
const MAX_WARNINGS = 20;
/** Compact once the log (which start-up parses) is longer than this many lines and this share of the records. */
const [LOG_LINES, LOG_SHARE] = [2000, 0.1];

class FileStoreImpl implements FileStore {
  readonly path: string;
  readonly #o: Settings;
  #ready: Promise<void> | undefined;
  #lock: FileLock | undefined;
  /** Its lock while fenced: handed back to it if the store that fenced it fails to take the lock (see #resume). */
  #fencedLock: FileLock | undefined;
  #handle: nodeFs.FileHandle | undefined;
  #state: 'open' | 'fenced' | 'closed' = 'open';
  /** The store this one fenced when it opened, held weakly: a chain of hot reloads keeps no old store alive. */
  #supersedes: WeakRef<FileStoreImpl> | undefined;
  #locs = new Locations();
  /** Records put (deleted: null) whose lines are queued: what readers see until they are written. */
  #pending = new Map<string, AttemptRecord | null>();
  #meta = new Map<string, string>();
  /** Bytes of complete lines (the next write goes here); record, delete and meta lines, those of them in the log. */
  #n = { size: 0, lines: 0, log: 0 };
  /** A compaction renamed the new file in but could not fsync the directory: the next durable write must. */
  #directoryUnsynced = false;
  /** A failed write may have left bytes past `#size`: cut them before writing again. */
  #dirtyTail = false;
  #warnings: string[] = [];
  #queue: Queued[] = [];
  /** Lines nobody waits for (deletes, a version mark) whose write failed: they go out first next time. */
  #retry: Queued[] = [];
  #draining: Promise<void> | undefined;
  #compactWanted = false;
  /** After a failed compaction, wait for this many lines before trying again. */
  #compactFloor = 0;
  #journal: JournalState = { lines: [], size: 0, dirty: false };
  /** Whether it appended to the data file or rewrote it: a store that did not can hand the file back (see #handBack). */
  #wrote = false;
  /** Whether a guard loaded from it: one that did not (its start refused, e.g. SECRET_CHANGED) hands the file back on close. */
  #loaded = false;

  constructor(path: string, settings: Settings) {
    this.path = path;
    this.#o = settings;
  }
  async load(scope?: LoadScope): Promise<AttemptRecord[]> {
    await this.#open('load');
    this.#loaded = true;
    while (this.#draining) await this.#draining;
    const unread: [at: number, len: number, id: string][] = [];
    // As `isHot` says, on what the store knows of a record unread.
    for (const loc of this.#locs.values()) {
      if (!scope || loc.flags & HOT || !(loc.upd < scope.since)) unread.push([loc.at, loc.len, loc.id]);
    }
    // One read over the lines wanted (none: from 0 to 0): the newest cold lines and the log are one stretch at the end.
    const to = unread.reduce((end, [at, len]) => Math.max(end, at + len), 0);
    const from = unread.reduce((min, [at]) => Math.min(min, at), to);
    const bytes = await this.#read(from, to);
    return unread.flatMap(([at, len, id]) => {
      const record = decodeRecord(bytes.toString('utf8', at - from, at - from + len));
      if (typeof record !== 'string') return [record];
      this.#warn(`record ${id} at byte ${at} skipped: ${record}`);
      return [];
    });
  }
  async get(id: string): Promise<AttemptRecord | undefined> {
    await this.#open('get');
    const [pending, loc] = [this.#pending.get(id), this.#locs.get(id)];
    if (pending !== undefined || !loc) return pending ?? undefined;
    const record = decodeRecord((await this.#read(loc.at, loc.at + loc.len)).toString('utf8'));
    // A line that is not the record filed there (a damaged file) is never handed back as if it were.
    if (typeof record === 'object' && record.id === id) return record;
    const problem = typeof record === 'string' ? record : 'another record is at its place';
    throw storageError('READ_FAILED', this.path, `record ${id} cannot be read (${problem}): the file was edited or damaged`);
  }
  async byOrder(merchantId: string, orderId: string): Promise<AttemptRecord[]> {
    await this.#open('byOrder');
    // Keys join merchant and order with NUL: what another pair joins to the same key is not this order.
    const onOrder = (record?: AttemptRecord | null): record is AttemptRecord =>
      !!record && staysFiled(record) && record.merchantId === merchantId && record.orderId === orderId;
    const ids = new Set(this.#locs.onOrder(orderKey(merchantId, orderId)));
    for (const [id, record] of this.#pending) {
      if (onOrder(record)) ids.add(id);
      else ids.delete(id);
    }
    return (await Promise.all([...ids].map((id) => this.get(id)))).filter(onOrder);
  }
  async prune(before: number): Promise<number> {
    await this.#open('prune');
    // A record with a newer version on its way is held: that version decides, and is queued for retention once written.
    const due = this.#locs.due(before, (id) => this.#pending.has(id));
    for (const loc of due) this.#remove(loc.id);
    return due.length;
  }
  async getMeta(key: string): Promise<string | undefined> {
    return (await this.#open('getMeta'), this.#meta.get(key));
  }
  async put(record: AttemptRecord): Promise<void> {
    await this.#open('put');
    this.#pending.set(record.id, record);
    const commit = (at: number, len: number) => (this.#locs.put(record, at, len), this.#settled(record.id, record));
    return this.#durable('put', recordLine(record), commit, () => this.#settled(record.id, record));
  }
  async setMeta(key: string, value: string): Promise<void> {
    await this.#open('setMeta');
    return this.#durable('setMeta', metaLine(key, value), () => this.#meta.set(key, value));
  }
  async delete(id: string): Promise<void> {
    await this.#open('delete');
    this.#remove(id);
  }
  async appendJournal(entry: JournalEntry, seal?: JournalSeal): Promise<void> {
    await this.#open('appendJournal');
    const journal = this.#journal;
    const { error } = journal;
    journal.error = undefined;
    if (!this.#o.journal) return;
    // Sealed in call order against the last entry queued: the flushes keep that order.
    const sealed = seal ? seal(entry, journal.head) : entry;
    if (seal) journal.head = headOf(sealed);
    journal.lines.push(JSON.stringify(sealed));
    journal.flush ??= this.#flushJournal();
    // Kept, and written with the next flush: the entries are not lost, and the chain has no gap.
    if (error !== undefined) throw storageError('WRITE_FAILED', this.path, 'appending to the journal', error);
  }
  warnings = (): string[] => [...this.#warnings];
  async compact(): Promise<void> {
    await this.#open('compact');
    this.#compactWanted = true;
    while (this.#kick()) await this.#draining;
  }
  /** The store of this process this one took the file over from, if any (see GuardStore.supersedes). */
  supersedes(): GuardStore | undefined {
    return this.#supersedes?.deref();
  }
  async close(): Promise<void> {
    if (this.#state === 'closed') return;
    // Opened but never loaded from (its guard refused to start: a mistyped secret), having written nothing:
    // the store it fenced takes the file back, as it was, and its till goes on.
    const unused = this.#state === 'open' && !this.#loaded;
    this.#state = 'closed';
    const handedBack = unused && (await this.#ready?.then(this.#handBack, () => false));
    if (handedBack) return this.#closeHandles();
    await this.#release();
    await this.#lock?.release().catch(() => undefined);
    // Never opened (closed before its first call): it superseded nothing, and has nothing to hand on.
    if (this.#ready) lastClosed.set(this.path, new WeakRef(this));
    // Entries its last flush could not write either: said here, as no later append will say it.
    const { lines, error } = this.#journal;
    if (lines.length > 0 && error !== undefined) {
      throw storageError('WRITE_FAILED', this.path, `closing: ${lines.length} journal entries could not be written`, error);
    }
  }
  /** Opens on first use (the factory stays synchronous); callers act in the same tick as the check. */
  async #open(operation: string): Promise<void> {
    // Closed before its first call: it never opens (that would take the file from the store holding it).
    if (!this.#ready && this.#state === 'closed') this.#check(operation);
    await (this.#ready ??= this.#openOnce());
    this.#check(operation);
  }
  #check(operation: string, open = this.#state === 'open'): void {
    const taken = 'another fileStore in this process took this file over; this one no longer reads or writes';
    if (this.#state === 'fenced') throw storageError('TAKEN_OVER', this.path, `${operation}: ${taken}`);
    if (!open) throw storageError('CLOSED', this.path, `${operation}: the store is closed`);
  }
  async #openOnce(): Promise<void> {
    const [fs, path] = [this.#o.fs, this.path];
    const failed = (operation: string) => failing('OPEN_FAILED', path, operation);
    try {
      // What can fail for want of a directory, a permission or a file handle
      // fails before an older store of this process is fenced: it goes on.
      await fs.mkdir(dirname(path), { recursive: true }).catch(failed(`creating its directory ${dirname(path)}`));
      this.#handle = await fs.open(path, 'r+').catch(ignoring(['ENOENT'], failed('opening')));
      if (!this.#handle) {
        this.#handle = await fs.open(path, 'wx+', 0o600).catch(failed('creating'));
        await syncDirectory(fs, path).catch(failed('creating'));
      }
      const previous = owners.take(path, this);
      const before = previous ?? lastClosed.get(path)?.deref();
      this.#supersedes = before && new WeakRef(before);
      if (previous) {
        await previous.#release(true);
        // Taken while it was still opening, which then failed (a reload whose lock could not be written): the store
        // it had fenced, whose till may run on, is the one this one supersedes (and hands the file back to).
        if (previous.#state === 'closed' && !previous.#wrote) this.#supersedes = previous.#supersedes;
        // Its release may have finished a compaction, renaming a new file over the path: the handle
        // opened above would then be the old, unlinked file, and what this store writes would be lost.
        await this.#handle.close().catch(() => undefined);
        this.#handle = await fs.open(path, 'r+').catch(failed('opening'));
      }
      this.#lock = await acquireLock(fs, path);
      const removed = await fs.unlink(`${path}.tmp`).then(() => true, ignoring(['ENOENT'], failed(`removing ${path}.tmp`)));
      if (removed) this.#warn('removed the unfinished rewrite of an interrupted compaction (the file itself was intact)');
      const { size } = await this.#handle.stat().catch(failed('reading its size'));
      const { version, broken } = size > 0 ? await this.#replayFile(size) : { version: FORMAT_VERSION, broken: false };
      // A new file starts with this version's header; an older one gets it appended (synced), so its release refuses it from now on.
      const [old, mark] = [version < FORMAT_VERSION, { line: headerLine(), commit: () => undefined }];
      if (size === 0) await this.#append([mark], true);
      if (old) {
        await this.#append([mark], true).catch((error: unknown) => {
          this.#warn(`could not mark the file as format version ${FORMAT_VERSION}, will try again before the next write`, error);
          this.#retry.unshift(mark);
        });
      }
      // A snapshot cut short must be rewritten before anything is appended
      // after its header, or the next open takes the new lines for cold ones.
      const compacted = (old || broken || this.#shouldCompact()) && (await this.#compact());
      if (broken && !compacted) throw storageError('OPEN_FAILED', path, 'opening: its snapshot is cut short and could not be rewritten');
      if (this.#o.journal) await this.#openJournal();
      // Opened: the closed store is linked from this one now (a chain of reloads reaches it through
      // `supersedes`), so the map keeps one entry per path closed and not reopened.
      lastClosed.delete(path);
    } catch (error) {
      this.#state = 'closed';
      await this.#closeHandles();
      // Failed after the fence (the lock, a read, a full disk) having written nothing: the store it fenced
      // takes the file back, and goes on.
      if (!(await this.#handBack())) {
        owners.release(path, this);
        await this.#lock?.release().catch(() => undefined);
      }
      throw error;
    }
  }
  async #closeHandles(): Promise<void> {
    for (const handle of [this.#handle, this.#journal.handle]) await handle?.close().catch(() => undefined);
    [this.#handle, this.#journal.handle] = [undefined, undefined];
  }
  /**
   * Gives the file back to the store this one fenced, with the lock (this one's, if it took it), if this
   * one wrote nothing to it: the fenced store's view of the file still holds. False if it cannot.
   */
  #handBack = async (): Promise<boolean> => {
    const previous = this.#supersedes?.deref();
    if (!previous || this.#wrote || !owners.holds(this.path, this)) return false;
    if (!(await previous.#resume(this.#lock ?? previous.#fencedLock))) return false;
    this.#lock = undefined;
    owners.release(this.path, this, previous);
    return true;
  };
  /** Reads the header, meta and index lines and the log, never the cold lines (every line without a readable snapshot): the last header's version, and whether the snapshot is broken. */
  async #replayFile(size: number): Promise<{ version: number; broken: boolean }> {
    const n = this.#n;
    let [lineNo, skipped, logAt, version, broken] = [0, 0, 0, 0, false];
    /** Applies the complete lines of `bytes`, the file from offset `base`; returns where the last one ends. */
    const replay = (bytes: Buffer, base: number): number => {
      let at = 0;
      for (let nl = bytes.indexOf(10); nl >= 0; at = nl + 1, nl = bytes.indexOf(10, at)) {
        const line = nl > at ? parseLine(bytes.toString('utf8', at, nl)) : undefined;
        lineNo++;
        if (typeof line === 'string' && ++skipped <= MAX_WARNINGS) this.#warn(`line ${lineNo} skipped: ${line}`);
        if (typeof line !== 'object' || line.op === 'index') continue;
        if (line.op === 'header') version = line.version;
        else if (line.op === 'meta') this.#meta.set(line.key, line.value);
        else if (line.op === 'delete') this.#locs.delete(line.id);
        else this.#locs.put(line.record, base + at, nl - at);
        if (line.op !== 'header') [n.lines, n.log] = [n.lines + 1, n.log + 1];
      }
      return base + at;
    };
    const first = await this.#read(0, Math.min(size, 4096));
    const header = first.indexOf(10) > 0 ? parseLine(first.toString('utf8', 0, first.indexOf(10))) : undefined;
    const snapshot = typeof header === 'object' && header.op === 'header' && header.version <= FORMAT_VERSION ? header.snapshot : undefined;
    if (snapshot) {
      const indexAt = first.indexOf(10) + 1 + snapshot.meta;
      const coldAt = indexAt + snapshot.index;
      const front = coldAt + snapshot.cold <= size ? await this.#read(0, coldAt) : undefined;
      const cold = front && readIndex(front.toString('utf8', indexAt, coldAt - 1), coldAt, snapshot);
      if (front && cold) {
        replay(front.subarray(0, indexAt), 0);
        this.#locs.snapshot(cold);
        [n.lines, n.log, lineNo, logAt] = [n.lines + cold.length, 0, lineNo + 1 + cold.length, coldAt + snapshot.cold];
      } else {
        this.#warn('the snapshot index is unreadable or cut short: every line was read instead, and the file is rewritten');
        broken = true;
      }
    }
    n.size = replay(await this.#read(logAt, size), logAt);
    const newer = `opening: written by a newer release (format version ${version}); upgrade pos-duplicate-guard`;
    if (version > FORMAT_VERSION) throw storageError('UNSUPPORTED_FORMAT', this.path, newer);
    if (skipped > MAX_WARNINGS) this.#warn(`${skipped - MAX_WARNINGS} more lines skipped`);
    if (n.size < size) {
      // A write a crash cut short, never acknowledged: cut it off, or the next line would be glued onto it.
      this.#warn(`torn last line (${size - n.size} bytes after line ${lineNo}, a write cut short by a crash) dropped`);
      await this.#truncateTail();
    }
    return { version, broken };
  }
  /** Bytes `[from, to)` of the file, in one read issued at once (so a compaction cannot move them meanwhile). */
  async #read(from: number, to: number): Promise<Buffer> {
    const [bytes, handle] = [Buffer.allocUnsafe(to - from), this.#opened('reading')];
    const { bytesRead: got } = await handle.read(bytes, 0, bytes.length, from).catch(failing('READ_FAILED', this.path, 'reading'));
    if (got < to - from) throw storageError('READ_FAILED', this.path, `reading bytes ${from} to ${to}: the file ends at ${from + got}`);
    return bytes;
  }
  /** The handle on the file the path names; none once the store is closed or fenced. */
  #opened(operation: string): nodeFs.FileHandle {
    return this.#handle ?? (this.#check(operation, false) as never);
  }
  #warn = (text: string, ...why: [unknown?]) => this.#warnings.push(`${this.path}: ${text}${why.length ? `: ${errorText(why[0])}` : ''}`);
  /** Queues `line`, resolved once it is written and fsynced; if that fails, `abort` undoes what readers saw meanwhile. */
  #durable(operation: string, line: string, commit: Queued['commit'], abort?: () => void): Promise<void> {
    const written = new Promise<void>((resolve, reject) => this.#queue.push({ line, commit, waiter: { resolve, reject } }));
    void this.#kick();
    return written.catch((error: unknown) => {
      abort?.();
      throw error instanceof GuardStorageError ? error : storageError('WRITE_FAILED', this.path, operation, error);
    });
  }
  /** A delete is not synced on its own: it rides along with the next write. */
  #remove(id: string): void {
    this.#pending.set(id, null);
    this.#queue.push({ line: deleteLine(id), commit: () => (this.#locs.delete(id), this.#settled(id, null)) });
    void this.#kick();
  }
  /** The line of `value` is written (or failed): readers go back to the file, unless a later write is queued. */
  #settled(id: string, value: AttemptRecord | null): void {
    if (this.#pending.get(id) === value) this.#pending.delete(id);
  }
  #kick = () => (this.#queue.length > 0 || this.#compactWanted ? (this.#draining ??= this.#drain()) : this.#draining);
  /** Group commit: what queued while the previous write and fsync were on their way goes out in one write and one fsync. */
  async #drain(): Promise<void> {
    try {
      while (this.#queue.length > 0 || this.#compactWanted) {
        const batch = [...this.#retry.splice(0), ...this.#queue.splice(0)];
        const failed = batch.length > 0 ? await this.#append(batch).catch((error: unknown) => ({ error })) : undefined;
        for (const item of batch) {
          if (!failed) item.waiter?.resolve();
          else if (item.waiter) item.waiter.reject(failed.error);
          else this.#retry.push(item);
        }
        if (this.#compactWanted || (!failed && this.#shouldCompact())) await this.#compact();
      }
    } finally {
      // Synchronous with the loop's last check: a write queued after it starts a new drain.
      this.#draining = undefined;
    }
  }
  /** Appends at the end of the complete lines (positional: a failed write is cut off next time), then commits. */
  async #append(batch: readonly Queued[], sync = batch.some((item) => item.waiter)): Promise<void> {
    const handle = this.#opened('writing');
    this.#wrote = true;
    const bytes = Buffer.from(batch.map((item) => `${item.line}\n`).join(''), 'utf8');
    if (this.#dirtyTail) await this.#truncateTail();
    this.#dirtyTail = true;
    for (let written = 0; written < bytes.length;) {
      written += (await handle.write(bytes, written, bytes.length - written, this.#n.size + written)).bytesWritten;
    }
    if (sync) await handle.datasync();
    // The file these lines went into is the one the path names after a power cut only once its rename is durable.
    if (sync && this.#directoryUnsynced) {
      await syncDirectory(this.#o.fs, this.path);
      this.#directoryUnsynced = false;
    }
    this.#dirtyTail = false;
    for (const item of batch) {
      const len = Buffer.byteLength(item.line);
      item.commit(this.#n.size, len);
      this.#n.size += len + 1;
    }
    Object.assign(this.#n, { lines: this.#n.lines + batch.length, log: this.#n.log + batch.length });
  }
  #truncateTail = (): Promise<void> | undefined => this.#handle?.truncate(this.#n.size).then(() => this.#handle?.datasync());
  #shouldCompact(): boolean {
    const { deadLines, deadRatio } = this.#o;
    const dead = this.#n.lines - this.#locs.size - this.#meta.size;
    const wanted = (dead > deadLines && dead > this.#n.lines * deadRatio) || this.#n.log > Math.max(LOG_LINES, this.#locs.size * LOG_SHARE);
    return wanted && this.#n.lines > this.#compactFloor;
  }
  /**
   * Rewrites the file as a snapshot (header, meta, index, cold lines oldest
   * first) and a log of the hot lines, in `<path>.tmp`; fsyncs it, renames it
   * over the file and fsyncs the directory: the path holds the old file or the
   * new one, never part of one. Runs inside the write queue.
   */
  async #compact(): Promise<boolean> {
    const [fs, tmp, locs] = [this.#o.fs, `${this.path}.tmp`, [...this.#locs.values()]];
    this.#compactWanted = false;
    const cold = locs.filter((loc) => !(loc.flags & HOT)).sort((a, b) => a.upd - b.upd);
    const moved = [...cold, ...locs.filter((loc) => loc.flags & HOT)];
    let [out, lines, at]: [nodeFs.FileHandle | undefined, Buffer[], number] = [undefined, [], 0];
    try {
      const old = await this.#read(0, this.#n.size);
      // Each line with its newline, copied as bytes; a version 2 array line is rewritten as a record object.
      lines = moved.map(({ at, len }) => {
        const record = old[at] === 0x5b ? decodeRecord(old.toString('utf8', at, at + len)) : undefined;
        return typeof record === 'object' ? Buffer.from(`${recordLine(record)}\n`) : old.subarray(at, at + len + 1);
      });
      const lens = lines.slice(0, cold.length).map((line) => line.length - 1);
      const [index, metas] = [`${indexLine(cold, lens)}\n`, [...this.#meta].map(([key, value]) => `${metaLine(key, value)}\n`).join('')];
      const coldBytes = lens.reduce((sum, len) => sum + len + 1, 0);
      const snapshot = { meta: Buffer.byteLength(metas), index: Buffer.byteLength(index), cold: coldBytes, coldLines: cold.length };
      const parts = [Buffer.from(`${headerLine(snapshot)}\n${metas}${index}`), ...lines];
      at = (parts[0] as Buffer).length;
      out = await fs.open(tmp, 'w+', 0o600);
      for (let i = 0, end = 0; i < parts.length; i += 1024) end = await writeWhole(out, parts.slice(i, i + 1024), end);
      await out.datasync();
      this.#wrote = true;
      // A rename that landed though it reported a failure (a network share, a wrapped fs retrying it) is a rename.
      await fs.rename(tmp, this.path).catch(async (error: unknown) => {
        if (!(await sameFile(fs, this.path, out as nodeFs.FileHandle))) throw error;
      });
    } catch (error) {
      await out?.close().catch(() => undefined);
      await fs.unlink(tmp).catch(() => undefined);
      // The old file is intact: keep appending to it, and try again once it has doubled.
      this.#compactFloor = this.#n.lines * 2;
      this.#warn('compaction failed, will retry later', error);
      return false;
    }
    // The handle that wrote the new file goes on with it: the path names it now, and no reopen can fail or race.
    // Until the switch below, readers go on with the old handle and offsets: the old file's bytes.
    const old = this.#handle;
    moved.forEach((loc, i) => ([loc.at, loc.len, at] = [at, (lines[i] as Buffer).length - 1, at + (lines[i] as Buffer).length]));
    // The log counts lines appended since: the hot lines copied are not new, and counting them would compact again at once.
    Object.assign(this.#n, { size: at, lines: lines.length + this.#meta.size, log: 0 });
    [this.#handle, this.#dirtyTail, this.#compactFloor] = [out, false, 0];
    // It starts with this version's header: a mark still waiting to be written is moot.
    this.#retry = this.#retry.filter((item) => item.line !== headerLine());
    await old?.close().catch(() => undefined);
    await syncDirectory(fs, this.path).catch((error: unknown) => {
      this.#directoryUnsynced = true;
      this.#warn('after compaction, will sync the directory before the next write', error);
    });
    return true;
  }
  /**
   * Journal lines are an audit trail, not the write-ahead record: appended
   * in batches (what queued during the last flush goes out together),
   * rotated past `journalMaxBytes`. Each batch is fdatasynced, and only then
   * is its head written to the data file's metadata (riding along with the
   * next write there): the head never runs ahead of what is durable in the
   * journal. A batch that fails is kept, and the bytes it may have left are
   * cut off before it is written again.
   */
  async #flushJournal(): Promise<void> {
    const [journal, path, fs] = [this.#journal, `${this.path}.journal`, this.#o.fs];
    while (journal.lines.length > 0) {
      const [lines, head] = [journal.lines.splice(0), journal.head];
      const bytes = Buffer.from(`${lines.join('\n')}\n`, 'utf8');
      try {
        journal.handle ??= await this.#openJournalFile(path);
        if (journal.dirty) await journal.handle.truncate(journal.size);
        if (journal.size > this.#o.journalMax) {
          // The seq of the file's first sealed line, durable before the rename: from then on the journal files must
          // hold this seq on, so an emptied or shortened .journal.1 reads as missing, never as rotated. A file
          // with no sealed line (entries written unsealed): the chain goes on in the new one, from this batch's.
          const batch = lines.map((line) => headOf(JSON.parse(line) as JournalEntry)?.seq).find((seq) => seq !== undefined);
          const from = (await firstSeq(fs, path)) ?? batch ?? (head ? head.seq + 1 : undefined);
          if (from !== undefined) {
            await this.#durable('rotating the journal', metaLine(JOURNAL_FROM, `${from}`), () => this.#meta.set(JOURNAL_FROM, `${from}`));
          }
          await journal.handle.close();
          journal.handle = undefined;
          await fs.rename(path, `${path}.1`);
          journal.handle = await this.#openJournalFile(path);
        }
        journal.dirty = true;
        await journal.handle.appendFile(bytes);
        await journal.handle.datasync();
        [journal.size, journal.dirty] = [journal.size + bytes.length, false];
        if (head) this.#writeHead(head);
      } catch (error) {
        journal.lines.unshift(...lines);
        journal.error = error;
        break;
      }
    }
    journal.flush = undefined;
  }
  /**
   * Opens the journal file for appending, and makes its name durable before
   * any head can point into it: a file's own fdatasync does not cover its
   * directory entry, so a journal just created (the store's first entry, or
   * the one after a rotation) could vanish in a power cut while the data
   * file kept a head in it. Every open syncs the directory (once per open or
   * rotation); a handle whose directory sync failed is not kept, so the next
   * flush tries again before it writes.
   */
  async #openJournalFile(path: string): Promise<nodeFs.FileHandle> {
    const [journal, fs] = [this.#journal, this.#o.fs];
    const handle = await fs.open(path, 'a', 0o600);
    try {
      const { size } = await handle.stat();
      await syncDirectory(fs, path);
      [journal.size, journal.dirty] = [size, false];
      return handle;
    } catch (error) {
      await handle.close().catch(() => undefined);
      throw error;
    }
  }
  /** Queues the journal's head for the data file's metadata: with the next write, not fsynced on its own (a head may lag; see `#openJournal`). */
  #writeHead(head: JournalHead, kick = true): void {
    const [journal, text] = [this.#journal, headText(head)];
    const write: Queued = { line: metaLine(JOURNAL_HEAD, text), commit: () => this.#meta.set(JOURNAL_HEAD, text) };
    // One head line per write at most: a newer head takes the place of one still waiting.
    const waiting = journal.headWrite ? this.#queue.indexOf(journal.headWrite) : -1;
    journal.headWrite = write;
    if (waiting >= 0) return void (this.#queue[waiting] = write);
    this.#queue.push(write);
    if (kick) void this.#kick();
  }
  /**
   * At open: where the chain goes on. The journal on disk is the truth: a
   * torn last line (a crash mid-write, never part of a head) is cut off, and
   * a head that lags its last line is caught up. A journal that ends before
   * the head was cut: the chain goes on after the head, so the cut stays
   * visible (as a gap) instead of being written over.
   */
  async #openJournal(): Promise<void> {
    const [journal, stored] = [this.#journal, parseJournalHead(this.#meta.get(JOURNAL_HEAD))];
    journal.head = stored;
    const tail = await journalTail(this.#o.fs, this.path).catch(
      (error: unknown) => void this.#warn('journal: could not read its end', error),
    );
    if (!tail) return;
    if (tail.torn > 0) {
      journal.handle = await this.#openJournalFile(`${this.path}.journal`);
      await journal.handle.truncate((journal.size = tail.size));
      await journal.handle.datasync();
      this.#warn(`journal: torn last line (${tail.torn} bytes, a write cut short by a crash) dropped`);
    }
    if (tail.head && (!stored || tail.head.seq > stored.seq)) {
      journal.head = tail.head;
      // Goes out with the first write (a compaction may be running in this open).
      this.#writeHead(tail.head, false);
    } else if (stored && (tail.head?.seq ?? 0) < stored.seq) {
      this.#warn(`journal: ends at seq ${tail.head?.seq ?? 0}, before its head (seq ${stored.seq}): entries were cut off`);
    }
  }
  /** The store that fenced this one hands the file back (see #handBack): this one opens it again and goes on, holding `lock`. */
  async #resume(lock: FileLock | undefined): Promise<boolean> {
    if (this.#state !== 'fenced' || !lock) return false;
    const handle = await this.#o.fs.open(this.path, 'r+').catch(() => undefined);
    if (!handle) return false;
    [this.#handle, this.#lock, this.#fencedLock, this.#state] = [handle, lock, undefined, 'open'];
    return true;
  }
  /** Writes what is queued (deletes that failed once get one last try), flushes the journal, closes the files; `fence`: another store of this process takes the file, so this one stops. */
  async #release(fence = false): Promise<void> {
    await this.#ready?.catch(() => undefined);
    // A fenced store's lock is its successor's now: closing it must not release that.
    if (fence && this.#state === 'open') [this.#state, this.#fencedLock, this.#lock] = ['fenced', this.#lock, undefined];
    // The journal first: its last batch queues the head that the data file's last write takes.
    if (this.#journal.lines.length > 0) this.#journal.flush ??= this.#flushJournal();
    while (this.#journal.flush) await this.#journal.flush;
    this.#queue.unshift(...this.#retry.splice(0));
    while (this.#kick()) await this.#draining;
    await this.#journal.handle?.close().catch(() => undefined);
    await this.#handle?.close().catch(() => undefined);
    [this.#journal.handle, this.#handle] = [undefined, undefined];
    owners.release(this.path, this);
  }
}
