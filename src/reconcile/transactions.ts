/**
 * `ProcessorTransaction`s checked at the boundary of `reconcile` (what a
 * caller builds by hand, or `readTransactions` read), and their `at` made
 * epoch ms once, so matching compares numbers.
 */
import * as z from 'zod/mini';
import { GuardInputError, describeValue } from '../errors.js';
import { fieldOf, issuePaths, issueRule, spelledOut, valueAt } from '../issues.js';
import type { AttemptRecord } from '../types.js';
import type { ProcessorTransaction } from './types.js';

/** A transaction as matching uses it: `at` in epoch ms, and the attempt that took it (this call's own copy: nothing leaks out). */
export interface Transaction extends Omit<ProcessorTransaction, 'at'> {
  at: number;
  claimedBy: AttemptRecord | undefined;
}

const text = (max: number) =>
  z
    .string({ error: `must be a string of 1-${max} characters` })
    .check(z.minLength(1, { error: 'must not be empty' }), z.maxLength(max, { error: `must be at most ${max} characters` }));
// Ids are not checked for card numbers: a processor's ids are all digits
// (a 16-digit Adyen PSP reference passes Luhn 1 time in 10) and refusing or
// masking them would lose the match. Card data reaches a transaction only
// through `last4`, which holds 4 digits and nothing else.

const MINOR = 'must be a safe integer number of minor units, 0 or more (1250 = 12.50)';
/** The rule for `at` (and `now`), in every message that refuses one. */
export const AT_RULE = 'must be an ISO 8601 string with an offset, or epoch ms (milliseconds, like 1772330400000: not seconds)';

export const transactionSchema = z.object({
  id: text(255),
  type: z.enum(['charge', 'refund', 'reversal'], { error: "must be 'charge', 'refund' or 'reversal'" }),
  status: z.enum(['succeeded', 'failed'], { error: "must be 'succeeded' or 'failed'" }),
  amount: z.int({ error: MINOR }).check(z.minimum(0, { error: MINOR })),
  currency: z.string().check(z.regex(/^[A-Z]{3}$/, { error: "must be an ISO 4217 code of 3 capital letters, e.g. 'CNY'" })),
  at: z.union([z.int(), z.string()], { error: AT_RULE }),
  reference: z.optional(text(255)),
  authCode: z.optional(text(64)),
  last4: z.optional(z.string().check(z.regex(/^\d{4}$/, { error: 'must be the last 4 digits of the card' }))),
  terminalId: z.optional(text(128)),
  original: z.optional(text(255)),
});

// An ISO 8601 date-time with an explicit offset: without one, `Date.parse` guesses the machine's zone.
const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})$/;

// Epoch ms below this are before March 1973: a number that small is epoch seconds (1772330400 is 2026 in seconds,
// January 1970 in ms), and read as ms it would put every transaction 56 years before its attempts.
const EPOCH_MS_FROM = 1e11;

/** Epoch ms of an `at`, or `undefined` when it is not one (epoch seconds are not). */
export function epochOf(at: string | number): number | undefined {
  if (typeof at === 'number') return Number.isSafeInteger(at) && at >= EPOCH_MS_FROM ? at : undefined;
  if (!ISO.test(at)) return undefined;
  // Date.parse rolls a day the month does not have over into the next (30 February is 2 March): such a date is none.
  const [y, mo, d] = at.slice(0, 10).split('-').map(Number) as [number, number, number];
  if (mo < 1 || mo > 12 || d < 1 || d > new Date(Date.UTC(y, mo, 0)).getUTCDate()) return undefined;
  const ms = Date.parse(at);
  return Number.isFinite(ms) ? ms : undefined;
}

/** Checks every transaction; throws `GuardInputError` `INVALID_TRANSACTION` naming `transactions[i].field` and the rule. */
export function checkTransactions(transactions: unknown): Transaction[] {
  if (!Array.isArray(transactions)) invalid('transactions', `must be an array of ProcessorTransaction, got ${describeValue(transactions)}`);
  const out = new Array<Transaction>(transactions.length);
  for (let i = 0; i < transactions.length; i++) {
    const input: unknown = transactions[i];
    const quick = wellFormed(input);
    if (quick) {
      out[i] = quick;
      continue;
    }
    const parsed = transactionSchema.safeParse(input);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      const [path = []] = issuePaths(issue, [i]);
      const rule = issueRule(issue, valueAt(transactions, path), {
        container: 'a ProcessorTransaction',
        fallback: spelledOut(describeValue),
      });
      invalid(`transactions${fieldOf(path)}`, rule);
    }
    const at = epochOf(parsed.data.at);
    if (at === undefined) {
      invalid(`transactions[${i}].at`, `${AT_RULE}, got ${describeValue(parsed.data.at)}`);
    }
    out[i] = { ...parsed.data, at, claimedBy: undefined };
  }
  return out;
}

function invalid(field: string, rule: string): never {
  throw new GuardInputError('INVALID_TRANSACTION', `\`${field}\` ${rule}`, { field });
}

const TYPES: ReadonlySet<unknown> = new Set(['charge', 'refund', 'reversal']);
const STATUSES: ReadonlySet<unknown> = new Set(['succeeded', 'failed']);
const OPTIONAL = [
  ['reference', 255],
  ['authCode', 64],
  ['terminalId', 128],
  ['original', 255],
] as const;
const isText = (value: unknown, max: number): value is string => typeof value === 'string' && value.length > 0 && value.length <= max;

/**
 * The schema's rules, checked by hand: a well-formed transaction (nearly
 * all of them) is copied without zod, which would cost a third of the 1 s
 * budget at 100k. Anything this refuses goes through the schema, whose
 * issue becomes the error message, so the rules must agree (the tests
 * check both paths).
 */
function wellFormed(input: unknown): Transaction | undefined {
  if (typeof input !== 'object' || input === null) return undefined;
  const t = input as Record<string, unknown>;
  const { id, type, status, amount, currency, at, last4 } = t;
  if (!isText(id, 255) || !TYPES.has(type) || !STATUSES.has(status)) return undefined;
  if (!Number.isSafeInteger(amount) || (amount as number) < 0 || typeof currency !== 'string' || !/^[A-Z]{3}$/.test(currency)) {
    return undefined;
  }
  const ms = typeof at === 'number' || typeof at === 'string' ? epochOf(at) : undefined;
  if (ms === undefined) return undefined;
  // claimedBy is there from the start: one object shape for all, a plain field write when a match takes it.
  const out: Record<string, unknown> = { id, type, status, amount, currency, at: ms, claimedBy: undefined };
  for (const [key, max] of OPTIONAL) {
    const value = t[key];
    if (value === undefined) continue;
    if (!isText(value, max)) return undefined;
    out[key] = value;
  }
  if (last4 !== undefined) {
    if (typeof last4 !== 'string' || !/^\d{4}$/.test(last4)) return undefined;
    out.last4 = last4;
  }
  return out as unknown as Transaction;
}
