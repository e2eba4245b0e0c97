import { GuardInputError, describeValue } from './errors.js';
import { redact } from './redact.js';
import type { Outcome } from './types.js';

/** What `settle` accepts: every status but `pending`, which only `resume` sets. */
export const SETTLE_STATUSES = ['approved', 'declined', 'unknown', 'cancelled', 'voided', 'refunded'] as const;
const DETAILS = ['authCode', 'processorRef', 'code', 'message'] as const;

function fail(field: string, rule: string, value: unknown): never {
  throw new GuardInputError('INVALID_OUTCOME', `\`${field}\` ${rule}, got ${describeValue(value)}`, { field });
}

/** Checks a `settle` outcome at the boundary; returns a clean copy without unknown keys. */
export function validateOutcome(outcome: unknown): Outcome {
  if (typeof outcome !== 'object' || outcome === null) fail('outcome', 'must be an object with a `status`', outcome);
  const input = outcome as Record<string, unknown>;
  const status = input.status;
  if (!SETTLE_STATUSES.includes(status as (typeof SETTLE_STATUSES)[number])) {
    fail('status', `must be one of ${SETTLE_STATUSES.map((s) => `'${s}'`).join(', ')} ('pending' comes back only through resume)`, status);
  }
  if (status === 'refunded') {
    const { amount } = input;
    if (amount !== undefined && (!Number.isSafeInteger(amount) || (amount as number) < 1)) {
      fail('amount', 'must be a safe integer number of minor units from 1', amount);
    }
    return amount === undefined ? { status } : { status, amount: amount as number };
  }
  if (input.amount !== undefined) fail('amount', "is only for `status: 'refunded'`", input.amount);
  const clean: Record<string, unknown> = { status };
  for (const key of DETAILS) {
    const value = input[key];
    if (value === undefined) continue;
    if (typeof value !== 'string' || value.length > 512) fail(key, 'must be a string of at most 512 characters', value);
    // Persisted: a processor's message may quote the card back.
    clean[key] = redact(value);
  }
  return clean as Outcome;
}
