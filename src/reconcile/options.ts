/** `reconcile`'s options, checked once at the boundary: unknown keys and a bad `now` are named. */
import * as z from 'zod/mini';
import { GuardConfigError, fail, invalidOption } from '../errors.js';
import { redact } from '../redact.js';
import type { Duration } from '../types.js';
import { AT_RULE, epochOf } from './transactions.js';

export interface CheckedOptions {
  tolerance?: Duration;
  window?: Duration;
  now?: number | string;
}

// Durations are checked by the core's parseDuration (one rule, one message for every Duration).
const optionsSchema = z.strictObject({
  tolerance: z.optional(z.unknown()),
  window: z.optional(z.unknown()),
  now: z.optional(z.unknown()),
});

/** Throws `GuardConfigError` `INVALID_OPTION` naming the option. */
export function checkOptions(options: unknown): CheckedOptions {
  if (typeof options !== 'object' || options === null) invalidOption('options', 'an object', options);
  const parsed = optionsSchema.safeParse(options);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const key = issue.code === 'unrecognized_keys' ? issue.keys[0]! : String(issue.path[0]);
    fail(GuardConfigError, 'INVALID_OPTION', redact(key), 'is not an option of reconcile: `tolerance`, `window` or `now`');
  }
  const { now } = parsed.data as CheckedOptions;
  if (now !== undefined && ((typeof now !== 'number' && typeof now !== 'string') || epochOf(now) === undefined)) {
    invalidOption('now', AT_RULE.replace(/^must be /, ''), now);
  }
  return parsed.data as CheckedOptions;
}
