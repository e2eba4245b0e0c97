import type * as fsPromises from 'node:fs/promises';
import { dirname } from 'node:path';
import { GuardStorageError, errorText } from '../../errors.js';

/**
 * The part of `node:fs/promises` a file store uses. Injectable so tests can
 * make the disk fail (ENOSPC, EIO) at a chosen moment, and so unusual
 * platforms (a wrapped Electron fs) can supply their own.
 */
export type FileStoreFs = Pick<typeof fsPromises, 'open' | 'readFile' | 'writeFile' | 'rename' | 'unlink' | 'mkdir'>;

/** `ENOSPC`, `EACCES`… of a Node fs error, if it has one. */
export function errno(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** A storage error that names the file and the operation, and keeps the fs error as `cause`. */
export function storageError(code: string, path: string, operation: string, cause?: unknown): GuardStorageError {
  const why = cause === undefined ? '' : `: ${errorText(cause)}`;
  return new GuardStorageError(code, `file store ${path}: ${operation} failed${why}`, cause === undefined ? {} : { cause });
}

/**
 * Makes a created, renamed or removed directory entry durable. A file's own
 * fsync does not cover its name: after a power loss the rename of a
 * compaction (or the creation of the file) could be undone without this.
 * Windows cannot open a directory; there NTFS journals the rename itself.
 */
export async function syncDirectory(fs: FileStoreFs, path: string): Promise<void> {
  let handle: fsPromises.FileHandle | undefined;
  try {
    handle = await fs.open(dirname(path), 'r');
    await handle.sync();
  } catch (error) {
    const code = errno(error);
    if (code !== 'EISDIR' && code !== 'EPERM' && code !== 'EACCES' && code !== 'EINVAL') throw error;
  } finally {
    await handle?.close().catch(() => undefined);
  }
}
