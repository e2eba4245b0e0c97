import type * as fsPromises from 'node:fs/promises';
import { dirname } from 'node:path';
import { GuardStorageError, errorText, type GuardStorageErrorCode } from '../../errors.js';

/** The part of `node:fs/promises` a file store uses: injectable, so tests can make the disk fail (ENOSPC, EIO), and a wrapped Electron fs can stand in. */
export type FileStoreFs = Pick<typeof fsPromises, 'open' | 'readFile' | 'writeFile' | 'rename' | 'unlink' | 'mkdir'>;

export const errno = (error: unknown): string | undefined =>
  ((code) => (typeof code === 'string' ? code : undefined))((error as { code?: unknown } | null)?.code);

/** A storage error that names the file and the operation, and keeps the fs error as `cause`. */
export function storageError(code: GuardStorageErrorCode, path: string, operation: string, cause?: unknown): GuardStorageError {
  return new GuardStorageError(
    code,
    `file store ${path}: ${operation} failed${cause === undefined ? '' : `: ${errorText(cause)}`}`,
    cause === undefined ? {} : { cause },
  );
}

/** Rejects with {@link storageError}: for `.catch` on an fs call. */
export const failing =
  (code: GuardStorageErrorCode, path: string, operation: string) =>
  (error: unknown): Promise<never> =>
    Promise.reject(storageError(code, path, operation, error));

/**
 * Makes a created or renamed directory entry durable: a file's own fsync
 * does not cover its name. Windows cannot open a directory; there NTFS
 * journals the rename itself.
 */
export async function syncDirectory(fs: FileStoreFs, path: string): Promise<void> {
  const handle = await fs
    .open(dirname(path), 'r')
    .catch((error: unknown) => (['EISDIR', 'EPERM', 'EACCES'].includes(errno(error) ?? '') ? undefined : Promise.reject(error)));
  try {
    await handle?.sync().catch((error: unknown) => (errno(error) === 'EINVAL' ? undefined : Promise.reject(error)));
  } finally {
    await handle?.close().catch(() => undefined);
  }
}
