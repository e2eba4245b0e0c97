import { GuardStorageError, errorText } from '../../errors.js';

/**
 * Turns whatever IndexedDB threw into a `GuardStorageError` a till operator
 * can act on: the message names the database, the operation and the
 * original error, which is also the `cause`. The guard then applies
 * `onStorageError` (SPEC §3 `STORAGE_UNAVAILABLE`). `code` is given for a
 * failure to open (no IndexedDB here, a sandboxed frame, a private mode that
 * refuses storage); otherwise it is read off the error.
 */
export function toStorageError(error: unknown, operation: string, dbName: string, code?: 'UNAVAILABLE'): GuardStorageError {
  if (error instanceof GuardStorageError) return error;
  const name = nameOf(error);
  return new GuardStorageError(
    // InvalidStateError: what engines throw on a connection closed under us (site data cleared,
    // a version change, Safari dropping it); the next call reopens it.
    code ?? (isQuotaError(error) ? 'QUOTA_EXCEEDED' : name === 'InvalidStateError' ? 'CLOSED' : 'STORE_FAILED'),
    `IndexedDB "${dbName}" ${code ? 'is unavailable here' : 'failed'} (${operation}): ${name}: ${errorText(error)}`,
    { cause: error },
  );
}

/**
 * A full disk shows up as `QuotaExceededError`, or, where an engine aborts
 * the transaction and reports only that, as an `AbortError` carrying the
 * quota error as its cause or naming it in its message.
 */
export function isQuotaError(error: unknown): boolean {
  const name = nameOf(error);
  const cause = (error as { cause?: unknown } | null)?.cause;
  return (
    name === 'QuotaExceededError' ||
    (name === 'AbortError' && ((cause !== error && isQuotaError(cause)) || /quota/i.test(errorText(error))))
  );
}

export function nameOf(error: unknown): string {
  const name = (error as { name?: unknown } | null)?.name;
  return typeof name === 'string' ? name : 'Error';
}
