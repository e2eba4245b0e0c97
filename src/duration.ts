import { GuardConfigError, fail, type GuardErrorOptions } from './errors.js';
import type { Duration } from './types.js';

const UNIT_MS = { d: 86_400_000, h: 3_600_000, m: 60_000, s: 1_000, ms: 1 } as const;
// `ms` must be tried before `m` and `s`, or "500ms" would read as 500m + "s".
const PART = /(\d+)(ms|d|h|m|s)/y;

/** `GuardConfigError` or `GuardInputError`: any class that takes the code `INVALID_DURATION`. */
type ErrorClass = new (code: 'INVALID_DURATION', message: string, options?: GuardErrorOptions<'INVALID_DURATION'>) => Error;

export interface DurationRules {
  field: string;
  /** Allows a leading `+` or `-` (only `clockJump`). */
  signed?: boolean;
  /** The error class to throw: config options and step inputs differ. */
  error?: ErrorClass;
}

/**
 * Parses a `Duration` (`90_000`, `'90s'`, `'1d12h'`) to milliseconds. Rejects what a typo would
 * produce (`'10 m'`, `'1.5h'`, `'10'`) instead of guessing.
 */
export function parseDuration(value: Duration, rules: DurationRules): number {
  const Err = rules.error ?? GuardConfigError;
  const invalid = (): never =>
    fail(
      Err,
      'INVALID_DURATION',
      rules.field,
      `must be ${rules.signed ? 'a signed' : 'a'} Duration: milliseconds or parts like '90s', '10m', '9m59s', '1d12h' (units d, h, m, s, ms)`,
      value,
    );
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value) || (!rules.signed && value < 0)) invalid();
    return value;
  }
  if (typeof value !== 'string') return invalid();
  let text = value;
  let sign = 1;
  if (rules.signed && (text.startsWith('+') || text.startsWith('-'))) {
    sign = text.startsWith('-') ? -1 : 1;
    text = text.slice(1);
  }
  if (text === '') invalid();
  let total = 0;
  PART.lastIndex = 0;
  while (PART.lastIndex < text.length) {
    const match = PART.exec(text);
    if (!match) return invalid();
    total += Number(match[1]) * UNIT_MS[match[2] as keyof typeof UNIT_MS];
  }
  if (!Number.isSafeInteger(total)) invalid();
  return sign * total;
}
