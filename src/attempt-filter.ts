import { GuardInputError, describeValue, failAll, issue, type GuardIssue } from './errors.js';
import { ATTEMPT_STATUSES, isStatus } from './lifecycle.js';
import { redact } from './redact.js';
import { snapshot, unreadableMessage, type Shape } from './snapshot.js';
import type { AttemptFilter, AttemptStatus } from './types.js';

// `status` may be an array: kept as given, and copied below inside a guard of its own.
const SHAPE: Shape = { status: 'ref', merchantId: 'value', orderId: 'value', kind: 'value' };
const FIELDS = Object.keys(SHAPE);

const unreadable = (field: string, cause: unknown): never => {
  throw new GuardInputError('INVALID_FILTER', unreadableMessage(field), { field, cause });
};

/** `status` as a list of statuses, or `undefined` with an issue when it is not one (or cannot be read). */
function statuses(value: unknown, found: GuardIssue<'INVALID_FILTER'>[]): AttemptStatus[] | undefined {
  let list: unknown[];
  try {
    list = Array.isArray(value) ? [...(value as unknown[])] : [value];
  } catch (cause) {
    return unreadable('filter.status', cause);
  }
  const bad = list.find((s) => !isStatus(s));
  if (list.length > 0 && bad === undefined) return list as AttemptStatus[];
  const rule = `must be a status or an array of statuses (${ATTEMPT_STATUSES.map((s) => `'${s}'`).join(', ')})`;
  found.push(issue('INVALID_FILTER', 'filter.status', rule, ...(list.length === 0 ? [value] : [bad])));
  return undefined;
}

/**
 * `attempts(filter)`'s filter, read once and checked, every problem at
 * once. A misspelt status (`'unkown'`) or field (`statuses`) used to match
 * nothing and list nothing: at reconciliation time that hides exactly the
 * attempts someone was looking for.
 */
export function readFilter(input: unknown): AttemptFilter {
  // Copied first: a revoked Proxy throws even on Array.isArray.
  const copy = snapshot(input, SHAPE, { root: 'filter', prefix: 'filter.' }, unreadable) as Record<string, unknown>;
  if (typeof copy !== 'object' || copy === null || Array.isArray(copy)) {
    throw new GuardInputError('INVALID_FILTER', `\`filter\` must be an object such as { status: 'unknown' }, got ${describeValue(copy)}`, {
      field: 'filter',
    });
  }
  const found: GuardIssue<'INVALID_FILTER'>[] = [];
  const filter: AttemptFilter = {};
  for (const key of Object.keys(copy)) {
    // The key is the caller's text: it may be a card number put in the wrong place.
    if (!FIELDS.includes(key)) found.push(issue('INVALID_FILTER', `filter.${redact(key)}`, `is not a filter field (${FIELDS.join(', ')})`));
  }
  const { status, merchantId, orderId, kind } = copy;
  if (status !== undefined) {
    const list = statuses(status, found);
    if (list) filter.status = list;
  }
  for (const [field, value] of [
    ['merchantId', merchantId],
    ['orderId', orderId],
  ] as const) {
    if (value === undefined) continue;
    if (typeof value === 'string') filter[field] = value;
    // An id may be anything the caller typed: named by its type, never quoted.
    else found.push(issue('INVALID_FILTER', `filter.${field}`, 'must be a string', value));
  }
  if (kind !== undefined) {
    if (kind === 'sale' || kind === 'refund') filter.kind = kind;
    else found.push(issue('INVALID_FILTER', 'filter.kind', "must be 'sale' or 'refund'", kind));
  }
  // Unknown fields were found first; listed last, after the fields a filter has.
  if (found.length > 0) failAll(GuardInputError, [...found.filter((i) => isKnown(i.field)), ...found.filter((i) => !isKnown(i.field))]);
  return filter;
}

const isKnown = (field: string): boolean => FIELDS.includes(field.slice('filter.'.length));
