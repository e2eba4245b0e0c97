import { GuardStorageError, errorText } from '../../errors.js';

/**
 * Turns whatever IndexedDB threw into a `GuardStorageError` a till operator
 * can act on, keeping the original as `cause`. The guard then applies
 * `onStorageError` (SPEC §3 `STORAGE_UNAVAILABLE`).
 */
export function toStorageError(error: unknown, operation: string, dbName: string): GuardStorageError {
  if (error instanceof GuardStorageError) return error;
  const name = nameOf(error);
  const where = `IndexedDB "${dbName}" (${operation})`;
  if (isQuotaError(error)) {
    return new GuardStorageError('QUOTA_EXCEEDED', `${where}: storage quota exceeded; free disk space or clear old site data`, {
      cause: error,
    });
  }
  // What engines throw on a connection closed under us (site data cleared,
  // a version change, Safari dropping it): the next call reopens.
  if (name === 'InvalidStateError') {
    return new GuardStorageError('CLOSED', `${where}: connection closed; the next call reopens it`, { cause: error });
  }
  return new GuardStorageError('STORE_FAILED', `${where} failed: ${name}: ${errorText(error)}`, { cause: error });
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

export function unavailable(message: string, cause?: unknown): GuardStorageError {
  return new GuardStorageError('UNAVAILABLE', message, { cause });
}

function nameOf(error: unknown): string {
  const name = (error as { name?: unknown } | null)?.name;
  return typeof name === 'string' ? name : 'Error';
}
