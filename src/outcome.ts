import { GuardInputError, describeValue, fail, failAll, issue, type GuardIssue } from './errors.js';
import { redact, redactProcessorRef } from './redact.js';
import { snapshot, unreadableMessage, type Shape } from './snapshot.js';
import type { Outcome } from './types.js';

/** What `settle` accepts: every status but `pending`, which only `resume` sets. */
export const SETTLE_STATUSES = ['approved', 'declined', 'unknown', 'cancelled', 'voided', 'refunded'] as const;
const DETAILS = ['authCode', 'processorRef', 'code', 'message'] as const;
type Detail = (typeof DETAILS)[number];
/** The most characters a detail keeps. */
export const DETAIL_MAX = 512;

const SHAPE: Shape = { status: 'value', amount: 'value', authCode: 'value', processorRef: 'value', code: 'value', message: 'value' };

/**
 * Details are persisted, and a processor's text may quote the card back.
 * A reference (`processorRef`) keeps its digits unless they are a card
 * number (a 12-digit RRN is kept whole: redactProcessorRef): reconciliation
 * matches on them. The rest is text, masked whole.
 */
const clean = (key: Detail, value: string): string => (key === 'processorRef' ? redactProcessorRef(value) : redact(value));

/**
 * An outcome as settle plans on it: a refund made outside the guard carries,
 * instead of its processorRef, the key that names it (`refundKey`).
 */
export type ValidOutcome = Exclude<Outcome, { status: 'refunded' }> | { status: 'refunded'; amount?: number; refundKey?: string };

/**
 * Checks a `settle` outcome at the boundary; returns a clean copy without
 * unknown keys. A refund's `processorRef` is checked, and kept only as
 * `refundKey` (its keyed hash, as given), when `refundKey` is passed.
 */
export function validateOutcome(outcome: unknown, refundKey?: (processorRef: string) => string): ValidOutcome {
  const copy = snapshot(outcome, SHAPE, { root: 'outcome', prefix: '' }, (field, cause) => {
    throw new GuardInputError('INVALID_OUTCOME', unreadableMessage(field), { field, cause });
  });
  if (typeof copy !== 'object' || copy === null) {
    fail(GuardInputError, 'INVALID_OUTCOME', 'outcome', 'must be an object with a `status`', copy);
  }
  const input = copy as Record<string, unknown>;
  const { status, amount } = input;
  // Every field is checked, and every problem reported in one error.
  const found: GuardIssue<'INVALID_OUTCOME'>[] = [];
  const known = SETTLE_STATUSES.includes(status as (typeof SETTLE_STATUSES)[number]);
  if (!known) {
    const rule = `must be one of ${SETTLE_STATUSES.map((s) => `'${s}'`).join(', ')} ('pending' comes back only through resume)`;
    found.push(issue('INVALID_OUTCOME', 'status', rule, status));
  }
  if (status === 'refunded') {
    if (amount !== undefined && (!Number.isSafeInteger(amount) || (amount as number) < 1)) {
      found.push(issue('INVALID_OUTCOME', 'amount', 'must be a safe integer number of minor units from 1', amount));
    }
    // Checked as a detail is; the refund is named by the reference as given (keyed), never by the masked text.
    const ref = detail(input, 'processorRef', found) === undefined ? undefined : (input.processorRef as string);
    if (found.length > 0) failAll(GuardInputError, found);
    const key = ref === undefined || refundKey === undefined ? {} : { refundKey: refundKey(ref) };
    return { status, ...(amount === undefined ? {} : { amount: amount as number }), ...key };
  }
  // Whether an amount belongs depends on the status: said only when the status is one.
  if (known && amount !== undefined) found.push(issue('INVALID_OUTCOME', 'amount', "is only for `status: 'refunded'`", amount));
  const out: Record<string, unknown> = { status };
  for (const key of DETAILS) {
    const value = detail(input, key, found);
    if (value !== undefined) out[key] = value;
  }
  if (found.length > 0) failAll(GuardInputError, found);
  return out as ValidOutcome;
}

/** A detail of an outcome, as it is kept; a problem with it is added to `found`. */
function detail(input: Record<string, unknown>, key: Detail, found: GuardIssue<'INVALID_OUTCOME'>[]): string | undefined {
  const value = input[key];
  if (value === undefined) return undefined;
  if (typeof value === 'string' && value.length <= DETAIL_MAX) return clean(key, value);
  found.push(issue('INVALID_OUTCOME', key, `must be a string of at most ${DETAIL_MAX} characters`, value));
  return undefined;
}

/**
 * An outcome `charge` settles with, and what it had to leave out of it, for
 * the journal. The processor has answered (or not) whatever its details look
 * like, so this is never refused: a detail that cannot be kept is cut or
 * dropped, and a note says which.
 */
export interface Settlement {
  outcome: Outcome;
  notes: string[];
}

const THREW = Symbol('threw');

/** One field of an answer, read once; a read that throws is {@link THREW}. */
function read(answer: object, key: string): unknown {
  try {
    return (answer as Record<string, unknown>)[key];
  } catch {
    return THREW;
  }
}

/** A detail as it can be kept, or `undefined` with a note saying why not. */
function keep(key: Detail, value: unknown, notes: string[]): string | undefined {
  if (value === undefined) return undefined;
  if (value === THREW) {
    notes.push(`${key} dropped: it could not be read`);
    return undefined;
  }
  // A gateway may answer `authCode: 123456`: the same code, as a number.
  const text =
    typeof value === 'string'
      ? value
      : (typeof value === 'number' && Number.isFinite(value)) || typeof value === 'bigint'
        ? String(value)
        : undefined;
  if (text === undefined) {
    notes.push(`${key} dropped: ${describeValue(value)}, not text`);
    return undefined;
  }
  const safe = clean(key, text);
  if (safe.length <= DETAIL_MAX) return safe;
  // A cut reference would match the wrong transaction, or none: drop it. Text keeps its start.
  if (key === 'authCode' || key === 'processorRef') {
    notes.push(`${key} dropped: ${safe.length} characters, more than the ${DETAIL_MAX} kept`);
    return undefined;
  }
  notes.push(`${key} cut to ${DETAIL_MAX} characters from ${safe.length}`);
  return `${safe.slice(0, DETAIL_MAX - 1)}…`;
}

function settlement(status: Exclude<Outcome['status'], 'refunded'>, details: Partial<Record<Detail, unknown>>): Settlement {
  const notes: string[] = [];
  const outcome: Record<string, unknown> = { status };
  for (const key of DETAILS) {
    const value = keep(key, details[key], notes);
    if (value !== undefined) outcome[key] = value;
  }
  return { outcome: outcome as Outcome, notes };
}

/**
 * What `submit`'s answer settles an attempt as: `{ approved: true }` →
 * approved with `authCode` and `processorRef`, `{ approved: false }` →
 * declined with `code` and `message`. `undefined` when it is no such answer
 * (its `approved` is not a boolean, or cannot be read).
 */
export function answerOutcome(answer: unknown): Settlement | undefined {
  if (typeof answer !== 'object' || answer === null) return undefined;
  const approved = read(answer, 'approved');
  if (typeof approved !== 'boolean') return undefined;
  const [a, b] = approved ? (['authCode', 'processorRef'] as const) : (['code', 'message'] as const);
  return settlement(approved ? 'approved' : 'declined', { [a]: read(answer, a), [b]: read(answer, b) });
}

/** What a `recover` answer may settle an unknown attempt as, or leave it (`unknown`). */
const RECOVER_STATUSES: readonly unknown[] = ['approved', 'declined', 'unknown', 'cancelled', 'voided'];

/**
 * What a `recover` answer settles an attempt as, read as {@link answerOutcome}
 * reads `submit`'s: the processor has answered (a reversal acknowledged, a
 * charge found), so a detail that cannot be kept (a long gateway text, an
 * authCode sent as a number) is cut or dropped with a note, never the answer.
 * `undefined` when its status is none of those: validateOutcome says why.
 */
export function recoverOutcome(answer: unknown): Settlement | undefined {
  if (typeof answer !== 'object' || answer === null) return undefined;
  const status = read(answer, 'status');
  if (!RECOVER_STATUSES.includes(status)) return undefined;
  const details = Object.fromEntries(DETAILS.map((key) => [key, read(answer, key)]));
  return settlement(status as Exclude<Outcome['status'], 'refunded'>, details);
}

/**
 * What is wrong with an answer {@link answerOutcome} refused, worded for
 * whoever wrote `submit` ("resolved undefined", "resolved an object whose
 * `approved` is \"yes\" (string)"). Values go through describeValue:
 * masked, objects named, never printed.
 */
export function answerProblem(answer: unknown): string {
  if (answer === undefined) return 'resolved undefined (did it forget to return the answer?)';
  if (typeof answer !== 'object' || answer === null) return `resolved ${describeValue(answer)}`;
  const approved = read(answer, 'approved');
  if (approved === THREW) return 'resolved an object whose `approved` could not be read';
  if (approved === undefined) return 'resolved an object without `approved`';
  if (typeof approved !== 'boolean') return `resolved an object whose \`approved\` is ${describeValue(approved)}`;
  // A getter that answered otherwise when answerOutcome read it.
  return 'resolved an object whose `approved` was not a boolean when read';
}

/** An `unknown` outcome with why (a thrown error's message, a timeout), masked and cut to fit. */
export function unknownOutcome(why: string): Settlement {
  return settlement('unknown', { message: why });
}
