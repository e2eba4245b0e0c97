import type * as fsPromises from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import { GuardStorageError, errorText, type GuardStorageErrorCode } from '../../errors.js';

/** The part of `node:fs/promises` a file store uses: injectable, so tests can make the disk fail (ENOSPC, EIO), and a wrapped Electron fs can stand in. */
export type FileStoreFs = Pick<typeof fsPromises, 'open' | 'readFile' | 'writeFile' | 'rename' | 'unlink' | 'mkdir'>;

export const errno = (error: unknown): unknown => (error as { code?: unknown } | null)?.code;

/**
 * A storage error that names the file and the operation, and keeps the fs
 * error as `cause`: "file store P: opening failed: EACCES…". Without a
 * cause, `operation` is the whole statement ("taking the lock L: it kept
 * changing hands"), so it gets no trailing "failed".
 */
export const storageError = (code: GuardStorageErrorCode, path: string, operation: string, cause?: unknown): GuardStorageError =>
  new GuardStorageError(code, `file store ${path}: ${operation}${cause === undefined ? '' : ` failed: ${errorText(cause)}`}`, { cause });

/** For `.catch` on an fs call: an error with one of `codes` is expected and resolves undefined; any other goes to `other`. */
export function ignoring(codes: string[], other = (error: unknown): Promise<never> => Promise.reject(error)) {
  return async (error: unknown): Promise<undefined> => (codes.includes(errno(error) as string) ? undefined : other(error));
}

/** Rejects with {@link storageError}: for `.catch` on an fs call. */
export function failing(code: GuardStorageErrorCode, path: string, operation: string) {
  return (error: unknown): Promise<never> => Promise.reject(storageError(code, path, operation, error));
}

/**
 * Makes a created or renamed directory entry durable: a file's own fsync
 * does not cover its name. Windows cannot open a directory; there NTFS
 * journals the rename itself.
 */
export async function syncDirectory(fs: FileStoreFs, path: string): Promise<void> {
  const handle = await fs.open(dirname(path), 'r').catch(ignoring(['EISDIR', 'EPERM', 'EACCES']));
  try {
    await handle?.sync().catch(ignoring(['EINVAL']));
  } finally {
    await handle?.close().catch(() => undefined);
  }
}

/**
 * Writes `buffers` whole at `position`, returning where they end. A disk that
 * fills answers a write with the bytes that fit and no error (writev does not
 * loop): the rest is written again until it fits or the disk says ENOSPC.
 */
export async function writeWhole(handle: FileHandle, buffers: readonly Buffer[], position: number): Promise<number> {
  const total = buffers.reduce((sum, buffer) => sum + buffer.length, 0);
  let written = (await handle.writev(buffers as Buffer[], position)).bytesWritten;
  if (written === total) return position + total;
  const rest = Buffer.concat(buffers);
  while (written < total) {
    const { bytesWritten } = await handle.write(rest, written, total - written, position + written);
    if (bytesWritten === 0) throw Object.assign(new Error('no space left on device: a write took no bytes'), { code: 'ENOSPC' });
    written += bytesWritten;
  }
  return position + total;
}

/** Whether `path` names the file open as `handle` (same device and inode). */
export async function sameFile(fs: FileStoreFs, path: string, handle: FileHandle): Promise<boolean> {
  const named = await fs.open(path, 'r').catch(() => undefined);
  if (!named) return false;
  try {
    const [a, b] = await Promise.all([named.stat(), handle.stat()]);
    return a.dev === b.dev && a.ino === b.ino;
  } catch {
    return false;
  } finally {
    await named.close().catch(() => undefined);
  }
}
