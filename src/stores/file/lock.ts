import { randomBytes } from 'node:crypto';
import { readFile, readlink } from 'node:fs/promises';
import { hostname } from 'node:os';
import { GuardStorageError } from '../../errors.js';
import { errno, storageError, type FileStoreFs } from './io.js';

/** What `<path>.lock` holds: who owns the file, so a refusal can name them. */
export interface LockHolder {
  pid: number;
  /** Epoch ms when the lock was taken. */
  startedAt: number;
  /** Linux boot id: a pid from before a reboot says nothing about the process that has it now. */
  bootId?: string;
  /**
   * `os.hostname()`. Containers sharing a volume share a kernel (one boot id)
   * but each has its own host name and its own pids: a pid means something
   * only on the host that wrote it. Absent in locks older releases wrote.
   */
  host?: string;
  /**
   * Linux pid namespace (`/proc/self/ns/pid`, e.g. `pid:[4026531836]`):
   * `kill(pid, 0)` here reaches the holder only inside the same one. Tells
   * containers apart that share a host name (host networking).
   */
  pidns?: string;
  /**
   * Linux: when the holder process started, in clock ticks since boot
   * (`/proc/self/stat` field 22; no wall clock involved). With the boot id
   * and pid namespace it tells an earlier process that had this pid (gone)
   * from this very process seen through another copy of this module or
   * another worker thread (alive, and not fenced by this one).
   */
  procStart?: string;
  /** Tells two owners in one process (same pid) apart, so a release never removes a successor's lock. */
  token: string;
}

export interface FileLock {
  readonly path: string;
  /** Removes the lock file, unless another owner has taken it over since. */
  release(): Promise<void>;
}

const BOOT_ID_PATH = '/proc/sys/kernel/random/boot_id';
const PID_NS_PATH = '/proc/self/ns/pid';
const STAT_PATH = '/proc/self/stat';

/**
 * The tokens of the locks this process holds now: a lock file with this
 * process's pid is this process's only if its token is here. Module-level,
 * like the file store's own registry of owners that fences a store taken
 * over; a second copy of this module (a bundle that inlines it twice) cannot
 * fence this one's store, and rightly sees its lock as another process's.
 */
const held = new Set<string>();
// A lock file is created empty and then written; give its writer this long
// before calling an empty or unreadable lock stale.
const UNREADABLE_GRACE_MS = 200;
const ATTEMPTS = 5;

/**
 * Takes `<path>.lock` for this process. One process owns a file at a time:
 *
 * - no lock, or a lock provably stale: taken, as after a crash. Provably
 *   stale means written on this host (or by a release that did not record
 *   hosts) and either before the last reboot, or by a process that is gone:
 *   `kill(pid, 0)` answers ESRCH in the holder's own pid namespace, or the
 *   pid is this process's own there and the holder started at another time
 *   (an earlier process that had this pid);
 * - a lock this process holds (its token is in `held`: another `fileStore`
 *   on the same path, already fenced by the caller): taken over, as after a
 *   crash (SPEC §6);
 * - anything else is another process, alive or not provably dead:
 *   `GuardStorageError` code `LOCKED`, naming it and how to clear it by hand.
 *   That includes a lock with this process's pid that it does not hold (two
 *   containers on a shared volume, both pid 1 on one kernel), one from
 *   another host (its processes cannot be seen from here, whatever its boot
 *   id), and one from another pid namespace on this host.
 *
 * Creation is `O_EXCL`, so two processes never both create it. Replacing a
 * stale lock re-reads it first and removes it only if unchanged; two
 * processes that find the same stale lock in the same microseconds could in
 * theory both proceed, which POSIX offers no compare-and-swap to prevent.
 */
export async function acquireLock(fs: FileStoreFs, dataPath: string): Promise<FileLock> {
  const path = `${dataPath}.lock`;
  const mine: LockHolder = { pid: process.pid, startedAt: Date.now(), token: randomBytes(9).toString('base64url') };
  const [bootId, pidns, procStart] = await Promise.all([readBootId(fs), readPidNamespace(), readProcessStart()]);
  if (bootId !== undefined) mine.bootId = bootId;
  const host = readHostname();
  if (host !== undefined) mine.host = host;
  if (pidns !== undefined) mine.pidns = pidns;
  if (procStart !== undefined) mine.procStart = procStart;
  const content = `${JSON.stringify(mine)}\n`;

  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    try {
      await fs.writeFile(path, content, { flag: 'wx', mode: 0o600 });
      held.add(mine.token);
      return lockHandle(fs, path, mine.token);
    } catch (error) {
      if (errno(error) !== 'EEXIST') throw storageError('LOCK_FAILED', dataPath, `creating the lock ${path}`, error);
    }
    const seen = await readHolder(fs, path);
    if (seen === 'gone') continue;
    let holder = seen;
    if (holder === 'unreadable') {
      await delay(UNREADABLE_GRACE_MS);
      const again = await readHolder(fs, path);
      if (again === 'gone') continue;
      holder = again;
    }
    const verdict = holder === 'unreadable' ? 'stale' : judge(holder, mine, path);
    if (verdict === 'ours') {
      // Another fileStore of this process owned it: the caller fenced that one.
      await writeLock(fs, dataPath, path, content);
      held.delete((holder as LockHolder).token);
      held.add(mine.token);
      return lockHandle(fs, path, mine.token);
    }
    // Built here, not by storageError: its "<operation> failed" would trail the advice.
    if (verdict !== 'stale') throw new GuardStorageError('LOCKED', `file store ${dataPath}: cannot open it: it is held by ${verdict}.`);
    // Stale: its owner died without closing. Remove it only if nobody replaced it meanwhile.
    const before = await fs.readFile(path, 'utf8').catch(() => undefined);
    const expected = holder === 'unreadable' ? undefined : holder.token;
    const now = before === undefined ? undefined : parseHolder(before);
    if (now === 'unreadable' ? expected !== undefined : now !== undefined && now.token !== expected) continue;
    await fs.unlink(path).catch((error: unknown) => {
      if (errno(error) !== 'ENOENT') throw storageError('LOCK_FAILED', dataPath, `removing the stale lock ${path}`, error);
    });
  }
  throw storageError('LOCK_FAILED', dataPath, `taking the lock ${path}: it kept changing hands`);
}

/**
 * Whose `holder` is, seen from `me`: this process's (`'ours'`), nobody's
 * (`'stale'`), or someone's, described for the LOCKED message.
 */
function judge(holder: LockHolder, me: LockHolder, path: string): 'ours' | 'stale' | string {
  if (held.has(holder.token)) return 'ours';
  const since = `since ${new Date(holder.startedAt).toISOString()}`;
  const only = 'only one process may own a guard file';
  if (holder.host !== undefined && me.host !== undefined && holder.host !== me.host) {
    // Another machine, or another container on this kernel (the same boot id
    // then): its pids are not ours to probe, so nothing proves it dead.
    return `process ${holder.pid} on host "${holder.host}" (${since}), which this host ("${me.host}") cannot see: another container or machine sharing this volume; ${only}. Close the guard there; if nothing on "${holder.host}" uses this file any more (its container was removed), delete ${path} by hand`;
  }
  if (!sameBoot(holder, me.bootId)) return 'stale';
  if (holder.pidns !== undefined && me.pidns !== undefined && holder.pidns !== me.pidns) {
    return `process ${holder.pid} in another container on this host (pid namespace ${holder.pidns}, ${since}), whose processes this one cannot see; ${only}. Close the guard there; if that container is gone, delete ${path} by hand`;
  }
  if (holder.pid === process.pid) {
    if (holder.pidns !== undefined && holder.pidns === me.pidns && holder.procStart !== undefined && me.procStart !== undefined) {
      // Our pid in our pid namespace: an earlier process that had it (gone),
      // or this very process through a lock registry this module cannot see.
      if (holder.procStart !== me.procStart) return 'stale';
      return `process ${holder.pid}, this very process (${since}), through another copy of this library or another worker thread, whose store this one cannot fence; only one store may own a guard file at a time. Close that store first`;
    }
    // Without that proof it may be another container with the same pid (pid 1 in both).
    return `process ${holder.pid} (${since}), which has this process's pid but is not this process: another container sharing this volume, or this one before a restart; ${only}. Close the guard there; if no other process uses this file, delete ${path} by hand`;
  }
  if (!isAlive(holder.pid)) return 'stale';
  return `process ${holder.pid} (${since}); ${only}. Close the guard in that process (if process ${holder.pid} is not a guard at all, its pid was reused: delete ${path} by hand)`;
}

function lockHandle(fs: FileStoreFs, path: string, token: string): FileLock {
  return {
    path,
    async release() {
      // Not ours any more, whether we remove the file or a successor took it over.
      held.delete(token);
      const holder = await readHolder(fs, path);
      if (typeof holder === 'object' && holder.token === token) await fs.unlink(path).catch(() => undefined);
    },
  };
}

async function writeLock(fs: FileStoreFs, dataPath: string, path: string, content: string): Promise<void> {
  try {
    await fs.writeFile(path, content, { mode: 0o600 });
  } catch (error) {
    throw storageError('LOCK_FAILED', dataPath, `taking over the lock ${path}`, error);
  }
}

async function readHolder(fs: FileStoreFs, path: string): Promise<LockHolder | 'unreadable' | 'gone'> {
  try {
    return parseHolder(await fs.readFile(path, 'utf8'));
  } catch (error) {
    return errno(error) === 'ENOENT' ? 'gone' : 'unreadable';
  }
}

function parseHolder(text: string): LockHolder | 'unreadable' {
  try {
    const value = JSON.parse(text) as Partial<LockHolder> | null;
    if (value && Number.isSafeInteger(value.pid) && typeof value.token === 'string') {
      return {
        pid: value.pid as number,
        startedAt: Number(value.startedAt) || 0,
        token: value.token,
        ...(typeof value.bootId === 'string' ? { bootId: value.bootId } : {}),
        ...(typeof value.host === 'string' ? { host: value.host } : {}),
        ...(typeof value.pidns === 'string' ? { pidns: value.pidns } : {}),
        ...(typeof value.procStart === 'string' ? { procStart: value.procStart } : {}),
      };
    }
  } catch {
    // fall through: a half-written or foreign file
  }
  return 'unreadable';
}

/** Whether a process with this pid exists. EPERM: it exists but belongs to another user. */
function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return errno(error) === 'EPERM';
  }
}

function sameBoot(holder: LockHolder, bootId: string | undefined): boolean {
  return holder.bootId === undefined || bootId === undefined || holder.bootId === bootId;
}

async function readBootId(fs: FileStoreFs): Promise<string | undefined> {
  if (process.platform !== 'linux' && process.platform !== 'android') return undefined;
  try {
    return (await fs.readFile(BOOT_ID_PATH, 'utf8')).trim() || undefined;
  } catch {
    return undefined;
  }
}

/** `os.hostname()`, or `undefined` where it fails or is empty: then hosts are not compared. */
function readHostname(): string | undefined {
  try {
    return hostname() || undefined;
  } catch {
    return undefined;
  }
}

/**
 * This process's pid namespace. Like its start time below, a property of
 * the process, not of the store's disk: read from the real /proc, not
 * through the injected fs.
 */
async function readPidNamespace(): Promise<string | undefined> {
  if (process.platform !== 'linux' && process.platform !== 'android') return undefined;
  try {
    return (await readlink(PID_NS_PATH)) || undefined;
  } catch {
    return undefined;
  }
}

/** Field 22 of /proc/self/stat (start time, ticks since boot); the name in field 2 may hold spaces and parentheses. */
async function readProcessStart(): Promise<string | undefined> {
  if (process.platform !== 'linux' && process.platform !== 'android') return undefined;
  try {
    const stat = await readFile(STAT_PATH, 'utf8');
    const start = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
    return start !== undefined && /^\d+$/.test(start) ? start : undefined;
  } catch {
    return undefined;
  }
}

const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
