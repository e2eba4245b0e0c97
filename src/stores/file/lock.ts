import { randomBytes } from 'node:crypto';
import { errno, storageError, type FileStoreFs } from './io.js';

/** What `<path>.lock` holds: who owns the file, so a refusal can name them. */
export interface LockHolder {
  pid: number;
  /** Epoch ms when the lock was taken. */
  startedAt: number;
  /** Linux boot id: a pid from before a reboot says nothing about the process that has it now. */
  bootId?: string;
  /** Tells two owners in one process (same pid) apart, so a release never removes a successor's lock. */
  token: string;
}

export interface FileLock {
  readonly path: string;
  /** Removes the lock file, unless another owner has taken it over since. */
  release(): Promise<void>;
}

const BOOT_ID_PATH = '/proc/sys/kernel/random/boot_id';
// A lock file is created empty and then written; give its writer this long
// before calling an empty or unreadable lock stale.
const UNREADABLE_GRACE_MS = 200;
const ATTEMPTS = 5;

/**
 * Takes `<path>.lock` for this process. One process owns a file at a time:
 *
 * - no lock, or a lock whose process is gone (`kill(pid, 0)` answers ESRCH,
 *   or it was taken before the last reboot): taken, as after a crash;
 * - a lock held by this very process (another `fileStore` on the same path,
 *   already fenced by the caller): taken over, as after a crash (SPEC §6);
 * - a lock held by another live process: `GuardStorageError` code `LOCKED`
 *   naming its pid.
 *
 * Creation is `O_EXCL`, so two processes never both create it. Replacing a
 * stale lock re-reads it first and removes it only if unchanged; two
 * processes that find the same stale lock in the same microseconds could in
 * theory both proceed, which POSIX offers no compare-and-swap to prevent.
 */
export async function acquireLock(fs: FileStoreFs, dataPath: string): Promise<FileLock> {
  const path = `${dataPath}.lock`;
  const mine: LockHolder = { pid: process.pid, startedAt: Date.now(), token: randomBytes(9).toString('base64url') };
  const bootId = await readBootId(fs);
  if (bootId !== undefined) mine.bootId = bootId;
  const content = `${JSON.stringify(mine)}\n`;

  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    try {
      await fs.writeFile(path, content, { flag: 'wx', mode: 0o600 });
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
    if (holder !== 'unreadable' && holder.pid === process.pid && sameBoot(holder, bootId)) {
      // Another fileStore of this process owned it: the caller fenced that one.
      await writeLock(fs, dataPath, path, content);
      return lockHandle(fs, path, mine.token);
    }
    if (holder !== 'unreadable' && sameBoot(holder, bootId) && isAlive(holder.pid)) {
      throw storageError(
        'LOCKED',
        dataPath,
        `opening: it is held by process ${holder.pid} (since ${new Date(holder.startedAt).toISOString()}); only one process may own a guard file. Close the guard in that process (if process ${holder.pid} is not a guard at all, its pid was reused: delete ${path} by hand)`,
      );
    }
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

function lockHandle(fs: FileStoreFs, path: string, token: string): FileLock {
  return {
    path,
    async release() {
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
      return { pid: value.pid as number, startedAt: Number(value.startedAt) || 0, token: value.token, ...(typeof value.bootId === 'string' ? { bootId: value.bootId } : {}) };
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

const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
