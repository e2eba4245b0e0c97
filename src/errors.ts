import { redact } from './redact.js';

/**
 * Every error the guard throws is an instance of exactly one of the five
 * subclasses below. Each has a literal `name` equal to its class name and a
 * stable `code`, so checks keep working across bundles and realms, where
 * `instanceof` does not (see {@link isGuardError}).
 */
export const GUARD_ERROR_NAMES = [
  'GuardInputError',
  'GuardConfigError',
  'GuardStateError',
  'GuardOverrideError',
  'GuardStorageError',
] as const;

export type GuardErrorName = (typeof GUARD_ERROR_NAMES)[number];

export interface GuardErrorOptions {
  /** The offending field, dotted (`card.pan`, `window`). */
  field?: string;
  cause?: unknown;
}

export abstract class GuardError extends Error {
  abstract override readonly name: GuardErrorName;
  readonly code: string;
  readonly field: string | undefined;

  constructor(code: string, message: string, options: GuardErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.field = options.field;
  }
}

/** A `Sale`, an override request or a step argument broke a rule. Nothing was recorded. */
export class GuardInputError extends GuardError {
  override readonly name = 'GuardInputError' as const;
}

/** `createGuard` options are invalid, or the store belongs to another secret (`SECRET_CHANGED`). */
export class GuardConfigError extends GuardError {
  override readonly name = 'GuardConfigError' as const;
}

/** An illegal lifecycle transition or an unknown attempt id. Nothing changed. */
export class GuardStateError extends GuardError {
  override readonly name = 'GuardStateError' as const;
}

/** An override was refused: `NOT_AUTHORIZED` or `IN_FLIGHT`. */
export class GuardOverrideError extends GuardError {
  override readonly name = 'GuardOverrideError' as const;
}

/** The store failed in a way the guard cannot turn into a decision (open, load, lock held). */
export class GuardStorageError extends GuardError {
  override readonly name = 'GuardStorageError' as const;
}

const NAMES: ReadonlySet<string> = new Set(GUARD_ERROR_NAMES);

/** True for any guard error, including one thrown by another copy of this package. */
export function isGuardError(value: unknown): value is GuardError {
  return (
    value instanceof GuardError ||
    // `instanceof Error` is false for another realm's errors (iframes, vm).
    (Object.prototype.toString.call(value) === '[object Error]' &&
      NAMES.has((value as Error).name) &&
      typeof (value as { code?: unknown }).code === 'string')
  );
}

/** `` `got 12.5 (number)` `` — quotes a bad value the way p-queue does, without echoing card numbers. */
export function describeValue(value: unknown): string {
  if (typeof value === 'string') return `"${redact(value.length > 40 ? `${value.slice(0, 37)}...` : value)}" (string)`;
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  return `${String(value)} (${typeof value})`;
}

/** The message of anything thrown: an Error's message, or the value as text. */
export function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
