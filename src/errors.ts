import { redact, redactCardNumbers } from './redact.js';

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
    // Values reach messages through describeValue, which masks them; this is
    // the safeguard for any that did not: no guard error carries a card number.
    super(redactCardNumbers(message), options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.field = options.field === undefined ? undefined : redactCardNumbers(options.field);
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

const QUOTE_MAX = 40;

/**
 * `"…"`: text quoted back in a message, card data masked first and only then
 * shortened, so the cut can never leave the leading digits of a card number.
 */
export function quote(text: string): string {
  const safe = redact(text);
  return `"${safe.length > QUOTE_MAX ? `${safe.slice(0, QUOTE_MAX - 3)}...` : safe}"`;
}

/**
 * `` `got 12.5 (number)` `` — quotes a bad value the way p-queue does. Safe
 * to put in any message: card numbers are masked (in strings, numbers and
 * bigints alike), objects and functions are named, not printed, and it never
 * throws, whatever it is given (a revoked Proxy, a null-prototype object).
 */
export function describeValue(value: unknown): string {
  try {
    if (typeof value === 'string') return `${quote(value)} (string)`;
    if (value === null) return 'null';
    if (typeof value === 'function') return 'a function';
    if (typeof value === 'object') return Array.isArray(value) ? 'an array' : 'an object';
    return `${redact(String(value))} (${typeof value})`;
  } catch {
    // Array.isArray throws on a revoked Proxy.
    return 'an unreadable value';
  }
}

/**
 * The message of anything thrown, as text safe to keep: card data masked,
 * and never a throw of its own, whatever was thrown (a null-prototype
 * object, a revoked Proxy, a throwing `message` getter).
 */
export function errorText(error: unknown): string {
  try {
    if (typeof error !== 'object' && typeof error !== 'function') return redact(String(error));
    if (error === null) return 'null';
    // An Error from this realm or another (iframe, vm), or an error-like object.
    const message = (error as { message?: unknown }).message;
    if (typeof message === 'string') return redact(message);
    return `${error instanceof Error ? redact(String(error.name)) : describeValue(error)} without a message`;
  } catch {
    return 'a thrown value that cannot be read';
  }
}
