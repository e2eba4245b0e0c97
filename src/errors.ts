import { redact, redactCardNumbers } from './redact.js';
import type { ReasonCode } from './types.js';

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

export interface GuardErrorOptions<Code extends GuardErrorCode = GuardErrorCode> {
  /** The offending field, dotted (`card.pan`, `window`). */
  field?: string;
  cause?: unknown;
  /**
   * Every problem found, in a fixed order, when the input had more than one
   * (see {@link GuardIssue}). Without it, an error with a `field` has that
   * one problem as its only issue.
   */
  issues?: readonly GuardIssue<Code>[];
}

/**
 * One problem with an input: the field, the rule it broke, and the sentence
 * saying both. A `Sale` (or options, an outcome, an override request) with
 * several problems throws one error listing them all, as zod does, so a
 * form can mark every bad field at once instead of one per try.
 */
export interface GuardIssue<Code extends GuardErrorCode = GuardErrorCode> {
  /** The code this problem alone would have thrown (`INVALID_CARD` for `card.pan`, `INVALID_SALE` for `amount`). */
  readonly code: Code;
  /** Dotted, as in {@link GuardError.field}: `amount`, `card.pan`. */
  readonly field: string;
  /** The rule, without the field's name: `must be 12-19 digits (spaces and dashes allowed)`. */
  readonly rule: string;
  /** The field and the rule, and the bad value where it is safe to quote: `` `amount` must be …, got 12.5 (number) ``. */
  readonly message: string;
}

// Each class's codes, closed: a `switch (error.code)` is checked, and a
// misspelt code where one is thrown does not compile. A code is added here
// first, then thrown.

/** `GuardInputError['code']`: which input broke a rule. */
export type GuardInputErrorCode =
  | 'INVALID_SALE'
  | 'INVALID_CARD'
  | 'SENSITIVE_DATA'
  | 'INVALID_OUTCOME'
  | 'INVALID_OVERRIDE'
  | 'INVALID_ATTEMPT_ID'
  | 'INVALID_FILTER'
  /** Reconciliation: a processor transaction, or a settlement file's row, that cannot be read. */
  | 'INVALID_TRANSACTION'
  /** `reconcile(attempts, …)` given attempts that are not `AttemptRecord`s. */
  | 'INVALID_ATTEMPT'
  /** `guard.applyReconciliation(report)` given something that is not a `ReconcileReport`. */
  | 'INVALID_REPORT'
  /** `verifyJournal(entries, …)` given entries that are not an iterable. */
  | 'INVALID_JOURNAL'
  | 'INVALID_SUBMIT'
  /**
   * `submit` resolved something that is not `{ approved: true | false, … }`: a
   * bug in the app, not a network failure. Never thrown: `charge` settles the
   * attempt `unknown` and hands this error back in its result and in an
   * `invalid-submit-result` event.
   */
  | 'INVALID_SUBMIT_RESULT'
  /** A `charge` option (`timeout`, `onSubmitting`…). */
  | 'INVALID_OPTION'
  /** `charge({ timeout })` that is no Duration. */
  | 'INVALID_DURATION'
  | 'UNKNOWN_DECISION'
  | 'NOT_OVERRIDABLE'
  /** A `charge` callback (`onSubmitting`) threw; nothing was charged. */
  | 'CALLBACK_FAILED'
  /** `guard.on(type, listener)` with a type the guard never emits, or a listener that is not a function. */
  | 'INVALID_LISTENER';

/** `GuardConfigError['code']`: which option of `createGuard` or of a store is wrong. */
export type GuardConfigErrorCode = 'INVALID_OPTION' | 'INVALID_DURATION' | 'INVALID_SECRET' | 'SECRET_CHANGED';

/**
 * `GuardStateError['code']`. A refused `resume` carries the reason code that
 * stands against it (`IN_FLIGHT`, `UNKNOWN_OUTCOME`, `DUPLICATE_CHARGE`…).
 */
export type GuardStateErrorCode = 'UNKNOWN_ATTEMPT' | 'INVALID_TRANSITION' | 'HAS_REFUNDS' | 'CLOSED' | 'TAKEN_OVER' | ReasonCode;

/** `GuardOverrideError['code']`. */
export type GuardOverrideErrorCode = 'NOT_AUTHORIZED' | 'IN_FLIGHT';

/** `GuardStorageError['code']`: what the store could not do. */
export type GuardStorageErrorCode =
  /** The file store's files could not be opened, read, written or locked. */
  | 'OPEN_FAILED'
  | 'READ_FAILED'
  | 'WRITE_FAILED'
  | 'LOCK_FAILED'
  /** Another process holds the file store's lock. */
  | 'LOCKED'
  /** A file store written by a newer version of this package. */
  | 'UNSUPPORTED_FORMAT'
  /** Another store in this process took the file over. */
  | 'TAKEN_OVER'
  | 'CLOSED'
  /** IndexedDB: no IndexedDB, or it refused to open. */
  | 'UNAVAILABLE'
  | 'QUOTA_EXCEEDED'
  | 'STORE_FAILED'
  /** The store lost what it held (site data cleared); the guard writes back what it has. */
  | 'WIPED'
  /** A shared store's claim kept meeting other terminals' changes: try again. */
  | 'BUSY';

/** Every code of every class. */
export type GuardErrorCode =
  GuardInputErrorCode | GuardConfigErrorCode | GuardStateErrorCode | GuardOverrideErrorCode | GuardStorageErrorCode;

/**
 * `Code` is each class's own union (`GuardInputError` is a
 * `GuardError<GuardInputErrorCode>`), so its constructor takes only those
 * codes and its `code` is that union; plain `GuardError` has any of them.
 */
export abstract class GuardError<Code extends GuardErrorCode = GuardErrorCode> extends Error {
  abstract override readonly name: GuardErrorName;
  readonly code: Code;
  /** The offending field, dotted; with several issues, the first one's. */
  readonly field: string | undefined;
  /**
   * Every problem with the input, in the order of the input's fields: one
   * for most errors, several when a `Sale` or options broke several rules,
   * none when the error is about no field (a storage failure, a closed guard).
   */
  readonly issues: readonly GuardIssue<Code>[];

  constructor(code: Code, message: string, options: GuardErrorOptions<Code> = {}) {
    // Values reach messages through describeValue, which masks them; this is
    // the safeguard for any that did not: no guard error carries a card number.
    super(safe(message), options.cause === undefined ? undefined : { cause: maskedError(options.cause) });
    this.code = code;
    this.field = options.field === undefined ? undefined : safe(options.field);
    this.issues = Object.freeze((options.issues ?? implicitIssues(code, this.field, this.message)).map(safeIssue));
  }
}

/** The one issue of an error thrown for a single field: its rule is the message after the field's name. */
function implicitIssues<Code extends GuardErrorCode>(code: Code, field: string | undefined, message: string): GuardIssue<Code>[] {
  if (field === undefined) return [];
  const named = `\`${field}\` `;
  return [{ code, field, rule: message.startsWith(named) ? message.slice(named.length) : message, message }];
}

/** The same safeguard as the message's, on each issue: they are serialised with the error (JSON, logs). */
function safeIssue<Code extends GuardErrorCode>(issue: GuardIssue<Code>): GuardIssue<Code> {
  return Object.freeze({ code: issue.code, field: safe(issue.field), rule: safe(issue.rule), message: safe(issue.message) });
}

/**
 * A message, field or rule as it may be kept and shown: card numbers masked,
 * and control characters (C0 but tab, C1, bidi overrides) written out as
 * `\uXXXX`. A field may be the caller's key and a message quotes what was
 * thrown: a line break in either would forge a log line, `ESC [2J` clear a
 * till's screen. The CLI's printable() reads the same way.
 */
function safe(text: string): string {
  return redactCardNumbers(text).replace(
    // eslint-disable-next-line no-control-regex -- control characters are what it finds
    /[\0-\b\n-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

/** How many problems a message names; the rest are counted, and all are in `error.issues`. */
const NAMED_ISSUES = 10;

/** A `Sale`, an override request or a step argument broke a rule. Nothing was recorded. */
export class GuardInputError extends GuardError<GuardInputErrorCode> {
  override readonly name = 'GuardInputError' as const;
}

/** `createGuard` options are invalid, or the store belongs to another secret (`SECRET_CHANGED`). */
export class GuardConfigError extends GuardError<GuardConfigErrorCode> {
  override readonly name = 'GuardConfigError' as const;
}

/** An illegal lifecycle transition or an unknown attempt id. Nothing changed. */
export class GuardStateError extends GuardError<GuardStateErrorCode> {
  override readonly name = 'GuardStateError' as const;
}

/** An override was refused: `NOT_AUTHORIZED` or `IN_FLIGHT`. */
export class GuardOverrideError extends GuardError<GuardOverrideErrorCode> {
  override readonly name = 'GuardOverrideError' as const;
}

/** The store failed in a way the guard cannot turn into a decision (open, load, lock held). */
export class GuardStorageError extends GuardError<GuardStorageErrorCode> {
  override readonly name = 'GuardStorageError' as const;
  constructor(code: GuardStorageErrorCode, message: string, options?: GuardErrorOptions<GuardStorageErrorCode>);
  /**
   * @deprecated Pass a {@link GuardStorageErrorCode}. This signature exists
   * because the file store still raises storage errors with codes typed as
   * plain strings; it will be removed once every code is a
   * `GuardStorageErrorCode`.
   */
  constructor(code: string, message: string, options?: GuardErrorOptions<GuardStorageErrorCode>);
  constructor(code: string, message: string, options?: GuardErrorOptions<GuardStorageErrorCode>) {
    super(code as GuardStorageErrorCode, message, options);
  }
}

/** A class of guard error, as `fail` and `failAll` take it. */
export type GuardErrorClass<Code extends GuardErrorCode> = new (code: Code, message: string, options?: GuardErrorOptions<Code>) => Error;

/**
 * "`field` RULE, got VALUE": the guard's one way of saying which field broke
 * which rule. `rule` is the whole predicate (`must be a function`, `is only
 * for …`). The value is quoted through {@link describeValue} (masked, named,
 * never printed whole) only when one is passed: leave it out where the value
 * may be card data. Pass the field name through `redact` first when it is
 * the caller's own text (an unknown key).
 */
export function issue<Code extends GuardErrorCode>(code: Code, field: string, rule: string, ...value: [value?: unknown]): GuardIssue<Code> {
  const got = value.length > 0 ? `, got ${describeValue(value[0])}` : '';
  return { code, field, rule, message: `\`${field}\` ${rule}${got}` };
}

/** The most characters of one problem a message keeps: a key may be a megabyte long. */
const ISSUE_MESSAGE_MAX = 300;

/** `text`, or its start and `…` when longer than `max`: a cut says it is one. */
const cut = (text: string, max: number): string => (text.length <= max ? text : `${text.slice(0, max - 1)}…`);

/**
 * Throws one error for every problem found (at least one), each named in the
 * message: the first problem's code and field are the error's, so code that
 * reads `error.field` still finds the first; `error.issues` has them all.
 */
export function failAll<Code extends GuardErrorCode>(
  ErrorClass: GuardErrorClass<Code>,
  issues: readonly GuardIssue<NoInfer<Code>>[],
  cause?: unknown,
): never {
  const first = issues[0];
  if (first === undefined) throw new TypeError('failAll needs at least one issue');
  // Bounded: an input with thousands of unknown keys would make a message of hundreds of KB for a log line or a till screen.
  const rest = issues.length - NAMED_ISSUES;
  const message =
    issues
      .slice(0, NAMED_ISSUES)
      // Masked before it is cut, so no cut leaves part of a card number; a key may be a megabyte long.
      .map((i) => cut(safe(i.message), ISSUE_MESSAGE_MAX))
      .join('; ') + (rest > 0 ? `; and ${rest} more (see error.issues)` : '');
  throw new ErrorClass(first.code, message, { field: first.field, issues, ...(cause === undefined ? {} : { cause }) });
}

/** What {@link gather} collected: every issue, and the first `cause` met (what a getter or Proxy threw). */
export interface Gathered<Code extends GuardErrorCode> {
  readonly issues: GuardIssue<Code>[];
  cause?: unknown;
}

/**
 * Runs one check that throws (a field's own validation) and, if it throws
 * an `ErrorClass`, adds that error's issues (and its cause, if the first)
 * to `found` and returns `undefined`, so the checks after it still run and
 * every problem is reported at once ({@link failAll}). Anything else it
 * throws goes through.
 */
export function gather<Code extends GuardErrorCode, T>(
  ErrorClass: abstract new (...args: never[]) => GuardError<Code>,
  found: Gathered<Code>,
  check: () => T,
): T | undefined {
  try {
    return check();
  } catch (error) {
    if (!(error instanceof ErrorClass) || error.issues.length === 0) throw error;
    found.issues.push(...error.issues);
    found.cause ??= error.cause;
    return undefined;
  }
}

/**
 * Throws the one {@link issue} "`field` RULE, got VALUE":
 *
 *     fail(GuardInputError, 'INVALID_OUTCOME', 'amount', 'must be a safe integer', amount);
 */
export function fail<Code extends GuardErrorCode>(
  ErrorClass: GuardErrorClass<Code>,
  code: NoInfer<Code>,
  field: string,
  rule: string,
  ...value: [value?: unknown]
): never {
  return failAll(ErrorClass, [issue(code, field, rule, ...value)]);
}

/**
 * `GuardConfigError` `INVALID_OPTION`: "`field` must be RULE, got VALUE", the
 * message of every option check (createGuard's, the stores').
 */
export function invalidOption(field: string, rule: string, value: unknown): never {
  return fail(GuardConfigError, 'INVALID_OPTION', field, `must be ${rule}`, value);
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
    // Objects and functions were ruled out above: this is a primitive (TypeScript keeps `unknown`).
    // eslint-disable-next-line @typescript-eslint/no-base-to-string
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
    // A primitive: String() of it is its text (TypeScript keeps `unknown`).
    // eslint-disable-next-line @typescript-eslint/no-base-to-string
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

/**
 * Something thrown, as it may be handed on (a `cause`, an event's or a
 * result's `error`): the same value when it carries no card data, else a
 * copy (an Error keeps its name) whose text is masked wherever a logger
 * would print it: message, stack, cause, and own properties, nested objects
 * and arrays included (an SDK error's `config.data`, `response.data`), a few
 * levels deep. Never throws.
 */
export function maskedError(error: unknown): unknown {
  try {
    return maskedCopy(error, 0, new Set());
  } catch {
    return new Error('a thrown value that cannot be read');
  }
}

function maskedCopy(value: unknown, depth: number, seen: Set<object>): unknown {
  if (typeof value === 'string') return redact(value);
  if (typeof value !== 'object' || value === null || depth > 4 || seen.has(value)) return value;
  const error = value instanceof Error ? value : undefined;
  const proto: unknown = Object.getPrototypeOf(value);
  // Plain data and errors are copied; other instances (a Buffer, a socket) are left as they are.
  if (!error && !Array.isArray(value) && proto !== Object.prototype && proto !== null) return value;
  seen.add(value);
  const entries = Object.entries(value).map(([key, field]) => [key, maskedCopy(field, depth + 1, seen)] as const);
  const cause = error?.cause === undefined ? undefined : maskedCopy(error.cause, depth + 1, seen);
  const dirty =
    entries.some(([key, field]) => field !== (value as Record<string, unknown>)[key]) ||
    (error !== undefined &&
      (redact(error.message) !== error.message ||
        (typeof error.stack === 'string' && redact(error.stack) !== error.stack) ||
        cause !== error.cause));
  if (!dirty) return value;
  if (Array.isArray(value)) return entries.map(([, field]) => field);
  const copy: object = error ? new Error(redact(error.message), cause === undefined ? undefined : { cause }) : {};
  for (const [key, field] of entries) {
    Object.defineProperty(copy, key, { value: field, enumerable: true, writable: true, configurable: true });
  }
  if (error) {
    Object.defineProperty(copy, 'name', { value: error.name, writable: true, configurable: true });
    if (typeof error.stack === 'string') (copy as Error).stack = redact(error.stack);
  }
  return copy;
}
