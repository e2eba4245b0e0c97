import { randomBytes } from 'node:crypto';
import { readFile, readlink, realpath } from 'node:fs/promises';
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { GuardStorageError } from '../../errors.js';
import { Owners } from '../../ownership.js';
import { errno, failing, ignoring, storageError, type FileStoreFs } from './io.js';

/**
 * What `<path>.lock` holds: who owns the file. A pid alone does not say which
 * process it is (two containers on one volume are both pid 1 on one kernel),
 * so beside it: the host name, and on Linux the boot id, the pid namespace
 * and the process's start time (ticks since boot). Locks written by older
 * releases may lack all but pid and token. See docs/file-store.md, "One owner per file".
 */
export interface LockHolder {
  pid: number;
  /** Epoch ms when the lock was taken. */
  startedAt: number;
  bootId?: string;
  host?: string;
  pidns?: string;
  procStart?: string;
  /** Tells two owners in one process apart, so a release never removes a successor's lock. */
  token: string;
}

/** `release()` removes the lock file, unless another owner has taken it over since. */
export type FileLock = { release(): Promise<void> };

const linux = process.platform === 'linux' || process.platform === 'android';
/** The token of each lock this process holds, by lock path: a lock with this pid is ours only if its token is here. */
const held = new Owners<string, string>();
// A lock file is created empty and then written: give its writer this long before calling it stale.
const UNREADABLE_GRACE_MS = 200;
const ATTEMPTS = 5;
/** Whether a process with this pid exists (EPERM: under another user). */
const isAlive = (pid: number): boolean => {
  try {
    return process.kill(pid, 0);
  } catch (error) {
    return errno(error) === 'EPERM';
  }
};
const quietly = async <T>(read: () => Promise<T> | T): Promise<T | undefined> => (async () => read())().catch(() => undefined);

/**
 * Takes `<path>.lock` (created `O_EXCL`). A lock this process holds (another
 * fileStore on the path, fenced by the caller) or a provably stale one
 * (this host, and from before the last reboot, or from a process gone from
 * its own pid namespace) is taken over; anything else is another process,
 * alive or not provably dead: `GuardStorageError` code `LOCKED`, naming it
 * and how to clear it by hand. A stale lock is re-read and removed only if
 * unchanged; POSIX has no compare-and-swap for the rest.
 */
export async function acquireLock(fs: FileStoreFs, dataPath: string): Promise<FileLock> {
  // Next to the file itself, whatever names it: one file reached through a symlink is one lock (the second
  // name is refused LOCKED). This process tells its own holders apart by the name given (`held`).
  const key = `${dataPath}.lock`;
  const path = `${await realpath(dataPath).catch(() => dataPath)}.lock`;
  const [bootId, pidns, stat] = linux
    ? await Promise.all([
        quietly(async () => (await fs.readFile('/proc/sys/kernel/random/boot_id', 'utf8')).trim()),
        quietly(() => readlink('/proc/self/ns/pid')),
        quietly(() => readFile('/proc/self/stat', 'utf8')),
      ])
    : [];
  // Field 22 of /proc/self/stat; the name in field 2 may hold spaces and parentheses.
  const procStart = stat?.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  const host = (await quietly(hostname)) || undefined;
  const mine: LockHolder = { pid: process.pid, startedAt: Date.now(), token: randomBytes(9).toString('base64url') };
  Object.assign(mine, bootId && { bootId }, host && { host }, pidns && { pidns }, procStart && /^\d+$/.test(procStart) && { procStart });
  const content = `${JSON.stringify(mine)}\n`;
  const release = async () => {
    held.release(key, mine.token);
    const holder = await readHolder(fs, path);
    if (typeof holder === 'object' && holder.token === mine.token) await fs.unlink(path).catch(() => undefined);
  };
  // Taken from another fileStore of this process (fenced by the caller): its token goes with it.
  const take = (): FileLock => (held.take(key, mine.token), { release });
  const creating = failing('LOCK_FAILED', dataPath, `creating the lock ${path}`);
  const takingOver = failing('LOCK_FAILED', dataPath, `taking over the lock ${path}`);
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    const created = await fs.writeFile(path, content, { flag: 'wx', mode: 0o600 }).then(() => true, ignoring(['EEXIST'], creating));
    if (created) return take();
    let holder = await readHolder(fs, path);
    if (holder === 'unreadable') holder = await sleep(UNREADABLE_GRACE_MS).then(() => readHolder(fs, path));
    if (holder === 'gone') continue;
    const ours = holder !== 'unreadable' && held.holds(key, holder.token);
    if (ours) return fs.writeFile(path, content, { mode: 0o600 }).then(take, takingOver);
    const by = holder === 'unreadable' ? undefined : heldBy(holder, mine, path);
    if (by !== undefined) throw new GuardStorageError('LOCKED', `file store ${dataPath}: cannot open it: it is held by ${by}.`);
    // Stale: its owner died without closing. Remove it only if nobody replaced it meanwhile.
    const now = await readHolder(fs, path);
    if (now === 'gone' || (typeof now === 'object' ? now.token !== (holder as LockHolder).token : holder !== 'unreadable')) continue;
    await fs.unlink(path).catch(ignoring(['ENOENT'], failing('LOCK_FAILED', dataPath, `removing the stale lock ${path}`)));
  }
  throw storageError(
    'LOCK_FAILED',
    dataPath,
    `cannot take the lock ${path}: other processes kept taking it; close the other guards on this file and try again`,
  );
}

/** Who holds a lock that is not this process's, seen from `me`, described for the LOCKED message; undefined if provably nobody (stale). */
function heldBy(holder: LockHolder, me: LockHolder, path: string): string | undefined {
  const since = `since ${new Date(holder.startedAt).toISOString()}`;
  const only = 'only one process may own a guard file';
  if (holder.host !== undefined && me.host !== undefined && holder.host !== me.host) {
    // Another machine, or another container on this kernel: its pids are not ours to probe.
    return `process ${holder.pid} on host "${holder.host}" (${since}), which this host ("${me.host}") cannot see: another container or machine sharing this volume; ${only}. Close the guard there; if nothing on "${holder.host}" uses this file any more (its container was removed), delete ${path} by hand`;
  }
  if (holder.bootId !== undefined && me.bootId !== undefined && holder.bootId !== me.bootId) return undefined;
  if (holder.pidns !== undefined && me.pidns !== undefined && holder.pidns !== me.pidns) {
    return `process ${holder.pid} in another container on this host (pid namespace ${holder.pidns}, ${since}), whose processes this one cannot see; ${only}. Close the guard there; if that container is gone, delete ${path} by hand`;
  }
  if (holder.pid === process.pid) {
    // Our pid in our pid namespace: an earlier process that had it (gone), or this very process through another copy of this module.
    if (holder.pidns !== undefined && holder.pidns === me.pidns && holder.procStart !== undefined && me.procStart !== undefined) {
      if (holder.procStart !== me.procStart) return undefined;
      return `process ${holder.pid}, this very process (${since}), through another copy of this library or another worker thread, whose store this one cannot fence; only one store may own a guard file at a time. Close that store first`;
    }
    // Without that proof it may be another container with the same pid (pid 1 in both).
    return `process ${holder.pid} (${since}), which has this process's pid but is not this process: another container sharing this volume, or this one before a restart; ${only}. Close the guard there; if no other process uses this file, delete ${path} by hand`;
  }
  if (!isAlive(holder.pid)) return undefined;
  return `process ${holder.pid} (${since}); ${only}. Close the guard in that process (if process ${holder.pid} is not a guard at all, its pid was reused: delete ${path} by hand)`;
}

async function readHolder(fs: FileStoreFs, path: string): Promise<LockHolder | 'unreadable' | 'gone'> {
  const text = await fs.readFile(path, 'utf8').catch((error: unknown) => (errno(error) === 'ENOENT' ? 'gone' : 'unreadable'));
  const value = text === 'gone' ? text : await quietly(() => JSON.parse(text) as Partial<LockHolder> | null);
  if (value === 'gone') return value;
  if (!value || !Number.isSafeInteger(value.pid) || typeof value.token !== 'string') return 'unreadable';
  const holder: LockHolder = { pid: value.pid as number, startedAt: Number(value.startedAt) || 0, token: value.token };
  for (const key of ['bootId', 'host', 'pidns', 'procStart'] as const) if (typeof value[key] === 'string') holder[key] = value[key];
  return holder;
}
