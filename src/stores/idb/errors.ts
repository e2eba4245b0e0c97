import { GuardStorageError } from '../../errors.js';

/**
 * Turns whatever IndexedDB threw into a `GuardStorageError` a till operator
 * can act on, keeping the original as `cause`. The guard then applies
 * `onStorageError` (SPEC §3 `STORAGE_UNAVAILABLE`).
 */
export function toStorageError(error: unknown, operation: string, dbName: string): GuardStorageError {
  if (error instanceof GuardStorageError) return error;
  const { name, message } = describe(error);
  const where = `IndexedDB "${dbName}" (${operation})`;
  if (isQuotaError(error)) return new GuardStorageError('QUOTA_EXCEEDED', `${where}: storage quota exceeded; free disk space or clear old site data`, { cause: error });
  // What engines throw on a connection closed under us (site data cleared,
  // a version change, Safari dropping it): the next call reopens.
  if (name === 'InvalidStateError') return new GuardStorageError('CLOSED', `${where}: connection closed; the next call reopens it`, { cause: error });
  return new GuardStorageError('STORE_FAILED', `${where} failed: ${name}: ${message}`, { cause: error });
}

/**
 * A full disk shows up as `QuotaExceededError`, or, where an engine aborts
 * the transaction and reports only that, as an `AbortError` carrying the
 * quota error as its cause or naming it in its message.
 */
export function isQuotaError(error: unknown): boolean {
  const { name, message, cause } = describe(error);
  return name === 'QuotaExceededError' || (name === 'AbortError' && ((cause !== error && isQuotaError(cause)) || /quota/i.test(message)));
}

export function unavailable(message: string, cause?: unknown): GuardStorageError {
  return new GuardStorageError('UNAVAILABLE', message, { cause });
}

function describe(error: unknown): { name: string; message: string; cause: unknown } {
  const { name, message, cause } = (typeof error === 'object' && error !== null ? error : {}) as { name?: unknown; message?: unknown; cause?: unknown };
  return { name: typeof name === 'string' ? name : 'Error', message: typeof message === 'string' ? message : String(error), cause };
}
