/**
 * A plain-data copy of what a caller passed (a Sale, an override request, an
 * outcome, options), taken once at the boundary.
 *
 * Reading a caller's object can run the caller's code: a getter, a Proxy
 * trap, a revoked Proxy that throws on any touch. Copying every field once,
 * here, inside one try, means that whatever that code throws is turned into
 * the guard's own error in one place, and that the value validated is the
 * value used (a getter cannot answer one card number to the check and
 * another to the hash).
 */

import { GuardConfigError, describeValue } from './errors.js';

/**
 * How to copy an object's fields: `'value'` (a primitive is kept; an object
 * or array is never looked into and becomes an empty one, which the
 * validation then refuses for what it is), `'ref'` (kept as it is: a
 * callback, a store, a clock) or a nested shape, copied the same way.
 * Fields not named are copied as `'value'`, so "not a field of" can name them.
 */
export interface Shape {
  readonly [field: string]: 'value' | 'ref' | Shape;
}

/** Where a read threw, and what it threw. */
class Unreadable {
  constructor(
    readonly field: string,
    readonly error: unknown,
  ) {}
}

/** How the fields of the copied object are named in errors: `sale` and `amount`, `card` and `card.pan`. */
export interface Path {
  /** The object itself. */
  root: string;
  /** Put before each of its fields. */
  prefix: string;
}

/**
 * The plain copy of `value` by `shape`. When a read throws, `fail` is called
 * with the dotted field whose read threw and what it threw, and must throw
 * the guard's own error. A value that is not an object is returned as it
 * is, for the caller to refuse.
 */
export function snapshot(value: unknown, shape: Shape, path: Path, fail: (field: string, error: unknown) => never): unknown {
  try {
    return copy(value, shape, path.root, path.prefix);
  } catch (error) {
    if (error instanceof Unreadable) fail(error.field, error.error);
    throw error;
  }
}

/** The message for a field `snapshot` could not read: the rule, never what was thrown (the caller's own error is the `cause`). */
export function unreadableMessage(field: string): string {
  return `\`${field}\` could not be read: a getter or Proxy threw when the guard copied it; pass plain data`;
}

/**
 * A store factory's options, copied once by `shape`: `undefined` is `{}`;
 * anything but an object (null, a string), or a getter or Proxy that throws,
 * is a `GuardConfigError` naming the field, like every other bad option.
 */
export function storeOptions(options: unknown, shape: Shape): Record<string, unknown> {
  if (options === undefined) return {};
  const copied = snapshot(options, shape, { root: 'options', prefix: '' }, (field, cause) => {
    throw new GuardConfigError('INVALID_OPTION', unreadableMessage(field), { field, cause });
  });
  if (typeof copied !== 'object' || copied === null || Array.isArray(copied)) {
    throw new GuardConfigError('INVALID_OPTION', `store options must be an object, got ${describeValue(copied)}`, { field: 'options' });
  }
  return copied as Record<string, unknown>;
}

const hasOwn = (object: object, key: string): boolean => Object.prototype.hasOwnProperty.call(object, key);

function copy(value: unknown, shape: Shape, at: string, prefix: string): unknown {
  if (typeof value !== 'object' || value === null) return value;
  let keys: string[];
  try {
    if (Array.isArray(value)) return [];
    keys = Object.keys(value);
    // A class may define its fields as getters on its prototype.
    for (const key of Object.keys(shape)) if (!keys.includes(key) && key in value) keys.push(key);
  } catch (error) {
    throw new Unreadable(at, error);
  }
  // No prototype: a field named `__proto__` stays a field.
  const out: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
  for (const key of keys) {
    let field: unknown;
    try {
      field = (value as Record<string, unknown>)[key];
    } catch (error) {
      throw new Unreadable(prefix + key, error);
    }
    const kind = hasOwn(shape, key) ? (shape[key] as Shape[string]) : 'value';
    out[key] = kind === 'ref' ? field : kind === 'value' ? leaf(field, prefix + key) : copy(field, kind, prefix + key, `${prefix}${key}.`);
  }
  return out;
}

/** A primitive or a function as it is; an object or array emptied, never read. */
function leaf(value: unknown, field: string): unknown {
  if (typeof value !== 'object' || value === null) return value;
  try {
    return Array.isArray(value) ? [] : {};
  } catch (error) {
    throw new Unreadable(field, error);
  }
}
